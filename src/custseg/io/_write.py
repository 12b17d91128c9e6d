"""Write outputs atomically, and CSV files that spreadsheets cannot turn into formulas."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import os
import secrets
import stat
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError

#: First characters that make a spreadsheet read a cell as a formula or command (OWASP
#: "CSV Injection"): ``=``, ``+``, ``-``, ``@``, tab and carriage return.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Test-only hook (tests/reliability/test_atomic_writes.py): when this variable is set, every
#: atomic write sleeps that many seconds after its temporary file is complete and before the
#: rename, so that a test can ``kill -9`` the process in the middle of writing outputs.
_TEST_DELAY_ENV = "CUSTSEG_TEST_WRITE_DELAY"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: Literal["w", "wb"] = "w", *,
                 encoding: str = "utf-8", newline: str | None = "") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` and move it onto ``path`` only on success.

    The temporary file is flushed and fsynced, then renamed over ``path`` with
    :func:`os.replace` (atomic on POSIX and Windows), and the folder is fsynced. If the block
    raises, the temporary file is removed and ``path`` is left as it was: readers see the old
    file or the complete new one, never a partial one. Missing parent folders are created.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    mode : {"w", "wb"}, default="w"
        Text or binary.
    encoding : str, default="utf-8"
        Text mode only.
    newline : str or None, default=""
        Text mode only; ``""`` writes line ends exactly as given (no ``\\r\\n`` on Windows).

    Yields
    ------
    file object

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> with atomic_write(target) as f:
    ...     _ = f.write("done\\n")
    >>> target.read_text()
    'done\\n'
    """
    if mode not in ("w", "wb"):
        raise InvalidParameterError(
            f"The 'mode' parameter of atomic_write must be 'w' or 'wb'. Got {mode!r} instead."
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never reuse someone else's file; 0o666 lets the umask decide, as open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if target.exists():  # keep the permissions of the file being replaced
            with contextlib.suppress(OSError):
                os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        f = (os.fdopen(fd, "wb") if mode == "wb"
             else os.fdopen(fd, "w", encoding=encoding, newline=newline))
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            if _TEST_DELAY_ENV in os.environ:  # test hook, see _TEST_DELAY_ENV
                time.sleep(float(os.environ[_TEST_DELAY_ENV]))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); Windows cannot open folders, and needs no such step."""
    if os.name != "posix":  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------------------ CSV


def _guard_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _is_text_column(s: pd.Series) -> bool:
    return (isinstance(s.dtype, pd.StringDtype) or s.dtype == object
            or isinstance(s.dtype, pd.CategoricalDtype))


def guard_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot start a formula.

    Text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'`` (OWASP's advice against CSV injection). Only text is changed: numeric
    columns, and numbers inside ``object`` columns, stay as they are, so ``-5`` is written
    as ``-5``. Text that merely looks like a number, such as ``"-12.5"`` in a text column, is
    prefixed too: telling a harmless negative number from ``-2+3+cmd|' /C calc'!A0`` is
    exactly the kind of parsing that attacks exploit, so text is never trusted.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        A new frame with the same index; categorical columns become ``object``.

    Examples
    --------
    >>> import pandas as pd
    >>> guard_formulas(pd.DataFrame({"id": ["=1+1", "0002"], "n": [-5, 3]}))["id"].tolist()
    ["'=1+1", '0002']
    """
    out = {}
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if isinstance(s.dtype, pd.StringDtype):
            hit = s.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
            if hit.any():
                s = s.copy()
                s[hit] = "'" + s[hit]
        elif s.dtype == object:
            s = s.map(_guard_text, na_action="ignore")
        out[i] = s
    guarded = pd.DataFrame(out, index=frame.index)
    guarded.columns = [_guard_text(str(c)) for c in frame.columns]
    return guarded


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Named index levels become columns; an unnamed index is not written."""
    if any(name is not None for name in frame.index.names):
        return frame.reset_index()
    return frame


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], *, guard: bool = True) -> None:
    """Write ``frame`` as UTF-8 CSV, atomically, safe to open in a spreadsheet.

    Lines end with ``\n``; a field holding a comma, a quote, ``\n`` or ``\r`` is quoted.
    (Only for a column type left to pandas' writer — mixed objects, categories, dates with a
    time zone — in a table where some text holds ``\r``, lines end with ``\r\n``: the csv
    module of Python < 3.12 quotes ``\r`` only when it is part of the line end.)

    Parameters
    ----------
    frame : pandas.DataFrame
        The table. A named index is written as columns; an unnamed one is left out. Missing
        values are written as empty cells.
    path : str or path-like
        Where to write; replaced atomically.
    guard : bool, default=True
        Neutralise text that a spreadsheet would run as a formula (see
        :func:`guard_formulas`). Turn off only for files no person will open in a spreadsheet.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "segments.csv"
    >>> write_csv(pd.DataFrame({"id": ["=1+1", "0002"], "delta": [-5, 3]}), target)
    >>> print(target.read_text(), end="")
    id,delta
    '=1+1,-5
    0002,3
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError(
            f"write_csv expects a pandas DataFrame. Got {type(frame).__name__} instead."
        )
    frame = _flat(frame)
    # Small tables too take the Arrow path when some text holds "\r": it quotes the field and
    # keeps "\n" line ends, as it does for large tables, where pandas' would switch to "\r\n".
    carriage_return = None if len(frame) >= _ARROW_MIN_ROWS else _has_carriage_return(frame)
    if carriage_return is not False and _write_arrow_csv(frame, path, guard):
        return
    if carriage_return is None:
        carriage_return = _has_carriage_return(frame)
    if guard:
        frame = guard_formulas(frame)  # (it only prepends "'": no "\r" comes or goes)
    # Python < 3.12's csv writer quotes a field holding "\r" only when "\r" is part of the line
    # terminator; unquoted, it would split the row for every reader.
    eol = "\r\n" if carriage_return else "\n"
    with atomic_write(path, "w") as f:
        frame.to_csv(f, index=False, lineterminator=eol)


