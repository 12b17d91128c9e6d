"""Turn parsed columns into pandas with predictable dtypes.

Text is pandas' ``string`` dtype with ``pd.NA`` for missing (the same on pandas 2 and 3);
integers that have missing values become nullable ``Int64`` rather than floats, so large IDs keep
every digit; a column that mixes text and numbers (Excel, JSON, SQLite allow it) becomes text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

STRING = pd.StringDtype()


def blank_to_na(s: pd.Series) -> pd.Series:
    """``s`` (``string`` dtype) with empty and whitespace-only cells set to missing."""
    blank = (s.str.strip() == "").fillna(False).to_numpy(dtype=bool)
    if blank.any():
        s = s.mask(blank)
    return s


def blank_to_null(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Arrow text with empty and whitespace-only cells set to null (one vectorised pass)."""
    blank = pc.or_(pc.utf8_is_space(arr), pc.equal(pc.binary_length(arr), 0))
    if pc.any(blank).as_py():
        arr = pc.if_else(blank, pa.scalar(None, arr.type), arr)
    return arr


def text_frame(columns: Sequence[Sequence[str]], names: Sequence[str]) -> pd.DataFrame:
    """A frame of ``string`` columns (blank cells missing) from lists of cell texts."""
    arrays = [blank_to_null(pa.array(col, type=pa.string())) for col in columns]
    table = pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))]) if arrays else \
        pa.table({})
    frame = arrow_to_pandas(table)
    frame.columns = list(names)
    return frame


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def arrow_to_pandas(table: pa.Table, *, blank_text_to_na: bool = False) -> pd.DataFrame:
    """Convert an Arrow table column by column (duplicate names allowed)."""
    data = {}
    for i, col in enumerate(table.columns):
        t = col.type
        if _is_text(t):
            if blank_text_to_na:
                col = blank_to_null(col)
            s = col.to_pandas(types_mapper=lambda _: STRING)
        elif pa.types.is_integer(t) and col.null_count:
            s = col.to_pandas(types_mapper=lambda _: pd.Int64Dtype())
        elif pa.types.is_dictionary(t) and _is_text(t.value_type):
            s = col.cast(t.value_type).to_pandas(types_mapper=lambda _: STRING)
        else:
            s = col.to_pandas()
        data[i] = pd.Series(s).reset_index(drop=True)
    frame = pd.DataFrame(data, index=pd.RangeIndex(table.num_rows))
    frame.columns = list(table.column_names)
    return frame


def normalize_objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Give ``object`` columns a real dtype: text, integers, floats, booleans or datetimes.

    Columns holding dicts or lists (nested JSON) stay ``object``; text mixed with numbers
    becomes text (``str`` of each value) so nothing is coerced to missing.
    """
    out = {}
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if s.dtype == object:
            s = _normalize(s)
        out[i] = s
    result = pd.DataFrame(out, index=frame.index)
    result.columns = frame.columns
    return result


def _normalize(s: pd.Series) -> pd.Series:
    kind = pd.api.types.infer_dtype(s, skipna=True)
    missing = s.isna().to_numpy()
    if kind in {"string", "empty"}:
        return blank_to_na(s.astype(STRING))
    if kind == "integer":
        return s.astype("Int64") if missing.any() else s.astype(np.int64)
    if kind in {"floating", "mixed-integer-float"}:
        return s.astype(np.float64)
    if kind == "boolean":
        return s.astype("boolean")
    if kind in {"datetime", "datetime64", "date"}:
        try:
            return pd.to_datetime(s)
        except (TypeError, ValueError):
            return s
    if kind in {"mixed", "mixed-integer"}:
        if s.map(lambda v: isinstance(v, dict | list)).any():
            return s
        text = s.map(lambda v: None if v is None or v is pd.NA or (
            isinstance(v, float) and np.isnan(v)) else str(v))
        return blank_to_na(text.astype(STRING))
    return s


def infer_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns whose every non-missing cell is a number into numbers.

    Integers become ``int64`` (``Int64`` when some are missing), others ``float64``. Used when
    ``columns_as_text=False``; zero padding is lost, as asked.
    """
    out = frame.copy()
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if not isinstance(s.dtype, pd.StringDtype):
            continue
        present = s.notna().to_numpy()
        if not present.any():
            continue
        stripped = s.str.strip()
        as_int = pd.to_numeric(stripped.where(stripped.str.fullmatch(r"[+-]?\d{1,18}")),
                               errors="coerce")
        if as_int.notna().to_numpy().sum() == present.sum():
            out.isetitem(i, as_int.astype("Int64") if not present.all() else
                         as_int.astype(np.int64))
            continue
        number = pd.to_numeric(stripped, errors="coerce").astype("Float64")
        if number.notna().to_numpy().sum() == present.sum():
            out.isetitem(i, number.astype(np.float64))
    return out
