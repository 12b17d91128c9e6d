"""Fixtures for the tests of custseg.features; the hand-computed log is in rfm_log.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rfm_log import HEADER, LINES, LOG_CSV

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def log_csv(tmp_path: Path) -> Path:
    path = tmp_path / "log.csv"
    path.write_text(LOG_CSV)
    return path


@pytest.fixture
def log_frame() -> pd.DataFrame:
    """The log as text, exactly as in the CSV ("" for the missing IDs becomes None)."""
    rows = [line.split(",") for line in LINES]
    frame = pd.DataFrame(rows, columns=HEADER.split(","), dtype=object)
    frame["CustomerID"] = frame["CustomerID"].replace("", None)
    return frame


@pytest.fixture(scope="session")
def online_retail() -> Path:
    """UCI Online Retail in ../shared/data, or skip when the shared folder is absent."""
    path = SHARED_DATA / "online_retail" / "online_retail.csv.gz"
    if not path.exists():
        pytest.skip(f"{path} is absent (the real datasets live beside the repo in ../shared)")
    return path