# Frames from this many rows are written by the Arrow path (pandas' writer formats each cell in
# Python: 6 s for a million segmented customers, against 0.5 s).
_ARROW_MIN_ROWS = 10_000
# Rows the Arrow path formats at a time (two blocks at once): their text buffers stay ~30 MB
# whatever the table's size.
_CSV_BLOCK_ROWS = 1 << 17
# A field holding one of these is quoted (the csv module's minimal quoting).
_QUOTE_CHARS = ',"\n\r'
_NEEDS_QUOTES = "[" + _QUOTE_CHARS + "]"  # (literal characters in a class)
# The formula prefixes are single ASCII characters, so the Arrow path reads a string's first
# byte (``encode`` fails, at import, on a prefix that is not ASCII).
_FORMULA_BYTES = np.frombuffer("".join(FORMULA_PREFIXES).encode("ascii"), np.uint8)


def _csv_field(text: str) -> str:
    """One field as the csv module writes it (minimal quoting)."""
    if any(ch in text for ch in _QUOTE_CHARS):
        return '"' + text.replace('"', '""') + '"'
    return text


def _arrow_text_column(s: pd.Series, guard: bool, date_only: bool = False) -> Any:
    """The CSV text of one column as an Arrow string array (nulls as empty fields), or None
    for a column type this path does not format like pandas (categories, mixed objects, dates
    with sub-second parts or a time zone). ``date_only``: for dates, whether the *whole*
    column is midnights (:func:`_midnights`; ``s`` may be a block of it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_bool_dtype(s.dtype):
        if s.isna().any():
            return None
        return pa.array(np.where(s.to_numpy(dtype=bool), "True", "False"))
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype):
        if pd.api.types.is_float_dtype(s.dtype):
            return _float_text(s.to_numpy(dtype=np.float64, na_value=np.nan))
        return pc.fill_null(pc.cast(pa.array(s.to_numpy(dtype=object, na_value=None)
                                             if s.hasnans else s.to_numpy()), pa.string()), "")
    if isinstance(s.dtype, np.dtype) and s.dtype.kind == "M":
        return _datetime_text(s.to_numpy(), date_only)
    if isinstance(s.dtype, pd.StringDtype):
        text = pa.array(s.astype("string[pyarrow]").array)
    elif s.dtype == object:
        values = s.to_numpy()
        # (all present values are str: infer_dtype's test, in C, of what pd.isna leaves)
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            return _object_number_text(s, guard)
        text = pa.array(np.where(~pd.isna(values), values, None), type=pa.string())
    else:
        return None
    text = pc.cast(text, pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if len(text) >= _DISTINCT_MIN_ROWS and (
            _contains_any_byte(text, _QUOTE_CHARS.encode())
            or (guard and pc.any(_formula_hits(text)).as_py())):
        # A column of few distinct texts (a reason, a segment's name, a country) that needs
        # quotes or guards: each distinct text is guarded and quoted once, then taken for
        # every row (the usual column needs neither, and is left as it is).
        encoded = pc.dictionary_encode(text)
        if len(encoded.dictionary) * 4 <= len(text):
            return pc.fill_null(pc.take(_guarded_fields(encoded.dictionary, guard),
                                        encoded.indices), "")
    return pc.fill_null(_guarded_fields(text, guard), "")


#: From this many rows, a text column is dictionary-encoded first (see _arrow_text_column).
_DISTINCT_MIN_ROWS = 4096


def _guarded_fields(text: Any, guard: bool) -> Any:
    """Arrow strings as CSV fields: formula-guarded (``guard``), then quoted where needed
    (nulls stay null)."""
    import pyarrow.compute as pc

    if guard:
        hit = _formula_hits(text)
        if pc.any(hit).as_py():
            text = pc.if_else(hit, pc.binary_join_element_wise("'", text, ""), text)
    if _contains_any_byte(text, _QUOTE_CHARS.encode()):
        quote = pc.fill_null(pc.match_substring_regex(text, _NEEDS_QUOTES), False)
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(quote, quoted, text)
    return text


def _object_number_text(s: pd.Series, guard: bool) -> Any:
    """An ``object`` column of whole numbers among missing values (e.g. an integer column
    concatenated with a table that lacks it, as in ``rejects.csv``), or None.

    Such a column goes through :func:`guard_formulas` as pandas' writer would (numbers are
    left alone, but its ``map`` turns numbers among ``None`` into floats: ``0.0``), then the
    numbers are written as pandas writes them: ``str(v)``, and floats by :func:`_float_text`.
    """
    import pyarrow as pa

    if guard:
        s = s.map(_guard_text, na_action="ignore")
    if pd.api.types.is_float_dtype(s.dtype):
        return _float_text(s.to_numpy(dtype=np.float64, na_value=np.nan))
    if s.dtype != object:
        return None
    values = s.to_numpy()
    present = ~pd.isna(values)
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)
               for v in values[present]):
        return None
    text = np.full(len(values), "", dtype=object)
    text[present] = [str(v) for v in values[present]]
    return pa.array(text, type=pa.string())


def _string_buffers(text: Any) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (``len(text) + 1``) and bytes of an Arrow (large) string array, as numpy
    views."""
    import pyarrow as pa

    bufs = text.buffers()
    wide = pa.types.is_large_string(text.type) or pa.types.is_large_binary(text.type)
    offsets = np.frombuffer(bufs[1], dtype=np.int64 if wide else np.int32)[
        text.offset:text.offset + len(text) + 1]
    data = (np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None
            else np.zeros(0, dtype=np.uint8))
    return offsets, data


