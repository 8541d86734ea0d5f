"""One function over many items in several processes, in order, with a progress bar.

Workers are spawned, not forked: forking a notebook that already imported TensorFlow or
PyTorch can deadlock. Spawned workers import the calling script again, so a script needs
`if __name__ == "__main__":`; without it the workers cannot start, and instead of hanging
(as multiprocessing.Pool does) this falls back to one process with a warning saying so.
"""
from __future__ import annotations

import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator

NO_WORKERS_WARNING = (
    "Worker processes could not start, so this runs in one process (slower). In a script, put the "
    "code that runs on start-up under `if __name__ == \"__main__\":` (the workers import the script)."
)


def parallel_map(function: Callable, items: Iterable, *, processes: int | None = None, chunksize: int = 32,
                 min_items: int = 500, desc: str = "", unit: str = "it", progress: bool = True) -> Iterator:
    """Yield function(item) for every item, in order; several processes once there are min_items."""
    from tqdm.auto import tqdm

    items = list(items)
    processes = processes or os.cpu_count() or 1
    with tqdm(total=len(items), desc=desc, unit=unit, disable=not progress, mininterval=1) as bar:
        if processes > 1 and len(items) >= min_items:
            try:
                with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
                    for result in pool.map(function, items, chunksize=chunksize):
                        bar.update()
                        yield result
                return
            except BrokenProcessPool:
                if bar.n:  # results were already handed out: starting over would repeat them
                    raise
                warnings.warn(NO_WORKERS_WARNING, RuntimeWarning, stacklevel=3)
        for item in items:
            yield function(item)
            bar.update()
