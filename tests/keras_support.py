"""The `keras` fixture of the tests/test_keras_*.py files (import it into the test module)."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def keras():
    """Keras (and TensorFlow) imported when a test runs, never at collection: the pytest process
    that runs the torch tests (`-m "not tensorflow"`) collects these files too, and TensorFlow
    followed by torch in one process crashes."""
    # TF 2.20/2.21's oneDNN kernels corrupt memory on narrow strided convolutions (notebook 05);
    # the variable only counts when it is set before TensorFlow loads.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    return pytest.importorskip("keras")