def _formula_hits(text: Any) -> Any:
    """Which strings begin with one of :data:`FORMULA_PREFIXES` (nulls: False), read from the
    first byte of each string."""
    import pyarrow as pa

    offsets, data = _string_buffers(text)
    starts, lengths = offsets[:-1], np.diff(offsets)
    first = data[np.where(lengths > 0, starts, 0)] if data.size else np.zeros(len(starts),
                                                                             np.uint8)
    hit = (lengths > 0) & np.isin(first, _FORMULA_BYTES)
    if text.null_count:
        hit &= text.is_valid().to_numpy(zero_copy_only=False)
    return pa.array(hit, type=pa.bool_())


def _contains_any_byte(text: Any, chars: bytes) -> bool:
    """Whether some string of ``text`` holds one of the (ASCII) bytes ``chars``; a cheap test
    that lets the quoting step be skipped for the usual column that needs none."""
    offsets, data = _string_buffers(text)
    body = data[offsets[0]:offsets[-1]].tobytes()
    return any(bytes([c]) in body for c in chars)  # (memchr, faster than numpy here)


def _datetime_text(v: np.ndarray, date_only: bool) -> Any:
    """Naive datetimes as pandas writes them: ``2010-12-01`` when every value of the column is
    a midnight (``date_only``, from :func:`_midnights`: ``v`` may be a block of the column),
    else ``2010-12-01 08:00:00``; NaT as null. None (left to pandas) for values with a
    fraction of a second or outside the years 1000–9999, where the formats take more care."""
    import pyarrow as pa
    import pyarrow.compute as pc

    nat = np.isnat(v)
    if nat.all():
        return pa.array(np.full(len(v), "", dtype=object), type=pa.string())
    seconds = v.astype("datetime64[s]")
    days = v.astype("datetime64[D]")
    ok = ~nat
    if (seconds[ok] != v[ok]).any():
        return None
    years = days[ok].astype("datetime64[Y]").astype(np.int64) + 1970
    if years.min() < 1000 or years.max() > 9999:
        return None
    # Arrow's cast writes "2010-12-01" and "2010-12-01 08:00:00" (NaT: null), as pandas does
    # (numpy's datetime_as_string took ten times longer)
    text = pc.cast(pa.array(days if date_only else seconds), pa.string())
    return pc.fill_null(text, "")


