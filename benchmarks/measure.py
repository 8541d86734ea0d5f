"""What every benchmark here shares: interleaved rounds, medians with their spread, one results file.

A case compares variants (NumPy vs torch, files vs memory) that run in the same round, one after
the other, round after round (the order reversed every other round). A busy machine then slows
both sides of a round alike, and the ratio of each round (paired) is steadier than the ratio of two
medians taken minutes apart. Each case reports the median, the min-max range and the interquartile
range over its rounds, and how many rounds there were; a ratio is never published without them.

The results file (data/benchmarks/<benchmark>.json) holds the cases, the machine
(helpers.results.machine_info: CPU, cores, BLAS and its threads, library versions), the load
average before and after, the settings, and `quick`: a quick run (CATSDOGS_QUICK=1 or --quick,
tiny sizes) is refused by `run_all.py --promote` and `tools/publish_records.py promote`.
"""
from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
SHARED_PHOTOS = ROOT.parent / "shared" / "data" / "cats_and_dogs_filtered"


def default_photos() -> str | None:
    """The photos a benchmark measures by default: CATSDOGS_IMAGES, else ../shared/data/cats_and_dogs_filtered, else None."""
    return os.environ.get("CATSDOGS_IMAGES") or (str(SHARED_PHOTOS) if SHARED_PHOTOS.is_dir() else None)


def spread(samples: list[float]) -> dict:
    """{"median", "min", "max", "q1", "q3", "rounds"} of some rounds' values."""
    values = sorted(float(v) for v in samples)
    if not values:
        raise ValueError("no rounds measured: a spread needs at least one value")
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    return {"median": statistics.median(values), "min": values[0], "max": values[-1], "q1": q1, "q3": q3, "rounds": len(values)}


def keep_freed_memory() -> str:
    """helpers.setup.keep_freed_memory, for every benchmark: each variant gets the same allocator, so the benchmarks
    compare the computations. Measured here before it was set: torch's convolution pass of bench_numpy took 35 ms
    after another torch pass and 20 ms after a NumPy one, and both sides were steady (NumPy 42 ms, torch 23 ms, one
    thread) once freed memory was kept. Call it before the big libraries load."""
    from helpers.setup import keep_freed_memory as keep

    return keep()


def glibc_default_steady_state() -> bool:
    """Back to what glibc does by default once its thresholds have grown to their caps (64-bit: arrays over 32 MB
    served by mmap, the heap trimmed above 64 MB free), and hand back the memory kept so far: how a process
    without keep_freed_memory allocates 07b's 75 MB activations. False where the C library is not glibc."""
    from helpers.setup import set_malloc_thresholds

    return set_malloc_thresholds(32 << 20, 64 << 20, release_now=True)


class Timed(float):
    """What a variant returns to report its own time (seconds) instead of the wall time of the call: for work
    whose call includes a wait that is not the work (Keras' `fit` tearing down its tf.data iterator)."""


