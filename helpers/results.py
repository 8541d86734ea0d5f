"""Each notebook's numbers in data/results/<notebook-stem>.json, and all of them as one table.

`python -m helpers.results` prints the Markdown table.
"""
from __future__ import annotations

import ast
import json
import os
import platform
import sys
import time
from pathlib import Path

from helpers import dataset_id, setup

REQUIRED = ("notebook", "quick", "dataset", "n_train", "n_val", "n_test", "train_accuracy", "test_accuracy")
TABLE_COLUMNS = ("notebook", "quick", "dataset", "n_train", "n_val", "n_test", "train_accuracy", "val_accuracy", "test_accuracy", "train_seconds")


def _stem(notebook: str) -> str:
    return Path(notebook).name.removesuffix(".ipynb")


def _plain(value):
    """NumPy scalars and arrays to JSON-friendly Python values; a type (DTYPE = np.float32) by its name."""
    if isinstance(value, type):
        return value.__name__
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _json_safe(value):
    """A parameter value as JSON can hold it (tuples as lists, paths as text), or None if it cannot."""
    value = _plain(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = [_json_safe(v) for v in value]
        return items if all(i is not None or v is None for i, v in zip(items, value)) else None
    if isinstance(value, dict):
        items = {str(k): _json_safe(v) for k, v in value.items()}
        return items if all(items[str(k)] is not None or v is None for k, v in value.items()) else None
    return None


def parameter_names(source: str) -> list[str]:
    """The names a parameters cell assigns, in order (also inside `if QUICK:`)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name) and name.id not in names:
                    names.append(name.id)
    return names


def notebook_parameters(stem: str, namespace: dict | None = None) -> dict:
    """The values the running notebook's `parameters` cell names, read from the kernel's namespace.

    Outside a notebook kernel (a script, a test) there is nothing to read and the result is {}.
    """
    if namespace is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return {}
        shell = get_ipython()
        if shell is None:
            return {}
        namespace = shell.user_ns
    path = setup.PROJECT_ROOT / "notebooks" / f"{stem}.ipynb"
    if not path.exists():
        return {}
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    source = next(("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), "")
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    return {name: _json_safe(namespace[name]) for name in parameter_names(source) if name.isupper() and name in namespace}


def kernel_seconds() -> float | None:
    """Seconds since this notebook's kernel started, or None outside a kernel.

    Run top to bottom in a fresh kernel (papermill, `make series`, Run All after a restart),
    that is the notebook's whole run time up to the cell that records its results, which is
    what a learner waits for; in a kernel left open between sessions it is only an upper bound.
    """
    try:
        from IPython import get_ipython
        import psutil  # ipykernel's own dependency, so present wherever a kernel is
    except ImportError:
        return None
    if get_ipython() is None or not hasattr(get_ipython(), "kernel"):
        return None
    return round(time.time() - psutil.Process().create_time(), 1)


def machine_info() -> dict:
    """Where a number was measured: OS, CPU model, cores, load, GPU, Python and the libraries loaded, BLAS threads."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        usable = os.cpu_count()
    info = {
        "system": f"{platform.system()} {platform.machine()}",
        "cpu": cpu,
        "cores": usable,
        "gpu": None,
        "python": platform.python_version(),
        "libraries": {},
    }
    if hasattr(os, "getloadavg"):  # how busy the machine was (runnable processes, 1 and 15 minutes): a busy one's times are slower
        one_minute, _, fifteen_minutes = os.getloadavg()
        info["load_average"] = [round(one_minute, 2), round(fifteen_minutes, 2)]
    for name in ("numpy", "PIL", "tensorflow", "keras", "torch", "torchvision"):
        module = sys.modules.get(name)
        if module is not None:
            info["libraries"]["pillow" if name == "PIL" else name] = getattr(module, "__version__", "?")
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
        info["torch_threads"] = torch.get_num_threads()
    elif "tensorflow" in sys.modules:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            info["gpu"] = f"{details.get('device_name', 'GPU')} x{len(gpus)}"
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {"library": pool.get("internal_api"), "version": pool.get("version"), "threads": pool.get("num_threads")}
            for pool in threadpool_info() if pool.get("user_api") == "blas"
        ]
    except ImportError:  # threadpoolctl is in requirements.txt; a bare Colab may lack it
        pass
    return info


def record_results(notebook: str, metrics: dict, directory: str | Path | None = None) -> Path:
    """Write data/results/<stem>.json; raise if a required field is missing.

    A trained model's size goes in `model_parameters` (an int under `parameters`, the old
    name, is moved there: `parameters` holds the notebook's parameters cell).
    `dataset`: a dataset made by get_dataset is recorded by its content name
    (helpers/dataset_id.py: the same photos, the same name, wherever they are), its cache
    folder's name as `dataset_folder`; quick-mode runs keep their folder's name ("synthetic").
    Besides the metrics it records where and how they were made: the machine, the values
    of the notebook's `parameters` cell and the CATSDOGS_* settings, the kernel's age
    (`kernel_seconds`: the whole notebook's run time when it ran top to bottom), so that
    `python tools/publish_records.py promote` can turn a real run into a measurement record.
    """
    record = {"notebook": _stem(notebook), "quick": setup.QUICK, **{k: _plain(v) for k, v in metrics.items()}}
    record["notebook"] = _stem(record["notebook"])
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise ValueError(f"record_results({notebook!r}) is missing {missing}; every notebook records {list(REQUIRED)}.")
    record["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    content_name = None if record["quick"] else dataset_id.identity_of(record["dataset"])
    if content_name:
        record["dataset_folder"], record["dataset"] = record["dataset"], content_name
    if isinstance(record.get("parameters"), int):  # a model's parameter count, not the parameters cell
        record["model_parameters"] = record.pop("parameters")
    record.setdefault("parameters", notebook_parameters(record["notebook"]))
    record.setdefault("settings", {key: (Path(value).name if key == "CATSDOGS_IMAGES" else value) for key, value in sorted(os.environ.items()) if key.startswith("CATSDOGS_") and key != "CATSDOGS_ROOT"})
    record.setdefault("machine", machine_info())
    record.setdefault("kernel_seconds", kernel_seconds())
    directory = Path(directory) if directory else setup.RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['notebook']}.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n")
    return path


def load_results(directory: str | Path | None = None) -> list[dict]:
    directory = Path(directory) if directory else setup.RESULTS_DIR
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.0f}"
    return str(value)


def results_table(directory: str | Path | None = None) -> str:
    """All recorded results as a Markdown table, one row per notebook."""
    rows = load_results(directory)
    if not rows:
        return "No results yet: run a notebook (they write data/results/<notebook>.json)."
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(column)) for column in TABLE_COLUMNS) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(results_table(sys.argv[1] if len(sys.argv) > 1 else None))
