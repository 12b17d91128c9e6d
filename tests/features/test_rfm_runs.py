"""The per-invoice level by runs of invoice lines (:mod:`custseg.features._rfm_runs`) against
DuckDB's group-by: the same features, rejects and summary, bit for bit, on Parquet logs made to
hit every branch: runs cut by row groups and by the threads' shares, keys that come back (the
DuckDB path then runs), nulls, non-finite numbers, values the pass leaves to DuckDB."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rfm_paths import assert_same_result

import custseg.features._rfm as rfm_module
import custseg.features._rfm_runs as rfm_runs
from custseg.features import rfm

# what may differ between the two paths: the time, and which path ran
OWN = ("timings_seconds", "invoice_level")
COLUMNS = {"inv": "InvoiceNo", "cust": "CustomerID", "ts": "InvoiceDate", "q": "Quantity",
           "p": "UnitPrice"}


def both_paths(monkeypatch: pytest.MonkeyPatch, path: Path, **kwargs: object) -> tuple:
    """rfm() with the invoice runs where they apply, then with DuckDB's group-by (both with
    the numba customer level, which the runs feed)."""
    monkeypatch.setattr(rfm_module, "USE_DENSE", True)
    monkeypatch.setattr(rfm_module, "USE_RUNS", None)
    runs = rfm(str(path), **kwargs)
    monkeypatch.setattr(rfm_module, "USE_RUNS", False)
    sql = rfm(str(path), **kwargs)
    assert sql.summary["invoice_level"] == "sql"
    return runs, sql


def assert_same(a: object, b: object) -> None:
    assert_same_result(a, b, OWN)


def write(table: pa.Table | pd.DataFrame, path: Path, row_group_size: int | None = None) -> Path:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def retail_log(n_invoices: int = 60, seed: int = 0) -> pd.DataFrame:
    """Invoice by invoice, as order systems export: 1-6 lines an invoice, a customer each,
    cancellation invoices (negative quantities), a return line inside a purchase invoice, a
    missing ID, a zero price, dates before 1970."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_invoices):
        cancel = i % 9 == 4
        inv = f"{'C' if cancel else ''}{536365 + i}"
        cust = int(rng.integers(12000, 12020))
        day = np.datetime64("1969-12-25T08:00") + np.timedelta64(int(rng.integers(0, 500)), "D")
        for _ in range(int(rng.integers(1, 7))):
            q = int(rng.integers(1, 12)) * (-1 if cancel or rng.random() < 0.05 else 1)
            rows.append({"InvoiceNo": inv, "StockCode": f"2{i % 7}A", "CustomerID": cust,
                         "InvoiceDate": day + np.timedelta64(int(rng.integers(0, 300)), "m"),
                         "Quantity": q, "UnitPrice": round(float(rng.uniform(0.1, 20)), 2)})
    log = pd.DataFrame(rows)
    log["CustomerID"] = log["CustomerID"].astype("Int64")
    log.loc[3, "CustomerID"] = None
    log.loc[10, "UnitPrice"] = 0.0
    return log


@pytest.mark.parametrize(("row_group_size", "threads"), [(None, 1), (1, 2), (5, 3), (7, 2)])
def test_runs_give_the_group_by_result(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       row_group_size: int | None, threads: int) -> None:
    """Runs cut by row groups (one line a group, too) and by the threads' shares."""
    path = write(retail_log(), tmp_path / "log.parquet", row_group_size)
    runs, sql = both_paths(monkeypatch, path, threads=threads)
    assert runs.summary["invoice_level"] == "numba runs"
    assert_same(runs, sql)


