"""Readers for the formats that carry their own types: Parquet, Excel, JSON, SQLite, DuckDB."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._exceptions import InputFileError, InvalidParameterError
from ._convert import arrow_to_pandas, normalize_objects
from ._duck import connect
from ._sniff import bom_encoding
from ._text import RAW_LIMIT, open_binary

_BLOCK = 4 << 20


@dataclass
class FormatRead:
    frame: pd.DataFrame
    line_numbers: np.ndarray
    rejects: list[tuple[int, str, str, str]] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_BLOCK):
            digest.update(chunk)
    return digest.hexdigest()


def files_sha256(files: Sequence[Path], root: Path | None) -> str:
    """One digest for several files: over ``relative path NUL sha256 LF`` of each, in order."""
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(root).as_posix() if root is not None else path.as_posix()
        digest.update(f"{name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def _rows(n: int) -> np.ndarray:
    return np.arange(1, n + 1, dtype=np.int64)


# ------------------------------------------------------------------------------------ Parquet


def read_parquet(files: Sequence[Path], display: str) -> FormatRead:
    """Read one or more Parquet files (in the given order) with DuckDB.

    Files with different columns are combined by name; ``key=value`` folders become columns
    (Hive partitioning).
    """
    import duckdb

    con = connect()
    try:
        table = con.sql("SELECT * FROM read_parquet($files, union_by_name=true)",
                        params={"files": [str(f) for f in files]}).to_arrow_table()
    except duckdb.Error as exc:
        raise InputFileError(
            f"{display} cannot be read as Parquet ({str(exc).splitlines()[0]}). Check that it "
            "is a complete Parquet file (not still being written)."
        ) from exc
    finally:
        con.close()
    if table.num_rows == 0:
        raise InputFileError(f"{display} has columns but no data rows.")
    frame = arrow_to_pandas(table)
    return FormatRead(frame, _rows(len(frame)))


# -------------------------------------------------------------------------------------- Excel


def _pick_sheet(workbook, sheet: str | int | None, path: Path):
    names = workbook.sheetnames
    if sheet is None:
        return workbook.worksheets[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if 0 <= sheet < len(names):
            return workbook.worksheets[sheet]
        raise InputFileError(
            f"{path} has {len(names)} sheet(s); sheet={sheet} is out of range (sheets are "
            f"numbered from 0). Sheets: {', '.join(map(repr, names))}."
        )
    if sheet in names:
        return workbook[sheet]
    lowered = {n.lower(): n for n in names}
    if str(sheet).lower() in lowered:
        return workbook[lowered[str(sheet).lower()]]
    close = difflib.get_close_matches(str(sheet), names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InputFileError(
        f"Sheet {sheet!r} not found in {path}.{hint} Sheets: {', '.join(map(repr, names))}."
    )


def read_excel(path: Path, sheet: str | int | None) -> FormatRead:
    """Read one sheet; the header is its first non-empty row, row numbers are the sheet's."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors for damaged files
        raise InputFileError(
            f"{path} cannot be opened as an Excel workbook ({type(exc).__name__}: {exc}). "
            "Save it again from Excel as .xlsx, or export the sheet as CSV."
        ) from exc
    try:
        ws = _pick_sheet(workbook, sheet, path)
        ws.reset_dimensions()  # some writers store wrong sheet dimensions
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
        title = ws.title
    finally:
        workbook.close()

    def width(row: tuple) -> int:
        n = len(row)
        while n and (row[n - 1] is None or (isinstance(row[n - 1], str)
                                            and not row[n - 1].strip())):
            n -= 1
        return n

    widths = [width(r) for r in rows]
    header = next((i for i, w in enumerate(widths) if w), None)
    if header is None:
        raise InputFileError(f"{path} (sheet {title!r}) is empty.")
    data = [i for i in range(header + 1, len(rows)) if widths[i]]
    if not data:
        raise InputFileError(f"{path} (sheet {title!r}) has a header but no data rows.")
    ncols = max(widths[header], *(widths[i] for i in data))
    names = ["" if v is None else str(v) for v in rows[header][:ncols]]
    names += [""] * (ncols - len(names))
    columns = [[None] * len(data) for _ in range(ncols)]
    for j, i in enumerate(data):
        for c, value in enumerate(rows[i][:ncols]):
            columns[c][j] = value
    # A column with neither a name nor a value is sheet layout (data starting in column B).
    used = [c for c in range(ncols) if names[c].strip() or any(v is not None for v in columns[c])]
    frame = pd.DataFrame({c: pd.Series(columns[c], dtype=object) for c in used})
    frame.columns = [names[c] for c in used]
    frame = normalize_objects(frame)
    blank = header + (len(rows) - header - 1 - len(data))
    return FormatRead(frame, np.array(data, dtype=np.int64) + 1, [],
                      {"sheet": title, "blank_lines": blank, "header_line": header + 1})


