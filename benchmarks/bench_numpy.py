"""NumPy from scratch vs PyTorch on the CPU, side by side in one run.

1. The L-layer network of notebook 02 ([12288, 20, 7, 5, 1], batch gradient descent, lr 0.0075):
   the notebook's own functions (read from the .ipynb) in float64, in "naive" float32 (only the data cast)
   and in consistent float32, against the same network, initial weights and data in PyTorch (autograd).
2. Notebook 03's im2col convolution, forward + backward, against torch.nn.functional.conv2d:
   a batch of 64 RGB 64x64 images, 3 -> 16 channels, 3x3, padding 1.

Why naive float32 is slower than float64: the notebook's initialisation draws the weights with
np.random.randn, which returns float64. A float32 array times a float64 array is float64 (NumPy's
type promotion), so every `W @ A_prev` and `dZ @ A_prev.T` first converts the whole 12288 x m input to a
float64 temporary, then multiplies in float64: the float64 work plus a cast and a 20 MB copy of the
largest array, twice per iteration. This run measures that variant and shows the outputs really are
float64 (the "dtype of Z1" column). Cast the weights too (every array float32) and float32 is faster than
float64, as it should be.

Threads: OpenBLAS and PyTorch both get the same number of threads (--threads, default 1: on a shared or
small machine OpenBLAS's spinning threads make these small products many times slower; see the
notebooks' setup cells). Timings on a busy machine are noisy: each variant runs in several rounds,
interleaved, and the fastest round counts. Measured on the shared 2-core development machine (load 10-16),
three runs gave NumPy/PyTorch float64 ratios of 0.86, 1.43 and 0.88: the two big matrix products per iteration
(20 x 12288 times 12288 x m, forward and for dW1) dominate and take about the same time in both libraries
(measured alone: 15 ms NumPy vs 17-21 ms PyTorch per product), so the ratio is about 1 plus noise;
float32 stayed below 1 (0.87-0.97) and the convolution between 1.3x and 2.4x.

Usage:
    python benchmarks/bench_numpy.py                 # 100 iterations per DNN variant and round (x5 rounds)
    python benchmarks/bench_numpy.py --full          # the notebook's 2,500 iterations per variant
    CATSDOGS_H5=../shared/data/catvnoncat python benchmarks/bench_numpy.py   # the classic images
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=100, help="gradient descent iterations per variant and round")
    parser.add_argument("--full", action="store_true", help="2,500 iterations (the notebook's run); slow on a shared machine")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved repeats; the fastest counts")
    parser.add_argument("--conv-repeats", type=int, default=10, help="conv forward+backward passes per round")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads for both libraries")
    parser.add_argument("--json", type=Path, default=ROOT / "data" / "benchmarks" / "bench_numpy.json")
    return parser.parse_args()


ARGS = parse_args()
# Both libraries read their thread count when they load: set it before importing either.
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from notebook_code import load_definitions  # noqa: E402

torch.set_num_threads(ARGS.threads)
LAYERS_DIMS = [12288, 20, 7, 5, 1]
LEARNING_RATE = 0.0075


def load_images():
    """(X (12288, m) in [0, 1], Y (1, m), name): CATSDOGS_H5 if set, else seeded random images of the classic size."""
    if os.environ.get("CATSDOGS_H5"):
        from helpers.caches import load_h5_dataset

        data = load_h5_dataset(os.environ["CATSDOGS_H5"])
        return data.train_x.reshape(len(data.train_x), -1).T / 255.0, data.train_y.astype(float), "CATSDOGS_H5 train set"
    rng = np.random.default_rng(0)
    m = 209
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


def dnn_variants(nb, X, Y):
    """name -> (library, function(iterations) -> dtype of Z1), each starting from the same weights."""
    start = nb["initialize_parameters_deep"](LAYERS_DIMS, scale="xavier", seed=1)

    def np_run(x_dtype, w_dtype):
        Xc, Yc = X.astype(x_dtype), Y.astype(x_dtype)
        return lambda n: numpy_dnn(nb, Xc, Yc, {k: v.astype(w_dtype) for k, v in start.items()}, n)

    def torch_run(dtype):
        Xt, Yt = torch.tensor(X, dtype=dtype), torch.tensor(Y, dtype=dtype)
        return lambda n: torch_dnn(Xt, Yt, {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in start.items()}, n)

    return {
        "NumPy float64 (notebook 02 as written)": ("numpy", np_run(np.float64, np.float64)),
        "NumPy naive float32 (data float32, weights float64)": ("numpy", np_run(np.float32, np.float64)),
        "NumPy float32 (every array float32)": ("numpy", np_run(np.float32, np.float32)),
        "PyTorch float64": ("torch", torch_run(torch.float64)),
        "PyTorch float32": ("torch", torch_run(torch.float32)),
    }


def conv_variants(nb):
    rng = np.random.default_rng(0)
    A = rng.random((64, 64, 64, 3), dtype=np.float32)
    W = (rng.standard_normal((3, 3, 3, 16)) * 0.1).astype(np.float32)
    b = np.zeros(16, dtype=np.float32)
    dZ = rng.standard_normal((64, 64, 64, 16)).astype(np.float32)

    def numpy_conv():
        Z, cache = nb["conv_forward"](A, W, b, stride=1, pad=1)
        return nb["conv_backward"](dZ, cache)

    A_t = torch.tensor(A).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    W_t = torch.tensor(W).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    b_t = torch.tensor(b, requires_grad=True)
    dZ_t = torch.tensor(dZ).permute(0, 3, 1, 2).contiguous()

    def torch_conv():
        Z = torch.nn.functional.conv2d(A_t, W_t, b_t, stride=1, padding=1)
        Z.backward(dZ_t)
        A_t.grad = W_t.grad = b_t.grad = None

    # Same numbers first: a benchmark of a wrong convolution would be meaningless.
    Z_np, _ = nb["conv_forward"](A, W, b, stride=1, pad=1)
    Z_t = torch.nn.functional.conv2d(A_t, W_t, b_t, padding=1).permute(0, 2, 3, 1).detach().numpy()
    assert np.allclose(Z_np, Z_t, atol=1e-4), "NumPy and PyTorch convolutions disagree"
    return {"NumPy im2col conv, forward + backward": numpy_conv, "torch conv2d, forward + backward": torch_conv}


def fastest(functions, rounds, argument=None):
    best = {name: float("inf") for name in functions}
    extra = {}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            extra[name] = function(argument) if argument is not None else function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best, extra


def main():
    iterations = 2500 if ARGS.full else ARGS.iterations
    nb02 = load_definitions("02_numpy_deep_neural_network")
    nb03 = load_definitions("03_numpy_cnn")
    X, Y, data_name = load_images()
    print(f"numpy {np.__version__}, torch {torch.__version__}, {ARGS.threads} thread(s), {os.cpu_count()} CPUs; "
          f"data: {data_name}; {iterations} iterations x {ARGS.rounds} rounds (fastest counts)\n")

    variants = dnn_variants(nb02, X, Y)
    seconds, dtypes = fastest({name: run for name, (_, run) in variants.items()}, ARGS.rounds, iterations)
    torch_same = {"float64": seconds["PyTorch float64"], "float32": seconds["PyTorch float32"]}
    rows, record = [], {"dnn": {}, "conv": {}}
    print("| L-layer network | dtype of Z1 | seconds per iteration | 2,500 iterations (s) | ratio vs PyTorch, same precision |")
    print("|---|---|---|---|---|")
    for name, (library, _) in variants.items():
        per_iteration = seconds[name] / iterations
        precision = "float32" if "float32" in name else "float64"
        ratio = seconds[name] / torch_same[precision]
        print(f"| {name} | {str(dtypes[name]).replace('torch.', '')} | {per_iteration * 1000:.2f} ms | {per_iteration * 2500:.1f} | {ratio:.2f} |")
        record["dnn"][name] = {"seconds_per_iteration": per_iteration, "seconds_2500": per_iteration * 2500,
                               "ratio_vs_pytorch_same_precision": ratio, "z1_dtype": str(dtypes[name])}
        if library != "torch":  # one row per NumPy variant for benchmarks/run_all.py's table
            rows.append({"case": f"L-layer net, 2,500 iterations, {name}", "seconds": per_iteration * 2500, "ratio": ratio,
                         "vs": f"PyTorch {precision}", "target": "<= 1.0" if "naive" not in name else ""})

    conv = conv_variants(nb03)
    conv_seconds, _ = fastest({name: (lambda f=f: [f() for _ in range(ARGS.conv_repeats)]) for name, f in conv.items()}, ARGS.rounds)
    torch_conv = conv_seconds["torch conv2d, forward + backward"]
    print("\n| conv 64x64x64x3 -> 16, 3x3, pad 1 (float32) | ms per forward + backward | ratio vs PyTorch |")
    print("|---|---|---|")
    for name, total in conv_seconds.items():
        per_pass = total / ARGS.conv_repeats
        print(f"| {name} | {per_pass * 1000:.1f} | {total / torch_conv:.2f} |")
        record["conv"][name] = {"seconds_per_pass": per_pass, "ratio_vs_pytorch": total / torch_conv}
        if not name.startswith("torch"):
            rows.append({"case": f"conv 64x3x64x64 -> 16, 3x3, {name}", "seconds": per_pass, "ratio": total / torch_conv,
                         "vs": "torch conv2d", "target": "<= 3.0"})

    best_numpy = min(seconds["NumPy float64 (notebook 02 as written)"], seconds["NumPy float32 (every array float32)"])
    summary = {
        "dnn_ratio_float64": seconds["NumPy float64 (notebook 02 as written)"] / torch_same["float64"],
        "dnn_ratio_float32": seconds["NumPy float32 (every array float32)"] / torch_same["float32"],
        "dnn_ratio_best_numpy_vs_best_torch": best_numpy / min(torch_same.values()),
        "naive_float32_vs_float64": seconds["NumPy naive float32 (data float32, weights float64)"] / seconds["NumPy float64 (notebook 02 as written)"],
        "conv_ratio": conv_seconds["NumPy im2col conv, forward + backward"] / torch_conv,
    }
    print("\n| summary | value | target |")
    print("|---|---|---|")
    targets = {"dnn_ratio_float64": "<= 1.0", "dnn_ratio_float32": "<= 1.0", "conv_ratio": "<= 3.0"}
    for key, value in summary.items():
        print(f"| {key} | {value:.2f} | {targets.get(key, '')} |")

    ARGS.json.parent.mkdir(parents=True, exist_ok=True)
    ARGS.json.write_text(json.dumps({
        "script": "bench_numpy", "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S"), "data": data_name,
        "iterations": iterations, "rounds": ARGS.rounds, "threads": ARGS.threads, "cpus": os.cpu_count(),
        "numpy": np.__version__, "torch": torch.__version__, "rows": rows, **record, "summary": summary,
    }, indent=2) + "\n")
    print(f"\nwrote {ARGS.json.relative_to(ROOT) if ARGS.json.is_relative_to(ROOT) else ARGS.json}")


if __name__ == "__main__":
    main()
