"""Nothing lost: regressions the fuzzers found, fuzzed ``assign``, and damaged files of every
format custseg reads."""

from __future__ import annotations

import gzip
import json
import sqlite3
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_helpers import (
    CsvCase,
    check_run_folder,
    csv_files,
    fuzz_settings,
    read_csv_cells,
    read_frame,
    write_customers,
)
from typer.testing import CliRunner

import custseg
from custseg import CustsegError, SchemaError, SegmentOptions, run_segment
from custseg.cli import app

runner = CliRunner()


# ----------------------------------------------------------------- regressions (fuzz finds)


@pytest.mark.parametrize("name", ["line", "reason", "detail", "raw_line"])
def test_input_column_named_like_a_rejects_column(tmp_path: Path, name: str) -> None:
    """A column called ``line`` (``reason``, ``detail``, ``raw_line``) crashed the row check
    (ValueError: cannot insert line, already exists); its values now go to ``<name>_input``."""
    src = tmp_path / "c.csv"
    src.write_text(f"customer_id,{name},spend\nA,x,1\nB,y,2\nC,z,3\nD,w,abc\nE,v,5\nE,u,6\n"
                   "F,t,7,extra\n")
    run_segment(src, tmp_path / "out", SegmentOptions(k=2, n_init=1, features=["spend"]))
    s = check_run_folder(tmp_path / "out")
    assert s["rejects_by_reason"] == {"malformed_row": 1, "invalid_value": 1, "duplicate_id": 1}
    header = read_csv_cells(tmp_path / "out" / "rejects.csv")[0]
    assert header[:3] == ["line", "reason", "detail"] and f"{name}_input" in header


@pytest.mark.parametrize("name", ["segment", "segment_name", "distance"])
def test_id_column_named_like_an_output_column(tmp_path: Path, name: str) -> None:
    """An ID column called ``segment`` silently vanished from segments.csv (the dict that
    built it had the key twice); now it is a clear error."""
    src = tmp_path / "c.csv"
    src.write_text(f"{name},spend\nx1,1\nx2,5\nx3,2\nx4,7\n")
    with pytest.raises(SchemaError, match=f"the ID column is named '{name}'"):
        run_segment(src, tmp_path / "out", SegmentOptions(k=2, n_init=1, id_column=name))


def test_assign_with_id_named_like_an_output_column(tmp_path: Path) -> None:
    """assign crashed with ValueError (exit 2) when the model's ID column is ``segment``."""
    df = pd.DataFrame({"segment": list("abcdef"), "x": [1, 2, 3, 10, 11, 12.0]})
    seg = custseg.Segmenter(id_column="segment", k=2, random_state=0).fit(df)
    seg.save(tmp_path / "m.json")
    df.to_csv(tmp_path / "new.csv", index=False)
    res = runner.invoke(app, ["assign", str(tmp_path / "m.json"), str(tmp_path / "new.csv"),
                              "--out", str(tmp_path / "a.csv")])
    assert res.exit_code == 1 and "has the name of an output column" in res.output


def test_categorical_only_features_is_a_clear_error(tmp_path: Path) -> None:
    """With only categorical features every row was rejected as all_features_missing (an
    all() over zero numeric columns); now the real reason is given."""
    src = tmp_path / "c.csv"
    src.write_text("customer_id,city\nA,Lyon\nB,Oslo\nC,Lyon\nD,Porto\n")
    with pytest.raises(CustsegError, match="At least one numeric feature is needed"):
        run_segment(src, tmp_path / "out", SegmentOptions(k=2, features=["city"]))


def test_too_few_rows_error_points_to_a_fresh_rejects_file(tmp_path: Path) -> None:
    """The error names rejects.csv: it must hold this run's reasons (it was not written)."""
    src = tmp_path / "c.csv"
    src.write_text("customer_id,spend\nA,1\nA,2\nB,\n")
    with pytest.raises(SchemaError, match="see the reasons in"):
        run_segment(src, tmp_path / "out", SegmentOptions(k=2, id_column="customer_id"))
    rejects = read_frame(tmp_path / "out" / "rejects.csv")
    assert rejects["reason"].tolist() == ["duplicate_id", "all_features_missing"]


