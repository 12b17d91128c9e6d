"""custseg.features.rfm on the hand-computed log of conftest.py."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rfm_log import (
    AS_OF,
    EXPECTED,
    EXPECTED_REJECTS,
    FILE_TOTAL,
    HEADER,
    LINES,
    LOG_CSV,
    WINDOW,
    assert_features_equal,
)

from custseg import ColumnNotFoundError, InputFileError, InvalidParameterError, SchemaError
from custseg.features import RFMResult, rfm


def test_every_feature_by_hand(log_csv: Path) -> None:
    res = rfm(log_csv)
    assert isinstance(res, RFMResult)
    assert_features_equal(res.features)
    assert res.customer_id == "CustomerID"
    assert res.features["CustomerID"].tolist() == ["101", "102", "103", "104", "105", "106"]


def test_summary_by_hand(log_csv: Path) -> None:
    s = rfm(log_csv).summary
    assert s["as_of"] == AS_OF.isoformat()
    assert s["as_of_source"].startswith("default")
    assert s["window_days"] == WINDOW
    assert s["date_range"] == ["2024-01-02T09:00:00", "2024-01-31T15:30:00"]
    assert s["frequency_definition"] == "distinct purchase invoices"
    assert s["customers"] == 6
    assert s["customers_without_usable_lines"] == 1
    assert s["lines_read"] == 17
    assert s["lines_used"] == 12
    assert s["lines_excluded"] == 5
    assert s["lines_read"] == s["lines_used"] + s["lines_excluded"]
    assert {k: v for k, v in s["lines_excluded_by_reason"].items() if v} == {
        "missing_customer_id": 2, "invalid_date": 1, "non_positive_price": 2}
    assert s["returns_lines"] == 3
    assert s["cancellation_invoices"] == 2
    assert s["gross_value"] == pytest.approx(93.5)
    assert s["returned_value"] == pytest.approx(24.0)
    assert s["net_value"] == pytest.approx(69.5)
    assert s["excluded_net_value"] == pytest.approx(15.99)
    assert s["net_value"] + s["excluded_net_value"] == pytest.approx(FILE_TOTAL)
    assert s["customer_id_normalised"] is False
    assert s["date_format"] == "ISO 8601"
    json.dumps(s)  # JSON-ready


def test_rejects_by_hand(log_csv: Path) -> None:
    rej = rfm(log_csv).rejects
    assert list(rej.columns) == ["line", "reason", *HEADER.split(",")]
    assert list(zip(rej["line"], rej["reason"], strict=True)) == EXPECTED_REJECTS
    # The original values, as text, exactly as in the file.
    assert rej.loc[rej["line"] == 12, "InvoiceDate"].item() == "not a date"
    assert rej.loc[rej["line"] == 14, "UnitPrice"].item() == "0.00"
    for line, _ in EXPECTED_REJECTS:
        assert ",".join("" if pd.isna(v) else str(v)
                        for v in rej.loc[rej["line"] == line].iloc[0, 2:]) == LINES[line - 2]


def test_column_detection_is_reported(log_csv: Path) -> None:
    cols = rfm(log_csv).summary["columns"]
    assert cols == {
        "customer_id": {"name": "CustomerID", "detected": True},
        "invoice": {"name": "InvoiceNo", "detected": True},
        "date": {"name": "InvoiceDate", "detected": True},
        "quantity": {"name": "Quantity", "detected": True},
        "price": {"name": "UnitPrice", "detected": True},
        "amount": {"name": None, "detected": False},
    }
    named = rfm(log_csv, customer_id="CustomerID", invoice="InvoiceNo").summary["columns"]
    assert named["customer_id"] == {"name": "CustomerID", "detected": False}
    assert named["invoice"] == {"name": "InvoiceNo", "detected": False}
    assert named["date"]["detected"] is True


@pytest.mark.parametrize("names", [
    {"InvoiceNo": "order_id", "InvoiceDate": "order_date", "CustomerID": "customer_id",
     "Quantity": "qty", "UnitPrice": "unit_price"},
    {"InvoiceNo": "Invoice", "InvoiceDate": "timestamp", "CustomerID": "Customer ID",
     "Quantity": "Quantity", "UnitPrice": "Price"},
    {"InvoiceNo": "OrderID", "InvoiceDate": "date", "CustomerID": "client_id",
     "Quantity": "QTY", "UnitPrice": "price"},
    {"InvoiceNo": "InvoiceNo", "InvoiceDate": "InvoiceDate", "CustomerID": "CustomerNo",
     "Quantity": "Quantity", "UnitPrice": "UnitPrice"},
])
def test_detects_common_spellings(log_frame: pd.DataFrame, names: dict[str, str]) -> None:
    res = rfm(log_frame.rename(columns=names))
    assert_features_equal(res.features, id_column=names["CustomerID"])
    for role, original in (("customer_id", "CustomerID"), ("invoice", "InvoiceNo"),
                           ("date", "InvoiceDate"), ("quantity", "Quantity"),
                           ("price", "UnitPrice")):
        assert res.summary["columns"][role] == {"name": names[original], "detected": True}


def test_amount_column(log_frame: pd.DataFrame) -> None:
    frame = log_frame.assign(
        Sales=log_frame["Quantity"].astype(float) * log_frame["UnitPrice"].astype(float)
    ).drop(columns=["Quantity", "UnitPrice"])
    res = rfm(frame)
    assert res.summary["columns"]["amount"] == {"name": "Sales", "detected": True}
    assert res.summary["value"] == "amount"
    # Without prices the zero-price lines are zero-value lines; the rest is identical.
    assert res.summary["lines_excluded_by_reason"]["zero_value"] == 2
    assert res.summary["lines_excluded_by_reason"]["non_positive_price"] == 0
    assert_features_equal(res.features)


def test_explicit_names_override_detection(log_frame: pd.DataFrame) -> None:
    frame = log_frame.rename(columns={"CustomerID": "who", "InvoiceDate": "when"})
    res = rfm(frame, customer_id="who", date="when")
    assert_features_equal(res.features, id_column="who")


def test_missing_named_column_lists_the_columns(log_csv: Path) -> None:
    with pytest.raises(ColumnNotFoundError, match=r"'CustomerId' not found .*Did you mean "
                                                  r"'CustomerID'\?.*Available columns: "
                                                  r"'InvoiceNo'"):
        rfm(log_csv, customer_id="CustomerId")


def test_undetectable_column_says_how_to_name_it(log_frame: pd.DataFrame) -> None:
    frame = log_frame.rename(columns={"CustomerID": "shopper_ref"})
    with pytest.raises(ColumnNotFoundError, match=r"customer_id=") as info:
        rfm(frame)
    assert isinstance(info.value, KeyError)
    assert "shopper_ref" in str(info.value)
    with pytest.raises(ColumnNotFoundError, match=r"amount=\.\.\. or quantity="):
        rfm(log_frame.drop(columns=["UnitPrice"]))


def test_amount_and_quantity_together_is_an_error(log_frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match="either amount= or quantity="):
        rfm(log_frame, amount="UnitPrice", quantity="Quantity")


def test_without_invoice_frequency_counts_purchase_days(log_frame: pd.DataFrame) -> None:
    res = rfm(log_frame.drop(columns=["InvoiceNo"]))
    assert res.summary["frequency_definition"] == "distinct purchase days"
    assert res.summary["columns"]["invoice"] == {"name": None, "detected": False}
    assert res.summary["cancellation_invoices"] is None
    # Every invoice of the log falls on its own day, so frequency is unchanged ...
    f = res.features.set_index("CustomerID")
    assert f["frequency"].tolist() == EXPECTED["frequency"].tolist()
    # ... and the C1003 line is a return by its sign alone.
    assert f.loc["101", "n_returns"] == 1


def test_frequency_ignores_cancellation_invoices() -> None:
    log = pd.DataFrame({
        "CustomerID": ["1", "1", "1"],
        "InvoiceNo": ["10", "C11", "C12"],
        "InvoiceDate": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "Quantity": [1, -1, 1],  # a cancellation invoice with a positive line is a return too
        "UnitPrice": [4.0, 4.0, 4.0],
    })
    res = rfm(log)
    row = res.features.iloc[0]
    assert row["frequency"] == 1
    assert row["n_returns"] == 2
    assert row["monetary"] == pytest.approx(4.0 - 4.0 - 4.0)
    assert res.summary["cancellation_invoices"] == 2
    # With the prefix rule disabled, only the sign makes a return.
    res = rfm(log, cancellation_prefix=None)
    row = res.features.iloc[0]
    assert row["frequency"] == 2
    assert row["n_returns"] == 1
    assert res.summary["cancellation_invoices"] is None


def test_explicit_as_of_excludes_later_lines(log_csv: Path) -> None:
    res = rfm(log_csv, as_of="2024-01-21")
    s = res.summary
    assert s["as_of"] == "2024-01-21T00:00:00"
    assert s["as_of_source"] == "given"
    # 1006 (two lines, 25th), 1007 (31st), 1011 (22nd) are at or after as_of.
    assert s["lines_excluded_by_reason"]["after_as_of"] == 4
    assert s["lines_read"] == s["lines_used"] + s["lines_excluded"]
    f = res.features.set_index("CustomerID")
    assert "103" not in f.index  # its only line is after as_of: not a customer yet
    assert f.loc["101", "recency_days"] == 1
    assert f.loc["102", "frequency"] == 1
    assert f.loc["104", "recency_days"] == 13
    assert f.loc["104", "mean_days_between_orders"] == s["window_days"] == 19


@pytest.mark.parametrize("as_of", ["2024-02-01", pd.Timestamp("2024-02-01"),
                                   np.datetime64("2024-02-01"),
                                   pd.Timestamp("2024-02-01T00:00:00+00:00").to_pydatetime()])
def test_as_of_types(log_csv: Path, as_of: object) -> None:
    assert_features_equal(rfm(log_csv, as_of=as_of).features)


def test_never_uses_today(log_csv: Path) -> None:
    # The default reference date comes from the data, so results do not age.
    assert rfm(log_csv).summary["as_of"] == "2024-02-01T00:00:00"


def test_duplicates_keep_and_drop(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(LOG_CSV + LINES[0] + "\n")  # line 19 repeats line 2 exactly
    kept = rfm(path)
    assert kept.summary["lines_used"] == 13
    assert kept.features.set_index("CustomerID").loc["101", "monetary"] == pytest.approx(48.5)
    dropped = rfm(path, duplicates="drop")
    assert dropped.summary["lines_excluded_by_reason"]["duplicate_line"] == 1
    assert dropped.rejects.query("reason == 'duplicate_line'")["line"].tolist() == [19]
    assert_features_equal(dropped.features)
    # Exact duplicates that are excluded anyway keep their first reason.
    path.write_text(LOG_CSV + LINES[9] + "\n")
    dropped = rfm(path, duplicates="drop")
    assert dropped.summary["lines_excluded_by_reason"]["missing_customer_id"] == 3
    assert dropped.summary["lines_excluded_by_reason"]["duplicate_line"] == 0


def test_float_ids_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "float_ids.csv"
    text = LOG_CSV.replace(",101,", ",101.0,").replace(",102,", ",102.0,")
    path.write_text(text.replace(",103,", ",103.0,"))
    res = rfm(path)
    assert res.summary["customer_id_normalised"] is True
    assert_features_equal(res.features)


def test_mixed_float_and_plain_ids_are_merged(tmp_path: Path) -> None:
    path = tmp_path / "mixed_ids.csv"
    lines = list(LINES)
    lines[0] = lines[0].replace(",101,", ",101.0,")  # "101.0" and "101" are one customer
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    res = rfm(path)
    assert res.summary["customer_id_normalised"] is True
    assert_features_equal(res.features)


def test_text_ids_are_kept_exactly(tmp_path: Path) -> None:
    path = tmp_path / "text_ids.csv"
    text = (LOG_CSV.replace(",101,", ",0101,").replace(",102,", ",A-7,")
            .replace(",103,", ",12.5,"))
    path.write_text(text)
    res = rfm(path)
    assert res.summary["customer_id_normalised"] is False
    assert res.features["CustomerID"].tolist() == ["0101", "104", "105", "106", "12.5", "A-7"]


def test_ids_sort_numerically_when_plain_integers(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(LOG_CSV.replace(",101,", ",9,").replace(",102,", ",10000,"))
    assert rfm(path).features["CustomerID"].tolist() == ["9", "103", "104", "105", "106",
                                                         "10000"]


def test_nothing_usable_is_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n" + LINES[9] + "\n" + LINES[14] + "\n")
    with pytest.raises(SchemaError, match=r"No usable line .* all 2 lines were excluded "
                                          r"\(missing_customer_id: 2\)"):
        rfm(path)


def test_unreadable_input(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="File not found"):
        rfm(tmp_path / "nope.csv")
    with pytest.raises(InputFileError, match="No file matches"):
        rfm(str(tmp_path / "*.parquet"))
    with pytest.raises(InvalidParameterError, match="must be a file path"):
        rfm([1, 2, 3])


@pytest.mark.parametrize(("param", "value", "message"), [
    ("duplicates", "first", r"The 'duplicates' parameter of rfm must be one of"),
    ("threads", 0, r"The 'threads' parameter of rfm must be None or an int >= 1\. Got 0"),
    ("cancellation_prefix", "", r"'cancellation_prefix' parameter of rfm must be None or a "
                                r"non-empty string"),
    ("dayfirst", "yes", r"'dayfirst' parameter of rfm must be a bool"),
    ("as_of", 20240201, r"'as_of' parameter of rfm must be None or a date"),
    ("as_of", "not a date", r"'as_of' parameter of rfm must be a date"),
    ("customer_id", 3, r"'customer_id' parameter of rfm must be None or a column name"),
])
def test_parameter_validation(log_csv: Path, param: str, value: object, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        rfm(log_csv, **{param: value})


# --- the same log from every kind of source -----------------------------------------------


def test_pandas_polars_pyarrow_equal_the_file(log_csv: Path) -> None:
    pl = pytest.importorskip("polars")
    from_file = rfm(log_csv)
    frame = pd.read_csv(log_csv)  # CustomerID becomes float64 with NaN: 101.0 -> "101"
    sources = {
        "pandas": frame,
        "polars": pl.read_csv(log_csv),
        "polars-lazy": pl.scan_csv(log_csv),
        "pyarrow": pa.Table.from_pandas(frame),
    }
    for name, table in sources.items():
        res = rfm(table)
        assert_features_equal(res.features)
        pd.testing.assert_frame_equal(res.features, from_file.features, check_dtype=False,
                                      obj=name)
        for key in ("lines_read", "lines_used", "lines_excluded_by_reason", "gross_value",
                    "net_value", "as_of", "cancellation_invoices"):
            assert res.summary[key] == pytest.approx(from_file.summary[key]), (name, key)
        # In-memory rows are numbered from 1 (the file numbers the header as line 1).
        assert (res.rejects["line"] + 1).tolist() == from_file.rejects["line"].tolist()


def test_parquet_file_folder_and_glob(tmp_path: Path, log_frame: pd.DataFrame) -> None:
    frame = log_frame.astype({"Quantity": "int64", "UnitPrice": "float64"})
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "log.parquet")
    single = rfm(tmp_path / "log.parquet")
    assert_features_equal(single.features)
    assert single.summary["source_kind"] == "parquet"
    # Parquet lines are 1-based row numbers.
    assert single.rejects["line"].tolist() == [line - 1 for line, _ in EXPECTED_REJECTS]

    parts = tmp_path / "parts"
    parts.mkdir()
    pq.write_table(pa.Table.from_pandas(frame.iloc[:8]), parts / "a.parquet")
    pq.write_table(pa.Table.from_pandas(frame.iloc[8:]), parts / "b.parquet")
    for source in (parts, str(parts / "*.parquet")):
        res = rfm(source)
        assert_features_equal(res.features)
        assert res.rejects["file"].map(lambda f: Path(f).name).tolist() == ["b.parquet"] * 5
        assert res.rejects["line"].tolist() == [2, 3, 5, 7, 9]


def test_tsv_gzip_and_whitespace(tmp_path: Path) -> None:
    tsv = LOG_CSV.replace(",", "\t")
    (tmp_path / "log.tsv").write_text(tsv)
    with gzip.open(tmp_path / "log.csv.gz", "wt") as fh:
        fh.write(LOG_CSV)
    assert_features_equal(rfm(tmp_path / "log.tsv").features)
    res = rfm(tmp_path / "log.csv.gz")
    assert_features_equal(res.features)
    assert [line for line, _ in EXPECTED_REJECTS] == res.rejects["line"].tolist()

    # Whitespace-separated: no spaces inside values, so drop the descriptions and times.
    rows = [line.split(",") for line in [HEADER, *LINES]]
    text = "\n".join("   ".join(v.split(" ")[0] or "NA" for i, v in enumerate(r) if i != 2)
                     for r in rows)
    (tmp_path / "log.txt").write_text(text.replace("not", "not-a-date") + "\n")
    res = rfm(tmp_path / "log.txt", customer_id="CustomerID")
    assert res.summary["delimiter"] == "whitespace"
    assert res.summary["lines_read"] == 17
    # Missing IDs were written "NA": a customer named "NA" with the two lines of no one.
    assert res.summary["lines_excluded_by_reason"]["invalid_date"] == 1


def test_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(LOG_CSV.replace("REGENCY", "R\u00c9GENCE").encode("latin-1"))
    res = rfm(path)
    assert res.summary["encoding"] == "latin-1"
    assert_features_equal(res.features)


def test_latin1_byte_after_the_sniffed_head(tmp_path: Path) -> None:
    # The first 256 KiB are ASCII (read as UTF-8 first); one latin-1 byte near the end makes
    # the whole file be read again as latin-1, nothing lost.
    header, *rows = LOG_CSV.strip("\n").split("\n")
    filler = [f"F{i},X,filler,1,2024-01-15 10:00:00,1.0,99999,UK" for i in range(8_000)]
    text = "\n".join([header, *filler, *rows]).replace("REGENCY", "R\u00c9GENCE") + "\n"
    assert text.index("\u00c9") > 300_000
    path = tmp_path / "late.csv"
    path.write_bytes(text.encode("latin-1"))
    res = rfm(path)
    assert res.summary["encoding"] == "latin-1"
    assert res.summary["lines_read"] == len(rows) + len(filler)
    assert_features_equal(res.features[res.features["CustomerID"] != "99999"]
                          .reset_index(drop=True))


def test_memory_limit_and_threads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    frame = pd.DataFrame({
        "CustomerID": rng.integers(0, 50_000, n),
        "InvoiceNo": rng.integers(0, 80_000, n).astype(str),
        "InvoiceDate": pd.Timestamp("2024-01-01")
        + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h"),
        "Quantity": rng.integers(1, 10, n),
        "UnitPrice": rng.uniform(0.5, 20, n).round(2),
    })
    path = tmp_path / "big.parquet"
    frame.to_parquet(path)
    free = rfm(path)
    tight = rfm(path, memory_limit="30MB", threads=1)
    pd.testing.assert_frame_equal(free.features, tight.features)
    with pytest.raises(InvalidParameterError, match="memory_limit"):
        rfm(path, memory_limit="lots")


def test_several_text_files(tmp_path: Path) -> None:
    folder = tmp_path / "daily"
    folder.mkdir()
    (folder / "a.csv").write_text(HEADER + "\n" + "\n".join(LINES[:8]) + "\n")
    with gzip.open(folder / "b.csv.gz", "wt") as fh:
        fh.write(HEADER + "\n" + "\n".join(LINES[8:]) + "\n")
    for source in (folder, str(folder / "*.csv*")):
        res = rfm(source)
        assert_features_equal(res.features)
        assert res.summary["lines_read"] == 17
        # Lines are numbered within each file, the header being line 1.
        assert list(zip(res.rejects["file"].map(lambda f: Path(f).name), res.rejects["line"],
                        strict=True)) == [("b.csv.gz", n) for n in (3, 4, 6, 8, 10)]
