"""The Arrow CSV path of ``write_csv`` writes the very bytes pandas' writer would."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.io import write_csv
from custseg.io._write import _ARROW_MIN_ROWS, _arrow_csv_lines, guard_formulas

_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["=1+1", "-3", "+x", "@SUM(A1)", "\tx", "\rx", "a,b", 'say "hi"',
                     "two\nlines", "cr\rinside", "", " lead", "Frequent · High spend"]),
    st.text(max_size=8),
)
_FLOAT = st.one_of(st.floats(), st.sampled_from([60.0, -0.0, 1e16, 1e15, 1e-5, 1e-4, 5e-324]))


def _arrow_csv_body(frame: pd.DataFrame, guard: bool) -> bytes | None:
    """The rows the Arrow path writes for ``frame`` (None: left to pandas' writer)."""
    chunks = _arrow_csv_lines(frame, guard)
    return None if chunks is None else b"".join(bytes(c) for c in chunks)


def _pandas_body(frame: pd.DataFrame) -> bytes:
    return guard_formulas(frame).to_csv(index=False, header=False, lineterminator="\n").encode()


@pytest.mark.fuzz
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_arrow_body_is_byte_identical_to_pandas(data):
    n = data.draw(st.integers(1, 40))
    frame = pd.DataFrame({
        "id": pd.Series(data.draw(st.lists(_TEXT, min_size=n, max_size=n)), dtype="string"),
        "name": pd.Series(data.draw(st.lists(_TEXT, min_size=n, max_size=n)), dtype=object),
        "segment": data.draw(st.lists(st.integers(-1, 10**12), min_size=n, max_size=n)),
        "distance": data.draw(st.lists(_FLOAT, min_size=n, max_size=n)),
        "flag": data.draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "count": pd.array(data.draw(st.lists(st.one_of(st.none(), st.integers(0, 99)),
                                             min_size=n, max_size=n)), dtype="Int64"),
    })
    if any("\r" in v for v in frame["id"].dropna()) or any(
            isinstance(v, str) and "\r" in v for v in frame["name"]):
        # pandas' writer quotes "\r" only with "\r\n" line ends; the Arrow path quotes the
        # field and keeps "\n" (write_csv takes it then, tests/io/test_write.py)
        return
    body = _arrow_csv_body(frame, guard=True)
    if body is not None:  # None: a column left to pandas (e.g. many exponent floats)
        assert body == _pandas_body(frame)


def test_large_frame_takes_the_arrow_path_and_reads_back(tmp_path):
    n = _ARROW_MIN_ROWS + 5
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"CustomerID": [f"=cmd{i}" if i % 7 == 0 else str(i) for i in range(n)],
                          "segment": rng.integers(0, 5, n), "distance": rng.random(n)})
    assert _arrow_csv_body(frame, guard=True) is not None
    write_csv(frame, tmp_path / "s.csv")
    back = pd.read_csv(tmp_path / "s.csv", dtype={"CustomerID": str})
    assert back["CustomerID"].iloc[0] == "'=cmd0" and back["CustomerID"].iloc[1] == "1"
    np.testing.assert_array_equal(back["distance"], frame["distance"])
    assert (tmp_path / "s.csv").read_bytes() == (
        b"CustomerID,segment,distance\n" + _pandas_body(frame))


@pytest.mark.parametrize("values", [
    ["2024-01-01", None, "2024-03-05"],  # midnights only: pandas writes the date alone
    ["2010-12-01 08:00:00", None, "2011-01-01 00:00:00"],  # times: whole seconds
    [None, None],
    ["1999-12-31 23:59:59", "2000-01-01"],
])
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_dates_take_the_arrow_path_with_pandas_bytes(values, unit):
    frame = pd.DataFrame({"d": pd.Series(pd.to_datetime(values, format="mixed"))
                          .astype(f"datetime64[{unit}]"), "n": range(len(values))})
    body = _arrow_csv_body(frame, guard=True)
    assert body is not None
    assert body == _pandas_body(frame)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"d": pd.to_datetime(["2010-12-01 08:00:00.5", "2011-01-01"],
                                      format="mixed")}),  # a fraction of a second
    pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("UTC")}),
    pd.DataFrame({"d": pd.Series(pd.to_datetime(["0999-01-01", "2024-01-02"], format="mixed"))
                  .astype("datetime64[s]")}),
])
def test_dates_pandas_formats_with_care_fall_back_to_pandas(frame):
    assert _arrow_csv_body(frame, guard=True) is None


def test_whole_numbers_among_missing_values_in_an_object_column():
    # an Int64 column concatenated with a text one (rejects.csv of an order log): ints and NA
    frame = pd.DataFrame({"id": pd.Series([pd.NA, 12, -3, None, np.int64(7)], dtype=object),
                          "x": ["-a", "b", "c", "d", "e"]})
    body = _arrow_csv_body(frame, guard=True)
    assert body == _pandas_body(frame) == b",'-a\n12,b\n-3,c\n,d\n7,e\n"
    mixed = pd.DataFrame({"id": pd.Series([1, "=x", 2.5], dtype=object), "x": [1, 2, 3]})
    assert _arrow_csv_body(mixed, guard=True) is None  # (text and floats: left to pandas)


_WHEN = st.sampled_from(["2024-01-01", "2024-01-02 08:30:00", None, "2023-12-31",
                         "2024-02-29 23:59:59"])


