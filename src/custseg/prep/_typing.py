"""Column typing: which columns are numbers, and parsing numbers stored as text.

Exports from spreadsheets and CRMs store numbers as text in many shapes: ``"17850.0"``,
``"1,234.50"``, ``"1 234,5"``, ``"1.234,5"``, ``"$12"``. :func:`parse_numeric` parses them
and says which cells are *missing* (blank, ``NA``…) and which are *invalid* (text that is not a
number), so a caller can impute the first and reject the second with a reason — never a silent
``NaN``.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


# Parsed text columns, by the identity of their Arrow data: column typing, constant checks, row
# accounting and fitting each parse the same column, and parsing millions of cells is the slow
# part of a run. Arrow data is immutable (pandas replaces it when a cell is set), so an entry is
# valid while its data lives, and dies with it (weakref callback).
_PARSED: dict[tuple[int, str | None], tuple[weakref.ref, ParsedColumn]] = {}


def _arrow_text(s: pd.Series) -> Any:
    """The column's immutable Arrow string data, or None when it is not Arrow-backed text."""
    if not isinstance(s.dtype, pd.StringDtype) or getattr(s.dtype, "storage", "") != "pyarrow":
        return None
    data = getattr(s.array, "_pa_array", None)  # pandas' ArrowStringArray storage
    return data if isinstance(data, pa.ChunkedArray | pa.Array) else None


def _parse_arrow_fast(chunked: Any) -> ParsedColumn | None:
    """Plain numbers only ("12", " -3.5 ", "1e3"): Arrow's correctly rounded cast, about 20×
    faster than pandas' parser. None when any present cell needs the slow path (thousands
    separators, decimal commas, currency signs, text)."""
    try:  # the usual column: every cell a plain number or null, which one cast reads as is
        direct = pc.cast(chunked, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        direct = None
    # (text "nan" is a missing token, which only the trimming path below recognises)
    if direct is not None and not pc.any(pc.is_nan(direct)).as_py():
        return _arrow_parsed(direct, pc.is_null(chunked))
    trimmed = pc.utf8_trim_whitespace(chunked)
    missing_pa = pc.or_(pc.is_null(trimmed), pc.fill_null(
        pc.is_in(pc.utf8_lower(trimmed), value_set=pa.array(sorted(MISSING_TOKENS))), False))
    try:
        values_pa = pc.cast(pc.if_else(missing_pa, pa.scalar(None, trimmed.type), trimmed),
                            pa.float64())
    except pa.ArrowInvalid:
        return None
    return _arrow_parsed(values_pa, missing_pa)


def _arrow_parsed(values_pa: Any, missing_pa: Any) -> ParsedColumn:
    """A :class:`ParsedColumn` from Arrow's float values and missing flags: "inf" and "nan"
    text that is not a missing token is invalid."""
    values = values_pa.to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
    missing = missing_pa.to_numpy(zero_copy_only=False).astype(bool, copy=False)
    with np.errstate(invalid="ignore"):
        invalid = np.isinf(values) | (np.isnan(values) & ~missing)
    values[invalid] = np.nan
    return ParsedColumn(values, missing, invalid, ".")


def parse_numeric(s: pd.Series, decimal: str | None = None) -> ParsedColumn:
    """Parse a column as float64, telling missing cells from invalid ones.

    Parameters
    ----------
    s : pandas.Series
        Numbers, or text holding numbers.
    decimal : {".", ","} or None, default=None
        The decimal mark; ``None`` detects it from the column (a comma is taken as the decimal
        mark only when some value cannot be read otherwise, such as ``"12,5"``).

    Notes
    -----
    Results for Arrow-backed text columns are cached while the column's Arrow data lives, and
    returned read-only: copy before changing them.
    """
    chunked = _arrow_text(s)
    if chunked is None:
        return _parse_numeric(s, decimal)
    key = (id(chunked), decimal)
    hit = _PARSED.get(key)
    if hit is not None and hit[0]() is chunked:
        return hit[1]
    parsed = None if decimal == "," else _parse_arrow_fast(chunked)
    if parsed is None:
        parsed = _parse_numeric(s, decimal)
    for a in (parsed.values, parsed.missing, parsed.invalid):
        a.flags.writeable = False
    try:
        ref = weakref.ref(chunked, lambda _, key=key: _PARSED.pop(key, None))
    except TypeError:  # pragma: no cover - an array type without weakref support
        return parsed
    _PARSED[key] = (ref, parsed)
    return parsed


def _parse_numeric(s: pd.Series, decimal: str | None) -> ParsedColumn:
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
