"""Pathological files under a memory limit: a clear outcome, never a crash or an OOM kill.

Each case runs ``custseg segment`` in a subprocess whose address space is capped with
``RLIMIT_AS`` (3 GiB; ``MALLOC_ARENA_MAX=2`` keeps glibc from reserving 64 MiB of address space
per thread). A tiny run already reserves ~2 GiB of address space (numba, DuckDB, BLAS) with
~0.3 GiB resident, so the cap is a bound on reservations as much as on use.

What is bounded: a line longer than 64 MiB is rejected (``line_too_long``) without being parsed;
a gzip file is decompressed in a stream (hashing, encoding check, record scan); an order log
(``--transactions``) is aggregated by DuckDB within ``--memory-limit``, spilling to disk. What is
not: a customer table's rows are held in memory (pandas), so a table too large for the machine
ends with a one-line "out of memory" error (exit 1) — clear, but not a result.
"""

from __future__ import annotations

import gzip
import json
import resource
import zlib
from pathlib import Path

import pytest
from reliability_helpers import check_run_folder, read_frame, run_cli, write_customers

LIMIT = 3 * 2**30
ENV = {"MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def _segment(*args: str, timeout: float = 600):
    return run_cli(["segment", *args, "--quiet"], env=ENV, timeout=timeout,
                   preexec_fn=_cap_memory)


def _assert_clean_failure(res) -> None:
    """Exit 1 with one ``error:`` line: not a traceback (2), not a kill (negative)."""
    assert res.returncode == 1, (res.returncode, res.stderr[-3000:])
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("error:"), res.stderr[-3000:]
    assert "Traceback" not in res.stderr


def test_customer_table_segments_under_a_memory_cap(tmp_path: Path) -> None:
    """12,000 customers under a 2.5 GiB cap: the sampled silhouette (10,000 rows) used to take
    scikit-learn's default 1 GiB distance blocks and run out of memory."""
    src = write_customers(tmp_path / "c.csv", 12_000)
    res = run_cli(["segment", str(src), "--out", str(tmp_path / "out"), "--k", "3", "--n-init",
                   "1", "--quiet"], env=ENV, timeout=600, preexec_fn=_cap_memory_to(2.5))
    assert res.returncode == 0, res.stderr[-3000:]
    assert check_run_folder(tmp_path / "out")["metrics"]["silhouette_sample_size"] == 10_000


def _cap_memory_to(gib: float):
    def cap() -> None:
        limit = int(gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return cap


def _long_line_table(path: Path, line_bytes: int, *, gz: bool = False) -> Path:
    """50 customers, one whose income cell is ``line_bytes`` long, then 50 more."""
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(b"customer_id,age,income\n")
        for i in range(50):
            f.write(f"C{i},{20 + i % 40},{i * 3 % 97}\n".encode())
        f.write(b"C999,30,")
        chunk = b"7" * (1 << 20)
        for _ in range(line_bytes >> 20):
            f.write(chunk)
        f.write(b"\n")
        for i in range(50, 100):
            f.write(f"C{i},{20 + i % 40},{i * 3 % 97}\n".encode())
    return path


def _check_long_line_run(res, out: Path) -> None:
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows_read"] == 101 == summary["rows_segmented"] + summary["rows_rejected"]
    rejects = read_frame(out / "rejects.csv")
    assert rejects["reason"].tolist() == ["line_too_long"]
    assert rejects["line"].tolist() == ["52"]
    assert len(rejects["raw_line"].iloc[0]) <= 1000  # a bounded excerpt, not the line


def test_line_over_64_mib_is_rejected_under_a_memory_cap(tmp_path: Path) -> None:
    src = _long_line_table(tmp_path / "long.csv", 70 << 20)
    _check_long_line_run(_segment(str(src), "--out", str(tmp_path / "out"), "--k", "2"),
                         tmp_path / "out")


@pytest.mark.slow
def test_line_of_500_mib_is_rejected_under_a_memory_cap(tmp_path: Path) -> None:
    src = _long_line_table(tmp_path / "long.csv", 500 << 20)
    _check_long_line_run(_segment(str(src), "--out", str(tmp_path / "out"), "--k", "2"),
                         tmp_path / "out")


def _bomb(path: Path, header: bytes, unit: bytes, total: int) -> Path:
    """A gzip file of ``header`` then ``unit`` repeated to ``total`` bytes, compressed in a
    stream (a GiB of zeros takes ~1 MiB on disk)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = unit * ((1 << 20) // len(unit))
    with open(path, "wb") as f:
        f.write(comp.compress(header))
        for _ in range(total // len(block)):
            f.write(comp.compress(block))
        f.write(comp.flush())
    return path


def test_gzip_bomb_of_zeros_is_a_clear_error(tmp_path: Path) -> None:
    src = _bomb(tmp_path / "bomb.csv.gz", b"", b"\0", 256 << 20)  # 256 MiB from ~0.3 MiB
    assert src.stat().st_size < 1 << 20
    res = _segment(str(src), "--out", str(tmp_path / "out"))
    _assert_clean_failure(res)
    assert "NUL bytes" in res.stderr


def test_gzip_bomb_of_one_long_line_is_rejected(tmp_path: Path) -> None:
    src = _long_line_table(tmp_path / "bomb.csv.gz", 70 << 20, gz=True)
    assert src.stat().st_size < 1 << 20
    _check_long_line_run(_segment(str(src), "--out", str(tmp_path / "out"), "--k", "2"),
                         tmp_path / "out")


@pytest.mark.slow
def test_gzip_bomb_of_rows_fails_clearly(tmp_path: Path) -> None:
    """2 GiB of rows in a 2 MiB file: too many for memory, so a one-line out-of-memory error
    (a customer table is held in memory), or a complete run — never a kill or a traceback."""
    src = _bomb(tmp_path / "rows.csv.gz", b"customer_id,spend\n", b"C1,12.5\n", 2 << 30)
    res = _segment(str(src), "--out", str(tmp_path / "out"), "--k", "2", "--no-id",
                   timeout=1800)
    if res.returncode != 0:
        _assert_clean_failure(res)
        assert "out of memory" in res.stderr


@pytest.mark.slow
def test_large_order_log_streams_within_a_memory_cap(tmp_path: Path) -> None:
    """A ~2 GB order log (40 M lines, up to 200,000 customers) segmented with --transactions under a
    3 GiB address-space cap: DuckDB aggregates it within --memory-limit, spilling to disk."""
    import duckdb

    src = tmp_path / "orders.csv"
    duckdb.sql(f"""COPY (
        SELECT 'INV' || (i // 3)::VARCHAR AS InvoiceNo,
               'C' || lpad(floor(200000 * pow(((i * 7919) % 1000003) / 1000003.0, 2))
                   ::BIGINT::VARCHAR, 6, '0') AS CustomerID,
               (DATE '2010-12-01' + ((i * 31) % 365)::INTEGER)::VARCHAR || ' 10:30:00'
                   AS InvoiceDate,
               1 + (i % 5) AS Quantity, round(1 + (i % 97) * 0.37, 2) AS UnitPrice,
               'United Kingdom of Great Britain and Northern Ireland' AS Country
        FROM range(40000000) t(i)) TO '{src}' (HEADER, DELIMITER ',')""")
    assert src.stat().st_size > 1.8e9
    out = tmp_path / "out"
    res = _segment(str(src), "--transactions", "--out", str(out), "--k", "4", "--n-init", "1",
                   "--memory-limit", "1GB", timeout=3600)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["transactions"]["lines_read"] == 40_000_000
    assert summary["rows_read"] == summary["rows_segmented"] + summary["rows_rejected"]
    assert 150_000 < summary["rows_read"] <= 200_000  # customers (skewed: some buy a lot)
