"""The per-customer level in numba (numeric customer IDs) against the SQL level: the same
features and rejects, bit for bit, and the same summary (its totals to 1e-13: they are added by
``math.fsum`` here, DuckDB's ``fsum`` there), on logs made to hit every branch."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rfm_paths import assert_same_result

import custseg.features._rfm as rfm_module
import custseg.features._rfm_dense as rfm_dense
from custseg.features import rfm
from custseg.features._rfm_dense import _ranks, customer_numbers

# what may differ between the two levels: the time, and which level ran
OWN = ("timings_seconds", "customer_level", "invoice_level")


def both_paths(monkeypatch: pytest.MonkeyPatch, log: object, **kwargs: object) -> tuple:
    """rfm() through the numba level, then through the SQL level."""
    monkeypatch.setattr(rfm_module, "USE_DENSE", True)
    dense = rfm(log, **kwargs)
    monkeypatch.setattr(rfm_module, "USE_DENSE", False)
    sql = rfm(log, **kwargs)
    return dense, sql


def assert_same(dense: object, sql: object) -> None:
    assert_same_result(dense, sql, OWN, float_rel=1e-13)


def make_log(ids: list, id_dtype: str) -> pd.DataFrame:
    """A log that has purchases, returns, a cancellation invoice, a customer with returns
    only, a customer whose only line has a zero price, a missing ID and dates before 1970."""
    n = len(ids)
    rng = np.random.default_rng(n)
    invoices = [f"{'C' if i % 7 == 3 else ''}{500 + i // 2}" for i in range(n)]
    qty = rng.integers(1, 9, n)
    qty[[i for i in range(n) if invoices[i].startswith("C")]] *= -1
    dates = (np.datetime64("1969-12-30T23:00") + rng.integers(0, 400, n).astype("timedelta64[D]")
             + rng.integers(0, 1440, n).astype("timedelta64[m]"))
    price = np.round(rng.uniform(0.1, 30, n), 2)
    log = pd.DataFrame({"CustomerID": pd.array(ids, dtype=id_dtype), "InvoiceNo": invoices,
                        "InvoiceDate": dates, "Quantity": qty, "UnitPrice": price})
    return log


ID_SETS = {
    "dense int64": ([12346 + i % 40 for i in range(200)], "Int64"),
    "negative and zero": ([-5 + i % 11 for i in range(120)], "Int64"),
    "sparse (sort path)": ([(i % 30) * 10**12 + 7 for i in range(150)], "Int64"),
    "int32": ([100 + i % 25 for i in range(90)], "Int32"),
    "uint16": ([i % 17 for i in range(60)], "UInt16"),
    "float, integral": ([17850.0 + i % 33 for i in range(130)], "Float64"),
}


@pytest.mark.parametrize("name", list(ID_SETS))
def test_numeric_ids_give_the_sql_level_result(monkeypatch: pytest.MonkeyPatch,
                                               name: str) -> None:
    ids, dtype = ID_SETS[name]
    log = make_log(ids, dtype)
    log.loc[5, "CustomerID"] = None  # missing_customer_id
    log.loc[7, "UnitPrice"] = 0.0  # non_positive_price
    dense, sql = both_paths(monkeypatch, log)
    assert_same(dense, sql)
    assert dense.summary["lines_excluded"] == 2
    assert (dense.summary["customer_level"], sql.summary["customer_level"]) == ("numba", "sql")


def test_customers_without_usable_lines_and_returns_only(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    log = make_log([1, 2, 3, 4, 5, 6] * 5, "Int64")
    log = pd.concat([log, pd.DataFrame({
        "CustomerID": pd.array([99, 98, 97], dtype="Int64"),
        "InvoiceNo": ["900", "C901", "902"],
        "InvoiceDate": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
        "Quantity": [1, -2, 3], "UnitPrice": [0.0, 4.0, -1.0]})], ignore_index=True)
    path = tmp_path / "log.parquet"
    log.to_parquet(path)
    dense, sql = both_paths(monkeypatch, path)
    assert_same(dense, sql)
    f = dense.features.set_index("CustomerID")
    assert f.loc["99", "n_lines"] == 0 and f.loc["97", "n_lines"] == 0  # idle customers
    assert f.loc["98", "frequency"] == 0 and f.loc["98", "monetary"] == -8.0  # returns only
    assert pd.isna(f.loc["98", "first_purchase"])
    assert dense.summary["customers_without_usable_lines"] == 2


@pytest.mark.parametrize("kwargs", [
    {}, {"cancellation_prefix": None}, {"as_of": "1970-06-01"}, {"duplicates": "drop"}])
def test_options(monkeypatch: pytest.MonkeyPatch, kwargs: dict) -> None:
    log = make_log([7 + i % 13 for i in range(150)], "Int64")
    log = pd.concat([log, log.iloc[:4]], ignore_index=True)  # exact duplicates
    assert_same(*both_paths(monkeypatch, log, **kwargs))


def test_amount_and_no_invoice(monkeypatch: pytest.MonkeyPatch) -> None:
    log = make_log([3 + i % 9 for i in range(80)], "Int64")
    log = log.assign(Amount=log["Quantity"] * log["UnitPrice"]).drop(
        columns=["Quantity", "UnitPrice", "InvoiceNo"])
    dense, sql = both_paths(monkeypatch, log)
    assert_same(dense, sql)
    assert dense.summary["frequency_definition"] == "distinct purchase days"


@pytest.fixture
def reduce_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records the calls of the numba level (which then runs as usual)."""
    calls: list = []
    real = rfm_dense.reduce_keys
    monkeypatch.setattr(rfm_dense, "reduce_keys", lambda *a: calls.append(1) or real(*a))
    return calls


