"""Shared fixtures. Tests that need torch are skipped when torch is missing;
tests that need the staa library fail (not skip) when it is missing, so a
broken build is never reported as green."""

import importlib.util

import pytest

HAVE_TORCH = importlib.util.find_spec("torch") is not None


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

