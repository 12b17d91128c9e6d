"""Column typing: which columns are numbers, and parsing numbers stored as text.

Exports from spreadsheets and CRMs store numbers as text in many shapes: ``"17850.0"``,
``"1,234.50"``, ``"1 234,5"``, ``"1.234,5"``, ``"$12"``. :func:`parse_numeric` parses them
and says which cells are *missing* (blank, ``NA``…) and which are *invalid* (text that is not a
number), so a caller can impute the first and reject the second with a reason — never a silent
``NaN``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "null", "none", "#n/a", "nil", "missing", "?", "-", "--"}
)
# Share of non-missing cells that must parse for a text column to count as numeric.
NUMERIC_SHARE = 0.9

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")  # incl. NBSP, narrow NBSP, thin space, apostrophe
_CURRENCY = re.compile(r"^[$€£¥]|[$€£¥]$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+(\.\d{3})*,\d+$")
_DOT_THOUSANDS_ONLY = re.compile(r"^[+-]?\d{1,3}(\.\d{3}){2,}$")


@dataclass
class ParsedColumn:
    """Result of parsing one column as numbers."""

    values: np.ndarray  # float64, NaN where missing or invalid
    missing: np.ndarray  # bool: the cell was blank / NA
    invalid: np.ndarray  # bool: the cell held text that is not a number
    decimal: str  # "." or ","

    @property
    def numeric_share(self) -> float:
        present = (~self.missing).sum()
        return 1.0 if present == 0 else float((~self.invalid & ~self.missing).sum() / present)


def is_numeric_dtype(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def parse_numeric(s: pd.Series, decimal: str | None = None) -> ParsedColumn:
    """Parse a column as float64, telling missing cells from invalid ones.

    Parameters
    ----------
    s : pandas.Series
        Numbers, or text holding numbers.
    decimal : {".", ","} or None, default=None
        The decimal mark; ``None`` detects it from the column (a comma is taken as the decimal
        mark only when some value cannot be read otherwise, such as ``"12,5"``).
    """
    if is_numeric_dtype(s):
        if pd.api.types.is_complex_dtype(s.dtype):
            raise TypeError(f"Column {s.name!r} holds complex numbers, which are not supported.")
        values = np.array(s.to_numpy(dtype="float64", na_value=np.nan), copy=True)
        missing = np.isnan(values)
        return ParsedColumn(values, missing, np.zeros(len(s), bool), ".")
    if pd.api.types.is_bool_dtype(s.dtype):
        values = s.astype("float64").to_numpy(na_value=np.nan)
        return ParsedColumn(values, np.isnan(values), np.zeros(len(s), bool), ".")

    if s.dtype == object:
        bad = s.map(lambda v: not (v is None or isinstance(v, str | bytes | int | float | np.number)
                                   or v is pd.NA or v is pd.NaT))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise TypeError(f"argument must be a string or a number, not "
                            f"{type(s.iloc[i]).__name__!r} (row {i + 1}, column {s.name!r}).")
    text = s.astype("string").str.strip()
    missing = (text.isna() | text.str.lower().isin(MISSING_TOKENS)).to_numpy(dtype=bool)
    present = text.where(~missing)
    fast = np.array(pd.to_numeric(present, errors="coerce").astype("float64").to_numpy(),
                    copy=True)
    failed = np.isnan(fast) & ~missing
    # Literal "nan"/"inf" parse but are not customer data: treat inf as invalid.
    with np.errstate(invalid="ignore"):
        inf = np.isinf(fast)
    failed |= inf
    fast[inf] = np.nan
    if not failed.any():
        return ParsedColumn(fast, missing, failed, ".")

    cleaned = present[failed].str.replace(_SPACES, "", regex=True)
    cleaned = cleaned.str.replace(_CURRENCY, "", regex=True)
    if decimal is None:
        comma_decimal = cleaned.str.match(_COMMA_DECIMAL).fillna(False).any() and not (
            present[~failed & ~missing].str.contains(r"\.", regex=True).fillna(False).any()
        )
        decimal = "," if comma_decimal else "."
    if decimal == ",":
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        # values that parsed on the fast path were read with "." as decimal mark: redo them
        redo = pd.to_numeric(
            present.str.replace(_SPACES, "", regex=True)
            .str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
            errors="coerce",
        ).astype("float64").to_numpy()
        fast = np.where(missing, np.nan, redo)
        failed = np.isnan(fast) & ~missing
        values = fast
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
        values = fast.copy()
        values[failed] = pd.to_numeric(cleaned, errors="coerce").astype("float64").to_numpy()
    values = np.array(values, copy=True)
    with np.errstate(invalid="ignore"):
        bad = (np.isnan(values) | np.isinf(values)) & ~missing
    values[bad] = np.nan
    return ParsedColumn(values, missing, bad, decimal)


def looks_numeric(s: pd.Series) -> bool:
    """True when the column is numeric, or text of which at least 90% parses as numbers."""
    if is_numeric_dtype(s):
        return True
    if pd.api.types.is_bool_dtype(s.dtype):
        return False
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return False
    parsed = parse_numeric(s)
    if (~parsed.missing).sum() == 0:
        return False
    return parsed.numeric_share >= NUMERIC_SHARE