def test_huge_finite_values_are_rejected_not_crashing(tmp_path: Path) -> None:
    """1e308 is finite but its square overflows: the scaler made NaN and k-means raised
    ValueError. Values beyond 1e100 in magnitude are now invalid_value rejects."""
    src = tmp_path / "c.csv"
    rows = "".join(f"C{i},{i % 7},{i % 5}\n" for i in range(20))
    src.write_text("customer_id,a,b\n" + rows + "X1,1.7976931348623157e308,1\nX2,-1e101,2\n"
                   "X3,1e99,3\n")
    run_segment(src, tmp_path / "out", SegmentOptions(k=2, n_init=1, features=["a", "b"]))
    s = check_run_folder(tmp_path / "out")
    assert s["rejects_by_reason"] == {"invalid_value": 2}
    assert "X3" in set(read_frame(tmp_path / "out" / "segments.csv")["customer_id"])


def test_record_ending_after_its_closing_quote_is_one_reject(tmp_path: Path) -> None:
    """'"a<newlines>b";0' as the last record (delimiter ','): counted as two rejects — the
    csv module's error came at the end of the file and was taken for an unclosed quote."""
    src = tmp_path / "c.csv"
    src.write_text('customer_id\n0\n1\n"a\n\n\nb";0\n')
    res = custseg.io.read_table(src)
    assert res.info["rows_read"] == 3
    assert res.rejects["line"].tolist() == [4]


# ------------------------------------------------------------------------------------ assign


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("assign")
    src = write_customers(tmp / "c.csv", 300)
    run_segment(src, tmp / "out", SegmentOptions(k=3, n_init=1,
                                                 features=["age", "income", "purchases"]))
    return tmp / "out" / "model.json"


@pytest.mark.fuzz
@fuzz_settings(25)
@given(case=csv_files(min_rows=1, max_rows=20), missing=st.sampled_from(["impute", "reject"]))
def test_assign_accounts_for_every_row(model_path: Path, case: CsvCase, missing: str) -> None:
    """Fuzzed new customers (the model's columns, then hostile ones) through ``assign``."""
    header = [b"customer_id", b"age", b"income", b"purchases"]
    delim = case.delimiter.encode()
    first, _, rest = case.data.partition(case.eol.encode())
    data = delim.join(header).decode().encode(case.encoding) + delim + first + \
        case.eol.encode() + rest  # the model's columns first; rows are short: ragged
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "new.csv"
        src.write_bytes(data)
        out = Path(tmp) / "assigned.csv"
        try:
            s = custseg._assign_job.run_assign(model_path, src, out, missing=missing)
        except CustsegError as exc:
            assert str(exc).strip()
            return
        assert s["rows_read"] == s["rows_assigned"] + s["rows_rejected"]
        assert len(read_csv_cells(out)) - 1 == s["rows_assigned"]
        if s["rows_rejected"]:
            rejects = read_csv_cells(Path(s["rejects_file"]))
            assert len(rejects) - 1 == s["rows_rejected"]
            assert all(row[1] for row in rejects[1:])


# ------------------------------------------------------------------------- damaged formats