@pytest.mark.fuzz
@settings(max_examples=40, deadline=None)
@given(st.data())
def test_blocks_of_rows_write_the_bytes_of_the_whole_table(data):
    """write_csv formats large tables a block of rows at a time (here 3 rows, from 1 row): the
    file is still the one pandas writes for the whole table, including a date column whose
    first block holds only midnights (pandas then still writes every time)."""
    from unittest import mock

    from custseg.io import _write

    n = data.draw(st.integers(1, 12))
    frame = pd.DataFrame({
        "id": pd.Series(data.draw(st.lists(_TEXT, min_size=n, max_size=n)), dtype="string"),
        "segment": data.draw(st.lists(st.integers(-1, 10**12), min_size=n, max_size=n)),
        "distance": data.draw(st.lists(_FLOAT, min_size=n, max_size=n)),
        "count": pd.array(data.draw(st.lists(st.one_of(st.none(), st.integers(0, 99)),
                                             min_size=n, max_size=n)), dtype="Int64"),
        "when": pd.to_datetime(pd.Series(data.draw(st.lists(_WHEN, min_size=n, max_size=n)),
                                         dtype=object), format="mixed").astype("datetime64[s]"),
    })
    if any("\r" in v for v in frame["id"].dropna()):
        return  # (pandas' writer switches to \r\n then: tests/io/test_write.py)
    with tempfile.TemporaryDirectory() as tmp, \
            mock.patch.object(_write, "_CSV_BLOCK_ROWS", 3), \
            mock.patch.object(_write, "_ARROW_MIN_ROWS", 1):
        path = Path(tmp) / "s.csv"
        write_csv(frame, path)
        assert path.read_bytes() == b"id,segment,distance,count,when\n" + _pandas_body(frame)


def test_a_block_of_midnights_takes_its_columns_format(tmp_path, monkeypatch):
    from custseg.io import _write

    monkeypatch.setattr(_write, "_CSV_BLOCK_ROWS", 2)
    monkeypatch.setattr(_write, "_ARROW_MIN_ROWS", 1)
    frame = pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03 08:00"],
                                              format="mixed"), "n": [1, 2, 3]})
    write_csv(frame, tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_text() == (
        "d,n\n2024-01-01 00:00:00,1\n2024-01-02 00:00:00,2\n2024-01-03 08:00:00,3\n")


def test_a_later_block_left_to_pandas_writes_the_whole_table_with_pandas(tmp_path, monkeypatch):
    """Blocks are formatted two at a time; when one past the first needs pandas' writer, the
    file is pandas' whole, and no partial or temporary file is left."""
    from custseg.io import _write

    monkeypatch.setattr(_write, "_CSV_BLOCK_ROWS", 2)
    monkeypatch.setattr(_write, "_ARROW_MIN_ROWS", 1)
    frame = pd.DataFrame({"id": list("abcdefg"), "n": range(7)})
    # the first two blocks' two columns are formatted, the rest left to pandas
    monkeypatch.setattr(_write, "_arrow_text_column", _failing_after(4, _write._arrow_text_column))
    write_csv(frame, tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_bytes() == frame.to_csv(index=False).encode()
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]


def _failing_after(n_calls, real):
    """``_arrow_text_column`` that formats ``n_calls`` columns, then leaves every column to
    pandas (returns None), whatever it holds."""
    calls = {"n": 0}

    def column(s, guard, date_only=False):
        calls["n"] += 1
        return None if calls["n"] > n_calls else real(s, guard, date_only)

    return column


@pytest.mark.fuzz
@settings(max_examples=25, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_few_distinct_texts_in_many_rows_are_the_bytes_pandas_writes(distinct, seed):
    # from _DISTINCT_MIN_ROWS rows a text column is dictionary-encoded and each distinct text
    # guarded and quoted once: the rows must still be pandas' bytes
    from custseg.io._write import _DISTINCT_MIN_ROWS

    if any(v is not None and "\r" in v for v in distinct):
        return  # (pandas quotes "\r" only with "\r\n" line ends: see above)
    rows = np.random.default_rng(seed).integers(0, len(distinct), _DISTINCT_MIN_ROWS + 5)
    values = [distinct[i] for i in rows]
    frame = pd.DataFrame({"name": pd.Series(values, dtype=object),
                          "text": pd.Series(values, dtype="string"),
                          "n": np.arange(len(values))})
    assert _arrow_csv_body(frame, guard=True) == _pandas_body(frame)
    assert _arrow_csv_body(frame, guard=False) == frame.to_csv(
        index=False, header=False, lineterminator="\n").encode()


@pytest.mark.parametrize("date_only", [False, True])
def test_dates_with_missing_values_are_pandas_bytes(date_only):
    stamps = pd.Series(pd.to_datetime(["2010-12-01 08:00:00", None, "1999-01-31 23:59:59"]
                                      * 2000)).astype("datetime64[us]")
    if date_only:
        stamps = stamps.dt.normalize()
    frame = pd.DataFrame({"when": stamps, "n": range(len(stamps))})
    assert _arrow_csv_body(frame, guard=True) == _pandas_body(frame)


@pytest.mark.parametrize("column", [pd.Series(["a", None, ""] * 2000, dtype="string"),
                                    pd.Series([1.5, np.nan] * 3000)])
def test_an_empty_field_alone_on_its_row_is_quoted_as_pandas_quotes_it(tmp_path, column):
    # a blank line would be skipped by CSV readers, and the row lost
    frame = pd.DataFrame({"only": column})
    assert _arrow_csv_body(frame, guard=True) == _pandas_body(frame)
    write_csv(frame, tmp_path / "one.csv")
    assert len(pd.read_csv(tmp_path / "one.csv")) == len(frame)
