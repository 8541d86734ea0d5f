"""Run a helpers.weights call offline in a fresh interpreter and return the WeightsUnavailableError message.

A fresh interpreter because KERAS_HOME is read when keras is imported (and TensorFlow and torch
never share a process). The proxy on a closed local port makes every download fail at once,
on machines with internet access too; CATSDOGS_WEIGHTS_DIR points at an empty folder.
"""
from __future__ import annotations

from pathlib import Path

from conftest import run_in_fresh_python

DEAD_PROXY = "http://127.0.0.1:9"
CODE = """
from helpers import weights
try:
    {call}
except weights.WeightsUnavailableError as error:
    print("MESSAGE:", error)
    print("REMEDY:", error.remedy)
else:
    raise SystemExit("no error raised")
"""


def offline_error_message(call: str, tmp_path: Path, cache_env: dict, with_remedy: bool = False):
    """The error's message; with_remedy=True: (message, its one-line remedy)."""
    proxies = {name: DEAD_PROXY for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    env = {**proxies, "NO_PROXY": "", "no_proxy": "", "CATSDOGS_WEIGHTS_DIR": str(tmp_path / "empty"), **cache_env}
    result = run_in_fresh_python(CODE.format(call=call), timeout=180, env=env)
    message, remedy = result.stdout.split("MESSAGE:", 1)[1].split("\nREMEDY:", 1)
    return (message, remedy.strip()) if with_remedy else message
