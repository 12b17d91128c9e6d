"""Fuzzed inputs: hostile delimited files through the reader, the pipeline and the CLI.

Invariant in every case: either a :class:`custseg.CustsegError` (through the CLI: one line on
stderr, no traceback, exit status 1), or an output folder where ``rows_read == rows_segmented +
rows_rejected``, every rejected row has a reason and every segmented ID appears once. Any other
exception is a bug.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from reliability_helpers import (
    DATES,
    DELIMITERS,
    ENCODINGS,
    EOLS,
    CsvCase,
    any_cells,
    check_run_folder,
    csv_files,
    fuzz_settings,
    known_bug,
    read_frame,
    text_parser,
)
from typer.testing import CliRunner

import custseg
from custseg.cli import app
from custseg.io import read_table

pytestmark = pytest.mark.fuzz

runner = CliRunner()


def _rows_bounds(case: CsvCase, info: dict) -> tuple[int, int] | None:
    """What ``rows_read`` must be: every data record written, less the whitespace-only ones
    (which a reader may take for blank lines), plus the lines of spaces or tabs (which hold one
    blank field, or several). Unknown when another delimiter was detected (a quote that opens
    a field for one delimiter is a literal character for another, so records differ)."""
    if info.get("delimiter") != case.delimiter or info.get("header_line") not in (None, 1):
        return None
    return case.n_rows - case.n_blank_like, case.n_rows + case.n_space_lines


def _write_case(folder: Path, case: CsvCase, suffix: str = ".csv") -> Path:
    path = folder / f"input{suffix}"
    path.write_bytes(case.data)
    return path


# ---------------------------------------------------------------------------------- reader


@fuzz_settings(120)
@given(case=csv_files(), parser=st.sampled_from(["python", "duckdb"]), gz=st.booleans())
def test_reader_accounts_for_every_record(case: CsvCase, parser: str, gz: bool) -> None:
    """read_table: a clear InputFileError, or every record read or rejected with a reason."""
    import gzip

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("input.csv.gz" if gz else "input.csv")
        path.write_bytes(gzip.compress(case.data, mtime=0) if gz else case.data)
        try:
            with text_parser(parser):
                res = read_table(path)
        except custseg.CustsegError as exc:
            assert isinstance(exc, custseg.InputFileError), exc
            assert str(exc).strip() and "\n" not in str(exc).strip()
            return
    info = res.info
    assert info["rows_read"] == len(res.frame) + len(res.rejects)
    assert len(res.line_numbers) == len(res.frame)
    assert (np.diff(res.line_numbers) > 0).all(), "line numbers must increase"
    assert res.rejects["reason"].str.len().gt(0).all()
    assert len(set(res.frame.columns)) == res.frame.shape[1], "column names must be unique"
    assert all(str(c).strip() for c in res.frame.columns)
    bounds = _rows_bounds(case, info)
    if bounds is not None:
        assert bounds[0] <= info["rows_read"] <= bounds[1], (info, bounds)


# -------------------------------------------------------------------------------- pipeline


def _segment(case: CsvCase, tmp: Path, **options) -> dict | None:
    path = _write_case(tmp, case)
    opts = custseg.SegmentOptions(k=2, n_init=1, seed=0, **options)
    try:
        summary = custseg.run_segment(path, tmp / "out", opts)
    except custseg.CustsegError as exc:
        message = str(exc).strip()
        assert message, type(exc)
        return None
    except ValueError as exc:
        if known_bug(str(exc)):
            return None
        raise
    checked = check_run_folder(tmp / "out")
    assert checked["rows_read"] == summary["rows_read"]
    return summary


@fuzz_settings(40)
@given(case=csv_files(min_rows=3, max_rows=30), missing=st.sampled_from(["impute", "reject"]),
       duplicates=st.sampled_from(["reject", "keep"]))
@example(case=CsvCase(b"id,a,b\n1,1,2\n2,3,4\n3,5,6\n3,7,8\n4,x,1\n5,,\n6,1e308,1\n7,-1e308,2\n"
                      b"8,1,2,3\n9,inf,1\n", ",", "utf-8", "\n", 10, 0, ["id", "a", "b"]),
         missing="impute", duplicates="reject")
def test_pipeline_accounts_for_every_row(case: CsvCase, missing: str, duplicates: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        summary = _segment(case, Path(tmp), missing=missing, duplicates=duplicates)
    if summary is None:
        return
    bounds = _rows_bounds(case, summary["input"])
    if bounds is not None:
        assert bounds[0] <= summary["rows_read"] <= bounds[1], (summary["input"], bounds)


def test_hand_made_hostile_table_is_fully_accounted(tmp_path: Path) -> None:
    """Each reject reason once, numbers in odd spellings, huge values and a bad line."""
    text = ("customer_id;spend;visits\n"
            "A1;1.234,5;3\n"       # thousands dot, decimal comma
            "A2;1 234,5;4\n"
            "A3;abc;5\n"           # invalid_value
            "A4;;\n"               # all_features_missing
            "A5;12;\n"             # imputed
            ";12;3\n"              # missing_id
            "A1;99;9\n"            # duplicate_id
            "A6;1e308;2\n"         # finite, but its square overflows: out of range
            "A7;inf;2\n"           # infinity is invalid
            "A8;7;1;extra\n"       # malformed_row
            "A9;8,5;2\n" "A10;9;3\n" "A11;10;2\n")
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="cp1252")
    custseg.run_segment(path, tmp_path / "out",
                        custseg.SegmentOptions(k=2, n_init=1, features=["spend", "visits"]))
    s = check_run_folder(tmp_path / "out", expect_rows=(13, 13))
    assert s["rejects_by_reason"] == {"malformed_row": 1, "invalid_value": 3,
                                      "all_features_missing": 1, "missing_id": 1,
                                      "duplicate_id": 1}
    assert s["rows_segmented"] == 6
    rejects = read_frame(tmp_path / "out" / "rejects.csv").set_index("line")
    assert rejects.loc["9", "detail"] == ("column 'spend': '1e308' is out of range (more than "
                                          "1e+100 in magnitude)")
    assert rejects.loc["10", "detail"] == "column 'spend': 'inf' is not a number"
    segments = read_frame(tmp_path / "out" / "segments.csv")
    assert sorted(segments["customer_id"]) == sorted(["A1", "A2", "A5", "A9", "A10", "A11"])


# ------------------------------------------------------------------------------------- CLI


@fuzz_settings(15)
@given(case=csv_files(min_rows=0, max_rows=12))
def test_cli_error_is_one_line_exit_1(case: CsvCase) -> None:
    """Through the CLI: exit 0 with a valid folder, or exit 1 and one ``error:`` line."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_case(Path(tmp), case)
        res = runner.invoke(app, ["segment", str(path), "--out", str(Path(tmp) / "out"),
                                  "--k", "2", "--n-init", "1", "--quiet"])
        if res.exit_code == 0:
            check_run_folder(Path(tmp) / "out")
            return
    text = res.output
    if res.exit_code == 2 and known_bug(text):
        return
    assert res.exit_code == 1, text
    assert "Traceback" not in text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert lines and lines[0].startswith("error:"), text
    assert "this is a bug in custseg" not in text, text


