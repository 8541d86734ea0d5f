#!/usr/bin/env python
"""NumPy from scratch vs PyTorch on the CPU, each NumPy variant interleaved with its PyTorch baseline.

1. The L-layer network of notebook 02 ([12288, 20, 7, 5, 1], batch gradient descent, lr 0.0075): the
   notebook's own functions (lessons.deep_network) in float64, in "naive" float32 (only the data cast)
   and in consistent float32, against the same network, initial weights and data in PyTorch (autograd).
2. Notebook 03's im2col convolution (lessons.numpy_cnn), forward + backward, against
   torch.nn.functional.conv2d: a batch of 64 RGB 64x64 images, 3 -> 16 channels, 3x3, padding 1,
   float32, with 1 and with 2 threads on both sides (OpenBLAS through threadpoolctl, torch.set_num_threads).
3. Where that convolution's time goes (one thread): im2col, the forward product, the weight gradients and
   col2im, each as a share of the whole pass; and what two of notebook 03's choices save, against the
   versions it does not use: col2im by per-offset products vs forming all of dcols first or np.add.at,
   and the bias gradient as a product with a row of ones vs np.sum.

Each round runs every variant of a case once (the order reversed every other round); the ratio of each
round is NumPy / PyTorch, and the case reports its median, min-max and IQR over the rounds
(benchmarks/measure.py).

Why naive float32 is slower than float64: the notebook's initialisation draws the weights with
np.random.randn, which returns float64. A float32 array times a float64 array is float64 (NumPy's type
promotion), so every `W @ A_prev` and `dZ @ A_prev.T` first converts the whole 12288 x m input to a
float64 temporary: the float64 work plus a cast and a 20 MB copy of the largest array, twice per
iteration (the "z1_dtype" of the case shows the outputs really are float64).

    python benchmarks/bench_numpy.py                 # 100 iterations per round, 10 rounds; convolution 5 passes, 30 rounds
    python benchmarks/bench_numpy.py --quick         # tiny sizes, 3 rounds (tests; never promoted)
    CATSDOGS_H5=../shared/data/catvnoncat python benchmarks/bench_numpy.py   # the classic images
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=100, help="gradient descent iterations per variant and round")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds per case (after one warm-up round)")
    parser.add_argument("--conv-repeats", type=int, default=5, help="conv forward+backward passes per variant and round")
    # A convolution round takes under a second, so it can afford many more rounds than the L-layer cases;
    # with two threads on two cores every stray process lands in some round, and only many rounds steady the median.
    parser.add_argument("--conv-rounds", type=int, default=30, help="interleaved rounds per convolution case")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts for the convolution (both libraries)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and 3 rounds: checks the code path, measures nothing")
    return parser.parse_args(argv)


ARGS = parse_args()

# OpenBLAS sizes its thread pool when it loads: allow the most threads asked for, then limit per case.
# Only OpenBLAS's own variable: with OMP_NUM_THREADS=2 set at start-up, torch's convolution after
# torch.set_num_threads(1) and a pause took twice as long as without it (measured here), which would
# flatter NumPy.
os.environ["OPENBLAS_NUM_THREADS"] = str(max(ARGS.threads))

from benchmarks import measure  # noqa: E402

ALLOCATOR = measure.keep_freed_memory()  # before NumPy and torch allocate anything
import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

LAYERS_DIMS = [12288, 20, 7, 5, 1]
PAUSE = 0.3  # seconds between variants, so neither side shares the cores with the other's spinning threads (measure.interleaved)
LEARNING_RATE = 0.0075


def lesson_functions() -> tuple[dict, dict]:
    """(notebook 02's functions, notebook 03's functions), as the notebooks export them."""
    from lessons import deep_network, numpy_cnn

    return vars(deep_network), vars(numpy_cnn)


def load_images(quick: bool):
    """(X (12288, m) in [0, 1], Y (1, m), name): CATSDOGS_H5 if set, else seeded random images of the classic size."""
    if os.environ.get("CATSDOGS_H5") and not quick:
        from helpers.caches import load_h5_dataset

        data = load_h5_dataset(os.environ["CATSDOGS_H5"])
        return data.train_x.reshape(len(data.train_x), -1).T / 255.0, data.train_y.astype(float), "CATSDOGS_H5 train set"
    rng = np.random.default_rng(0)
    m = 16 if quick else 209  # 209: the classic cat/non-cat training set's size
    return rng.integers(0, 256, (12288, m)) / 255.0, (rng.random((1, m)) > 0.5).astype(float), f"random images, m={m}"


def numpy_dnn(nb, X, Y, parameters, iterations):
    for _ in range(iterations):
        AL, caches = nb["L_model_forward"](X, parameters)
        grads = nb["L_model_backward"](AL, Y, caches)
        nb["update_parameters"](parameters, grads, LEARNING_RATE)
    return caches[0][1].dtype  # dtype of Z1


def torch_dnn(X, Y, parameters, iterations):
    L = len(parameters) // 2
    for _ in range(iterations):
        A = X
        for l in range(1, L):
            A = torch.relu(parameters[f"W{l}"] @ A + parameters[f"b{l}"])
        Z = parameters[f"W{L}"] @ A + parameters[f"b{L}"]
        torch.nn.functional.binary_cross_entropy_with_logits(Z, Y).backward()
        with torch.no_grad():
            for p in parameters.values():
                p -= LEARNING_RATE * p.grad
                p.grad = None
    return Z.dtype


def dnn_runs(nb, X, Y, iterations):
    """name -> function() running `iterations` steps, each from the same initial weights (fresh copies per call)."""
    start = nb["initialize_parameters_deep"](LAYERS_DIMS, scale="xavier", seed=1)
    dtypes = {}

    def np_run(name, x_dtype, w_dtype):
        Xc, Yc = X.astype(x_dtype), Y.astype(x_dtype)

        def run():
            dtypes[name] = str(numpy_dnn(nb, Xc, Yc, {k: v.astype(w_dtype) for k, v in start.items()}, iterations))
        return run

    def torch_run(name, dtype):
        Xt, Yt = torch.tensor(X, dtype=dtype), torch.tensor(Y, dtype=dtype)

        def run():
            weights = {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in start.items()}
            dtypes[name] = str(torch_dnn(Xt, Yt, weights, iterations)).replace("torch.", "")
        return run

    runs = {
        "numpy_float64": np_run("numpy_float64", np.float64, np.float64),
        "numpy_naive_float32": np_run("numpy_naive_float32", np.float32, np.float64),
        "numpy_float32": np_run("numpy_float32", np.float32, np.float32),
        "torch_float64": torch_run("torch_float64", torch.float64),
        "torch_float32": torch_run("torch_float32", torch.float32),
    }
    return runs, dtypes


def conv_problem(quick: bool):
    """(A, W, b, dZ, description): a batch of RGB images, 3 -> 16 channels, 3x3, padding 1, float32, channels-last."""
    batch, side = (4, 16) if quick else (64, 64)
    rng = np.random.default_rng(0)
    A = rng.random((batch, side, side, 3), dtype=np.float32)
    W = (rng.standard_normal((3, 3, 3, 16)) * 0.1).astype(np.float32)
    b = np.zeros(16, dtype=np.float32)
    dZ = rng.standard_normal((batch, side, side, 16)).astype(np.float32)
    return A, W, b, dZ, f"{batch}x{side}x{side}x3 -> 16, 3x3, pad 1, float32"


def after_one_pass(work, repeats: int):
    """A variant that runs `work` once untimed, then reports the time of `repeats` more (measure.Timed).

    After the pause between variants (PAUSE) a library's first pass is slow (its threads have gone to sleep,
    its buffers are cold): measured here, torch's convolution took up to half as long again. One untimed
    pass compares each library in its steady state, as inside a training loop.
    """
    def run():
        work()
        start = time.perf_counter()
        for _ in range(repeats):
            work()
        return measure.Timed(time.perf_counter() - start)
    return run


def conv_runs(nb, problem, repeats: int):
    A, W, b, dZ, _ = problem
    A_t = torch.tensor(A).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    W_t = torch.tensor(W).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    b_t = torch.tensor(b, requires_grad=True)
    dZ_t = torch.tensor(dZ).permute(0, 3, 1, 2).contiguous()

    def numpy_pass():
        _, cache = nb["conv_forward"](A, W, b, stride=1, pad=1)
        nb["conv_backward"](dZ, cache)

    def torch_pass():
        Z = torch.nn.functional.conv2d(A_t, W_t, b_t, stride=1, padding=1)
        Z.backward(dZ_t)
        A_t.grad = W_t.grad = b_t.grad = None

    # Same numbers first: a benchmark of a wrong convolution would be meaningless.
    Z_np, cache = nb["conv_forward"](A, W, b, stride=1, pad=1)
    Z_t = torch.nn.functional.conv2d(A_t, W_t, b_t, padding=1)
    assert np.allclose(Z_np, Z_t.permute(0, 2, 3, 1).detach().numpy(), atol=1e-4), "NumPy and PyTorch convolutions disagree (forward)"
    dA, dW, db = nb["conv_backward"](dZ, cache)[:3]
    Z_t.backward(dZ_t)
    assert np.allclose(dW, W_t.grad.permute(2, 3, 1, 0).numpy(), rtol=1e-3, atol=1e-2), "NumPy and PyTorch convolutions disagree (dW)"
    A_t.grad = W_t.grad = b_t.grad = None
    return {"numpy_im2col": after_one_pass(numpy_pass, repeats), "torch_conv2d": after_one_pass(torch_pass, repeats)}


# Two col2im versions notebook 03 does not use, to measure what its choice saves. Both first form all of
# dcols = G W_mat^T, (m n_H n_W, f f n_C_prev), whose columns are ordered (i, j, channel) like im2col's.
def col2im_dcols_first(G, W, padded_shape, n_H, n_W, stride):
    """Add each kernel offset's block of dcols columns back to its strided slice (03's first version)."""
    f, _, n_C_prev, n_C = W.shape
    dcols = G @ W.reshape(-1, n_C).T
    dA_pad = np.zeros(padded_shape, dtype=G.dtype)
    for i in range(f):
        for j in range(f):
            block = dcols[:, (i * f + j) * n_C_prev:(i * f + j + 1) * n_C_prev]  # 3 numbers per row, a jump to the next
            dA_pad[:, i:i + stride * n_H:stride, j:j + stride * n_W:stride, :] += block.reshape(-1, n_H, n_W, n_C_prev)
    return dA_pad


def col2im_add_at(G, W, padded_shape, source_index):
    """The textbook scatter-add: np.add.at every element of dcols into the padded position it was copied from."""
    dcols = G @ W.reshape(-1, W.shape[3]).T
    dA_pad = np.zeros(int(np.prod(padded_shape)), dtype=G.dtype)
    np.add.at(dA_pad, source_index, dcols)
    return dA_pad.reshape(padded_shape)


def conv_part_runs(nb, problem, repeats: int):
    """Where notebook 03's convolution spends its time, and what two of its choices save: name -> function()."""
    A, W, b, dZ, _ = problem
    stride, pad, f = 1, 1, W.shape[0]
    _, cache = nb["conv_forward"](A, W, b, stride=stride, pad=pad)
    padded_shape = nb["zero_pad"](A, pad).shape
    n_H, n_W = dZ.shape[1:3]
    G = dZ.reshape(-1, dZ.shape[3])
    # im2col of the padded positions' own numbers: for every element of cols, the flat index it was copied from
    source_index = nb["im2col"](np.arange(int(np.prod(padded_shape))).reshape(padded_shape), f, stride)

    def crop(dA_pad):
        return dA_pad[:, pad:pad + A.shape[1], pad:pad + A.shape[2], :]

    dA = nb["conv_backward"](dZ, cache)[0]
    assert np.allclose(crop(col2im_dcols_first(G, W, padded_shape, n_H, n_W, stride)), dA, atol=1e-4), "col2im versions disagree"
    assert np.allclose(crop(col2im_add_at(G, W, padded_shape, source_index)), dA, atol=1e-4), "col2im versions disagree (add.at)"
    assert np.allclose(np.ones(len(G), dtype=G.dtype) @ G, G.sum(axis=0), rtol=1e-4, atol=1e-2), "the two bias gradients disagree"

    def repeated(work):
        return after_one_pass(work, repeats)

    return {
        "whole_pass": repeated(lambda: nb["conv_backward"](dZ, nb["conv_forward"](A, W, b, stride=stride, pad=pad)[1])),
        "im2col": repeated(lambda: nb["im2col"](nb["zero_pad"](A, pad), f, stride)),
        "forward": repeated(lambda: nb["conv_forward"](A, W, b, stride=stride, pad=pad)),
        "backward_without_dA": repeated(lambda: nb["conv_backward"](dZ, cache, need_dA_prev=False)),
        "backward": repeated(lambda: nb["conv_backward"](dZ, cache)),
        "backward_dcols_first": repeated(lambda: (nb["conv_backward"](dZ, cache, need_dA_prev=False),
                                                  col2im_dcols_first(G, W, padded_shape, n_H, n_W, stride))),
        "backward_add_at": repeated(lambda: (nb["conv_backward"](dZ, cache, need_dA_prev=False),
                                             col2im_add_at(G, W, padded_shape, source_index))),
        "db_product": repeated(lambda: np.ones(len(G), dtype=G.dtype) @ G),
        "db_sum": repeated(lambda: G.sum(axis=0)),
    }