def _damaged(kind: str, tmp: Path) -> Path:
    good = write_customers(tmp / "good.csv", 40)
    frame = pd.read_csv(good)
    if kind == "truncated_parquet":
        frame.to_parquet(tmp / "t.parquet")
        data = (tmp / "t.parquet").read_bytes()
        (tmp / "t.parquet").write_bytes(data[: len(data) // 2])
        return tmp / "t.parquet"
    if kind == "garbage_xlsx":
        (tmp / "t.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 10)
        return tmp / "t.xlsx"
    if kind == "xlsx_formulas":  # formulas in the sheet are read as their cached values
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["customer_id", "spend", "visits"])
        for i in range(12):
            ws.append([f"=\"C\"&{i}", f"={i}*2", i % 4])
        wb.save(tmp / "t.xlsx")
        return tmp / "t.xlsx"
    if kind == "deep_json":
        (tmp / "t.json").write_text("[" * 100_000 + "]" * 100_000)
        return tmp / "t.json"
    if kind == "jsonl_mixed":
        lines = [json.dumps({"customer_id": f"C{i}", "spend": i, "visits": i % 3})
                 for i in range(20)]
        lines += ["{bad json", "[1, 2]", '"text"', json.dumps({"customer_id": "Z", "spend":
                                                              "1e308", "visits": {"x": 1}})]
        (tmp / "t.jsonl").write_text("\n".join(lines) + "\n")
        return tmp / "t.jsonl"
    if kind == "garbage_sqlite":
        (tmp / "t.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
        return tmp / "t.sqlite"
    if kind == "sqlite_blobs":
        con = sqlite3.connect(tmp / "t.sqlite")
        con.execute("CREATE TABLE c (customer_id, spend, visits)")
        con.executemany("INSERT INTO c VALUES (?, ?, ?)",
                        [(f"C{i}", i if i % 5 else b"\x00\x01", i % 3) for i in range(30)])
        con.commit()
        con.close()
        return tmp / "t.sqlite"
    if kind == "random_gz":
        (tmp / "t.csv.gz").write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
        return tmp / "t.csv.gz"
    if kind == "truncated_gz":
        data = gzip.compress(good.read_bytes())
        (tmp / "t.csv.gz").write_bytes(data[: len(data) // 2])
        return tmp / "t.csv.gz"
    if kind == "utf16_no_bom":
        (tmp / "t.csv").write_bytes(good.read_text().encode("utf-16-le"))
        return tmp / "t.csv"
    if kind == "binary":
        (tmp / "t.csv").write_bytes(bytes(range(256)) * 100)
        return tmp / "t.csv"
    if kind == "only_delimiters":
        (tmp / "t.csv").write_text(",,,\n,,,\n,,,\n")
        return tmp / "t.csv"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", [
    "truncated_parquet", "garbage_xlsx", "xlsx_formulas", "deep_json", "jsonl_mixed",
    "garbage_sqlite", "sqlite_blobs", "random_gz", "truncated_gz", "utf16_no_bom", "binary",
    "only_delimiters",
])
def test_damaged_files_fail_clearly_or_account_for_every_row(tmp_path: Path, kind: str) -> None:
    src = _damaged(kind, tmp_path)
    res = runner.invoke(app, ["segment", str(src), "--out", str(tmp_path / "out"), "--k", "2",
                              "--n-init", "1", "--quiet"])
    if res.exit_code == 0:
        check_run_folder(tmp_path / "out")
    else:
        assert res.exit_code == 1, res.output
        assert res.output.strip().startswith("error:") and "Traceback" not in res.output
        assert "this is a bug" not in res.output, res.output


def test_overflowing_line_value_is_excluded_and_counted(tmp_path: Path) -> None:
    """Finite quantity and price whose product overflows: the line is rejected with a reason,
    nothing infinite reaches the features or summary.json."""
    src = tmp_path / "orders.csv"
    src.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
                   "5000,12000,2011-01-01,1e200,1e200\n5000,12000,2011-01-01,2,1.50\n"
                   "5001,12001,2011-02-02,3,2.00\n5002,12002,2011-03-03,1,4.00\n"
                   "5003,12003,2011-05-04,-1e200,1e200\n5004,12003,2011-06-01,5,1.00\n"
                   "5005,12001,2011-06-02,1,3.00\n")
    run_segment(src, tmp_path / "out", SegmentOptions(transactions=True, k=2, n_init=1))
    s = check_run_folder(tmp_path / "out")
    tx = s["transactions"]
    assert tx["lines_excluded_by_reason"] == {"value_overflow": 2}
    assert tx["lines_read"] == tx["lines_used"] + tx["lines_excluded"] == 7
    rejects = pd.read_csv(tmp_path / "out" / "rejects.csv")
    assert sorted(rejects.loc[rejects["reason"] == "value_overflow", "line"]) == [2, 6]
    features = pd.read_parquet(tmp_path / "out" / "features.parquet")
    assert features["monetary"].abs().max() < 100
