"""Shared fixtures: small hand-checkable tables, the real datasets in ../shared (skipped when
absent), and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """Path of a file under ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the real datasets live beside the repo in ../shared)")
    return path


@pytest.fixture
def mall_csv() -> Path:
    return shared_file("mall_customers", "Mall_Customers.csv")


@pytest.fixture
def cc_csv() -> Path:
    return shared_file("cc_general", "CC GENERAL.csv")


@pytest.fixture
def marketing_csv() -> Path:
    return shared_file("marketing_campaign", "marketing_campaign.csv")


@pytest.fixture
def wholesale_csv() -> Path:
    return shared_file("wholesale_customers", "Wholesale customers data.csv")


@pytest.fixture
def retail_csv() -> Path:
    return shared_file("online_retail", "online_retail.csv.gz")


@pytest.fixture
def customers() -> pd.DataFrame:
    """300 customers in three well-separated groups, with an ID and a text column."""
    rng = np.random.default_rng(7)
    centers = np.array([[25, 30, 5], [45, 90, 20], [65, 50, 2]], dtype=float)
    group = np.repeat([0, 1, 2], [150, 100, 50])
    X = centers[group] + rng.normal(0, [3, 6, 1.5], size=(300, 3))
    return pd.DataFrame({
        "customer_id": [f"{i:04d}" for i in range(1, 301)],
        "age": X[:, 0], "income": X[:, 1], "purchases": X[:, 2],
        "city": rng.choice(["Lyon", "Oslo", "Porto"], size=300),
    })


@pytest.fixture
def has_rscript() -> str:
    path = shutil.which("Rscript")
    if path is None:
        pytest.skip("Rscript is not installed (make test installs r-base-core when run as root)")
    return path


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the whole run; skipped when PySpark or Java is missing."""
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'custseg[spark]')")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: Spark needs a JVM (Java 17)")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("custseg-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.driver.memory", "2g")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
