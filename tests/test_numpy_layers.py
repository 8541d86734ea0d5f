"""Every NumPy layer the notebooks teach, checked against PyTorch autograd in float64.

The layer code is what the notebooks' `#| export` cells hold, imported from lessons/ (generated from
the notebooks by tools/export_lessons.py; tests/test_lessons.py fails when it is stale), so these tests
check exactly what learners read. This file imports torch and never TensorFlow.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL = 1e-6


@pytest.fixture(scope="module")
def nb01():
    from lessons import logistic_regression

    return logistic_regression


@pytest.fixture(scope="module")
def nb02():
    from lessons import deep_network

    return deep_network


@pytest.fixture(scope="module")
def nb03():
    from lessons import numpy_cnn

    return numpy_cnn


def assert_close(actual, expected, name=""):
    """Max relative error <= RTOL, relative to the largest magnitude of the expected array."""
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    scale = max(np.max(np.abs(expected)), 1e-12)
    error = np.max(np.abs(actual - expected)) / scale
    assert error <= RTOL, f"{name}: max relative error {error:.2e} > {RTOL}"


def tensor(array, grad=True):
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


def nhwc_to_nchw(t):
    return t.permute(0, 3, 1, 2)


# ---------------------------------------------------------------- 03: CNN layers (channels last)

CONV_CASES = [
    # (m, n_H, n_W, C_in, C_out, f, stride, pad)
    (2, 7, 7, 3, 4, 3, 1, 1),
    (1, 9, 6, 2, 5, 3, 2, 1),      # batch 1, odd and non-square, stride 2
    (3, 8, 8, 4, 2, 3, 2, 0),
    (2, 11, 10, 3, 3, 5, 3, 2),    # bigger kernel, stride 3, padding 2
    (1, 5, 5, 1, 1, 1, 1, 0),      # 1x1 convolution
    (4, 6, 9, 2, 3, 2, 2, 1),      # even kernel
]


@pytest.mark.parametrize("m,n_H,n_W,c_in,c_out,f,stride,pad", CONV_CASES)
def test_conv_forward_and_backward_match_torch(nb03, m, n_H, n_W, c_in, c_out, f, stride, pad):
    rng = np.random.default_rng(m * 100 + n_H * 10 + f)
    A = rng.standard_normal((m, n_H, n_W, c_in))
    W = rng.standard_normal((f, f, c_in, c_out))
    b = rng.standard_normal(c_out)

    Z, cache = nb03.conv_forward(A, W, b, stride=stride, pad=pad)
    A_t, W_t, b_t = tensor(A), tensor(W), tensor(b)
    Z_t = F.conv2d(nhwc_to_nchw(A_t), W_t.permute(3, 2, 0, 1), b_t, stride=stride, padding=pad).permute(0, 2, 3, 1)
    assert_close(Z, Z_t, "conv forward")

    dZ = rng.standard_normal(Z.shape)
    (Z_t * tensor(dZ, grad=False)).sum().backward()
    dA, dW, db = nb03.conv_backward(dZ, cache)
    assert_close(dA, A_t.grad, "conv dA_prev")
    assert_close(dW, W_t.grad, "conv dW")
    assert_close(db, b_t.grad, "conv db")


def test_conv_backward_can_skip_the_input_gradient(nb03):
    rng = np.random.default_rng(1)
    A, W, b = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    Z, cache = nb03.conv_forward(A, W, b, stride=1, pad=1)
    dZ = rng.standard_normal(Z.shape)
    full, skipped = nb03.conv_backward(dZ, cache), nb03.conv_backward(dZ, cache, need_dA_prev=False)
    assert skipped[0] is None
    np.testing.assert_array_equal(full[1], skipped[1])
    np.testing.assert_array_equal(full[2], skipped[2])


def test_naive_conv_equals_im2col(nb03):
    rng = np.random.default_rng(2)
    A, W, b = rng.standard_normal((2, 7, 5, 3)), rng.standard_normal((3, 3, 3, 2)), rng.standard_normal(2)
    for stride, pad in [(1, 1), (2, 0), (2, 2)]:
        assert_close(nb03.conv_forward_naive(A, W, b, stride, pad), nb03.conv_forward(A, W, b, stride, pad)[0], "naive")


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (1, 7, 9, 2), (3, 5, 4, 1), (1, 2, 2, 1)])
def test_maxpool_matches_torch(nb03, shape):
    rng = np.random.default_rng(sum(shape))
    A = rng.standard_normal(shape)
    out, cache = nb03.maxpool_forward(A)
    A_t = tensor(A)
    out_t = F.max_pool2d(nhwc_to_nchw(A_t), 2, 2).permute(0, 2, 3, 1)
    assert_close(out, out_t, "maxpool forward")
    dout = rng.standard_normal(out.shape)
    (out_t * tensor(dout, grad=False)).sum().backward()
    assert_close(nb03.maxpool_backward(dout, cache), A_t.grad, "maxpool backward")


def test_maxpool_gives_a_tied_window_one_gradient(nb03):
    A = np.zeros((1, 2, 2, 1))  # all four inputs tie (as after a ReLU)
    out, cache = nb03.maxpool_forward(A)
    dA = nb03.maxpool_backward(np.ones_like(out), cache)
    assert dA.sum() == 1.0 and dA[0, 0, 0, 0] == 1.0


def test_relu_matches_torch(nb03):
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((3, 5, 4, 2))
    A, cache = nb03.relu_forward(Z)
    Z_t = tensor(Z)
    A_t = torch.relu(Z_t)
    assert_close(A, A_t, "relu forward")
    dA = rng.standard_normal(A.shape)
    (A_t * tensor(dA, grad=False)).sum().backward()
    assert_close(nb03.relu_backward(dA, cache), Z_t.grad, "relu backward")


@pytest.mark.parametrize("m", [1, 5])
def test_flatten_and_dense_match_torch(nb03, m):
    rng = np.random.default_rng(m)
    A = rng.standard_normal((m, 3, 3, 4))
    W, b = rng.standard_normal((36, 3)), rng.standard_normal(3)
    flat, shape = nb03.flatten_forward(A)
    Z, cache = nb03.dense_forward(flat, W, b)
    A_t, W_t, b_t = tensor(A), tensor(W), tensor(b)
    Z_t = A_t.reshape(m, -1) @ W_t + b_t
    assert_close(Z, Z_t, "dense forward")
    dZ = rng.standard_normal(Z.shape)
    (Z_t * tensor(dZ, grad=False)).sum().backward()
    dflat, dW, db = nb03.dense_backward(dZ, cache)
    assert_close(nb03.flatten_backward(dflat, shape), A_t.grad, "flatten/dense dA")
    assert_close(dW, W_t.grad, "dense dW")
    assert_close(db, b_t.grad, "dense db")


@pytest.mark.parametrize("definitions", ["nb02", "nb03"])
def test_sigmoid_matches_torch_and_never_overflows(definitions, request):
    sigmoid = request.getfixturevalue(definitions).sigmoid
    Z = np.array([-1000.0, -50.0, -3.0, 0.0, 2.5, 50.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # an overflow in exp would raise here
        S = sigmoid(Z)
    assert_close(S, torch.sigmoid(tensor(Z, grad=False)), "sigmoid")


def test_cnn_bce_matches_torch_on_extreme_logits(nb03):
    Z = np.array([[-1000.0], [-40.0], [-1.0], [0.0], [3.0], [40.0], [1000.0], [745.0]])
    Y = np.array([[1.0], [0.0], [1.0], [0.0], [1.0], [1.0], [0.0], [1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        cost, dZ = nb03.bce_with_logits(Z, Y)
    Z_t = tensor(Z)
    cost_t = F.binary_cross_entropy_with_logits(Z_t, tensor(Y, grad=False))
    cost_t.backward()
    assert np.isfinite(cost)
    assert_close(cost, cost_t, "bce")
    assert_close(dZ, Z_t.grad, "bce gradient")


def test_whole_cnn_gradient_matches_torch(nb03):
    """cnn_forward / cnn_backward end to end against the same network built from torch ops."""
    params = nb03.init_cnn(filters=(3, 4), image_size=9, seed=4, dtype=np.float64)
    rng = np.random.default_rng(4)
    for key in params:
        params[key] = params[key] + 0.1 * rng.standard_normal(params[key].shape)
    X = rng.standard_normal((3, 9, 9, 3))
    Y = np.array([[1.0], [0.0], [1.0]])
    logits, cache = nb03.cnn_forward(X, params)
    cost, dlogits = nb03.bce_with_logits(logits, Y)
    grads = nb03.cnn_backward(dlogits, cache)

    P = {k: tensor(v) for k, v in params.items()}
    A = nhwc_to_nchw(tensor(X, grad=False))
    for l in (1, 2):
        A = F.max_pool2d(torch.relu(F.conv2d(A, P[f"W{l}"].permute(3, 2, 0, 1), P[f"b{l}"], padding=1)), 2)
    logits_t = A.permute(0, 2, 3, 1).reshape(3, -1) @ P["W_out"] + P["b_out"]
    cost_t = F.binary_cross_entropy_with_logits(logits_t, tensor(Y, grad=False))
    cost_t.backward()
    assert_close(cost, cost_t, "cnn cost")
    for key in params:
        assert_close(grads[key], P[key].grad, f"cnn d{key}")


def test_cnn_gradient_check_in_the_notebook_passes(nb03):
    params = nb03.init_cnn(filters=(2,), image_size=4, seed=5, dtype=np.float64)
    X = np.random.default_rng(5).standard_normal((2, 4, 4, 3))
    worst = nb03.gradient_check_cnn(params, X, np.array([[0.0], [1.0]]), n_checks=5)
    assert max(worst.values()) < 1e-6


# ---------------------------------------------------------------- 02: the L-layer network (one column per example)

@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("m", [1, 7])
def test_linear_activation_layer_matches_torch(nb02, activation, m):
    rng = np.random.default_rng(m)
    A_prev, W, b = rng.standard_normal((5, m)), rng.standard_normal((3, 5)), rng.standard_normal((3, 1))
    A, cache = nb02.linear_activation_forward(A_prev, W, b, activation)
    A_t, W_t, b_t = tensor(A_prev), tensor(W), tensor(b)
    out_t = (torch.relu if activation == "relu" else torch.sigmoid)(W_t @ A_t + b_t)
    assert_close(A, out_t, f"{activation} forward")
    dA = rng.standard_normal(A.shape)
    # The course's convention: dA and dZ are derivatives of the SUM of per-example losses,
    # dW and db of their MEAN (linear_backward divides by m).
    (out_t * tensor(dA, grad=False)).sum().backward()
    dA_prev, dW, db = nb02.linear_activation_backward(dA, cache, activation)
    assert_close(dA_prev, A_t.grad, "dA_prev")
    assert_close(dW, W_t.grad / m, "dW")
    assert_close(db, b_t.grad / m, "db")


@pytest.mark.parametrize("layer_dims,m", [([12, 5, 4, 1], 9), ([7, 3, 1], 1), ([12288, 20, 7, 5, 1], 4)])
def test_L_model_gradients_match_torch(nb02, layer_dims, m):
    rng = np.random.default_rng(m)
    params = nb02.initialize_parameters_deep(layer_dims, scale="he", seed=2)
    params = {k: v + 0.05 * rng.standard_normal(v.shape) for k, v in params.items()}
    X = rng.random((layer_dims[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    AL, caches = nb02.L_model_forward(X, params)
    cost = nb02.compute_cost(nb02.output_logits(caches), Y)
    grads = nb02.L_model_backward(AL, Y, caches)

    P = {k: tensor(v) for k, v in params.items()}
    A = tensor(X, grad=False)
    L = len(layer_dims) - 1
    for l in range(1, L):
        A = torch.relu(P[f"W{l}"] @ A + P[f"b{l}"])
    Z_t = P[f"W{L}"] @ A + P[f"b{L}"]
    cost_t = F.binary_cross_entropy_with_logits(Z_t, tensor(Y, grad=False))
    cost_t.backward()
    assert_close(AL, torch.sigmoid(Z_t), "AL")
    assert_close(cost, cost_t, "cost")
    for key in params:
        assert_close(grads["d" + key], P[key].grad, f"d{key}")


def test_dnn_cost_is_stable_on_extreme_logits(nb02):
    ZL = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0, 800.0]])
    Y = np.array([[1.0, 0.0, 1.0, 1.0, 0.0, 1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        cost = nb02.compute_cost(ZL, Y)
    expected = F.binary_cross_entropy_with_logits(tensor(ZL, grad=False), tensor(Y, grad=False))
    assert np.isfinite(cost) and cost > 300  # two confidently wrong predictions of 1000 cost ~1000/6 each
    assert_close(cost, expected, "extreme cost")


def test_dnn_gradient_check_in_the_notebook_passes(nb02):
    rng = np.random.default_rng(0)
    params = nb02.initialize_parameters_deep([4, 3, 1], scale="he", seed=1)
    assert nb02.gradient_check(params, rng.standard_normal((4, 5)), np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])) < 1e-7


def test_adam_step_matches_torch(nb02):
    rng = np.random.default_rng(6)
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal((3, 1))}
    torch_params = [tensor(params["W1"]), tensor(params["b1"])]
    optimizer = torch.optim.Adam(torch_params, lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    v, s = nb02.initialize_adam(params)
    for t in range(1, 4):
        grads = {"dW1": rng.standard_normal((3, 4)), "db1": rng.standard_normal((3, 1))}
        params, v, s = nb02.update_parameters_with_adam(params, grads, v, s, t, learning_rate=0.01)
        optimizer.zero_grad()
        torch_params[0].grad, torch_params[1].grad = tensor(grads["dW1"], False), tensor(grads["db1"], False)
        optimizer.step()
    assert_close(params["W1"], torch_params[0], "adam W")
    assert_close(params["b1"], torch_params[1], "adam b")


def test_mini_batches_cover_every_example_once(nb02):
    X = np.arange(2 * 10).reshape(2, 10)
    Y = np.arange(10).reshape(1, 10)
    batches = nb02.random_mini_batches(X, Y, 4, np.random.default_rng(0))
    assert [b[0].shape[1] for b in batches] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in batches], axis=1)
    assert sorted(seen[0]) == list(range(10))
    for X_batch, Y_batch in batches:  # columns stay paired with their labels
        np.testing.assert_array_equal(X_batch[1], 10 + Y_batch[0])


# ---------------------------------------------------------------- 02: predict your own image

def test_own_image_missing_file_says_what_to_do(nb02, tmp_path):
    with pytest.raises(FileNotFoundError, match="MY_IMAGE"):
        nb02.load_own_image(tmp_path / "no_such_photo.jpg")


@pytest.mark.parametrize("content", [b"", b"this is a text file, not a photo", b"\xff\xd8\xff\xe0 truncated jpeg"])
def test_own_image_non_image_file_says_what_to_do(nb02, tmp_path, content):
    path = tmp_path / "not_a_photo.jpg"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="JPEG or PNG"):
        nb02.load_own_image(path)


def test_own_image_is_resized_and_scaled_like_training_data(nb02, tmp_path):
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray(np.full((90, 120, 3), 200, dtype=np.uint8)).save(path)
    image = nb02.load_own_image(path)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    params = nb02.initialize_parameters_deep([64 * 64 * 3, 3, 1], scale="he", seed=0)
    probability, _ = nb02.predict_own_image(path, params)
    expected, _ = nb02.L_model_forward(np.full((64 * 64 * 3, 1), 200 / 255.0), params)
    assert probability == pytest.approx(float(expected[0, 0]), rel=1e-12)


# ---------------------------------------------------------------- 01: logistic regression

def test_logistic_regression_gradients_match_torch(nb01):
    rng = np.random.default_rng(7)
    w, b = rng.standard_normal((6, 1)), 0.3
    X, Y = rng.standard_normal((6, 9)), (rng.random((1, 9)) > 0.5).astype(float)
    grads, cost = nb01.propagate(w, b, X, Y)
    w_t, b_t = tensor(w), tensor(b)
    cost_t = F.binary_cross_entropy_with_logits(w_t.T @ tensor(X, grad=False) + b_t, tensor(Y, grad=False))
    cost_t.backward()
    assert_close(cost, cost_t, "logistic cost")
    assert_close(grads["dw"], w_t.grad, "dw")
    assert_close(grads["db"], b_t.grad, "db")


def test_logistic_regression_cost_is_stable_on_extreme_logits(nb01):
    w = np.array([[1000.0]])
    X = np.array([[1.0, -1.0, 1.0]])
    Y = np.array([[0.0, 1.0, 1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        grads, cost = nb01.propagate(w, 0.0, X, Y)
    assert np.isfinite(cost) and cost == pytest.approx(2000 / 3)
    assert np.all(np.isfinite(grads["dw"]))


# ---------------------------------------------------------------- 01: train / validation / test

def _h5_folder(folder, splits):
    from helpers.caches import save_h5

    for split, n in splits.items():
        x = np.arange(n * 2 * 2 * 3, dtype=np.uint8).reshape(n, 2, 2, 3)
        save_h5(folder / f"{split}_catsdogs.h5", split, x, np.arange(n) % 2)
    return folder


def test_load_splits_uses_the_validation_file_when_there_is_one(nb01, tmp_path):
    splits = nb01.load_splits(_h5_folder(tmp_path, {"train": 10, "val": 4, "test": 3}))
    assert not splits["val_held_out"]
    assert [splits[s][1].shape[1] for s in ("train", "val", "test", "whole_train")] == [10, 4, 3, 10]


def test_load_splits_holds_out_every_fifth_training_image_without_one(nb01, tmp_path):
    splits = nb01.load_splits(_h5_folder(tmp_path, {"train": 12, "test": 3}))
    (train_x, train_y), (val_x, val_y) = splits["train"], splits["val"]
    assert splits["val_held_out"] and train_y.shape[1] == 9 and val_y.shape[1] == 3
    whole_x = splits["whole_train"][0]
    assert np.array_equal(val_x, whole_x[[0, 5, 10]]) and len(whole_x) == 12
    seen = {bytes(image) for image in np.concatenate([train_x, val_x])}
    assert len(seen) == 12  # every training image in exactly one of the two
