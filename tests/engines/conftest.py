"""Fixtures of the engine tests: small tables written to disk once per session.

The ``spark`` fixture (one ``local[2]`` session, skipped without Java or PySpark) is in the
top-level ``tests/conftest.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # loggen
sys.path.insert(0, str(HERE.parent / "features"))  # rfm_log (the hand-made log)

FEATURES = ["age", "income", "purchases"]


def pytest_configure(config):
    # PySpark 4 warns on every pandas-facing call that pandas 3 is "not yet fully supported";
    # custseg filters it in the sessions it builds, pytest resets filters for each test.
    config.addinivalue_line(
        "filterwarnings", "ignore:PySpark does not yet fully support pandas:FutureWarning")


def customer_table(n: int = 300, seed: int = 7) -> pd.DataFrame:
    """Three well separated groups (as tests/conftest.py ``customers``), one missing cell."""
    rng = np.random.default_rng(seed)
    centers = np.array([[25, 30, 5], [45, 90, 20], [65, 50, 2]], dtype=float)
    group = np.repeat([0, 1, 2], [n // 2, n // 3, n - n // 2 - n // 3])
    X = centers[group] + rng.normal(0, [3, 6, 1.5], size=(n, 3))
    frame = pd.DataFrame({"customer_id": [f"{i:04d}" for i in range(1, n + 1)],
                          "age": X[:, 0], "income": X[:, 1], "purchases": X[:, 2]})
    frame.loc[3, "age"] = np.nan
    frame.loc[10, "income"] = np.nan
    return frame


def to_spark(spark, frame: pd.DataFrame):
    """A Spark DataFrame of ``frame`` (NaN → NULL), without pandas conversion code."""
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    fields = [StructField(c, StringType() if frame[c].dtype == object
                          or str(frame[c].dtype).startswith("str") else DoubleType())
              for c in frame.columns]
    rows = [tuple(None if (isinstance(v, float) and np.isnan(v)) else v for v in r)
            for r in frame.itertuples(index=False)]
    return spark.createDataFrame(rows, StructType(fields))


@pytest.fixture(scope="session")
def customers_frame() -> pd.DataFrame:
    return customer_table()


@pytest.fixture(scope="session")
def dirty_csv(tmp_path_factory) -> Path:
    """A customer CSV with one row of every reject reason, a blank line and a short line."""
    frame = customer_table(120, seed=3).round(2).astype(str).replace("nan", "")
    frame["city"] = np.where(np.arange(len(frame)) % 2, "Lyon", "Oslo")
    frame.loc[5, "income"] = "abc"  # invalid_value
    frame.loc[7, "customer_id"] = "0001"  # duplicate_id
    frame.loc[9, "customer_id"] = " "  # missing_id
    frame.loc[11, FEATURES] = ""  # all_features_missing
    frame.loc[13, "age"] = "1,5"  # among dotted numbers the comma separates thousands: 15
    frame.loc[15, "purchases"] = "$12"  # currency sign: parsed
    lines = frame.to_csv(index=False).splitlines()
    lines.insert(20, "1,2")  # malformed_row
    lines.insert(30, "")  # blank line
    path = tmp_path_factory.mktemp("dirty") / "customers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def log200k(tmp_path_factory) -> Path:
    """A generated 200,000-line transaction log (UCI Online Retail shape)."""
    from loggen import write_log

    return write_log(tmp_path_factory.mktemp("log") / "log200k.csv", 200_000, seed=1)