def _float_text(v: np.ndarray) -> Any:
    """Floats as pandas writes them (``repr``: ``"60.0"``, ``"1e-05"``), NaN as null.

    Arrow's cast gives the same shortest round-trip digits but writes ``"60"`` and chooses
    exponent notation differently; integral values get ``".0"``, and the few values where the
    notations differ are formatted by ``repr`` itself.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(pa.array(v, from_pandas=True), pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    with np.errstate(invalid="ignore"):
        tiny = (v != 0) & (np.abs(v) < 1e-4)
    offsets, data = _string_buffers(text)
    exp = np.zeros(len(v), dtype=bool)
    at = np.flatnonzero(data[offsets[0]:offsets[-1]] == ord("e")) + offsets[0]
    exp[np.searchsorted(offsets, at, side="right") - 1] = True
    exp &= ~np.isnan(v)  # (NaN is null: no text)
    odd = np.flatnonzero(tiny | exp)
    if odd.size > max(1000, len(v) // 10):
        return None
    # Arrow writes a whole number without a fraction ("60", "-0"): those (exponent forms
    # aside, which repr rewrites below) get pandas' ".0"
    with np.errstate(invalid="ignore"):
        plain = np.isfinite(v) & (v == np.trunc(v)) & ~exp
    if plain.any():
        text = pc.if_else(pa.array(plain), pc.binary_join_element_wise(text, ".0", ""), text)
    if odd.size:
        strings = np.array(text.to_pylist(), dtype=object)
        strings[odd] = [repr(float(x)) for x in v[odd]]
        text = pa.array(strings, type=pa.string())
    return pc.fill_null(text, "")


def _midnights(frame: pd.DataFrame) -> dict[int, bool]:
    """For each naive datetime column (by position): whether all its values are midnights."""
    out = {}
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind == "M":
            v = s.to_numpy()
            v = v[~np.isnat(v)]
            out[i] = bool((v.astype("datetime64[D]") == v).all())
    return out


def _write_arrow_csv(frame: pd.DataFrame, path: str | os.PathLike[str], guard: bool) -> bool:
    """Write ``frame`` through the Arrow path, a block of :data:`_CSV_BLOCK_ROWS` rows at a
    time, atomically; False, with nothing written, when a column needs pandas' writer."""
    if frame.shape[1] == 0:
        return False
    header = ",".join(_csv_field(_guard_text(str(c)) if guard else str(c))
                      for c in frame.columns)
    date_only = _midnights(frame)
    blocks = [frame.iloc[start:start + _CSV_BLOCK_ROWS]
              for start in range(0, len(frame), _CSV_BLOCK_ROWS)]
    # Two blocks formatted at once when there are two (Arrow's casts and joins release the
    # GIL: a million segmented customers, best of 3 in one process, 0.73 s -> 0.57 s), written
    # in order; at most ``workers`` formatted blocks wait, so memory stays that of two blocks.
    workers = 2 if len(blocks) > 1 and (os.cpu_count() or 1) > 1 else 1
    try:
        with atomic_write(path, "wb") as f, \
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="custseg-csv") as pool:
            f.write((header + "\n").encode("utf-8"))
            pending: deque[Any] = deque()
            for i, block in enumerate(blocks):
                pending.append(pool.submit(_arrow_csv_lines, block, guard, date_only))
                while pending and (len(pending) == workers or i == len(blocks) - 1):
                    chunks = pending.popleft().result()
                    if chunks is None:
                        raise _LeftToPandas
                    for chunk in chunks:  # (views of Arrow's buffers, or numba's bytes)
                        f.write(chunk)
    except _LeftToPandas:  # (atomic_write removed its temporary file)
        return False
    return True