# --------------------------------------------------------------------------------------- JSON


def _decode_json_bytes(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode JSON text: UTF-8 (or the encoding its byte-order mark names) unless told."""
    enc = encoding if encoding is not None else (bom_encoding(data[:4])[0] or "utf-8")
    try:
        return data.decode(enc), enc
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path} cannot be decoded as {enc} (byte {exc.start}). JSON is normally UTF-8; "
            "pass the file's encoding, e.g. encoding='cp1252'."
        ) from exc


def read_json(path: Path, gz: bool, encoding: str | None) -> FormatRead:
    """Read JSON lines (one object per line) or a JSON array of objects.

    A line that is not valid JSON, or not an object, is rejected with its line number.
    """
    with open_binary(path, gz) as f:
        data = f.read()
    if not data.strip():
        raise InputFileError(f"{path} is empty.")
    text, used = _decode_json_bytes(path, data, encoding)
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith("["):
        return _read_json_array(path, text, used)
    lines = text.split("\n")
    keep = [i for i, line in enumerate(lines) if line.strip()]
    blank = len(lines) - len(keep) - (1 if lines[-1] == "" else 0)  # "" after the last newline
    records: list = []
    try:  # one C call when the file is clean
        records = json.loads("[" + ",".join(lines[i] for i in keep) + "]")
        clean = len(records) == len(keep) and all(isinstance(r, dict) for r in records)
    except (json.JSONDecodeError, RecursionError):
        clean = False
    rejects: list[tuple[int, str, str, str]] = []
    kept_lines = keep
    if not clean:
        records, kept_lines = [], []
        for i in keep:
            raw = lines[i].rstrip("\r")
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, RecursionError) as exc:
                rejects.append((i + 1, "bad_json", f"line {i + 1}: {exc.msg} (column "
                                f"{getattr(exc, 'colno', '?')})", raw[:RAW_LIMIT]))
                continue
            if not isinstance(obj, dict):
                rejects.append((i + 1, "not_an_object",
                                f"line {i + 1} holds a JSON {type(obj).__name__}, not an object",
                                raw[:RAW_LIMIT]))
                continue
            records.append(obj)
            kept_lines.append(i)
    frame = _records_frame(records)
    if frame.shape[1] == 0 and not rejects:
        raise InputFileError(f"{path} holds no JSON objects with fields.")
    return FormatRead(frame, np.array(kept_lines, dtype=np.int64) + 1, rejects,
                      {"encoding": used, "blank_lines": blank, "json_layout": "lines"})


def _read_json_array(path: Path, text: str, used: str) -> FormatRead:
    try:
        items = json.loads(text)
    except RecursionError as exc:
        raise InputFileError(f"{path} is nested too deeply to be an array of JSON objects."
                             ) from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    if not isinstance(items, list):
        raise InputFileError(
            f"{path} holds a JSON {type(items).__name__}; expected one object per line (JSON "
            "lines) or an array of objects."
        )
    records, numbers, rejects = [], [], []
    for i, item in enumerate(items, start=1):
        if isinstance(item, dict):
            records.append(item)
            numbers.append(i)
        else:
            rejects.append((i, "not_an_object", f"element {i} of the array is a JSON "
                            f"{type(item).__name__}, not an object",
                            json.dumps(item)[:RAW_LIMIT]))
    if not records and not rejects:
        raise InputFileError(f"{path} holds an empty JSON array.")
    return FormatRead(_records_frame(records), np.array(numbers, dtype=np.int64), rejects,
                      {"encoding": used, "blank_lines": 0, "json_layout": "array"})


def _records_frame(records: list[dict]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame(index=pd.RangeIndex(0))
    # object dtype keeps Python ints exact; normalize_objects then picks each column's type.
    frame = pd.DataFrame(records, dtype=object)
    return normalize_objects(frame.reset_index(drop=True))


# ------------------------------------------------------------------------------ SQL databases

_SQL_START = re.compile(r"^\s*(select|with|values)\b", re.IGNORECASE)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _statement(path: Path, tables: list[str], query: str | None) -> str:
    if query is None:
        if len(tables) == 1:
            return f"SELECT * FROM {_quote_ident(tables[0])}"
        listing = ", ".join(map(repr, tables)) or "none"
        raise InputFileError(
            f"{path} holds {len(tables)} tables; say which one to read with query='TABLE' (or "
            f"a SELECT statement). Tables: {listing}."
        )
    if query in tables:
        return f"SELECT * FROM {_quote_ident(query)}"
    lowered = {t.lower(): t for t in tables}
    if query.lower() in lowered:
        return f"SELECT * FROM {_quote_ident(lowered[query.lower()])}"
    if _SQL_START.match(query):
        return query
    close = difflib.get_close_matches(query, tables, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InputFileError(
        f"Table {query!r} not found in {path}.{hint} Tables: {', '.join(map(repr, tables))}. "
        "query= takes a table name or a SELECT statement."
    )


def read_sqlite(path: Path, query: str | None) -> FormatRead:
    """Read a table or the result of a SELECT from a SQLite database, opened read-only."""
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise InputFileError(f"{path} cannot be opened as a SQLite database ({exc}).") from exc
    try:
        con.execute("PRAGMA query_only = ON")
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        sql = _statement(path, tables, query)
        try:
            cursor = con.execute(sql)
        except sqlite3.Error as exc:
            raise InputFileError(f"The query failed on {path}: {exc}. Query: {sql}") from exc
        names = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    except sqlite3.DatabaseError as exc:
        raise InputFileError(f"{path} is not a readable SQLite database ({exc}).") from exc
    finally:
        con.close()
    return _sql_result(path, names, rows, sql)


def read_duckdb(path: Path, query: str | None) -> FormatRead:
    """Read a table or the result of a SELECT from a DuckDB database file, opened read-only."""
    import duckdb

    try:
        con = connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InputFileError(f"{path} cannot be opened as a DuckDB database ({exc}).") from exc
    try:
        tables = [r[0] for r in con.sql(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()]
        sql = _statement(path, tables, query)
        try:
            table = con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise InputFileError(f"The query failed on {path}: {exc}. Query: {sql}") from exc
    finally:
        con.close()
    if table.num_rows == 0:
        raise InputFileError(f"The query on {path} returned columns but no data rows: {sql}")
    frame = arrow_to_pandas(table)
    return FormatRead(frame, _rows(len(frame)), [], {"query": sql})


def _sql_result(path: Path, names: list[str], rows: list[tuple], sql: str) -> FormatRead:
    if not names:
        raise InputFileError(f"The query on {path} returned no columns: {sql}")
    if not rows:
        raise InputFileError(f"The query on {path} returned columns but no data rows: {sql}")
    columns = list(zip(*rows, strict=True))
    frame = pd.DataFrame({i: pd.Series(col, dtype=object) for i, col in enumerate(columns)})
    frame.columns = names
    return FormatRead(normalize_objects(frame), _rows(len(frame)), [], {"query": sql})


def check_query(query: object) -> None:
    if query is not None and not isinstance(query, str):
        raise InvalidParameterError(
            "The 'query' parameter of read_table must be a str (a table name or a SELECT "
            f"statement) or None. Got {query!r} instead."
        )

