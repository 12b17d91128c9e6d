import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg.prep import looks_numeric, parse_numeric


@pytest.mark.parametrize(
    ("cells", "expected", "decimal"),
    [
        (["17850.0", "13047.0", ""], [17850.0, 13047.0, np.nan], "."),
        (["1,234.50", "12.5", "-3"], [1234.5, 12.5, -3.0], "."),
        (["1 234,5", "12,25", "7"], [1234.5, 12.25, 7.0], ","),
        (["1.234,5", "0,5", "NA"], [1234.5, 0.5, np.nan], ","),
        (["$12", "€3.50", "n/a"], [12.0, 3.5, np.nan], "."),
        (["1\u00a0000", "2"], [1000.0, 2.0], "."),
    ],
)
def test_parse_numeric_formats(cells, expected, decimal):
    parsed = parse_numeric(pd.Series(cells, dtype="string"))
    np.testing.assert_array_equal(parsed.values, np.array(expected))
    assert parsed.decimal == decimal
    assert not parsed.invalid.any()


def test_invalid_cells_are_not_missing():
    parsed = parse_numeric(pd.Series(["1", "abc", "", "inf"], dtype="string"))
    assert parsed.invalid.tolist() == [False, True, False, True]
    assert parsed.missing.tolist() == [False, False, True, False]


def test_looks_numeric():
    assert looks_numeric(pd.Series(["0001", "0002"]))
    assert not looks_numeric(pd.Series(["C10001", "C10002"]))
    assert not looks_numeric(pd.Series(["", None], dtype="string"))


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12,
                          max_value=1e12), min_size=1, max_size=30))
def test_text_round_trip(values):
    parsed = parse_numeric(pd.Series([repr(v) for v in values], dtype="string"))
    np.testing.assert_array_equal(parsed.values, np.array(values))
    assert not parsed.invalid.any()


_CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.sampled_from(["", " ", "NA", "n/a", "NaN", "null", "-", "inf", "-Infinity", "1,5",
                     "1,234.5", "$3", " 12 ", "\t7\t", "1e400", "+.5", "5.", "0x10", "abc",
                     "1\u00a0000", "１２"]),
    st.text(max_size=6),
)


@pytest.mark.fuzz
@given(st.lists(st.one_of(_CELLS, st.none()), min_size=1, max_size=30))
def test_arrow_fast_path_agrees_with_the_general_parser(cells):
    from custseg.prep._typing import _parse_numeric

    s = pd.Series(cells, dtype="string[pyarrow]")
    fast, slow = parse_numeric(s), _parse_numeric(s, None)
    np.testing.assert_array_equal(fast.missing, slow.missing)
    np.testing.assert_array_equal(fast.invalid, slow.invalid)
    np.testing.assert_array_equal(fast.values, slow.values)  # NaN == NaN here
    assert fast.decimal == slow.decimal
    assert parse_numeric(s) is fast  # cached while the column lives


def test_cached_parse_sees_a_cell_set_in_place():
    df = pd.DataFrame({"income": pd.Series(["1", "2", "3"], dtype="string[pyarrow]")})
    assert not parse_numeric(df["income"]).invalid.any()
    df.loc[1, "income"] = "abc"
    assert parse_numeric(df["income"]).invalid.tolist() == [False, True, False]
