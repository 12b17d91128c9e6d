"""Edge cases of the invoice-run pass (:mod:`custseg.features._rfm_runs`): adversarial logs, each
checked for the DuckDB group-by's result bit for bit (features, rejects, summary), and for the
runs path being taken where it should be.

Every log here uses float64 quantities and prices, int64 quantities with float64 prices, or
large strings with int64 quantities, the argument types the other runs tests compile already:
no new numba specialisation.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_rfm_runs import COLUMNS, assert_same, both_paths, retail_log, write

import custseg.features._rfm as rfm_module
import custseg.features._rfm_runs as rfm_runs
from custseg.features import rfm

RUNS = "numba runs"
DAY_US = 86_400_000_000
START_US = 1_293_876_000_000_000  # 2011-01-01 10:00


def log(inv: list | pa.Array, cust: list | pa.Array, q: list | pa.Array, p: list | pa.Array,
        days: list | None = None) -> pa.Table:
    """A log in the test_rfm_runs column names: text invoices unless given as an array,
    int64 IDs, float64 quantities and prices unless given as arrays, microsecond dates."""
    n = len(inv)
    days = [0] * n if days is None else days
    ts = [None if d is None else START_US + d * DAY_US for d in days]
    return pa.table({
        "InvoiceNo": inv if isinstance(inv, pa.Array) else pa.array(inv, pa.string()),
        "CustomerID": cust if isinstance(cust, pa.Array) else pa.array(cust, pa.int64()),
        "InvoiceDate": pa.array(ts, pa.int64()).cast(pa.timestamp("us")),
        "Quantity": q if isinstance(q, pa.Array) else pa.array(q, pa.float64()),
        "UnitPrice": p if isinstance(p, pa.Array) else pa.array(p, pa.float64()),
    })


def write_groups(table: pa.Table, path: Path, sizes: list[int]) -> Path:
    """``table`` as row groups of the given sizes (0: an empty row group)."""
    with pq.ParquetWriter(path, table.schema) as writer:
        at = 0
        for size in sizes:
            writer.write_table(table.slice(at, size))
            at += size
    assert at == table.num_rows
    assert pq.ParquetFile(path).metadata.num_row_groups == len(sizes)
    return path


def check(monkeypatch: pytest.MonkeyPatch, path: Path, level: str | None = RUNS,
          **kwargs: Any) -> tuple:
    """Both paths; the same result, or the same exception type when ``level`` is None (no
    usable line), and the invoice level the runs side took."""
    try:
        runs, sql = both_paths(monkeypatch, path, **kwargs)
    except Exception as exc:  # noqa: BLE001 - then the group-by must fail alike
        monkeypatch.setattr(rfm_module, "USE_RUNS", False)
        try:
            rfm(str(path), **kwargs)
        except Exception as sql_exc:  # noqa: BLE001
            assert type(exc) is type(sql_exc), f"runs: {exc!r}; group-by: {sql_exc!r}"
        else:
            raise AssertionError(f"the runs side raised {exc!r}, the group-by did not") from exc
        assert level is None, f"both paths raised {exc!r}"
        return None, None
    assert level is not None, "expected both paths to raise"
    assert runs.summary["invoice_level"] == level
    assert_same(runs, sql)
    return runs, sql


# --- parts of a run in three threads' shares -------------------------------------------------


def test_a_run_over_three_threads_parts_counts_every_line(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    """One invoice, one line a row group, three threads: the middle part is the run alone.
    _concat merges the middle part's keys into the first part's and drops them, then merges
    the third part's keys into the middle part's dropped rows: a line is lost (accounting
    error)."""
    path = write(log(["1"] * 3, [7] * 3, [1.0, 2.0, 3.0], [1.0] * 3), tmp_path / "log.parquet",
                 row_group_size=1)
    check(monkeypatch, path, threads=3)


def test_a_run_over_three_parts_with_a_return_in_the_middle(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    """The middle part holds only the run's return line: it becomes a key of its own, the
    third part's purchase line is then matched against it, finds no purchase row and
    becomes a second purchase key: frequency 2 for one invoice, silently."""
    path = write(log(["1", "1", "1", "2"], [7, 7, 7, 8], [1.0, -2.0, 3.0, 1.0], [1.0] * 4),
                 tmp_path / "log.parquet", row_group_size=1)
    runs, _ = check(monkeypatch, path, threads=3)
    assert runs.features["frequency"].tolist() == [1, 1]


# --- compensated sums of a key's parts ------------------------------------------------------

# Line values whose compensated sum in line order (DuckDB's fsum, and the pass within a part)
# is 294.96999999999997, while the compensated sum of the rounded sums of [6.79] and the rest
# is 294.97.
VALUES = [6.79, 3.09, 175.45, 28.14, 81.5]


def test_a_run_cut_between_threads_sums_its_lines_in_line_order(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An invoice cut by the threads' boundary after its first line: the two parts' sums are
    combined with their error terms, not rounded first (rounded first, monetary differed in
    the last bit for about 1 cut invoice in 6 with two-decimal prices)."""
    table = log(["1"] * 5, [7] * 5, [1.0] * 5, VALUES)
    check(monkeypatch, write_groups(table, tmp_path / "log.parquet", [1, 4]), threads=2)


