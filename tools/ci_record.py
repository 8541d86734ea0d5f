#!/usr/bin/env python3
"""Time each stage of a CI run and write data/ci/ci-run.json, the file that becomes the
README's test-time record (`python tools/publish_records.py promote data/ci/ci-run.json ci/fresh-clone`).

    python3 tools/ci_record.py start                      # a new data/ci/ci-run.json
    python3 tools/ci_record.py run unit -- make test-unit # run a command, record its seconds and exit status
    python3 tools/ci_record.py summary                    # one line: the stages' seconds
    python3 tools/ci_record.py show

Standard library only: the first stage (the install) runs before .venv exists. A stage that
fails is recorded and its exit status returned, so CI still stops at the first failure.
`test_seconds` sums every stage but the install: the time of `make test` on an installed
checkout; `total_seconds` includes the install.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_FILE = Path(os.environ.get("CATSDOGS_ROOT", ROOT)) / "data" / "ci" / "ci-run.json"
INSTALL_STAGES = ("install",)


def machine() -> dict:
    """CPU model, usable cores, OS and Python (helpers.results.machine_info needs the venv)."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"system": f"{platform.system()} {platform.machine()}", "cpu": cpu, "cores": cores, "gpu": None,
            "python": platform.python_version()}


def git_state() -> dict:
    def git(*args):
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else None

    return {"commit": git("rev-parse", "HEAD"), "venv_existed": (ROOT / ".venv" / ".installed").exists()}


def load(path: Path = RUN_FILE) -> dict:
    if not path.exists():
        raise SystemExit(f"{path} does not exist: run `python3 tools/ci_record.py start` first")
    return json.loads(path.read_text(encoding="utf-8"))


def save(run: dict, path: Path = RUN_FILE) -> None:
    stages = run["stages"]
    run["total_seconds"] = round(sum(s["seconds"] for s in stages.values()), 1)
    run["test_seconds"] = round(sum(s["seconds"] for name, s in stages.items() if name not in INSTALL_STAGES), 1)
    run["passed"] = all(s["returncode"] == 0 for s in stages.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")


def start(path: Path = RUN_FILE) -> dict:
    run = {"run": "ci", "quick": False, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), **git_state(), "stages": {}}
    save(run, path)
    return run


def folder_gb(folder: Path) -> float | None:
    """Disk use of a folder in GB (1e9 bytes), files counted once, links not followed; None if it is missing."""
    if not folder.is_dir():
        return None
    total, seen = 0, set()
    for directory, _, files in os.walk(folder):
        for name in files:
            try:
                stat = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return round(total / 1e9, 2)


def run_stage(name: str, command: list[str], path: Path = RUN_FILE) -> int:
    if not command:
        raise SystemExit(f"stage {name!r}: no command after `--`")
    begin = time.monotonic()
    returncode = subprocess.call(command, cwd=ROOT)
    run = load(path)
    run["stages"][name] = {"command": " ".join(command), "seconds": round(time.monotonic() - begin, 1), "returncode": returncode}
    run["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if name in INSTALL_STAGES:  # what the install left on disk (README: "the installed .venv takes")
        run["venv_gb"] = folder_gb(Path(os.environ.get("CATSDOGS_CI_VENV", ROOT / ".venv")))
    save(run, path)
    print(f"[ci] {name}: {run['stages'][name]['seconds']:.0f} s, exit status {returncode}", flush=True)
    return returncode


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"]:
        start()
        return 0
    if argv[:1] == ["run"] and len(argv) >= 3 and argv[2] == "--":
        return run_stage(argv[1], argv[3:])
    if argv[:1] == ["summary"]:
        run = load()
        stages = ", ".join(f"{name} {stage['seconds']:.0f} s" for name, stage in run["stages"].items())
        print(f"make test took {run['test_seconds']:.0f} s, {run['total_seconds']:.0f} s with the install ({stages})")
        return 0
    if argv[:1] == ["show"]:
        print(json.dumps(load(), indent=2))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