# ---------------------------------------------------------------------- transaction logs

_tx_cells = {
    "InvoiceNo": st.one_of(st.sampled_from(["536365", "C536379", "", "A1", "=1+1", " 7 "]),
                           any_cells),
    "CustomerID": st.one_of(st.sampled_from(["17850", "17850.0", "", "  ", "-1", "@x", "NaN"]),
                            any_cells),
    "InvoiceDate": st.one_of(st.sampled_from(DATES), any_cells),
    "Quantity": st.one_of(st.sampled_from(["1", "-3", "0", "1e308", "2,5", "", "inf"]),
                          any_cells),
    "UnitPrice": st.one_of(st.sampled_from(["2.55", "0", "-1", "1.234,5", "$3", "", "1e308"]),
                           any_cells),
}


@st.composite
def order_logs(draw) -> tuple[bytes, int]:
    """A valid order log (10 customers) with a few hostile cells, lines and blank lines."""
    delimiter = draw(st.sampled_from(DELIMITERS))
    encoding = draw(st.sampled_from(ENCODINGS))
    eol = draw(st.sampled_from(EOLS))
    cols = list(_tx_cells)
    rows = [[f"5{i // 2:05d}", f"{12000 + i % 10}", f"2011-{1 + i % 12:02d}-{1 + i % 27:02d}",
             str(1 + i % 4), f"{1 + (i % 7) * 0.5:.2f}"] for i in range(40)]
    for _ in range(draw(st.integers(0, 8))):
        r, c = draw(st.integers(0, 39)), draw(st.integers(0, 4))
        rows[r][c] = draw(_tx_cells[cols[c]])
    if draw(st.booleans()):
        rows[draw(st.integers(0, 39))].append("extra")  # a malformed line
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=eol)
    w.writerow(cols)
    w.writerows(rows)
    return buf.getvalue().encode(encoding, errors="replace"), len(rows)