def test_the_retail_log_cut_between_threads(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """test_rfm_runs's own generator, 30 invoices in row groups of 11 lines and two threads:
    invoice 536381 (5 lines) is cut between the threads, and customer 12001's monetary
    differs in the last bit (with threads=1 the result is the group-by's)."""
    path = write(retail_log(30, seed=4), tmp_path / "log.parquet", row_group_size=11)
    check(monkeypatch, path, threads=1)
    check(monkeypatch, path, threads=2)


def test_a_returning_key_sums_its_lines_in_line_order(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """The same values, the first line in a run of its own before another invoice:
    _merge_returning_keys adds the runs' rounded sums too."""
    table = log(["1", "2", "1", "1", "1", "1"], [7, 8, 7, 7, 7, 7], [1.0] * 6,
                [VALUES[0], 1.0, *VALUES[1:]])
    check(monkeypatch, write(table, tmp_path / "log.parquet"), threads=1)


# --- as_of ----------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", ["3000-01-01", dt.date(3000, 1, 1), "1500-01-01"])
def test_as_of_outside_the_nanosecond_range(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            as_of: object) -> None:
    """_rfm._invoice_runs takes ``as_of.value // 1000``: a Timestamp beyond 1677-2262 has no
    nanosecond value and raises OverflowError, where the group-by gives features (3000) or
    the 'no usable line' SchemaError (1500)."""
    path = write(log(["1", "2"], [7, 8], [1.0, 1.0], [1.0, 2.0]), tmp_path / "log.parquet")
    check(monkeypatch, path, level=RUNS if str(as_of) > "2" else None, threads=1, as_of=as_of)


@pytest.mark.parametrize("as_of", ["2011-01-03 10:00:00", "2011-01-03 09:59:59.9999999",
                                   "2011-01-03 10:00:00.000001"])
@pytest.mark.parametrize("date_type", [pa.timestamp("s"), pa.timestamp("ms"), pa.date32()])
def test_as_of_at_a_lines_instant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                  as_of: str, date_type: pa.DataType) -> None:
    table = log(["1", "1", "2", "3", "4"], [1, 1, 2, 2, 3], [1.0, 1.0, 1.0, -1.0, 1.0],
                [1.0] * 5, days=[0, 1, 2, 3, None])
    table = table.set_column(2, "InvoiceDate", table.column(2).cast(date_type))
    check(monkeypatch, write(table, tmp_path / "log.parquet", 2), threads=2, as_of=as_of)


@pytest.mark.parametrize("as_of", ["1969-12-31 23:59:59.9999995", "1970-01-01 00:00:00.0000005"])
def test_as_of_with_nanoseconds_around_the_epoch(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, as_of: str) -> None:
    """A line 1 us before the epoch and one at it: the pass floors as_of to microseconds as
    the SQL literal does."""
    table = log(["1", "2"], [1, 2], [1.0, 1.0], [1.0, 1.0])
    table = table.set_column(2, "InvoiceDate", pa.array([-1, 0], pa.timestamp("us")))
    level = None if as_of.startswith("1969") else RUNS  # nothing before the earlier one
    check(monkeypatch, write(table, tmp_path / "log.parquet"), level=level, threads=1,
          as_of=as_of)


# --- column types and values: the pass's checks against the SQL ones ------------------------


def _typed(kind: str) -> pa.Table:
    inv = ["1", "1", "2", "3", "4", "5", "6", "7"]
    cust: list | pa.Array = [1, 1, 2, 2, 3, 3, 4, 4]
    q: list | pa.Array = [1.0, 2.0, -1.0, 3.0, 1.0, 2.0, 1.0, 4.0]
    p: list | pa.Array = [1.5, 2.25, 0.5, 3.0, 1.0, 2.0, 4.0, 0.75]
    if kind == "uint32 IDs":
        cust = pa.array([3_000_000_000] * 2 + [5, None, 4_294_967_295, 0, 1, 1], pa.uint32())
    elif kind == "int8 IDs, nulls":
        cust = pa.array([1, 1, -128, None, 127, 3, None, 4], pa.int8())
    elif kind == "extreme int64 IDs":
        cust = pa.array([-2**63, -2**63, 2**63 - 1, 0, -2**63, 5, 5, 2**63 - 1], pa.int64())
    elif kind == "int8 quantities, float32 prices":
        q = pa.array([1, -2, 0, 127, -128, None, 3, 1], pa.int8())
        p = pa.array([1.5, float("nan"), -0.0, 2.25, 1e-30, 3.0, float("inf"), 0.1],
                     pa.float32())
    elif kind == "float32 quantities":
        q = pa.array([-0.0, float("nan"), 1e38, -1e-45, 2.5, None, float("-inf"), 3.0],
                     pa.float32())
        p = [1.0, 1.0, 1e300, 1e-300, -0.0, 1.0, 1.0, 0.3]
    elif kind == "negative zeros, underflow":
        q = [-0.0, 1.0, -1e-200, 2.0, 1e-200, -3.0, 1.0, 1.0]
        p = [1.0, -0.0, 1e-200, 0.0, 1e-200, 0.1, 5e-324, float("nan")]
    elif kind == "overflow":
        q = [1e200, 1e200, -1e200, 2.0, 1e308, 1.0, 1e-308, 1.0]
        p = [1e200, 1e100, 1e200, 1e307, 1.0, 1e308, 1e-308, 1.0]
    return log(inv, cust, q, p, days=[0, 0, 1, 2, 3, None, 4, 5])


@pytest.mark.parametrize("kind", ["uint32 IDs", "int8 IDs, nulls", "extreme int64 IDs",
                                  "int8 quantities, float32 prices", "float32 quantities",
                                  "negative zeros, underflow", "overflow"])
def test_column_types_and_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                 kind: str) -> None:
    path = write(_typed(kind), tmp_path / "log.parquet", row_group_size=3)
    check(monkeypatch, path, threads=2)


