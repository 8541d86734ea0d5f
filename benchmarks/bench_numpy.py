#!/usr/bin/env python
"""NumPy from scratch vs PyTorch on the CPU, each NumPy variant interleaved with its PyTorch baseline.

1. The L-layer network of notebook 02 ([12288, 20, 7, 5, 1], batch gradient descent, lr 0.0075): the
   notebook's own functions (lessons.deep_network) in float64, in "naive" float32 (only the data cast)
   and in consistent float32, against the same network, initial weights and data in PyTorch (autograd).
2. Notebook 03's im2col convolution (lessons.numpy_cnn), forward + backward, against
   torch.nn.functional.conv2d: a batch of 64 RGB 64x64 images, 3 -> 16 channels, 3x3, padding 1,
   float32, with 1 and with 2 threads on both sides (OpenBLAS through threadpoolctl, torch.set_num_threads).

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
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(max(ARGS.threads))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks import measure  # noqa: E402

LAYERS_DIMS = [12288, 20, 7, 5, 1]
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


def conv_runs(nb, quick: bool, repeats: int):
    batch, side = (4, 16) if quick else (64, 64)
    rng = np.random.default_rng(0)
    A = rng.random((batch, side, side, 3), dtype=np.float32)
    W = (rng.standard_normal((3, 3, 3, 16)) * 0.1).astype(np.float32)
    b = np.zeros(16, dtype=np.float32)
    dZ = rng.standard_normal((batch, side, side, 16)).astype(np.float32)
    A_t = torch.tensor(A).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    W_t = torch.tensor(W).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    b_t = torch.tensor(b, requires_grad=True)
    dZ_t = torch.tensor(dZ).permute(0, 3, 1, 2).contiguous()

    parts = {"forward": 0.0, "backward": 0.0}  # where NumPy's time goes, summed over every call

    def numpy_conv():
        for _ in range(repeats):
            start = time.perf_counter()
            Z, cache = nb["conv_forward"](A, W, b, stride=1, pad=1)
            middle = time.perf_counter()
            nb["conv_backward"](dZ, cache)
            parts["forward"] += middle - start
            parts["backward"] += time.perf_counter() - middle

    def torch_conv():
        for _ in range(repeats):
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
    return {"numpy_im2col": numpy_conv, "torch_conv2d": torch_conv}, f"{batch}x{side}x{side}x3 -> 16, 3x3, pad 1, float32", parts


def main() -> int:
    quick = measure.is_quick(ARGS.quick)
    iterations, rounds, conv_rounds = (2, 3, 3) if quick else (ARGS.iterations, ARGS.rounds, ARGS.conv_rounds)
    nb02, nb03 = lesson_functions()
    X, Y, data_name = load_images(quick)
    results = measure.Results("bench_numpy", quick, {
        "data": data_name, "layers_dims": LAYERS_DIMS, "iterations_per_round": iterations, "rounds": rounds,
        "conv_repeats_per_round": ARGS.conv_repeats, "conv_rounds": conv_rounds, "conv_threads": ARGS.threads,
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
            seconds = measure.interleaved({numpy_name: runs[numpy_name], torch_name: runs[torch_name]}, rounds)
            results.add(key, measure.case(label, seconds, numpy_name, torch_name, target=target, per=iterations,
                                          unit="s per iteration", z1_dtype=dtypes[numpy_name]))

    conv, shape, parts = conv_runs(nb03, quick, ARGS.conv_repeats)
    for threads in ARGS.threads:
        parts.update(forward=0.0, backward=0.0)
        with threadpool_limits(limits=threads, user_api="blas"):
            torch.set_num_threads(threads)
            seconds = measure.interleaved(conv, conv_rounds)
        results.add(f"conv_{threads}_thread{'s' if threads > 1 else ''}",
                    measure.case(f"im2col conv (notebook 03) vs torch conv2d, forward + backward, {shape}, {threads} thread{'s' if threads > 1 else ''}",
                                 seconds, "numpy_im2col", "torch_conv2d", target=3.0, per=ARGS.conv_repeats, unit="s per pass", threads=threads,
                                 numpy_forward_fraction=round(parts["forward"] / (parts["forward"] + parts["backward"]), 3)))
    results.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