def test_non_integral_and_text_ids_take_the_sql_level(monkeypatch: pytest.MonkeyPatch,
                                                     reduce_calls: list) -> None:
    log = make_log([1.5 + i % 4 for i in range(40)], "Float64")
    assert_same(*both_paths(monkeypatch, log))
    rfm(log.assign(CustomerID=log["CustomerID"].astype(str)))
    assert reduce_calls == []  # neither reaches the numba level


def test_memory_limit_keeps_the_sql_level(monkeypatch: pytest.MonkeyPatch,
                                          reduce_calls: list) -> None:
    monkeypatch.setattr(rfm_module, "USE_DENSE", True)
    res = rfm(make_log([1, 2, 3] * 10, "Int64"), memory_limit="1GB")
    assert reduce_calls == [] and len(res.features) == 3


@pytest.mark.parametrize(("n_lines", "numba_loaded", "loading", "expected"), [
    (10, True, True, False),  # small: the SQL level
    (1_000_000, True, False, True),  # numba loaded anyway: the numba level pays
    (1_000_000, False, True, True),  # the caller is loading numba (custseg segment)
    (10_000_000, False, False, False),  # a fresh process: its import costs more than it saves
    (30_000_000, False, False, True),  # ... unless the log is very big
])
def test_the_numba_level_runs_where_it_pays(monkeypatch: pytest.MonkeyPatch, n_lines: int,
                                            numba_loaded: bool, loading: bool,
                                            expected: bool) -> None:
    monkeypatch.setattr(rfm_module, "USE_DENSE", None)
    modules = dict(sys.modules)
    if not numba_loaded:
        modules.pop("numba", None)
    monkeypatch.setattr(sys, "modules", modules)
    token = rfm_module.NUMBA_LOADING.set(loading)
    try:
        assert rfm_module._dense_pays(n_lines) is expected
    finally:
        rfm_module.NUMBA_LOADING.reset(token)


def test_warm_up_compiles_nothing_new() -> None:
    """The warm-up loads the very specialisations a run uses (else it would compile)."""
    rfm_dense.warm_up()
    before = {f: len(f.signatures) for f in (rfm_dense._offset_ranks, rfm_dense._reduce,
                                             rfm_dense._features)}
    ints = make_log([5 + i % 50 for i in range(300)], "Int64")
    floats = make_log([5.0 + i % 50 for i in range(300)], "Float64")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rfm_module, "USE_DENSE", True)
        rfm(ints)
        rfm(floats)  # other array flags on the way (the float IDs are converted)
        rfm(ints, cancellation_prefix=None)  # no cancellation column
    assert {f: len(f.signatures) for f in before} == before