@fuzz_settings(6)
@given(log=order_logs())
def test_transactions_account_for_every_line_and_customer(log: tuple[bytes, int]) -> None:
    data, n_lines = log
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "orders.csv"
        src.write_bytes(data)
        try:
            summary = custseg.run_segment(src, Path(tmp) / "out", custseg.SegmentOptions(
                transactions=True, k=2, n_init=1))
        except custseg.CustsegError as exc:
            assert str(exc).strip()
            return
        except ValueError as exc:
            if known_bug(str(exc)):
                return
            raise
        check_run_folder(Path(tmp) / "out")
    tx = summary["transactions"]
    assert tx["lines_read"] == tx["lines_used"] + tx["lines_excluded"]
    # records, or physical lines (see test_ragged_line_in_a_tab_separated_order_log)
    assert tx["lines_read"] <= max(n_lines, data.count(b"\n") - 1)


def test_lone_carriage_return_in_an_order_log(tmp_path: Path) -> None:
    """Found by the fuzzer above (a CustomerID cell "\\r=1")."""
    src = tmp_path / "orders.csv"
    src.write_bytes(b"InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
                    b"500000,\r=1,2011-01-01,1,1.00\n"
                    b"500000,12001,2011-02-02,2,1.50\n"
                    b"500001,12002,2011-03-03,3,2.00\n"
                    b"500001,,2011-04-04,4,2.50\n")
    from custseg.features import rfm

    res = rfm(str(src))
    assert res.summary["lines_read"] == 4
    missing = res.rejects[res.rejects["reason"] == "missing_customer_id"]
    assert missing["line"].tolist() == [5]


def test_infinite_line_value_in_an_order_log(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    src.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
                   "5000,12000,2011-01-01,inf,1.00\n5000,12001,2011-02-02,2,1.50\n"
                   "5001,12002,2011-03-03,3,2.00\n5002,12003,2011-04-04,1,1.00\n"
                   "5003,12000,2011-05-04,1,1.00\n5004,12001,2011-06-01,1,1.00\n")
    custseg.run_segment(src, tmp_path / "out", custseg.SegmentOptions(transactions=True, k=2,
                                                                      n_init=1))
    s = check_run_folder(tmp_path / "out")
    assert s["transactions"]["lines_excluded_by_reason"] == {"invalid_quantity": 1}


def test_ragged_line_in_a_tab_separated_order_log(tmp_path: Path) -> None:
    src = tmp_path / "orders.tsv"
    src.write_text("InvoiceNo\tCustomerID\tInvoiceDate\tQuantity\tUnitPrice\n"
                   "536365\t\t2011-01-01\t1\t1.00\textra\n"
                   '"536\n366"\t12001\t2011-02-02\t2\t1.50\n'
                   "500001\t12002\t2011-03-03\t3\t2.00\n"
                   "500002\t12003\t2011-04-04\t4\t2.50\n"
                   "500003\t12001\t2011-05-04\t4\t2.50\n")
    from custseg.features import rfm

    res = rfm(str(src))
    assert res.summary["lines_read"] == 5  # records, not physical lines
    assert res.summary["lines_used"] == 4  # the quoted invoice number is one purchase
    assert len(res.rejects) == 1  # the ragged line, and nothing else


def test_subnormal_feature_values_render_a_report(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("customer_id,a,b\nA,-0,5e-324\nB,-1,183\nC,-2,5e-324\nD,-1,170\n")
    custseg.run_segment(src, tmp_path / "out", custseg.SegmentOptions(k=2, n_init=1))
    check_run_folder(tmp_path / "out")
