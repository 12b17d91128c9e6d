"""Date spellings: the hand-computed log with its dates written in every supported way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from rfm_log import EXPECTED, assert_features_equal

from custseg import SchemaError
from custseg.features import rfm


def _rewrite(log_frame: pd.DataFrame, fmt: Callable[[pd.Timestamp], str]) -> pd.DataFrame:
    """The log with every valid date rewritten by ``fmt`` (the invalid one stays invalid)."""
    frame = log_frame.copy()
    parsed = pd.to_datetime(frame["InvoiceDate"], errors="coerce")
    frame["InvoiceDate"] = [fmt(ts) if pd.notna(ts) else "not a date" for ts in parsed]
    return frame


def _no_zero(ts: pd.Timestamp) -> str:
    """12/1/2010 8:26, as in the UCI Online Retail original (no leading zeros)."""
    return f"{ts.month}/{ts.day}/{ts.year} {ts.hour}:{ts.minute:02d}"


CASES = {
    "iso": (lambda ts: ts.strftime("%Y-%m-%d %H:%M:%S"), {}, "ISO 8601"),
    "iso-T-offset": (lambda ts: ts.strftime("%Y-%m-%dT%H:%M:%S+00:00"), {},
                     "ISO 8601 (offsets converted to UTC)"),
    "iso-T": (lambda ts: ts.strftime("%Y-%m-%dT%H:%M:%S"), {}, "ISO 8601"),
    "iso-date": (lambda ts: ts.strftime("%Y-%m-%d"), {}, "ISO 8601"),
    "online-retail-us": (_no_zero, {}, "%m/%d/%Y %H:%M (month first)"),
    "us-seconds": (lambda ts: ts.strftime("%m/%d/%Y %H:%M:%S"), {},
                   "%m/%d/%Y %H:%M (month first)"),
    "day-first": (lambda ts: ts.strftime("%d/%m/%Y %H:%M"), {"dayfirst": True},
                  "%d/%m/%Y %H:%M (day first)"),
    "day-first-dots": (lambda ts: ts.strftime("%d.%m.%Y"), {}, "%d.%m.%Y %H:%M (day first)"),
    "day-first-dashes-2digit": (lambda ts: ts.strftime("%d-%m-%y %H:%M"), {"dayfirst": True},
                                "%d-%m-%Y %H:%M (day first)"),
    "ymd-slashes": (lambda ts: ts.strftime("%Y/%m/%d %H:%M"), {}, "%Y/%m/%d %H:%M"),
    "12-hour": (lambda ts: ts.strftime("%m/%d/%Y %I:%M %p"), {},
                "%m/%d/%Y %H:%M (month first)"),
    "yyyymmdd": (lambda ts: ts.strftime("%Y%m%d"), {}, "YYYYMMDD"),
    "epoch": (lambda ts: str(int(ts.timestamp())), {}, "Unix epoch seconds"),
    "epoch-ms": (lambda ts: str(int(ts.timestamp()) * 1000), {}, "Unix epoch milliseconds"),
    "explicit": (lambda ts: ts.strftime("%d %b %Y, %H.%M"), {"date_format": "%d %b %Y, %H.%M"},
                 "%d %b %Y, %H.%M"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_date_spellings(log_frame: pd.DataFrame, tmp_path: Path, case: str) -> None:
    fmt, kwargs, description = CASES[case]
    path = tmp_path / "log.csv"
    _rewrite(log_frame, fmt).to_csv(path, index=False)
    res = rfm(path, **kwargs)
    assert res.summary["date_format"] == description
    assert res.summary["lines_excluded_by_reason"]["invalid_date"] == 1
    assert_features_equal(res.features)


def test_integer_and_native_date_columns(log_frame: pd.DataFrame) -> None:
    valid = log_frame[log_frame["InvoiceDate"] != "not a date"]
    ts = pd.to_datetime(valid["InvoiceDate"])
    expected = EXPECTED  # the invalid-date line of 104 is simply gone
    for column, description in (
        (ts, "native TIMESTAMP"),
        (ts.dt.date, "native DATE"),
        (ts.dt.tz_localize("Europe/Paris").dt.tz_convert("UTC"), "native TIMESTAMP"),
        (ts.dt.strftime("%Y%m%d").astype("int64"), "YYYYMMDD"),
        ((ts - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1), "Unix epoch seconds"),
    ):
        res = rfm(valid.assign(InvoiceDate=column.to_numpy() if description != "native DATE"
                               else list(column)))
        assert res.summary["date_format"].startswith(description), description
        assert res.summary["lines_excluded_by_reason"]["invalid_date"] == 0
        if "Paris" in str(getattr(column.dtype, "tz", "")):
            continue
        assert_features_equal(res.features, expected)


def test_ambiguous_day_month_follows_dayfirst(tmp_path: Path) -> None:
    path = tmp_path / "ambiguous.csv"
    path.write_text("CustomerID,InvoiceNo,InvoiceDate,Amount\n"
                    "1,a,01/02/2024,10\n1,b,03/04/2024,10\n")
    month_first = rfm(path)
    assert month_first.features["last_purchase"].item() == pd.Timestamp("2024-03-04")
    assert month_first.summary["as_of"] == "2024-03-05T00:00:00"
    day_first = rfm(path, dayfirst=True)
    assert day_first.features["last_purchase"].item() == pd.Timestamp("2024-04-03")
    assert day_first.summary["date_format"].endswith("(day first)")


def test_the_data_overrule_dayfirst(tmp_path: Path) -> None:
    # 13/01/2024 cannot be month first, wherever it sits in the file.
    rows = [f"1,i{i},01/0{1 + i % 9}/2024,1" for i in range(6_000)] + ["1,last,13/01/2024,1"]
    path = tmp_path / "dmy.csv"
    path.write_text("CustomerID,InvoiceNo,InvoiceDate,Amount\n" + "\n".join(rows) + "\n")
    res = rfm(path)  # dayfirst=False; the sample (the first 5,000 lines) is ambiguous
    assert res.summary["date_format"].endswith("(day first)")
    assert res.summary["lines_excluded_by_reason"]["invalid_date"] == 0
    assert res.features["last_purchase"].item() == pd.Timestamp("2024-09-01")


def test_unrecognised_dates(tmp_path: Path) -> None:
    path = tmp_path / "bad_dates.csv"
    path.write_text("CustomerID,InvoiceNo,InvoiceDate,Amount\n1,a,yesterday,10\n"
                    "1,b,last week,10\n")
    with pytest.raises(SchemaError, match=r"Cannot recognise the dates in column 'InvoiceDate'"
                                          r".*'yesterday'.*date_format="):
        rfm(path)


def test_numbers_that_are_not_dates() -> None:
    frame = pd.DataFrame({"CustomerID": [1, 2], "InvoiceNo": ["a", "b"],
                          "InvoiceDate": [5, 17], "Amount": [1.0, 2.0]})
    with pytest.raises(SchemaError, match="neither YYYYMMDD dates nor Unix epoch"):
        rfm(frame)


def test_offsets_are_converted_to_utc(tmp_path: Path) -> None:
    path = tmp_path / "offsets.csv"
    path.write_text("CustomerID,InvoiceNo,InvoiceDate,Amount\n"
                    "1,a,2024-01-30T23:30:00-02:00,10\n1,b,2024-01-10T08:00:00+01:00,10\n")
    res = rfm(path)
    assert res.summary["date_format"] == "ISO 8601 (offsets converted to UTC)"
    assert res.summary["date_range"] == ["2024-01-10T07:00:00", "2024-01-31T01:30:00"]
    assert res.features["last_purchase"].item() == pd.Timestamp("2024-01-31")