def test_a_run_cut_between_two_threads_is_one_invoice(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """An invoice whose lines fall in both threads' row groups counts once."""
    log = pd.DataFrame({"InvoiceNo": ["1", "1", "1", "1"], "CustomerID": [7, 7, 7, 7],
                        "InvoiceDate": pd.to_datetime(["2011-01-01"] * 2 + ["2011-01-02"] * 2),
                        "Quantity": [1, -1, 2, -3], "UnitPrice": [1.0, 2.0, 3.0, 4.0]})
    path = write(log, tmp_path / "log.parquet", row_group_size=2)
    runs, sql = both_paths(monkeypatch, path, threads=2)
    assert runs.summary["invoice_level"] == "numba runs"
    assert_same(runs, sql)
    assert runs.features["frequency"].tolist() == [1]
    assert runs.features["n_returns"].tolist() == [2]
    keys = rfm_runs.invoice_runs(str(path), COLUMNS, cancellation_prefix="C", as_of_us=None,
                                 threads=2).keys.to_pandas()
    assert sorted(zip(keys["is_ret"], keys["n"], keys["v"], strict=True)) == [
        (False, 2, 7.0), (True, 2, 14.0)]


def test_a_key_that_comes_back_is_merged(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    """An invoice whose lines come in two runs (the UCI log has one) is one key: its runs'
    keys are merged once their lines are read back as one customer's one invoice."""
    log = retail_log()
    log = pd.concat([log, log.iloc[[0, 1]]], ignore_index=True)  # invoice 536365 again, at the end
    path = write(log, tmp_path / "log.parquet", row_group_size=50)
    runs, sql = both_paths(monkeypatch, path, threads=2)
    assert runs.summary["invoice_level"] == "numba runs"
    assert_same(runs, sql)
    # more runs of returning keys than merging is worth: DuckDB groups the log
    monkeypatch.setattr(rfm_runs, "_MAX_SPLIT_RUNS", 1)
    assert rfm_runs.invoice_runs(str(path), COLUMNS, cancellation_prefix="C",
                                 as_of_us=None) is None


def test_a_hash_collision_leaves_the_log_to_duckdb(tmp_path: Path) -> None:
    """Two runs with one hash but different invoices are not merged."""
    log = pd.DataFrame({"InvoiceNo": ["1", "2"], "CustomerID": [7, 7],
                        "InvoiceDate": pd.to_datetime(["2011-01-01"] * 2),
                        "Quantity": [1, 1], "UnitPrice": [1.0, 2.0]})
    path = write(log, tmp_path / "log.parquet")
    same = np.array([5, 5], np.uint64)
    cols = [np.array([7, 7]), np.array([False, False]), np.array([1, 1]), np.array([1.0, 2.0]),
            np.array([0, 0]), np.array([0, 0]), np.array([False, False]), same,
            np.array([0.0, 0.0])]
    assert rfm_runs._merge_returning_keys(str(path), COLUMNS, cols, same,
                                          np.array([0, 1])) is None
    log.loc[1, "InvoiceNo"] = "1"  # truly one invoice: merged into one key
    path = write(log, tmp_path / "log.parquet")
    merged = rfm_runs._merge_returning_keys(str(path), COLUMNS, cols, same, np.array([0, 1]))
    assert [c.tolist() for c in merged[:4]] == [[7], [False], [2], [3.0]]


def test_invoices_out_of_order_but_distinct_take_the_runs(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """Invoice numbers that do not sort in file order ("999" before "1000") are checked by
    their hashes instead, and pass."""
    log = retail_log().iloc[::-1].reset_index(drop=True)
    path = write(log, tmp_path / "log.parquet")
    runs, sql = both_paths(monkeypatch, path, threads=2)
    assert runs.summary["invoice_level"] == "numba runs"
    assert_same(runs, sql)


def test_the_same_invoice_for_two_customers_alternating(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    log = pd.DataFrame({"InvoiceNo": ["1", "1", "1", "2"], "CustomerID": [7, 8, 7, 8],
                        "InvoiceDate": pd.to_datetime(["2011-01-01"] * 4),
                        "Quantity": [1, 1, 1, 1], "UnitPrice": [1.0, 2.0, 3.0, 4.0]})
    path = write(log, tmp_path / "log.parquet")
    runs, sql = both_paths(monkeypatch, path)
    assert runs.summary["invoice_level"] == "numba runs"  # (7, "1") comes back: merged
    assert_same(runs, sql)
    assert runs.features["frequency"].tolist() == [1, 2]


@pytest.mark.parametrize("kind", ["amount", "float quantity", "int32 IDs", "date32", "seconds",
                                  "nanoseconds", "nanoseconds, as_of", "integer invoices",
                                  "large strings", "as_of"])
def test_column_kinds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str) -> None:
    log = retail_log()
    table = pa.Table.from_pandas(log, preserve_index=False)
    kwargs: dict = {}
    if kind == "amount":
        table = table.append_column("Amount", pa.array(log["Quantity"] * log["UnitPrice"]))
        table = table.drop_columns(["Quantity", "UnitPrice"])
    elif kind == "float quantity":
        table = table.set_column(table.schema.get_field_index("Quantity"), "Quantity",
                                 table.column("Quantity").cast(pa.float64()))
    elif kind == "int32 IDs":
        table = table.set_column(table.schema.get_field_index("CustomerID"), "CustomerID",
                                 table.column("CustomerID").cast(pa.int32()))
    elif kind == "date32":
        table = table.set_column(table.schema.get_field_index("InvoiceDate"), "InvoiceDate",
                                 table.column("InvoiceDate").cast(pa.date32()))
    elif kind == "seconds":
        table = table.set_column(table.schema.get_field_index("InvoiceDate"), "InvoiceDate",
                                 table.column("InvoiceDate").cast(pa.timestamp("s")))
    elif kind.startswith("nanoseconds"):
        # pandas' default unit; sub-microsecond parts on both sides of 1970 and of the
        # halves, which the plain path's cast rounds (half away from zero)
        ns = log["InvoiceDate"].astype("datetime64[ns]").to_numpy().astype(np.int64)
        ns = ns + np.resize(np.array([0, 499, 500, 501, -499, -500, -501, 999]), len(ns))
        table = table.set_column(table.schema.get_field_index("InvoiceDate"), "InvoiceDate",
                                 pa.array(ns, pa.int64()).cast(pa.timestamp("ns")))
        if kind.endswith("as_of"):  # a cut through the rounded values
            kwargs["as_of"] = str(pd.Timestamp(int(np.sort(ns)[len(ns) // 2]) + 500))
    elif kind == "integer invoices":
        numbers = [int(x.lstrip("C")) for x in log["InvoiceNo"]]
        table = table.set_column(table.schema.get_field_index("InvoiceNo"), "InvoiceNo",
                                 pa.array(numbers, pa.int64()))
    elif kind == "large strings":
        table = table.set_column(table.schema.get_field_index("InvoiceNo"), "InvoiceNo",
                                 table.column("InvoiceNo").cast(pa.large_string()))
    else:
        kwargs["as_of"] = "1970-06-01"  # lines on or after it are excluded
    path = write(table, tmp_path / "log.parquet", row_group_size=40)
    runs, sql = both_paths(monkeypatch, path, threads=2, **kwargs)
    assert runs.summary["invoice_level"] == "numba runs"
    assert_same(runs, sql)


@pytest.mark.parametrize("kind", ["blank invoice", "time zone", "decimal price", "far future",
                                  "float IDs"])
def test_values_the_pass_leaves_to_duckdb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          kind: str) -> None:
    log = retail_log()
    table = pa.Table.from_pandas(log, preserve_index=False)
    if kind == "blank invoice":  # trim() decides whether it is missing
        inv = log["InvoiceNo"].tolist()
        inv[20] = " "
        table = table.set_column(0, "InvoiceNo", pa.array(inv))
    elif kind == "time zone":
        table = table.set_column(table.schema.get_field_index("InvoiceDate"), "InvoiceDate",
                                 table.column("InvoiceDate").cast(pa.timestamp("us", "UTC")))
    elif kind == "decimal price":
        table = table.set_column(table.schema.get_field_index("UnitPrice"), "UnitPrice",
                                 table.column("UnitPrice").cast(pa.decimal128(10, 2)))
    elif kind == "far future":
        dates = log["InvoiceDate"].astype("datetime64[s]").to_numpy().copy()
        dates[30] = np.datetime64("9000-01-01")
        table = table.set_column(table.schema.get_field_index("InvoiceDate"), "InvoiceDate",
                                 pa.array(dates, pa.timestamp("s")))
    else:
        table = table.set_column(table.schema.get_field_index("CustomerID"), "CustomerID",
                                 table.column("CustomerID").cast(pa.float64()))
    path = write(table, tmp_path / "log.parquet")
    runs, sql = both_paths(monkeypatch, path)
    assert runs.summary["invoice_level"] == "sql"
    assert_same(runs, sql)


def test_not_taken_for_text_multi_file_or_dropped_duplicates(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    log = retail_log()
    monkeypatch.setattr(rfm_module, "USE_DENSE", True)
    log.to_csv(tmp_path / "log.csv", index=False)
    assert rfm(str(tmp_path / "log.csv")).summary["invoice_level"] == "sql"
    folder = tmp_path / "parts"
    folder.mkdir()
    write(log.iloc[:100], folder / "a.parquet")
    write(log.iloc[100:], folder / "b.parquet")
    assert rfm(str(folder)).summary["invoice_level"] == "sql"
    path = write(log, tmp_path / "log.parquet")
    assert rfm(str(path), duplicates="drop").summary["invoice_level"] == "sql"
    assert rfm(str(path)).summary["invoice_level"] == "numba runs"


def test_warm_up_compiles_nothing_new(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rfm_runs.warm_up()
    kernels = (rfm_runs._pass, rfm_runs._repeated)
    before = {f: len(f.signatures) for f in kernels}
    monkeypatch.setattr(rfm_module, "USE_DENSE", True)
    log = retail_log()
    rfm(str(write(log, tmp_path / "a.parquet", 50)))  # nulls in one column
    rfm(str(write(log.dropna(), tmp_path / "b.parquet")))  # none
    rfm(str(write(log.astype({"Quantity": float}), tmp_path / "c.parquet")))
    assert {f: len(f.signatures) for f in kernels} == before


row = st.fixed_dictionaries({
    "CustomerID": st.one_of(st.none(), st.integers(-3, 4)),
    "InvoiceNo": st.one_of(st.none(), st.sampled_from(["", "1", "2", "10", "C3", "C"])),
    "day": st.one_of(st.none(), st.integers(-3, 40)),
    "Quantity": st.one_of(st.none(), st.sampled_from([1.0, 2.0, -1.0, 0.0, math.inf, math.nan,
                                                      1e200])),
    "UnitPrice": st.one_of(st.none(), st.sampled_from([0.1, 3.3, 1e200, 0.0, -2.0, math.nan,
                                                       -math.inf])),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(row, min_size=1, max_size=25), st.integers(1, 8), st.integers(1, 3),
       st.sampled_from(["C", None]))
def test_fuzz_runs_equal_group_by(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
                                  rows: list[dict], row_group_size: int, threads: int,
                                  prefix: str | None) -> None:
    def column(name: str) -> list:
        return [r[name] for r in rows]

    table = pa.table({
        "CustomerID": pa.array(column("CustomerID"), pa.int64()),
        "InvoiceNo": pa.array(column("InvoiceNo"), pa.string()),
        "InvoiceDate": pa.array([None if d is None else 1_293_876_000_000_000 + d * 86_400_000_000
                                 for d in column("day")], pa.int64()).cast(pa.timestamp("us")),
        "Quantity": pa.array(column("Quantity"), pa.float64()),
        "UnitPrice": pa.array(column("UnitPrice"), pa.float64()),
    })
    path = write(table, tmp_path_factory.mktemp("fuzz") / "log.parquet", row_group_size)
    try:
        runs, sql = both_paths(monkeypatch, path, threads=threads, cancellation_prefix=prefix)
    except Exception as exc:  # nothing usable: both paths must fail alike
        monkeypatch.setattr(rfm_module, "USE_RUNS", False)
        with pytest.raises(type(exc)):
            rfm(str(path), threads=threads, cancellation_prefix=prefix)
        return
    assert_same(runs, sql)


@pytest.mark.shared_data
def test_online_retail_as_parquet(monkeypatch: pytest.MonkeyPatch, online_retail: Path,
                                  tmp_path: Path) -> None:
    """The UCI log, typed and written as Parquet in its own line order: its invoices come
    together, so the runs take it, with DuckDB's result and the known counts."""
    raw = pd.read_csv(online_retail, dtype={"InvoiceNo": str, "StockCode": str})
    raw["CustomerID"] = raw["CustomerID"].astype("Int64")
    raw["InvoiceDate"] = pd.to_datetime(raw["InvoiceDate"])
    path = write(raw, tmp_path / "online_retail.parquet", row_group_size=100_000)
    runs, sql = both_paths(monkeypatch, path, threads=2)
    assert runs.summary["invoice_level"] == "numba runs"
    assert_same(runs, sql)
    assert runs.summary["customers"] == 4372
    assert runs.summary["lines_excluded_by_reason"]["missing_customer_id"] == 135_080


def test_invoices_in_export_order_need_no_hash_check(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """Invoice numbers that grow, with cancellations ("C" + number) among them and a number
    gaining a digit (999999, then 1000000), are in order: no run can come back, so the runs'
    hashes are not checked. A cancellation that has its purchase's number ("C1000002" after
    "1000002") is not in order, and is checked."""
    def no_check(hashes: np.ndarray) -> np.ndarray:
        raise AssertionError("hash check")

    rows = [("999997", 1, 2), ("C999998", 1, -1), ("999999", 2, 1), ("1000000", 3, 4),
            ("C1000001", 2, -1), ("1000002", 4, 1)]
    log = pd.DataFrame({"InvoiceNo": [r[0] for r in rows], "CustomerID": [r[1] for r in rows],
                        "InvoiceDate": pd.to_datetime(["2011-01-01"] * len(rows)),
                        "Quantity": [r[2] for r in rows], "UnitPrice": [1.5] * len(rows)})
    path = write(log, tmp_path / "log.parquet", row_group_size=4)
    with monkeypatch.context() as mp:
        mp.setattr(rfm_runs, "_repeated", no_check)
        assert rfm_runs.invoice_runs(str(path), COLUMNS, cancellation_prefix="C",
                                     as_of_us=None, threads=2) is not None
    log = pd.concat([log, log.iloc[[5]].assign(InvoiceNo="C1000002", Quantity=-1)])
    path = write(log, tmp_path / "log.parquet")
    runs, sql = both_paths(monkeypatch, path)
    assert runs.summary["invoice_level"] == "numba runs"
    assert_same(runs, sql)
    assert runs.summary["cancellation_invoices"] == 3


def test_nanoseconds_round_as_duckdbs_cast() -> None:
    """The plain path reads a nanosecond column through ``CAST(... AS TIMESTAMP)``; the pass
    rounds the same way (nearest microsecond, halves away from zero)."""
    import duckdb

    edges = np.array([-1501, -1500, -1499, -1000, -999, -501, -500, -499, -1, 0, 1, 499, 500,
                      501, 999, 1000, 1499, 1500, 1501, 1_700_000_000_123_456_789,
                      -1_700_000_000_123_456_500, np.iinfo(np.int64).max - 1,
                      np.iinfo(np.int64).min + 2], dtype=np.int64)
    rng = np.random.default_rng(0)
    values = np.concatenate([edges, rng.integers(-2**62, 2**62, 2000)])
    table = pa.table({"ts": pa.array(values, pa.int64()).cast(pa.timestamp("ns"))})
    con = duckdb.connect()
    con.register("t", table)
    expected = np.array([r[0] for r in con.execute(
        "SELECT epoch_us(CAST(ts AS TIMESTAMP)) FROM t").fetchall()], dtype=np.int64)
    np.testing.assert_array_equal(rfm_runs._ns_to_us(values), expected)


@pytest.mark.parametrize("special", [np.iinfo(np.int64).max, np.iinfo(np.int64).min + 1])
def test_infinite_nanosecond_timestamps_go_to_duckdb(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, special: int) -> None:
    log = retail_log()
    ns = log["InvoiceDate"].astype("datetime64[ns]").to_numpy().astype(np.int64)
    ns[7] = special  # DuckDB's infinity / -infinity
    table = pa.Table.from_pandas(log, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("InvoiceDate"), "InvoiceDate",
                             pa.array(ns, pa.int64()).cast(pa.timestamp("ns")))
    path = write(table, tmp_path / "log.parquet")
    runs, sql = both_paths(monkeypatch, path)
    assert runs.summary["invoice_level"] == "sql"
    assert_same(runs, sql)