def interleaved(variants: dict[str, Callable[[], object]], rounds: int, warmup: int = 1,
                pause: float = 0.0) -> dict[str, list[float]]:
    """{name: [seconds of each round]}: every variant once per round, the order reversed every other round.

    `warmup` rounds run first and are not counted (first calls trace, compile, fill caches). A variant that
    returns a `Timed` is counted for those seconds; any other return value, for the wall time of the call.
    `pause`: seconds of sleep, not counted, before each call. After its work OpenBLAS keeps its threads
    spinning for a while (as OpenMP does), and on a 2-core machine a variant that runs right after another
    library's threads would share the cores with them: measured here, torch's two-thread convolution took
    about 3 times as long straight after NumPy's as after a 0.3-second pause.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    names = list(variants)
    seconds = {name: [] for name in names}
    for number in range(warmup + rounds):
        order = names if number % 2 == 0 else names[::-1]  # neither side always runs first
        for name in order:
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            result = variants[name]()
            elapsed = time.perf_counter() - start
            if number >= warmup:
                seconds[name].append(float(result) if isinstance(result, Timed) else elapsed)
    return seconds


def paired_ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    """numerator[i] / denominator[i]: the ratio within each round."""
    if len(numerator) != len(denominator):
        raise ValueError(f"paired ratios need as many rounds on each side, got {len(numerator)} and {len(denominator)}")
    return [a / b for a, b in zip(numerator, denominator)]


def case(description: str, seconds: dict[str, list[float]], numerator: str, denominator: str, *,
         target: float | None = None, per: float | dict[str, float] = 1.0, unit: str = "s", **extra) -> dict:
    """One comparison: each variant's spread (seconds / per, e.g. per pass) and the paired ratio's spread.

    The ratio is numerator's time / denominator's time per unit (`per`: the units each call does,
    one number for both sides or {variant: units} when they do different amounts of work).
    target: the ratio it should not exceed (None: informational). `met` says whether the median does.
    """
    units = per if isinstance(per, dict) else {numerator: per, denominator: per}
    normalised = {name: [s / units[name] for s in seconds[name]] for name in (numerator, denominator)}
    ratio = spread(paired_ratios(normalised[numerator], normalised[denominator]))
    result = {
        "description": description,
        "numerator": numerator,
        "denominator": denominator,
        "unit": unit,
        "variants": {name: spread(values) for name, values in normalised.items()},
        "samples": {name: [round(v, 6) for v in values] for name, values in normalised.items()},  # each round, in order
        "ratio": ratio,
        # the fastest round of each side: the least disturbed by other work on a busy machine (timeit's choice)
        "ratio_of_fastest": min(normalised[numerator]) / min(normalised[denominator]),
        "target": target,
        "met": None if target is None else ratio["median"] <= target,
        **extra,
    }
    return result


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # Windows
        return None


def is_quick(flag: bool = False) -> bool:
    """--quick, or CATSDOGS_QUICK=1 as the notebooks use it."""
    from helpers import setup

    return flag or setup.QUICK


class Results:
    """Collects one benchmark's cases and writes data/benchmarks/<benchmark>.json."""

    def __init__(self, benchmark: str, quick: bool, settings: dict, directory: Path | None = None):
        self.benchmark, self.quick, self.settings = benchmark, quick, settings
        from helpers import setup  # CATSDOGS_ROOT moves data/ (the tests run in a temporary folder)

        self.directory = Path(directory) if directory else setup.DATA_DIR / "benchmarks"
        self.cases: dict[str, dict] = {}
        self.notes: list[str] = []
        self.load_before = load_average()
        self.load_samples: list[float] = []  # the 1-minute load average every few seconds: how busy the machine was
        self.started = time.perf_counter()
        threading.Thread(target=self._sample_load, daemon=True).start()

    def _sample_load(self, every: float = 5.0) -> None:
        while True:
            load = load_average()
            if load is None:
                return
            self.load_samples.append(load[0])
            time.sleep(every)

    def add(self, key: str, entry: dict) -> dict:
        self.cases[key] = entry
        r = entry["ratio"]
        target = "" if entry["target"] is None else f", target <= {entry['target']}"
        print(f"  {key}: ratio {r['median']:.3f} (min {r['min']:.3f}, max {r['max']:.3f}, IQR {r['q1']:.3f}-{r['q3']:.3f}, "
              f"{r['rounds']} rounds){target}", flush=True)
        return entry

    def write(self) -> Path:
        from helpers.results import machine_info  # after the benchmark's imports: it lists the libraries loaded

        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.benchmark}.json"
        path.write_text(json.dumps({
            "benchmark": self.benchmark,
            "quick": self.quick,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(time.perf_counter() - self.started, 1),
            "machine": machine_info(),
            "load_average_before": self.load_before,
            "load_average_after": load_average(),
            "load_average_during": spread(self.load_samples) if self.load_samples else None,
            "settings": self.settings,
            "cases": self.cases,
            "notes": self.notes,
        }, indent=2) + "\n")
        print(f"wrote {path}")
        return path
