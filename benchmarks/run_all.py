#!/usr/bin/env python
"""Run every benchmarks/bench_*.py, each in a process of its own, then print one Markdown
table of their results (data/benchmarks/<script>.json): each case's median ratio, its min-max and
IQR over the rounds, the rounds, the target, and the machine each ran on (benchmarks/table.py).

    python benchmarks/run_all.py                      # make benchmarks
    python benchmarks/run_all.py --quick              # tiny sizes, a few rounds: checks the code paths (never promoted)
    python benchmarks/run_all.py --only bench_numpy
    python benchmarks/run_all.py --table-only         # no runs: the table of the last results
    python benchmarks/run_all.py --table-only --promote          # results -> records/benchmarks/<script>.json
    python benchmarks/run_all.py --table-only --promote repeat   # a second run -> records/benchmarks/<script>.repeat.json

Run it twice on a quiet machine: promote the first as the published records and the second as
`repeat`; the README table then shows whether the two runs' ratios agree within their spread.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import table  # noqa: E402


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


def promote(results_dir: Path, stems: list[str], which: str) -> dict[str, str]:
    """Promote each results file to records/benchmarks/<stem>[.repeat].json; {stem: why not} for those refused."""
    from helpers import records

    refused = {}
    for stem in stems:
        ref = f"benchmarks/{stem}{table.REPEAT if which == 'repeat' else ''}"
        try:
            path = records.promote(results_dir / f"{stem}.json", ref)
        except (records.RecordError, ValueError) as error:
            refused[stem] = str(error)
            print(f"not promoted {stem}: {error}", file=sys.stderr)
        else:
            print(f"promoted {stem} -> {path}")
    return refused


def main(argv: list[str] | None = None) -> int:
    from helpers import setup

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="bench_x", help="run only these scripts (stems)")
    parser.add_argument("--table-only", action="store_true", help="run nothing; print the table of the existing results")
    parser.add_argument("--quick", action="store_true", help="CATSDOGS_QUICK=1 for every script: tiny sizes, a few rounds")
    parser.add_argument("--promote", nargs="?", const="published", choices=("published", "repeat"),
                        help="after the table, promote the results into records/benchmarks/ (quick runs are refused)")
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
        stems = [s.stem for s in scripts if (args.results / f"{s.stem}.json").exists()] if args.only else None
    else:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))}
        if args.quick:
            env["CATSDOGS_QUICK"] = "1"
        failures = run_scripts(scripts, args.timeout, env)
        stems = [s.stem for s in scripts if s.stem not in failures]  # no stale numbers for a failed script
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nTable printed {when}; Python {platform.python_version()}. Each benchmark's machine and load are listed with it.\n")
    print(table.results_table(args.results, stems))
    for stem, why in failures.items():
        print(f"\n{stem} FAILED: {why}", file=sys.stderr)
    refused = {}
    if args.promote:
        promotable = stems if stems is not None else [p.stem for p in sorted(args.results.glob("*.json"))]
        refused = promote(args.results, promotable, args.promote)
    return 1 if failures or refused else 0


if __name__ == "__main__":
    sys.exit(main())
