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
