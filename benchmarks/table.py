"""The benchmarks' published table: every case's median ratio with its spread and rounds, the machine.

Two sources, one format:
  * `results_table(directory)`: the latest runs, data/benchmarks/<benchmark>.json (run_all.py prints it);
  * `fill_readme(text)`: README's performance section between `<!-- benchmarks:begin -->` and
    `<!-- benchmarks:end -->`, from the committed records `records/benchmarks/<benchmark>.json`
    (the published run) and `records/benchmarks/<benchmark>.repeat.json` (the same benchmark run again,
    to show the two agree). tools/publish_records.py calls it; nothing else writes those lines.

Each ratio is a time ratio (numerator / denominator, per image or pass), so below 1 means the first
variant is faster; the case's description says which is which.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

BEGIN, END = "<!-- benchmarks:begin -->", "<!-- benchmarks:end -->"
SECTION = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
BENCHMARKS = ("bench_numpy", "bench_keras_pipeline", "bench_pytorch_loader")
REPEAT = ".repeat"  # label suffix of the second run's record
GPU_NOTE = ("GPU rows (notebook 06's network in float32 vs mixed precision and its projected 25-epoch time on PetImages; "
            "07's AMP, channels-last and torch.compile on a GPU): **unmeasured**, no GPU was available for these records.")
COLUMNS = ("benchmark", "case", "ratio (median)", "min-max", "IQR", "rounds", "target", "fastest / fastest", "numerator (median)", "denominator (median)")


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _ratio_cells(ratio: dict) -> list[str]:
    return [f"{ratio['median']:.2f}", f"{ratio['min']:.2f}-{ratio['max']:.2f}", f"{ratio['q1']:.2f}-{ratio['q3']:.2f}", str(ratio["rounds"])]


def _target_cell(case: dict) -> str:
    if case.get("target") is None:
        return ""
    target, ratio = case["target"], case["ratio"]
    if ratio["median"] <= target:
        verdict = "met" if ratio["max"] <= target else "met by the median, not by every round"
    else:
        verdict = "missed" if ratio["min"] > target else "missed by the median, some rounds below"
    return f"<= {target:g} ({verdict})"


def _variant_cell(case: dict, name: str) -> str:
    return f"{name}: {_number(case['variants'][name]['median'])} {case.get('unit', 's')}"


def agreement(first: dict, second: dict) -> tuple[bool, float]:
    """(each run's median lies within the other's min-max, relative difference of the medians)."""
    a, b = first["ratio"], second["ratio"]
    within = a["min"] <= b["median"] <= a["max"] and b["min"] <= a["median"] <= b["max"]
    return within, b["median"] / a["median"] - 1


def machine_line(name: str, data: dict) -> str:
    """'bench_numpy: 2026-12-02T04:30, Intel ..., 2 cores, OpenBLAS 0.3.x (1 thread), numpy 2.x, torch 2.x; load 5.1 -> 6.0; 312 s.'"""
    machine = data.get("machine", {})
    blas = ", ".join(f"{pool.get('library')} {pool.get('version')} (a pool of {pool.get('threads')} threads; each case says how many it used)"
                     for pool in machine.get("blas", []) or [])
    libraries = ", ".join(f"{lib} {version}" for lib, version in machine.get("libraries", {}).items())
    load = data.get("load_average_during")
    load_text = f"; load average (1 min) {load['median']:.1f}, {load['min']:.1f}-{load['max']:.1f} during the run" if load else ""
    parts = [str(data.get("recorded_at", "?"))[:16], machine.get("cpu", "?"), f"{machine.get('cores', '?')} cores",
             f"GPU {machine['gpu']}" if machine.get("gpu") else "no GPU", blas, libraries]
    return f"- `{name}`: " + ", ".join(p for p in parts if p) + f"{load_text}; {data.get('seconds', '?')} s" + (" (QUICK MODE: measures nothing)" if data.get("quick") else "")


def markdown_table(runs: dict[str, dict], repeats: dict[str, dict] | None = None) -> str:
    """One row per case of every run; with repeats, the second run's median and whether the two agree."""
    columns = list(COLUMNS) + (["second run (median, min-max)", "runs agree"] if repeats else [])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name, data in runs.items():
        cases = data.get("cases") or {}
        if not cases:
            why = "; ".join(data.get("notes", [])) or ("an old results file without cases: rerun it" if "rows" in data else "no cases measured")
            lines.append("| " + " | ".join([name, why] + [""] * (len(columns) - 2)) + " |")
        for key, case in cases.items():
            if not all(field in case for field in ("description", "ratio", "numerator", "denominator", "variants")):
                lines.append("| " + " | ".join([name, f"`{key}`: incomplete case (an old or broken results file): rerun it"] + [""] * (len(columns) - 2)) + " |")
                continue
            fastest = f"{case['ratio_of_fastest']:.2f}" if "ratio_of_fastest" in case else ""
            cells = [name, f"`{key}`: {case['description']}", *_ratio_cells(case["ratio"]), _target_cell(case), fastest,
                     _variant_cell(case, case["numerator"]), _variant_cell(case, case["denominator"])]
            if repeats:
                other = (repeats.get(name) or {}).get("cases", {}).get(key)
                if other:
                    within, difference = agreement(case, other)
                    r = other["ratio"]
                    cells += [f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})", f"{'yes' if within else 'no'}, medians {difference:+.0%} apart"]
                else:
                    cells += ["not run", ""]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def section(runs: dict[str, dict], repeats: dict[str, dict] | None = None, source: str = "") -> str:
    """The machine of each run, the table, and the GPU rows' status."""
    measured_gpu = any(key.startswith("gpu") for data in runs.values() for key in (data.get("cases") or {}))
    text = [source, "", "Measured on:", *[machine_line(name, data) for name, data in runs.items()]]
    if repeats:
        text += ["", "Second run (`.repeat` records), for the agreement column:", *[machine_line(name, data) for name, data in repeats.items()]]
    text += ["", markdown_table(runs, repeats), ""]
    if not measured_gpu:
        text.append(GPU_NOTE)
    return "\n".join(line for line in text if line is not None).strip("\n")