def conv_part_cases(seconds: dict[str, list[float]], shape: str, repeats: int) -> dict[str, dict]:
    """Each part's share of the whole pass (paired per round) and the two choices' ratios."""
    seconds = dict(seconds)
    # Two parts are differences of variants timed in the same round: the product after im2col, and col2im.
    seconds["forward_product"] = [a - b for a, b in zip(seconds["forward"], seconds["im2col"])]
    seconds["col2im"] = [a - b for a, b in zip(seconds["backward"], seconds["backward_without_dA"])]
    one = f"{shape}, 1 thread"
    share = "share of notebook 03's whole forward + backward pass"
    rows = {
        "conv_part_im2col": ("im2col (padding, then every 3x3 patch copied into a row of cols)", "im2col"),
        "conv_part_forward_product": ("the forward matrix product cols @ W_mat + b (forward minus im2col)", "forward_product"),
        "conv_part_weight_gradients": ("dW = cols^T G and db (backward without dA_prev)", "backward_without_dA"),
        "conv_part_col2im": ("col2im: dA_prev added back per kernel offset (backward minus backward without dA_prev)", "col2im"),
    }
    cases = {key: measure.case(f"{what}: {share}, {one}", seconds, part, "whole_pass", per=repeats, unit="s per pass")
             for key, (what, part) in rows.items()}
    cases["col2im_dcols_first_vs_per_offset"] = measure.case(
        f"backward with all of dcols formed first, then added back per offset, vs notebook 03's per-offset products, {one}",
        seconds, "backward_dcols_first", "backward", per=repeats, unit="s per pass")
    cases["col2im_add_at_vs_per_offset"] = measure.case(
        f"backward with col2im as np.add.at (the textbook scatter-add) vs notebook 03's per-offset products, {one}",
        seconds, "backward_add_at", "backward", per=repeats, unit="s per pass")
    cases["db_sum_vs_product"] = measure.case(
        f"bias gradient G.sum(axis=0) vs notebook 03's np.ones(len(G)) @ G (above 1: the product is faster), {one}",
        seconds, "db_sum", "db_product", per=repeats, unit="s per call")
    return cases