class _LeftToPandas(Exception):
    """A block holds a column that the Arrow path leaves to pandas' writer."""


def _arrow_csv_lines(frame: pd.DataFrame, guard: bool,
                     date_only: dict[int, bool] | None = None) -> list[Any] | None:
    """The rows of ``frame`` as CSV text, in byte buffers to write one after the other,
    built column-wise with Arrow compute; None when a column needs pandas' own formatting.
    ``date_only``: :func:`_midnights` of the whole table when ``frame`` is a block of it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if frame.shape[1] == 0:
        return None
    if date_only is None:
        date_only = _midnights(frame)
    cols = []
    for i in range(frame.shape[1]):
        col = _arrow_text_column(frame.iloc[:, i], guard, date_only.get(i, False))
        if col is None:
            return None
        cols.append(col)
    if len(cols) == 1:  # a row of one empty field is written '""' (the csv module's way):
        # a blank line would be skipped by readers, and the row lost
        cols[0] = pc.if_else(pc.equal(pc.binary_length(cols[0]), 0), '""', cols[0])
    cols = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in cols]
    if "numba" in sys.modules and len(frame) >= _JOIN_MIN_ROWS:
        return [_joined_rows(cols)]
    cols[-1] = pc.binary_join_element_wise(cols[-1], "", "\n")  # the last field + "\n"
    lines = pc.binary_join_element_wise(*cols, ",") if len(cols) > 1 else cols[0]
    return [_text_bytes(chunk) for chunk in
            (lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines])]


#: From this many rows a block's rows are joined by numba (see _csv_rows), when it is loaded.
_JOIN_MIN_ROWS = 1024


def _joined_rows(cols: list[Any]) -> np.ndarray:
    """The CSV text of rows whose fields are the Arrow strings ``cols``, as one byte array
    (:func:`custseg.io._csv_rows.join_rows`: the same bytes as Arrow's joins)."""
    from ._csv_rows import join_rows

    offsets = np.empty((len(cols), len(cols[0]) + 1), np.int64)
    texts = []
    start = 0
    for j, col in enumerate(cols):
        off, data = _string_buffers(col)
        texts.append(data[off[0]:off[-1]])  # (a slice of a longer array: only its own text)
        offsets[j] = off
        offsets[j] += start - off[0]
        start += off[-1] - off[0]
    return join_rows(offsets, np.concatenate(texts))


def _text_bytes(chunk: Any) -> memoryview:
    """The bytes of an Arrow string array, as a view of its data buffer (no copy)."""
    offsets, data = _string_buffers(chunk)
    return memoryview(data[offsets[0]:offsets[-1]])


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    if any("\r" in str(c) for c in frame.columns):
        return True
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        text = isinstance(s.dtype, pd.StringDtype | pd.CategoricalDtype) or s.dtype == object
        if text and s.astype("string").str.contains("\r", regex=False).fillna(False).any():
            return True
    return False


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` as Parquet (zstd-compressed), atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table. A named index is written as columns; an unnamed one is left out.
    path : str or path-like
        Where to write; replaced atomically.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError(
            f"write_parquet expects a pandas DataFrame. Got {type(frame).__name__} instead."
        )
    write_parquet_table(parquet_table(frame), path)


def parquet_table(frame: pd.DataFrame) -> Any:
    """The Arrow table :func:`write_parquet` writes for ``frame`` (named index levels as
    columns, an unnamed index left out)."""
    import pyarrow as pa

    return pa.Table.from_pandas(_flat(frame), preserve_index=False)


def write_parquet_table(table: Any, path: str | os.PathLike[str]) -> None:
    """Write an Arrow table as Parquet (zstd-compressed), atomically.

    The second half of :func:`write_parquet`, without pandas: it can run in a worker thread
    while the caller goes on with the frame (Arrow releases the GIL while it encodes)."""
    import pyarrow.parquet as pq

    with atomic_write(path, "wb") as f:
        pq.write_table(table, f, compression="zstd")


# ----------------------------------------------------------------------------------------- JSON


def to_jsonable(obj: Any) -> Any:
    """``obj`` with NaN/NA as ``None`` and numpy, pandas, dates and paths as plain JSON types.

    Mappings keep their key order; keys become strings; a DataFrame becomes a list of records;
    sets are sorted. Infinity raises ``ValueError`` (JSON has no such number, and a silent
    ``null`` would hide a bug).

    Parameters
    ----------
    obj : object

    Returns
    -------
    object
        Made of dict, list, str, int, float, bool and None only.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"k": np.int64(3), "score": np.nan, "sizes": np.array([2, 1])})
    {'k': 3, 'score': None, 'sizes': [2, 1]}
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise ValueError(f"cannot write {value} to JSON: it has no infinity")
        return value
    if isinstance(obj, decimal.Decimal):
        return to_jsonable(float(obj))
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, pd.Series | pd.Index | np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, list | tuple | set | frozenset):
        items = sorted(obj, key=repr) if isinstance(obj, set | frozenset) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, dt.datetime | dt.date | dt.time | pd.Timestamp):
        return obj.isoformat()
    if isinstance(obj, pd.Timedelta | dt.timedelta):
        return pd.Timedelta(obj).isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"cannot write a {type(obj).__name__} to JSON: {obj!r}")


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically, keeping key order.

    NaN and missing values become ``null``; numpy and pandas values, dates and paths become
    plain JSON (see :func:`to_jsonable`). The output always parses with strict JSON readers.

    Parameters
    ----------
    obj : object
        Dicts, lists, numbers, strings, and the types :func:`to_jsonable` converts.
    path : str or path-like
        Where to write; replaced atomically.

    Raises
    ------
    TypeError
        ``obj`` holds a value JSON cannot represent; nothing is written.
    ValueError
        ``obj`` holds an infinity; nothing is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "summary.json"
    >>> write_json({"k": 3, "silhouette": float("nan")}, target)
    >>> print(target.read_text(), end="")
    {
      "k": 3,
      "silhouette": null
    }
    """
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False)
    write_text(text + "\n", path)


def write_text(text: str, path: str | os.PathLike[str], *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically, line ends exactly as given.

    Parameters
    ----------
    text : str
    path : str or path-like
        Where to write; replaced atomically.
    encoding : str, default="utf-8"
    """
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"write_text expects a str. Got {type(text).__name__} instead."
        )
    with atomic_write(path, "w", encoding=encoding) as f:
        f.write(text)