def test_amount_column_specials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    table = pa.table({"InvoiceNo": ["1", "1", "2", "3", "4", "5", "5"],
                      "CustomerID": [1, 1, 2, 2, 3, 3, 3],
                      "InvoiceDate": pa.array([0, 1, 2, 3, 4, 5, 6], pa.timestamp("ms")),
                      "Amount": [-0.0, 2.5, float("nan"), float("-inf"), -3.0, 1e308, 1e308]})
    check(monkeypatch, write(table, tmp_path / "log.parquet", 2), threads=2)


@pytest.mark.parametrize(("invoices", "prefix", "level"), [
    (["Ç1", "Ç1", "ç2", "Ç", "é", "Ç3"], "Ç", RUNS),  # a two-byte prefix
    (["Ç1", "Ç1", "ç2", "Ç", "é", "Ç3"], "C", RUNS),
    (["CX", "CXL1", "CXL", "C", "1", "CXL1"], "CXL", RUNS),  # prefix longer than some invoices
    (["", "\t1", "\t1", "1", None, "1"], "C", RUNS),  # empty, a tab (not trimmed), NULL
    (["x" * 256, "x" * 256, "y", "x" * 256, "é" * 128, "é" * 128], "C", RUNS),  # 256 bytes
    (["x" * 257, "x" * 257, "y", "z", "a", "b"], "C", "sql"),  # longer: DuckDB
    (["1", "2", "C2", "C1", "2", "1"], None, RUNS),  # no prefix: no cancel column
])
def test_invoice_texts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, invoices: list,
                       prefix: str | None, level: str) -> None:
    table = log(invoices, [1, 1, 1, 2, 2, 3], [1.0, 1.0, -1.0, 1.0, 2.0, 1.0], [1.5] * 6)
    path = write(table, tmp_path / "log.parquet", row_group_size=2)
    check(monkeypatch, path, level=level, threads=2, cancellation_prefix=prefix)


