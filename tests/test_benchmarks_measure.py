"""benchmarks/measure.py and benchmarks/table.py: interleaved rounds, spreads, paired ratios, README section."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from benchmarks import measure, table


def test_spread_gives_median_range_quartiles_and_rounds():
    assert measure.spread([5.0, 1.0, 3.0, 2.0, 4.0]) == {"median": 3.0, "min": 1.0, "max": 5.0, "q1": 2.0, "q3": 4.0, "rounds": 5}
    assert measure.spread([2.0]) == {"median": 2.0, "min": 2.0, "max": 2.0, "q1": 2.0, "q3": 2.0, "rounds": 1}
    with pytest.raises(ValueError, match="no rounds"):
        measure.spread([])


def test_interleaved_reverses_the_order_every_other_round_and_skips_warmup():
    calls = []
    seconds = measure.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert [len(s) for s in seconds.values()] == [3, 3]


def test_a_variant_that_reports_its_own_time_is_counted_for_it_not_for_the_wall_time_of_its_call():
    def work_then_wait():
        time.sleep(0.05)  # a teardown that is not the work
        return measure.Timed(0.001)

    seconds = measure.interleaved({"timed": work_then_wait, "wall": lambda: time.sleep(0.02)}, rounds=2, warmup=0)
    assert seconds["timed"] == [0.001, 0.001]
    assert all(s >= 0.02 for s in seconds["wall"])


def test_the_pause_before_each_call_is_waited_but_not_counted():
    calls = []
    start = time.perf_counter()
    seconds = measure.interleaved({"a": lambda: calls.append(time.perf_counter()), "b": lambda: calls.append(time.perf_counter())},
                                  rounds=2, warmup=0, pause=0.05)
    assert all(later - earlier >= 0.05 for earlier, later in zip(calls, calls[1:]))  # every call waited first
    assert time.perf_counter() - start >= 4 * 0.05
    assert all(s < 0.05 for values in seconds.values() for s in values)  # and no call was charged for it


def test_case_pairs_each_rounds_ratio_per_unit_of_work():
    # round 2 is slow for both sides (a busy machine): the paired ratio stays 2
    seconds = {"numpy": [2.0, 20.0, 2.2], "torch": [1.0, 10.0, 1.1]}
    entry = measure.case("numpy vs torch", seconds, "numpy", "torch", target=3.0, per=2)
    assert entry["ratio"]["median"] == pytest.approx(2.0) and entry["ratio"]["max"] == pytest.approx(2.0)
    assert entry["variants"]["numpy"]["median"] == pytest.approx(1.1) and entry["met"] is True
    assert entry["ratio_of_fastest"] == pytest.approx(2.0) and entry["samples"]["torch"] == [0.5, 5.0, 0.55]
    # different work per call: 4 loader batches vs 1 training batch
    entry = measure.case("loop vs loader", {"loop": [1.0, 1.0], "loader": [1.0, 2.0]}, "loop", "loader", per={"loop": 1, "loader": 4})
    assert [entry["ratio"]["max"], entry["ratio"]["min"]] == pytest.approx([4.0, 2.0]) and entry["target"] is None and entry["met"] is None
    with pytest.raises(ValueError, match="as many rounds"):
        measure.paired_ratios([1.0], [1.0, 2.0])


def _run(median, low, high):
    ratio = {"median": median, "min": low, "max": high, "q1": low, "q3": high, "rounds": 5}
    variant = {"median": 0.01, "min": 0.01, "max": 0.01, "q1": 0.01, "q3": 0.01, "rounds": 5}
    return {"recorded_at": "2026-12-02T04:00:00", "quick": False, "machine": {"cpu": "Test CPU", "cores": 2, "libraries": {"numpy": "2"}},
            "load_average_during": {"median": 3.5, "min": 2.0, "max": 6.25, "q1": 3.0, "q3": 4.0, "rounds": 9},
            "cases": {"conv": {"description": "im2col vs conv2d", "numerator": "numpy", "denominator": "torch", "unit": "s per pass",
                               "variants": {"numpy": variant, "torch": variant}, "ratio": ratio, "target": 3.0, "met": median <= 3.0}}}


def test_table_says_whether_two_runs_agree_within_their_spread():
    agree = table.markdown_table({"bench_numpy": _run(2.5, 2.3, 2.8)}, {"bench_numpy": _run(2.6, 2.4, 2.9)})
    assert "| 2.50 | 2.30-2.80 | 2.30-2.80 | 5 | <= 3 (met) |" in agree and "| yes, medians +4% apart |" in agree
    disagree = table.markdown_table({"bench_numpy": _run(2.5, 2.3, 2.8)}, {"bench_numpy": _run(3.85, 3.6, 4.0)})
    assert "| 3.85 (3.60-4.00) | no, medians +54% apart |" in disagree
    # a target is met only when every round meets it; the median alone says so in words
    assert "<= 3 (met by the median, not by every round)" in table.markdown_table({"b": _run(2.9, 2.5, 3.4)})
    assert "<= 3 (missed by the median, some rounds below)" in table.markdown_table({"b": _run(3.1, 2.9, 3.4)})


def test_fill_readme_rewrites_only_between_the_markers(tmp_path):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench_numpy.json").write_text(json.dumps(_run(3.4, 3.2, 3.9)))
    text = "# Title\n\n<!-- benchmarks:begin -->\nstale\n<!-- benchmarks:end -->\n\n## Next\n"
    filled = table.fill_readme(text, tmp_path)
    assert filled.startswith("# Title\n\n<!-- benchmarks:begin -->\n") and filled.endswith("<!-- benchmarks:end -->\n\n## Next\n")
    assert "stale" not in filled and "| 3.40 | 3.20-3.90 |" in filled and "<= 3 (missed)" in filled and "Test CPU" in filled
    assert "load average (1 min) 3.5, 2.0-6.2 during the run" in filled
    assert "**unmeasured**" in filled  # no GPU case in the records
    assert table.fill_readme(filled, tmp_path) == filled
    assert table.fill_readme("no markers here", tmp_path) == "no markers here"
    with pytest.raises(ValueError, match="without a matching"):
        table.fill_readme("<!-- benchmarks:begin -->\nno end", tmp_path)
    empty = tmp_path / "none"
    empty.mkdir()
    assert "No benchmark records yet" in table.fill_readme(text, empty)