def load_results(directory: Path, stems: list[str] | None = None) -> dict[str, dict]:
    """{benchmark: results} of data/benchmarks/*.json (or the named stems); unreadable files as a note."""
    paths = sorted(directory.glob("*.json")) if stems is None else [directory / f"{stem}.json" for stem in stems]
    runs = {}
    for path in paths:
        try:
            runs[path.stem] = json.loads(path.read_text())
        except FileNotFoundError:
            runs[path.stem] = {"notes": [f"wrote no {path.name}"]}
        except ValueError as error:
            runs[path.stem] = {"notes": [f"unreadable {path.name}: {error}"]}
    return runs


def results_table(directory: Path, stems: list[str] | None = None) -> str:
    runs = load_results(directory, stems)
    if not runs:
        return f"No benchmark results in {directory}."
    return section(runs, source=f"Latest results in {directory} (not yet records; promote with `python benchmarks/run_all.py --table-only --promote`).")


def record_runs(records_dir: Path | None = None) -> tuple[dict[str, dict], dict[str, dict]]:
    """({benchmark: record}, {benchmark: repeat record}) from records/benchmarks/."""
    from helpers import records

    found = {ref.split("/", 1)[1]: data for ref, data in records.all_records(records_dir).items() if ref.startswith("benchmarks/")}
    runs = {name: data for name, data in found.items() if not name.endswith(REPEAT)}
    repeats = {name.removesuffix(REPEAT): data for name, data in found.items() if name.endswith(REPEAT)}
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    return dict(sorted(runs.items(), key=lambda kv: order.get(kv[0], len(order)))), repeats


def readme_section(records_dir: Path | None = None) -> str:
    runs, repeats = record_runs(records_dir)
    if not runs:
        return ("No benchmark records yet: every benchmark figure is **unmeasured**. Run `make benchmarks`, then promote "
                "(`python benchmarks/run_all.py --table-only --promote`).\n\n" + GPU_NOTE)
    return section(runs, repeats, source="Generated from `records/benchmarks/` by `benchmarks/table.py` (do not edit by hand). Each "
                   "ratio is a time ratio, numerator / denominator, measured in interleaved rounds (the order reversed every other "
                   "round) and paired per round: below 1 means the numerator is faster.")


def fill_readme(text: str, records_dir: Path | None = None) -> str:
    """`text` with the part between the benchmarks markers regenerated from the records (unchanged without markers)."""
    if BEGIN not in text:
        return text
    if END not in text.split(BEGIN, 1)[1]:
        raise ValueError(f"README has {BEGIN} without a matching {END}: add it where the benchmarks section ends")
    body = readme_section(records_dir)
    return SECTION.sub(lambda _: f"{BEGIN}\n{body}\n{END}", text, count=1)
