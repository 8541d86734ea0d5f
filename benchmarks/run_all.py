#!/usr/bin/env python
"""Run every benchmarks/bench_*.py, each in a process of its own, then print one Markdown
table of their results (data/benchmarks/<script>.json) with the date and the machine.

    python benchmarks/run_all.py                 # make benchmarks
    python benchmarks/run_all.py --only bench_numpy_vs_torch
    python benchmarks/run_all.py --table-only    # no runs: the table of the last results

A results file is a list of rows ({"case": ..., "seconds": ..., "ratio": ...}), or an object
with such a list under "rows", or one flat object (one row). The table's columns are the
union of the rows' keys, in the order first seen.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """'Linux x86_64, Intel(R) Xeon(R) ..., 2 CPUs, no GPU' (nvidia-smi names a GPU when there is one)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        gpus = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        gpu = ", ".join(sorted(set(gpus.stdout.split("\n")) - {""})) if gpus.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        gpu = ""
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs, {gpu or 'no GPU'}"


def rows_of(data) -> list[dict]:
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        data = data["rows"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ValueError("expected a list of rows (objects), {'rows': [...]}, or one object")
    return [{k: v for k, v in row.items() if not isinstance(v, (dict, list))} for row in data]


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value).replace("|", "\\|")


def results_table(results_dir: Path, stems: list[str] | None = None) -> str:
    """One Markdown table: benchmark, case, ratio, vs, target, then every other key the rows have."""
    paths = sorted(results_dir.glob("*.json")) if stems is None else [results_dir / f"{stem}.json" for stem in stems]
    rows, columns = [], ["benchmark"]
    leading = ["case", "ratio", "vs", "target"]  # the comparison first, each script's own measurements after
    for path in paths:
        try:
            found = rows_of(json.loads(path.read_text()))
        except FileNotFoundError:
            found = [{"note": f"wrote no {path}"}]
        except ValueError as error:  # json.JSONDecodeError is a ValueError
            found = [{"note": f"unreadable {path.name}: {error}"}]
        for row in found:
            rows.append({"benchmark": path.stem, **row})
            columns += [key for key in row if key not in columns]
    if not rows:
        return f"No benchmark results in {results_dir}."
    columns = ["benchmark"] + [c for c in leading if c in columns] + [c for c in columns[1:] if c not in leading]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def run_scripts(scripts: list[Path], timeout: float, env: dict) -> dict[str, str]:
    """Run each script; return {stem: what went wrong} for those that failed."""
    failures = {}
    for script in scripts:
        print(f"▶ {script.name}", flush=True)
        start = time.perf_counter()
        try:
            # A process per script: TensorFlow and torch crash when imported into one process.
            result = subprocess.run([sys.executable, str(script)], cwd=script.parent.parent, env=env, timeout=timeout,
                                    capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            failures[script.stem] = f"timed out after {timeout:.0f} s"
        else:
            if result.returncode != 0:
                failures[script.stem] = f"exit {result.returncode}: " + (result.stderr.strip().splitlines() or [""])[-1][:300]
            sys.stdout.write(result.stdout)
        print(f"  {script.stem} {'FAILED: ' + failures[script.stem] if script.stem in failures else 'ok'} ({time.perf_counter() - start:.0f} s)", flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(HERE.parent))
    from helpers import setup

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="bench_x", help="run only these scripts (stems)")
    parser.add_argument("--table-only", action="store_true", help="run nothing; print the table of the existing results")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a script may run (default 1800)")
    parser.add_argument("--benchmarks", type=Path, default=HERE, help="folder of bench_*.py (default: benchmarks/)")
    parser.add_argument("--results", type=Path, default=setup.DATA_DIR / "benchmarks", help="default: data/benchmarks/")
    args = parser.parse_args(argv)

    scripts = sorted(args.benchmarks.glob("bench_*.py"))
    if args.only:
        unknown = sorted(set(args.only) - {s.stem for s in scripts})
        if unknown:
            parser.error(f"--only {unknown}: no such script; have {[s.stem for s in scripts]}")
        scripts = [s for s in scripts if s.stem in args.only]
    failures = {}
    if args.table_only:
        stems = None
        newest = max((p.stat().st_mtime for p in args.results.glob("*.json")), default=time.time())
        when = datetime.fromtimestamp(newest, timezone.utc).strftime("%Y-%m-%d %H:%M UTC (newest results file)")
    else:
        failures = run_scripts(scripts, args.timeout, dict(os.environ))
        stems = [s.stem for s in scripts if s.stem not in failures]  # no stale numbers for a failed script
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nMeasured {when} on {machine()}; Python {platform.python_version()}. Timings on shared machines are noisy.\n")
    print(results_table(args.results, stems))
    for stem, why in failures.items():
        print(f"\n{stem} FAILED: {why}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
