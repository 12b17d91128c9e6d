"""The same log gives the same bits: DuckDB's threads combine partial sums in whatever order they
finish, which custseg's compensated sums (``fsum``) must not show. With plain ``sum`` this log
gave a different ``monetary`` in each of six runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custseg.features import rfm


@pytest.fixture(scope="module")
def many_row_groups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200,000 lines with prices of two decimals, in 49 row groups that two threads share."""
    rng = np.random.default_rng(3)
    n = 200_000
    invoice = np.sort(rng.integers(0, 40_000, n))
    customer = rng.integers(0, 20_000, 40_000)[invoice]
    quantity = rng.integers(1, 25, n) * np.where(rng.random(n) < 0.03, -1, 1)
    table = pa.table({
        "InvoiceNo": pa.array(invoice.astype(str)),
        "CustomerID": pa.array(customer + 10_000),
        "InvoiceDate": pa.array(np.datetime64("2024-01-01T08:00", "s")
                                + (invoice * 777).astype("timedelta64[s]")),
        "Quantity": pa.array(quantity),
        "UnitPrice": pa.array(np.round(rng.lognormal(1.0, 0.8, n) + 0.01, 2)),
    })
    path = tmp_path_factory.mktemp("determinism") / "log.parquet"
    pq.write_table(table, path, row_group_size=4096)
    return path


def test_same_log_same_bits(many_row_groups: Path) -> None:
    runs = [rfm(many_row_groups, threads=2) for _ in range(6)]
    first = runs[0]
    for res in runs[1:]:
        pd.testing.assert_frame_equal(res.features, first.features, check_exact=True)
        for key in ("gross_value", "returned_value", "net_value", "excluded_net_value"):
            assert res.summary[key] == first.summary[key], key
