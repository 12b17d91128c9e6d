"""Values written as text (CSV logs) are parsed once per line (``_Plan.prelude``): the same
features, rejects and summary, bit for bit, as the plan that writes each parse where it is
used, on logs made to fail every check, from one file, from a folder (the rejected lines'
original values are then found by file and line), with an amount column, and from a table
whose dates are text; a Parquet log with typed columns keeps the plain plan."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rfm_log import HEADER, LINES, LOG_CSV
from rfm_paths import assert_same_result

import custseg.features._rfm as rfm_module
from custseg.features import rfm

OWN = ("timings_seconds",)

# lines that fail each check of a text log (and some that pass in unusual spellings)
ODD_LINES = [
    "2001,A1,ODD QUANTITY,abc,2024-01-03 10:00:00,2.00,101,United Kingdom",
    "2002,A2,BLANK PRICE,2,2024-01-04 10:00:00,,102,United Kingdom",
    "2003,A3,INFINITE PRICE,2,2024-01-05 10:00:00,inf,103,United Kingdom",
    "2004,A4,OVERFLOW,1e200,2024-01-06 10:00:00,1e200,104,United Kingdom",
    "2005,A5,NAN QUANTITY,nan,2024-01-07 10:00:00,1.00,105,United Kingdom",
    "2006,A6,ZERO QUANTITY,0,2024-01-08 10:00:00,1.00,106,United Kingdom",
    "2007,A7,NEGATIVE PRICE,1,2024-01-09 10:00:00,-1.5,107,United Kingdom",
    "2008,A8,BAD DATE,1,2024-13-45 10:00:00,1.00,108,United Kingdom",
    "2009,A9,SPACED QUANTITY, 3 ,2024-01-10 10:00:00, 2.5 ,109,United Kingdom",
    ",A10,NO INVOICE,1,2024-01-11 10:00:00,1.00,110,United Kingdom",
    "2010,A11,EXPONENT,2E1,2024-01-12 10:00:00,1e-1,111,United Kingdom",
    "C2011,A12,CANCELLED,-2,2024-01-13 10:00:00,3.00,101,United Kingdom",
]
ODD_CSV = LOG_CSV + "\n".join(ODD_LINES) + "\n"


def both_plans(monkeypatch: pytest.MonkeyPatch, source: object, **kwargs: object) -> tuple:
    """rfm() with each text value parsed once, then with the parse written at each use; and
    the parsed values the first plan had."""
    plans: list = []
    real_plan = rfm_module._plan

    def spy(*args: object, **kw: object) -> tuple:
        plan, notes = real_plan(*args, **kw)
        plans.append(plan)
        return plan, notes

    monkeypatch.setattr(rfm_module, "_plan", spy)
    once = rfm(source, **kwargs)
    monkeypatch.setattr(rfm_module, "_parse_once", lambda parsed, alias, sql: sql)
    inline = rfm(source, **kwargs)
    assert not plans[-1].parsed  # (the second run had the inline plan)
    return once, inline, plans[0].parsed


@pytest.mark.parametrize("kwargs", [
    {}, {"as_of": "2024-01-20"}, {"duplicates": "drop"}, {"cancellation_prefix": None},
])
def test_a_text_log_gives_the_same_result(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         kwargs: dict) -> None:
    path = tmp_path / "log.csv"
    path.write_text(ODD_CSV)
    once, inline, parsed = both_plans(monkeypatch, str(path), **kwargs)
    assert set(parsed) == {rfm_module._PARSED_TS, rfm_module._PARSED_QUANTITY,
                           rfm_module._PARSED_PRICE}
    assert len(once.rejects) > 10  # every check failed somewhere
    assert_same_result(once, inline, OWN)


def test_a_folder_finds_each_rejected_line_in_its_own_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The same line numbers in two files, rejected for different reasons: the originals of
    each come from its own file."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.csv").write_text(ODD_CSV)
    shuffled = [LINES[0], *ODD_LINES[::-1], *LINES[1:]]
    (folder / "b.csv").write_text(HEADER + "\n" + "\n".join(shuffled) + "\n")
    once, inline, parsed = both_plans(monkeypatch, str(folder))
    assert parsed
    assert_same_result(once, inline, OWN)
    rej = once.rejects
    assert rej["file"].nunique() == 2
    # a line's original quantity is the one written on that line of that file
    texts = {name: (folder / name).read_text().splitlines() for name in ("a.csv", "b.csv")}
    for _, row in rej.iterrows():
        fields = texts[Path(row["file"]).name][int(row["line"]) - 1].split(",")
        assert str(row["Description"]) == fields[2]


def test_an_amount_column_is_parsed_once(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    path = tmp_path / "amounts.csv"
    path.write_text("order,customer,day,amount\n"
                    "1,7,2024-03-01,10.5\n2,7,2024-03-04,abc\n3,8,2024-03-02,\n"
                    "4,8,2024-03-05,-4\n5,9,2024-03-06,1e400\n6,9,not a day,3\n7,,2024-03-07,2\n")
    once, inline, parsed = both_plans(monkeypatch, str(path), customer_id="customer",
                                      date="day", invoice="order", amount="amount")
    assert set(parsed) == {rfm_module._PARSED_TS, rfm_module._PARSED_AMOUNT}
    assert_same_result(once, inline, OWN)


def test_a_table_of_text_dates_and_typed_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({
        "InvoiceNo": ["1", "1", "2", "3", "4"],
        "CustomerID": [5, 5, 6, None, 7],
        "InvoiceDate": ["2024-01-02", "2024-01-02", "bad", "2024-01-04", "2024-01-05"],
        "Quantity": [1.0, 2.0, 3.0, 1.0, float("inf")],
        "UnitPrice": [2.0, 1.0, 1.0, 1.0, 1.0],
    })
    once, inline, parsed = both_plans(monkeypatch, frame)
    assert set(parsed) == {rfm_module._PARSED_TS}  # the numbers are typed: nothing to parse
    assert_same_result(once, inline, OWN)


def test_a_typed_parquet_log_keeps_the_plain_plan(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path, log_frame) -> None:
    frame = log_frame.assign(Quantity=pd.to_numeric(log_frame["Quantity"]),
                             UnitPrice=pd.to_numeric(log_frame["UnitPrice"]),
                             InvoiceDate=pd.to_datetime(log_frame["InvoiceDate"],
                                                        errors="coerce"))
    path = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    once, inline, parsed = both_plans(monkeypatch, str(path))
    assert parsed == {}
    assert_same_result(once, inline, OWN)


TOKENS = ["1", "2.5", "-3", "0", "", " ", "abc", "inf", "-inf", "nan", "1e308", "1e200",
          "0.0", "+4", "1,5", "7e-3", "NULL", "  2  "]
DATES = ["2024-01-02 09:00:00", "2024-02-30 10:00:00", "", "2024-01-05", "not a date",
         "2023-12-31 23:59:59", "2024-1-7 8:00:00", "infinity"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(st.sampled_from(["1", "2", "C3", "", "4"]),
                                st.sampled_from(["7", "8", "", "9"]),
                                st.sampled_from(DATES), st.sampled_from(TOKENS),
                                st.sampled_from(TOKENS)), min_size=1, max_size=30))
def test_any_text_log_gives_the_same_result(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            lines: list) -> None:
    body = "\n".join(f'{inv},{cust},"{day}","{q}","{p}"' for inv, cust, day, q, p in lines)
    path = tmp_path / "fuzz.csv"
    path.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + body + "\n")
    try:
        once, inline, _ = both_plans(monkeypatch, str(path))
    except Exception as exc:  # noqa: BLE001 - then the inline plan must fail the same way
        monkeypatch.setattr(rfm_module, "_parse_once", lambda parsed, alias, sql: sql)
        with pytest.raises(type(exc)) as again:
            rfm(str(path))
        assert str(again.value) == str(exc)
        return
    finally:
        monkeypatch.undo()
    assert_same_result(once, inline, OWN)