row = st.fixed_dictionaries({
    "CustomerID": st.one_of(st.none(), st.integers(-3, 6), st.just(2**40)),
    "InvoiceNo": st.sampled_from(["1", "2", "3", "C4", "C5"]),
    "day": st.integers(-3, 40),
    "Quantity": st.sampled_from([1, 2, 5, -1, -4, 0]),
    "UnitPrice": st.sampled_from([0.1, 0.7, 3.3, 1e15, 0.0, -2.0, math.nan]),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(row, min_size=1, max_size=30), st.sampled_from(["Int64", "Float64"]))
def test_fuzz_numba_level_equals_sql_level(monkeypatch: pytest.MonkeyPatch,
                                           rows: list[dict], id_dtype: str) -> None:
    frame = pd.DataFrame(rows)
    log = pd.DataFrame({
        "CustomerID": pd.array(frame["CustomerID"].tolist(), dtype=id_dtype),
        "InvoiceNo": frame["InvoiceNo"],
        "InvoiceDate": np.datetime64("1969-12-25T12:00") + frame["day"].to_numpy().astype(
            "timedelta64[D]"),
        "Quantity": frame["Quantity"], "UnitPrice": frame["UnitPrice"]})
    if not ((log["CustomerID"].notna()) & (log["UnitPrice"] > 0)
            & (log["Quantity"] != 0)).any():
        return  # nothing usable: a SchemaError either way, tested elsewhere
    assert_same(*both_paths(monkeypatch, log))


@pytest.mark.parametrize(("values", "expected"), [
    (np.array([3, -1, 7], np.int64), [3, -1, 7]),
    (np.array([3.0, -0.0, 7.0]), [3, 0, 7]),
    (np.array([3.5]), None),
    (np.array([np.inf]), None),
    (np.array([2**63], np.uint64), None),
    (np.array([5], np.uint32), [5]),
])
def test_customer_numbers(values: np.ndarray, expected: list | None) -> None:
    got = customer_numbers(values)
    assert (got is None) if expected is None else got.tolist() == expected


@pytest.mark.parametrize("spread", [1, 10**13])
def test_ranks_sort_numbers_dense_or_sparse(spread: int) -> None:
    rng = np.random.default_rng(spread % 97)
    cust = rng.integers(0, 500, 2000) * spread - 3
    extra = np.array([1000 * spread, -7 * spread], np.int64)
    key, rank = _ranks(cust, extra)
    expected = np.unique(np.concatenate([cust, extra]))
    np.testing.assert_array_equal(key, expected)
    np.testing.assert_array_equal(key[rank], cust)


def test_online_retail_numeric_ids(monkeypatch: pytest.MonkeyPatch, online_retail: Path) -> None:
    """UCI Online Retail read by pandas (CustomerID a float column with NaN), through both
    levels: the same 4,372 customers and features."""
    log = pd.read_csv(online_retail, encoding="latin-1",
                      dtype={"InvoiceNo": str, "StockCode": str},
                      parse_dates=["InvoiceDate"], date_format="%m/%d/%Y %H:%M")
    assert log["CustomerID"].dtype == np.float64
    dense, sql = both_paths(monkeypatch, log)
    assert_same(dense, sql)
    assert dense.summary["customers"] == 4372
    assert dense.summary["customer_id_normalised"] is True


def test_sums_past_the_largest_double_are_inf_on_both_levels(
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = make_log([1, 2, 3] * 6, "Int64")
    log.loc[[0, 3], ["Quantity", "UnitPrice"]] = [1, 1e308]  # customer 1: two invoices
    log.loc[[0, 3], "InvoiceNo"] = ["7001", "7002"]
    dense, sql = both_paths(monkeypatch, log)
    assert_same(dense, sql)
    assert np.isinf(dense.features.loc[0, "monetary"])
    assert np.isinf(dense.summary["gross_value"])


def test_infinite_timestamps_are_invalid_dates(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "log.parquet"
    duckdb.sql("""
        SELECT (i % 5) + 1 AS CustomerID, CAST(100 + i // 2 AS VARCHAR) AS InvoiceNo,
               CASE i WHEN 3 THEN TIMESTAMP '-infinity' WHEN 8 THEN TIMESTAMP 'infinity'
                    ELSE TIMESTAMP '2024-01-01' + INTERVAL (i) DAY END AS InvoiceDate,
               1 + i % 3 AS Quantity, 2.5 AS UnitPrice
        FROM range(40) t(i)""").write_parquet(str(path))
    dense, sql = both_paths(monkeypatch, path)
    assert_same(dense, sql)
    assert dense.summary["lines_excluded_by_reason"]["invalid_date"] == 2
    assert dense.summary["date_range"][0].startswith("2024-01-01")


def test_threads_bound_the_kernels_and_are_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    import numba

    seen = []
    real = rfm_dense._reduce

    def spy(*args: object) -> object:
        seen.append((numba.get_num_threads(), args[-1]))
        return real(*args)

    monkeypatch.setattr(rfm_dense, "_reduce", spy)
    monkeypatch.setattr(rfm_module, "USE_DENSE", True)
    before = numba.get_num_threads()
    rfm(make_log([1, 2, 3, 4] * 20, "Int64"), threads=1)
    assert seen == [(1, 1)]
    assert numba.get_num_threads() == before


WORKQUEUE_RUN = """
import json, sys
import numpy as np, pandas as pd
import custseg.features._rfm as rfm_module
from custseg import SegmentOptions, run_segment
rfm_module.DENSE_MIN_LINES = 0
rng = np.random.default_rng(0)
n = 200_000
log = pd.DataFrame({
    "InvoiceNo": (100_000 + np.arange(n) // 4).astype(str),
    "CustomerID": 10_000 + rng.integers(0, 20_000, n),
    "InvoiceDate": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
    "Quantity": rng.integers(1, 9, n), "UnitPrice": rng.uniform(0.5, 20, n).round(2)})
log.to_parquet(sys.argv[1] + "/orders.parquet")
run_segment(sys.argv[1] + "/orders.parquet", sys.argv[1] + "/out",
            SegmentOptions(transactions=True, k=3, n_init=1, seed=0))
summary = json.load(open(sys.argv[1] + "/out/summary.json"))
print(summary["transactions"]["rfm"]["customer_level"])
"""


def test_pipeline_warm_up_and_rfm_kernels_do_not_run_at_once(tmp_path: Path) -> None:
    """numba's workqueue threading layer aborts the process when two threads run parallel
    kernels at once; the pipeline warms the kernels up in a worker thread while the main
    thread may reach them (a fresh process, so the warm-up really is in flight)."""
    import os
    import subprocess

    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    proc = subprocess.run([sys.executable, "-c", WORKQUEUE_RUN, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == "numba"


def test_dates_after_2262(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A date past pandas' nanosecond range (a Parquet timestamp in seconds) gives the SQL
    level's features; the numba level used to compute as_of's day through nanoseconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dates = np.array(["2011-01-01T10:00", "9000-01-01T08:00", "9000-03-01T08:00"],
                     dtype="datetime64[s]")
    pq.write_table(pa.table({"InvoiceNo": ["1", "2", "3"], "CustomerID": [1, 2, 2],
                             "InvoiceDate": pa.array(dates, pa.timestamp("s")),
                             "Quantity": [1, 1, 1], "UnitPrice": [1.0, 2.0, 3.0]}),
                   tmp_path / "far.parquet")
    dense, sql = both_paths(monkeypatch, str(tmp_path / "far.parquet"))
    assert_same(dense, sql)
    assert dense.summary["customer_level"] == "numba"
    assert dense.features["recency_days"].tolist() == [2552740, 1]
