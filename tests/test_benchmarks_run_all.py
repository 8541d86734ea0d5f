"""benchmarks/run_all.py: every bench_*.py in its own process, one table of their cases with spread, promotion."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "run_all.py"
# A benchmark as the real ones are written: interleaved rounds through benchmarks/measure.py.
MEASURES = """
import sys, time
from benchmarks import measure
quick = measure.is_quick()
results = measure.Results("{name}", quick, {{"rounds": 3}})
seconds = measure.interleaved({{"slow": lambda: time.sleep(0.004), "fast": lambda: time.sleep(0.002)}}, rounds=3)
results.add("slow_vs_fast", measure.case("sleeping 4 ms vs 2 ms", seconds, "slow", "fast", target={target}))
results.write()
"""


def bench(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def run_all(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path), "CATSDOGS_RECORDS": str(tmp_path / "records"), "PYTHONPATH": str(ROOT)}
    env.pop("CATSDOGS_QUICK", None)
    return subprocess.run([sys.executable, str(SCRIPT), "--benchmarks", str(tmp_path / "benchmarks"), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def table_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("|")]


def make_scripts(tmp_path: Path) -> None:
    scripts = tmp_path / "benchmarks"
    scripts.mkdir()
    bench(scripts, "bench_sleep", MEASURES.format(name="bench_sleep", target="3.0"))
    bench(scripts, "bench_broken", "raise SystemExit('needs a GPU')")
    (tmp_path / "data" / "benchmarks").mkdir(parents=True)
    (tmp_path / "data" / "benchmarks" / "bench_broken.json").write_text('{"cases": {"stale": {}}}')


def test_each_script_runs_and_the_table_shows_median_spread_and_rounds(tmp_path):
    make_scripts(tmp_path)
    result = run_all(tmp_path)
    assert result.returncode == 1  # bench_broken failed
    assert "bench_broken FAILED: exit 1: needs a GPU" in result.stdout
    lines = table_lines(result.stdout)
    assert lines[0].startswith("| benchmark | case | ratio (median) | min-max | IQR | rounds | target |")
    row = next(line for line in lines if line.startswith("| bench_sleep |")).split(" | ")
    median, low_high, iqr, rounds, target = row[2:7]
    low, high = map(float, low_high.split("-"))
    assert low <= float(median) <= high and rounds == "3"
    assert float(median) > 1  # 4 ms sleeps take longer than 2 ms ones in every round
    assert target.startswith("<= 3 (met") or target.startswith("<= 3 (missed")
    assert not any("stale" in line for line in lines)  # a failed script's old numbers are not shown
    record = json.loads((tmp_path / "data" / "benchmarks" / "bench_sleep.json").read_text())
    assert record["quick"] is False and record["machine"]["cores"] >= 1 and "blas" in record["machine"]
    assert record["load_average_during"]["rounds"] >= 1  # how busy the machine was is part of the result
    assert len(record["cases"]["slow_vs_fast"]["variants"]["slow"]) and record["cases"]["slow_vs_fast"]["ratio"]["rounds"] == 3

    only = run_all(tmp_path, "--table-only")
    assert only.returncode == 0 and "▶" not in only.stdout and any(line.startswith("| bench_sleep |") for line in table_lines(only.stdout))


def test_quick_runs_are_refused_as_records_and_real_runs_are_promoted(tmp_path):
    make_scripts(tmp_path)
    (tmp_path / "benchmarks" / "bench_broken.py").unlink()
    quick = run_all(tmp_path, "--quick", "--promote")
    assert quick.returncode == 1 and "quick-mode run" in quick.stderr
    assert "QUICK MODE" in quick.stdout  # the table says its numbers measure nothing
    assert not (tmp_path / "records" / "benchmarks" / "bench_sleep.json").exists()

    real = run_all(tmp_path, "--promote")
    assert real.returncode == 0, real.stderr
    again = run_all(tmp_path, "--promote", "repeat")
    assert again.returncode == 0, again.stderr
    published = json.loads((tmp_path / "records" / "benchmarks" / "bench_sleep.json").read_text())
    assert published["record"] == "benchmarks/bench_sleep" and published["quick"] is False
    assert (tmp_path / "records" / "benchmarks" / "bench_sleep.repeat.json").exists()

    # README's section comes from the records, with the second run beside the first
    fill = ("import sys; from pathlib import Path; from benchmarks import table; "
            "print(table.fill_readme(sys.stdin.read(), Path(sys.argv[1])))")
    readme = "intro\n<!-- benchmarks:begin -->\nold table\n<!-- benchmarks:end -->\noutro\n"
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path), "CATSDOGS_RECORDS": str(tmp_path / "records"), "PYTHONPATH": str(ROOT)}
    filled = subprocess.run([sys.executable, "-c", fill, str(tmp_path / "records")], input=readme, capture_output=True,
                            text=True, env=env, timeout=120)
    assert filled.returncode == 0, filled.stderr
    text = filled.stdout
    assert text.startswith("intro\n<!-- benchmarks:begin -->\n") and text.rstrip().endswith("<!-- benchmarks:end -->\noutro")
    assert "old table" not in text and "runs agree" in text and "unmeasured" in text
    row = next(line for line in table_lines(text) if line.startswith("| bench_sleep |"))
    assert f"{published['cases']['slow_vs_fast']['ratio']['median']:.2f}" == row.split(" | ")[2]


def quick_run(tmp_path: Path, *stems: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path), "CATSDOGS_RECORDS": str(tmp_path / "records"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), "--quick", "--only", *stems], capture_output=True, text=True, env=env, timeout=600)


def case_rows(stdout: str, benchmark: str) -> dict[str, list[str]]:
    """{case key: the row's cells} of one benchmark in the printed table."""
    rows = [line.split(" | ") for line in table_lines(stdout) if line.startswith(f"| {benchmark} |")]
    return {cells[1].split("`")[1]: cells for cells in rows}


@pytest.mark.slow
def test_the_real_numpy_and_torch_benchmarks_in_quick_mode(tmp_path):
    result = quick_run(tmp_path, "bench_numpy", "bench_pytorch_loader")
    assert result.returncode == 0, result.stderr
    numpy_rows = case_rows(result.stdout, "bench_numpy")
    conv_parts = {"conv_part_im2col", "conv_part_forward_product", "conv_part_weight_gradients", "conv_part_col2im"}
    choices = {"col2im_dcols_first_vs_per_offset", "col2im_add_at_vs_per_offset", "db_sum_vs_product"}
    assert set(numpy_rows) == {"dnn_float64", "dnn_float32", "dnn_naive_float32", "conv_1_thread", "conv_2_threads"} | conv_parts | choices
    assert numpy_rows["conv_1_thread"][6].startswith("<= 3 (") and numpy_rows["conv_1_thread"][5] == "3"  # target, rounds
    record = json.loads((tmp_path / "data" / "benchmarks" / "bench_numpy.json").read_text())
    assert record["quick"] is True  # never promoted
    if sys.platform == "linux" and platform.libc_ver()[0] == "glibc":  # freed memory is kept, so no side pays page faults
        assert record["settings"]["allocator"].startswith("glibc keeps freed memory")
    assert record["cases"]["dnn_naive_float32"]["z1_dtype"] == "float64"  # float64 weights promote the float32 data
    assert record["cases"]["dnn_float32"]["z1_dtype"] == "float32"
    # each part is a share of the same whole pass; col2im is the backward pass minus its weight gradients, per round
    assert {record["cases"][key]["denominator"] for key in conv_parts} == {"whole_pass"}
    col2im = record["cases"]["conv_part_col2im"]["samples"]
    backward = record["cases"]["col2im_dcols_first_vs_per_offset"]["samples"]["backward"]
    weights = record["cases"]["conv_part_weight_gradients"]["samples"]["backward_without_dA"]
    assert col2im["col2im"] == pytest.approx([a - b for a, b in zip(backward, weights)], abs=2e-6)
    torch_rows = case_rows(result.stdout, "bench_pytorch_loader")
    assert {"threads_1_vs_2", "fed_vs_memory", "loop_vs_loader", "pil_vs_fast_jpeg", "workers_0_vs_default"} <= set(torch_rows)
    assert "GPU rows" in result.stdout  # no GPU case measured: the table says so


@pytest.mark.slow
@pytest.mark.tensorflow
def test_the_keras_pipeline_benchmark_in_quick_mode(tmp_path):
    result = quick_run(tmp_path, "bench_keras_pipeline")
    assert result.returncode == 0, result.stderr
    rows = case_rows(result.stdout, "bench_keras_pipeline")
    assert set(rows) == {"files_vs_memory", "augmentation_model_vs_pipeline"}
    assert rows["files_vs_memory"][5] == "2" and rows["files_vs_memory"][6].startswith("<= 1.15 (")
    record = json.loads((tmp_path / "data" / "benchmarks" / "bench_keras_pipeline.json").read_text())
    assert set(record["settings"]["first_epoch_s"]) == {"files", "memory", "model_augmentation"}
    # every timed epoch stops at its last step; the iterator teardown after it is kept apart, one per epoch
    assert {name: len(waits) for name, waits in record["settings"]["teardown_s"].items()} == {"files": 3, "memory": 3, "model_augmentation": 3}
