"""Tests marked ``slow`` run only when asked for with ``-m slow``."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if config.getoption("markexpr", ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `pytest -m slow`")
    for item in items:
        if "slow" in item.keywords and "tests/select" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
