"""benchmarks/run_all.py: every bench_*.py in its own process, one table of their JSON results."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "run_all.py"
WRITES = """
import json, os, sys
from pathlib import Path
out = Path(os.environ["CATSDOGS_ROOT"], "data", "benchmarks")
out.mkdir(parents=True, exist_ok=True)
(out / Path(sys.argv[0]).with_suffix(".json").name).write_text(json.dumps({data}))
"""


def bench(folder, name, body):
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_each_script_runs_and_one_table_shows_all_results(tmp_path):
    scripts = tmp_path / "benchmarks"
    scripts.mkdir()
    bench(scripts, "bench_list", WRITES.format(data='[{"case": "numpy vs torch", "numpy_s": 1.5, "ratio": 1.5}]'))
    bench(scripts, "bench_rows", WRITES.format(data='{"rows": [{"case": "files vs memory", "ratio": 1.08}], "device": "cpu"}'))
    bench(scripts, "bench_broken", "raise SystemExit('needs a GPU')")
    bench(scripts, "bench_flat", WRITES.format(data='{"case": "one object", "gpu": False}'))
    (tmp_path / "data" / "benchmarks").mkdir(parents=True)
    (tmp_path / "data" / "benchmarks" / "bench_broken.json").write_text('[{"case": "stale", "ratio": 9.9}]')

    env = {**os.environ, "CATSDOGS_ROOT": str(tmp_path)}
    result = subprocess.run([sys.executable, str(SCRIPT), "--benchmarks", str(scripts)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1  # bench_broken failed
    assert "bench_broken FAILED: exit 1: needs a GPU" in result.stdout
    table = result.stdout.split("Measured ", 1)[1]
    assert table.split("\n", 1)[0].endswith("Timings on shared machines are noisy.") and " CPUs, " in table
    lines = [line for line in table.splitlines() if line.startswith("|")]
    assert lines[0] == "| benchmark | case | ratio | gpu | numpy_s |"
    assert "| bench_list | numpy vs torch | 1.5 |  | 1.5 |" in lines
    assert "| bench_rows | files vs memory | 1.08 |  |  |" in lines
    assert "| bench_flat | one object |  | False |  |" in lines
    assert not any("stale" in line for line in lines)  # a failed script's old numbers are not shown

    only = subprocess.run([sys.executable, str(SCRIPT), "--benchmarks", str(scripts), "--table-only"], capture_output=True, text=True, env=env, timeout=300)
    assert only.returncode == 0 and "▶" not in only.stdout and "| bench_broken | stale |" in only.stdout