def main() -> int:
    quick = measure.is_quick(ARGS.quick)
    iterations, rounds, conv_rounds = (2, 3, 3) if quick else (ARGS.iterations, ARGS.rounds, ARGS.conv_rounds)
    nb02, nb03 = lesson_functions()
    X, Y, data_name = load_images(quick)
    results = measure.Results("bench_numpy", quick, {
        "data": data_name, "layers_dims": LAYERS_DIMS, "iterations_per_round": iterations, "rounds": rounds,
        "conv_repeats_per_round": ARGS.conv_repeats, "conv_rounds": conv_rounds, "pause_between_variants_s": PAUSE, "allocator": ALLOCATOR, "conv_threads": ARGS.threads,
        "dnn_threads": 1, "code": "lessons.deep_network, lessons.numpy_cnn"})
    print(f"numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs; data: {data_name}; "
          f"{iterations} iterations x {rounds} rounds per L-layer case", flush=True)

    runs, dtypes = dnn_runs(nb02, X, Y, iterations)
    with threadpool_limits(limits=1, user_api="blas"):
        torch.set_num_threads(1)  # one thread: these small products are many times slower with OpenBLAS's spinning threads on a busy machine
        for key, numpy_name, torch_name, target, label in (
            ("dnn_float64", "numpy_float64", "torch_float64", 1.0, "L-layer net (notebook 02), float64, 1 thread"),
            ("dnn_float32", "numpy_float32", "torch_float32", 1.0, "L-layer net (notebook 02), float32 (every array), 1 thread"),
            ("dnn_naive_float32", "numpy_naive_float32", "torch_float32", None, "L-layer net, naive float32 (data float32, weights float64), 1 thread"),
        ):
            seconds = measure.interleaved({numpy_name: runs[numpy_name], torch_name: runs[torch_name]}, rounds, pause=PAUSE)
            results.add(key, measure.case(label, seconds, numpy_name, torch_name, target=target, per=iterations,
                                          unit="s per iteration", z1_dtype=dtypes[numpy_name]))

    problem = conv_problem(quick)
    shape = problem[-1]
    conv = conv_runs(nb03, problem, ARGS.conv_repeats)
    for threads in ARGS.threads:
        with threadpool_limits(limits=threads, user_api="blas"):
            torch.set_num_threads(threads)
            seconds = measure.interleaved(conv, conv_rounds, pause=PAUSE)
        plural = "s" if threads > 1 else ""
        results.add(f"conv_{threads}_thread{plural}",
                    measure.case(f"im2col conv (notebook 03) vs torch conv2d, forward + backward, {shape}, {threads} thread{plural}",
                                 seconds, "numpy_im2col", "torch_conv2d", target=3.0, per=ARGS.conv_repeats, unit="s per pass", threads=threads))
    with threadpool_limits(limits=1, user_api="blas"):
        seconds = measure.interleaved(conv_part_runs(nb03, problem, ARGS.conv_repeats), conv_rounds)
    for key, entry in conv_part_cases(seconds, shape, ARGS.conv_repeats).items():
        results.add(key, entry)
    results.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
