"""Shared fixtures. Tests that need torch are skipped when torch is missing;
tests that need the staa library fail (not skip) when it is missing, so a
broken build is never reported as green."""

import importlib.util
import os
from pathlib import Path

import pytest

HAVE_TORCH = importlib.util.find_spec("torch") is not None
REPO = Path(__file__).resolve().parents[3]
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


def pytest_configure(config):
    config.addinivalue_line("markers", "torch: needs PyTorch (skipped without it)")
    config.addinivalue_line("markers", "slow: takes tens of seconds (kept in the default run)")


def pytest_collection_modifyitems(config, items):
    if HAVE_TORCH:
        return
    skip = pytest.mark.skip(reason="PyTorch is not installed")
    for item in items:
        if "torch" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def torch():
    """The torch module (the test is skipped without it)."""
    return pytest.importorskip("torch")



@pytest.fixture(scope="session")
def ort():
    """The ONNX Runtime library: $STAA_ONNXRUNTIME_LIB, else the one `make onnxruntime`
    installs. Missing, the test is skipped — failed when $CI is set."""
    env = os.environ.get("STAA_ONNXRUNTIME_LIB")
    path = Path(env) if env else REPO / "build" / "onnxruntime" / "libonnxruntime.so.1"
    if path.is_file():
        return path
    reason = (f"the ONNX Runtime library is not installed ({path} does not exist; run "
              "`make onnxruntime` or set STAA_ONNXRUNTIME_LIB)")
    if IN_CI:
        pytest.fail("CI is set and " + reason)
    pytest.skip(reason)