def test_a_long_invoice_on_a_rejected_line_does_not_decline(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    table = log(["x" * 300, "y", "z"], [None, 2, 3], [1.0] * 3, [1.0] * 3)
    check(monkeypatch, write(table, tmp_path / "log.parquet"), threads=1)


@pytest.mark.parametrize(("invoices", "prefix"), [
    (pa.array([-5, -5, -10, 3, None, -5], pa.int64()), "-"),  # a prefix never applies
    (pa.array([5, 5, 10, 3, None, 5], pa.uint64()), "C"),
    (pa.array([5, 5, 10, 3, None, 5], pa.int8()), "1"),
])
def test_integer_invoices(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, invoices: pa.Array,
                          prefix: str) -> None:
    table = log(invoices, [1, 1, 1, 2, 2, 1], [1.0, -1.0, 1.0, 1.0, 1.0, 2.0], [1.0] * 6)
    path = write(table, tmp_path / "log.parquet", row_group_size=2)
    runs, _ = check(monkeypatch, path, threads=2, cancellation_prefix=prefix)
    assert runs.summary["cancellation_invoices"] is None


def test_large_string_invoices_cut_in_small_batches(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """Large strings (64-bit offsets) sliced by 3-line batches, nulls included (one thread:
    with two, an invoice cut between the threads differs, see
    test_the_retail_log_cut_between_threads)."""
    log_ = retail_log(30, seed=4)
    table = pa.Table.from_pandas(log_, preserve_index=False)
    table = table.set_column(0, "InvoiceNo", table.column(0).cast(pa.large_string()))
    monkeypatch.setattr(rfm_runs, "_BATCH_ROWS", 3)
    check(monkeypatch, write(table, tmp_path / "log.parquet", row_group_size=11), threads=1)


# --- batches, row groups, threads -----------------------------------------------------------


def _nullable_log(n: int = 40, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    return log([None if i % 11 == 5 else str(i // 3) for i in range(n)],
               pa.array([None if i % 13 == 4 else 7 + (i // 3) % 4 for i in range(n)],
                        pa.int64()),
               pa.array([None if i % 7 == 3 else float(rng.integers(-2, 4)) for i in range(n)]),
               pa.array([None if i % 9 == 2 else float(rng.integers(1, 9)) / 4
                         for i in range(n)]),
               days=[None if i % 17 == 6 else i for i in range(n)])


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_batches_sliced_with_null_bitmaps_at_offsets(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, threads: int) -> None:
    """3-line batches: every array a slice, its bitmap read at a bit offset; runs continue
    across batches and row groups."""
    monkeypatch.setattr(rfm_runs, "_BATCH_ROWS", 3)
    check(monkeypatch, write(_nullable_log(), tmp_path / "log.parquet", 10), threads=threads)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_row_group_without_usable_lines_inside_a_run(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path, threads: int) -> None:
    table = log(["1"] * 6 + ["2"], [7, 7, None, None, 7, 7, 8], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0],
                [1.0] * 7)
    check(monkeypatch, write_groups(table, tmp_path / "log.parquet", [2, 2, 3]),
          threads=threads)


def test_empty_row_groups(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    table = log(["1", "1", "2", "3"], [7, 7, 8, 9], [1.0, 2.0, 3.0, -1.0], [1.0] * 4)
    check(monkeypatch, write_groups(table, tmp_path / "log.parquet", [0, 2, 0, 2, 0]),
          threads=2)


@pytest.mark.parametrize("kind", ["no ID", "zero quantities", "no line"])
def test_no_usable_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str) -> None:
    cust = [None, None] if kind == "no ID" else [1, 2]
    table = log(["1", "2"], cust, [0.0, 0.0] if kind == "zero quantities" else [1.0, 1.0],
                [1.0, 1.0])
    if kind == "no line":
        table = table.slice(0, 0)
    check(monkeypatch, write(table, tmp_path / "log.parquet"), level=None, threads=2)


@pytest.mark.parametrize("threads", [1, 4])
def test_a_single_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, threads: int) -> None:
    table = log(["1"], [1], [-2.0], [1.5])
    runs, _ = check(monkeypatch, write(table, tmp_path / "log.parquet"), threads=threads)
    assert runs.features["n_returns"].tolist() == [1]


# --- returning keys -------------------------------------------------------------------------


@pytest.mark.parametrize(("threads", "row_group_size"), [(1, 1), (2, 1), (3, 1), (3, 2)])
def test_purchases_in_one_run_returns_in_another(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, threads: int,
                                                 row_group_size: int) -> None:
    table = log(["1", "2", "1", "1", "3"], [7, 8, 7, 7, 9], [2.0, 1.0, -1.0, 3.0, 1.0],
                [1.0, 1.0, 2.0, 4.0, 1.0], days=[0, 1, 2, 3, 4])
    runs, _ = check(monkeypatch, write(table, tmp_path / "log.parquet", row_group_size),
                    threads=threads)
    assert runs.features["frequency"].tolist() == [1, 1, 1]


def _returning_log() -> pa.Table:
    """30 invoices (five customers), each back later in a run of its own that a row group or
    batch may cut: returning keys in other threads' parts, hashes of either sign as int64."""
    inv: list[str] = []
    cust: list[int] = []
    q: list[float] = []
    for k in range(30):
        inv += [str(1000 + k)] * 3
        cust += [k % 5] * 3
        q += [1.0, -1.0, 3.0]
    for k in range(30):
        inv += [str(1000 + k)] * 2
        cust += [k % 5] * 2
        q += [2.0, -3.0]
    return log(inv, cust, q, [1.25] * len(inv), days=list(range(len(inv))))


@pytest.mark.parametrize(("threads", "row_group_size", "batch"),
                         [(1, None, None), (2, 4, None), (3, 5, None), (2, 7, 2)])
def test_returning_keys_across_threads_and_batches(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, threads: int,
                                                   row_group_size: int | None,
                                                   batch: int | None) -> None:
    if batch is not None:
        monkeypatch.setattr(rfm_runs, "_BATCH_ROWS", batch)
    path = write(_returning_log(), tmp_path / "log.parquet", row_group_size)
    runs, _ = check(monkeypatch, path, threads=threads)
    assert runs.features["frequency"].tolist() == [6] * 5


def test_a_returning_key_read_back_in_another_row_group(tmp_path: Path) -> None:
    """The keys straight from invoice_runs: (7, "1") in runs 1 and 3, row groups apart."""
    table = log(["1", "2", "2", "1"], [7, 8, 8, 7], [1.0, 1.0, 1.0, -2.0], [1.0] * 4)
    path = write(table, tmp_path / "log.parquet", row_group_size=1)
    keys = rfm_runs.invoice_runs(str(path), COLUMNS, cancellation_prefix="C", as_of_us=None,
                                 threads=2).keys.to_pandas()
    assert sorted(zip(keys["cust"], keys["is_ret"], keys["n"], keys["v"], strict=True)) == [
        (7, False, 1, 1.0), (7, True, 1, 2.0), (8, False, 2, 2.0)]


# --- the rejects scan in a thread, the fallback -------------------------------------------


class _PassFailed(Exception):
    pass


def test_an_exception_in_the_pass_propagates(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    """The pass raising while DuckDB scans for rejects: rfm raises the pass's exception (after
    the scan ends), and the next call works."""
    path = write(retail_log(), tmp_path / "log.parquet")
    monkeypatch.setattr(rfm_module, "USE_DENSE", True)

    def broken(*args: object, **kwargs: object) -> None:
        raise _PassFailed

    with monkeypatch.context() as mp:
        mp.setattr(rfm_runs, "invoice_runs", broken)
        with pytest.raises(_PassFailed):
            rfm(str(path), threads=2)
    check(monkeypatch, path, threads=2)


def test_a_declined_pass_gives_the_group_by_result(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """The pass returning None after the early rejects scan: DuckDB's keys, the same result
    as without the runs."""
    path = write(retail_log(), tmp_path / "log.parquet", row_group_size=40)
    monkeypatch.setattr(rfm_runs, "invoice_runs", lambda *a, **k: None)
    check(monkeypatch, path, level="sql", threads=2)


def test_one_thread_declining_declines_the_log(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    """A blank-led invoice and a 257-byte one in the second thread's share only."""
    log_ = retail_log()
    log_.loc[len(log_) - 3, "InvoiceNo"] = "x" * 257
    path = write(log_, tmp_path / "log.parquet", row_group_size=60)
    check(monkeypatch, path, level="sql", threads=2)
    log_.loc[len(log_) - 3, "InvoiceNo"] = " 9"
    check(monkeypatch, write(log_, tmp_path / "log2.parquet", row_group_size=60), level="sql",
          threads=2)


def test_a_file_with_a_repeated_column_name(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """Two columns named InvoiceNo (pyarrow writes that; DuckDB reads it, renaming the second):
    the pass's ``schema.field(name)`` raises KeyError, and rfm with it, where the group-by
    gives features. Any exception in the pass ends rfm: there is no fallback to DuckDB."""
    table = log(["1", "2"], [7, 8], [1.0, 1.0], [1.0, 2.0])
    table = pa.Table.from_arrays([*table.columns, pa.array(["a", "b"])],
                                 names=[*table.column_names, "InvoiceNo"])
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    runs, sql = both_paths(monkeypatch, path, invoice="InvoiceNo", threads=1)
    assert runs.summary["invoice_level"] in (RUNS, "sql")
    assert_same(runs, sql)


# --- a seeded fuzz, with values whose sums are exact (no rounding) --------------------------


def test_fuzz_exact_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Runs over row groups, batches and 1-4 threads, returning keys, rejected lines; prices
    that are whole numbers, so that only the grouping can differ. The first failing case is
    named in the message."""
    fuzz(monkeypatch, tmp_path, seed=FUZZ_SEED, cases=24)


FUZZ_SEED = 14


def fuzz(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seed: int, cases: int) -> None:
    rng = random.Random(seed)
    for case in range(cases):
        n = rng.randint(1, 24)
        invoices = [rng.choice(["1", "2", "3", "C1", "C2", "10", None, ""]) for _ in range(n)]
        for i in range(1, n):
            if rng.random() < 0.6:
                invoices[i] = invoices[i - 1]
        cust = [rng.choice([1, 2, None]) if rng.random() < 0.3 else 1 for _ in range(n)]
        q = [rng.choice([1.0, -1.0, 0.0, None, float("nan")]) if rng.random() < 0.3
             else float(rng.randint(1, 5)) for _ in range(n)]
        p = [float(rng.randint(1, 30)) for _ in range(n)]
        table = log(invoices, cust, q, p, days=[rng.randint(0, 10) for _ in range(n)])
        threads = rng.choice([1, 2, 3, 4])
        row_group_size = rng.choice([1, 2, 3, 5, None])
        monkeypatch.setattr(rfm_runs, "_BATCH_ROWS", rng.choice([1, 2, 3, 1 << 21]))
        path = write(table, tmp_path / f"log{case}.parquet", row_group_size)
        usable = any(c is not None and i and x and x == x for c, i, x in zip(  # noqa: PLR0124
            cust, invoices, q, strict=True))
        try:
            check(monkeypatch, path, level=RUNS if usable else None, threads=threads)
        except (AssertionError, RuntimeError) as exc:
            raise AssertionError(
                f"case {case}: threads={threads} row_group_size={row_group_size} "
                f"batch={rfm_runs._BATCH_ROWS} lines={list(zip(invoices, cust, q, p, strict=True))}"
            ) from exc
