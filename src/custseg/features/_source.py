"""Open a transaction log in DuckDB: a file, a folder, a glob, or an in-memory table.

Every source becomes one relation named :data:`SOURCE` in the connection, holding the original
columns plus two helper columns:

* ``__custseg_line`` — where the row came from. For a delimited text file it is the data row
  number + 1, i.e. the line number in the file when the header is line 1 and no field spans
  several lines. For Parquet it is the 1-based row number inside its file. For an in-memory table
  it is the 1-based row position (not the pandas index label).
* ``__custseg_file`` — the file of the row (``NULL`` for in-memory tables).

Text files are parsed once, all columns as text (``all_varchar``), into a temporary table so that
the values stay exactly as written (an ID ``"0042"`` keeps its zeros) and the later passes (the
aggregation and the rejects) do not parse the file again. Parquet is scanned in place, so only
the columns a query needs are read.

The delimiter of a text file is the one :func:`custseg.io._sniff.sniff_delimiter` finds in its
first bytes (the same guess as :func:`custseg.read_table`), read with RFC 4180 quoting. A
record with more or fewer fields than the header is *malformed*: it is not read, and its file
and line go to the table :data:`MALFORMED` (``__custseg_file``, ``__custseg_line``,
``__custseg_detail``) so that the RFM step can count and return it. Fields are split on runs
of blanks only when the sniffer finds a whitespace-separated table.

A carriage return that is not part of a ``"\\r\\n"`` (a *lone* ``"\\r"``) is data in a file
whose lines end with ``"\\n"`` or ``"\\r\\n"``, as :func:`custseg.read_table` reads it, but
DuckDB's CSV reader ends a record there (the line then splits into malformed records, or the
file cannot be read at all). Such a file is searched for lone carriage returns only when DuckDB
rejected records or failed; if it holds one, a temporary copy where each stands for an unused
control character is read instead, and the values get their ``"\\r"`` back (the file names in
:data:`SOURCE` and :data:`MALFORMED` stay the user's). A ``"\\r"`` that ends the file ends its
last line. A file with no ``"\\n"`` in its first bytes has old Mac line ends (``"\\r"``): left
as it is. Zstandard files and whitespace-separated tables are not searched.
"""

from __future__ import annotations

import codecs
import contextlib
import glob
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .._exceptions import InputFileError, InvalidParameterError
from ..io._sniff import SAMPLE_BYTES, WHITESPACE, bom_encoding, sniff_delimiter
from ..io._text import open_binary

__all__ = ["LINE", "FILE", "MALFORMED", "SOURCE", "Source", "open_source", "quote_ident",
           "quote_literal"]

SOURCE = "custseg_src"
LINE = "__custseg_line"
FILE = "__custseg_file"
#: Table of the malformed records of a text source (wrong number of fields).
MALFORMED = "__custseg_malformed"
_REJECTS_TABLE = "__custseg_csv_errors"
_REJECTS_SCAN = "__custseg_csv_scans"

_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".tab", ".psv")
_COMPRESSION_SUFFIXES = (".gz", ".gzip", ".zst")

#: A carriage return that is not part of a "\r\n" (or one that ends the file).
_LONE_CR = re.compile(rb"\r(?!\n)")
#: Bytes that may stand for a lone "\r" in a temporary copy: ASCII control characters (one
#: byte in UTF-8 and latin-1) that are neither blank nor special to DuckDB's CSV reader.
_MARKS = bytes([0x1E, 0x1D, 0x1C, 0x1F, 0x1A, *range(0x19, 0x0D, -1), *range(0x08, 0x00, -1),
                0x7F])
_NOT_MARKS = bytes(b for b in range(256) if b not in _MARKS)
_CHUNK = 4 << 20


def quote_ident(name: str) -> str:
    """Quote a column name for SQL."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for SQL."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass
class Source:
    """The opened source: its original columns and their DuckDB types."""

    label: str
    kind: str  # "text", "parquet" or "table"
    files: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    malformed: int = 0  # records in :data:`MALFORMED`

    @property
    def multi_file(self) -> bool:
        return len(self.files) > 1


def _is_parquet(path: str) -> bool:
    lower = path.lower()
    if lower.endswith(_PARQUET_SUFFIXES):
        return True
    if lower.endswith(_TEXT_SUFFIXES + _COMPRESSION_SUFFIXES):
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _list_files(path: str) -> list[str]:
    if any(ch in path for ch in "*?["):
        files = sorted(f for f in glob.glob(path, recursive=True) if os.path.isfile(f))
        if not files:
            raise InputFileError(f"No file matches {path!r}.")
        return files
    if os.path.isdir(path):
        files = sorted(str(p) for p in Path(path).rglob("*")
                       if p.is_file() and p.name.lower().endswith(_PARQUET_SUFFIXES))
        if not files:
            files = sorted(str(p) for p in Path(path).rglob("*")
                           if p.is_file() and not p.name.startswith((".", "_"))
                           and p.name.lower().removesuffix(".gz").endswith(_TEXT_SUFFIXES))
        if not files:
            raise InputFileError(
                f"The folder {path!r} holds no Parquet or delimited text file "
                f"({', '.join(_PARQUET_SUFFIXES + _TEXT_SUFFIXES)})."
            )
        return files
    if not os.path.exists(path):
        raise InputFileError(f"File not found: {path!r}.")
    return [path]


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join(quote_literal(i) for i in items) + "]"


def _describe(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {relation}").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _open_parquet(con: duckdb.DuckDBPyConnection, src: Source) -> None:
    files = _sql_list(src.files)
    union = ", union_by_name=true" if src.multi_file else ""
    try:
        types = _describe(con, f"SELECT * FROM read_parquet({files}{union})")
    except duckdb.Error as exc:
        raise InputFileError(f"Cannot read {src.label} as Parquet: {exc}") from exc
    con.execute(
        f"CREATE VIEW {SOURCE} AS SELECT * EXCLUDE (file_row_number, filename), "
        f"file_row_number + 1 AS {LINE}, filename AS {FILE} "
        f"FROM read_parquet({files}, file_row_number=true, filename=true{union})"
    )
    src.types = types
    src.columns = list(types)


def _sniff_head(path: str) -> tuple[str | None, bool]:
    """custseg.io's delimiter guess from the first bytes of ``path`` (``None``: cannot look),
    and whether those bytes can be UTF-8 (without a byte-order mark naming another codec)."""
    lower = path.lower()
    if lower.endswith(".zst"):
        return None, True
    try:
        with open_binary(Path(path), gz=lower.endswith((".gz", ".gzip"))) as fh:
            head = fh.read(SAMPLE_BYTES + 1)
    except (OSError, EOFError, zlib.error):
        return None, True
    truncated = len(head) > SAMPLE_BYTES
    encoding, skip = bom_encoding(head)
    body = head[skip:SAMPLE_BYTES]
    try:
        text = body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # pragma: no cover - every BOM names a known codec
        return None, True
    utf8 = True
    if encoding is None:
        try:  # (a cut at SAMPLE_BYTES may split a character: not final then)
            codecs.getincrementaldecoder("utf-8")().decode(body, final=not truncated)
        except UnicodeDecodeError:
            utf8 = False
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return sniff_delimiter(text, truncated=truncated), utf8


#: DuckDB's read buffer for text logs. With its default (8 MiB here) a 10M-line, 966 MB CSV
#: took 7.4-7.6 s (14.6 CPU-s) to load on 2 cores, with 32 MiB 5.8 s (11.3 CPU-s); also
#: faster for 1M lines (0.78 s against 0.85-0.93) and a gzipped 541,909-line file (0.83 s
#: against 0.98). At least max_line_size (2 MB), as DuckDB requires.
CSV_BUFFER_BYTES = 32 << 20


def _read_csv_args(src: Source, encoding: str | None, delimiter: str | None) -> str:
    args = f"header=true, all_varchar=true, buffer_size={CSV_BUFFER_BYTES}"
    if delimiter is not None:
        # The dialect is known: read it strictly and keep the records that do not fit apart.
        args += (f", delim={quote_literal(delimiter)}, quote='\"', escape='\"', "
                 f"store_rejects=true, rejects_table='{_REJECTS_TABLE}', "
                 f"rejects_scan='{_REJECTS_SCAN}'")
    if encoding:
        args += f", encoding={quote_literal(encoding)}"
    if src.multi_file:
        args += ", filename=true" + ("" if delimiter is not None else ", union_by_name=true")
    return args


def _csv_scan(con: duckdb.DuckDBPyConnection, src: Source, args: str, delimiter: str | None,
              copies: dict[str, tuple[str, int]]) -> str:
    """SQL reading every file of ``src``: one scan, or one per file when the records that do
    not fit are kept apart (DuckDB keeps them only without ``union_by_name``) or when some
    files are read from their copies without lone carriage returns (``copies``)."""
    if not copies and (delimiter is None or not src.multi_file):
        return f"SELECT * FROM read_csv({_sql_list(src.files)}, {args})"
    return " UNION ALL BY NAME ".join(
        _file_scan(con, src, f, args, copies.get(f)) for f in src.files)


def _file_scan(con: duckdb.DuckDBPyConnection, src: Source, path: str, args: str,
               copy: tuple[str, int] | None) -> str:
    """SQL reading one file, or its ``copy`` (path, byte standing for each lone "\\r")."""
    if copy is None:
        return f"SELECT * FROM read_csv({quote_literal(path)}, {args})"
    copy_path, mark = copy
    scan = f"read_csv({quote_literal(copy_path)}, {args})"
    cols = []
    for name in _describe(con, f"SELECT * FROM {scan}"):
        if src.multi_file and name == "filename":
            cols.append(f"{quote_literal(path)} AS filename")  # the user's file, not the copy
        else:  # every column is text (all_varchar); the header may hold the mark too
            cols.append(f"replace({quote_ident(name)}, chr({mark}), chr(13)) AS "
                        f"{quote_ident(name.replace(chr(mark), chr(13)))}")
    return f"SELECT {', '.join(cols)} FROM {scan}"


def _drop_csv_rejects(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {_REJECTS_TABLE}")
    con.execute(f"DROP TABLE IF EXISTS {_REJECTS_SCAN}")


def _collect_malformed(con: duckdb.DuckDBPyConnection, src: Source,
                       copies: dict[str, tuple[str, int]]) -> bool:
    """Move DuckDB's rejected records to :data:`MALFORMED`; False when the encoding is wrong.

    The records of a file read from its copy (``copies``) are filed under the file itself.
    """
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [_REJECTS_TABLE]
    ).fetchall()[0][0]
    if not exists:
        con.execute(f"CREATE TEMP TABLE {MALFORMED} ({FILE} VARCHAR, {LINE} BIGINT, "
                    "__custseg_detail VARCHAR)")
        return True
    file_col = "s.file_path" if src.multi_file else quote_literal(src.files[0])
    if src.multi_file and copies:
        file_col = ("CASE s.file_path " + " ".join(
            f"WHEN {quote_literal(c)} THEN {quote_literal(f)}" for f, (c, _) in copies.items())
            + " ELSE s.file_path END")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {MALFORMED} AS
        SELECT {file_col} AS {FILE}, e.line AS {LINE},
               string_agg(DISTINCT lower(e.error_type), '; ') AS __custseg_detail
        FROM {_REJECTS_TABLE} e JOIN {_REJECTS_SCAN} s USING (scan_id, file_id)
        GROUP BY ALL
    """)
    _drop_csv_rejects(con)
    bad_encoding = con.execute(
        f"SELECT count(*) FROM {MALFORMED} WHERE __custseg_detail LIKE '%encoding%'"
    ).fetchall()[0][0]
    src.malformed = int(con.execute(f"SELECT count(*) FROM {MALFORMED}").fetchall()[0][0])
    return bad_encoding == 0


def _number_lines(con: duckdb.DuckDBPyConnection, src: Source) -> None:
    """Create :data:`SOURCE` over ``__custseg_raw`` with the line number of every record.

    A record's line is its position among the file's records + 1 (the header is line 1), as
    DuckDB numbers the rejected ones; the good records are numbered around the malformed ones.
    """
    if src.multi_file:
        position = "r.rowid - o.first_rowid"
        frm = ("__custseg_raw r JOIN (SELECT filename, min(rowid) AS first_rowid "
               "FROM __custseg_raw GROUP BY filename) o USING (filename)")
        file_expr = "r.filename"
        cols = "r.* EXCLUDE (filename)"
    else:
        position = "r.rowid"
        frm = "__custseg_raw r"
        file_expr = quote_literal(src.files[0])
        cols = "r.*"
    if not src.malformed:
        con.execute(f"CREATE TEMP VIEW {SOURCE} AS SELECT {cols}, {position} + 2 AS {LINE}, "
                    f"{file_expr} AS {FILE} FROM {frm}")
        return
    # g: how many good records come before a malformed one; a good record at position p
    # follows every malformed record with g <= p.
    con.execute(f"""
        CREATE TEMP TABLE __custseg_gaps AS
        SELECT {FILE} AS f, g, max(n) AS n FROM (
            SELECT {FILE}, {LINE} - 1 - row_number() OVER w AS g, row_number() OVER w AS n
            FROM {MALFORMED} WINDOW w AS (PARTITION BY {FILE} ORDER BY {LINE}))
        GROUP BY ALL
    """)
    con.execute(f"""
        CREATE TEMP TABLE __custseg_numbered AS
        SELECT x.* EXCLUDE (__p, __f), x.__p + 2 + coalesce(b.n, 0) AS {LINE}, x.__f AS {FILE}
        FROM (SELECT {cols}, {position} AS __p, {file_expr} AS __f FROM {frm}) x
        ASOF LEFT JOIN __custseg_gaps b ON x.__f = b.f AND x.__p >= b.g
    """)
    con.execute(f"CREATE TEMP VIEW {SOURCE} AS SELECT * FROM __custseg_numbered")


def _open_text(con: duckdb.DuckDBPyConnection, src: Source) -> None:
    delimiter, utf8_head = _sniff_head(src.files[0])
    errors: list[str] = []
    # Files read from a copy without lone carriage returns: None until they are searched for.
    copies: dict[str, tuple[str, int]] | None = None
    with contextlib.ExitStack() as cleanup:  # the copies' folder, once they are in the table
        # Bytes that are not UTF-8 in the first 256 KiB: latin-1 straight away (reading the
        # whole file as UTF-8 first would only find out at its end); later ones: read again as
        # latin-1.
        for encoding in (None, "latin-1") if utf8_head else ("latin-1",):
            if delimiter == WHITESPACE:
                try:
                    _open_whitespace(con, src, encoding)
                except duckdb.Error as exc:
                    errors.append(str(exc))
                    continue
                return
            args = _read_csv_args(src, encoding, delimiter)
            loaded = _load_text(con, src, args, delimiter, copies or {})
            if (delimiter is not None and copies is None
                    and (isinstance(loaded, duckdb.Error) or (src.malformed and loaded[1]))):
                # DuckDB failed or rejected records: a lone "\r" may be the cause. Look for
                # one only now, so that clean files are read once.
                copies = _copy_lone_crs(src, delimiter, cleanup)
                if copies:
                    _unload_text(con)
                    src.malformed = 0
                    first, loaded = loaded, _load_text(con, src, args, delimiter, copies)
                    if isinstance(loaded, duckdb.Error) and not isinstance(first, duckdb.Error):
                        # DuckDB reads the file but not its copy: read the file as before.
                        copies = {}
                        loaded = _load_text(con, src, args, delimiter, copies)
            if isinstance(loaded, duckdb.Error):
                message = str(loaded)
                for path, (copy, _) in (copies or {}).items():
                    message = message.replace(copy, path)  # name the user's file
                errors.append(message)
                continue
            if loaded is None:
                _open_whitespace(con, src, encoding)
                return
            cols, encoding_ok = loaded
            if not encoding_ok and encoding is None:
                # Bytes that are not UTF-8: read the whole file again as latin-1.
                _unload_text(con)
                src.malformed = 0
                errors.append(f"{src.label} is not UTF-8")
                continue
            src.details["encoding"] = encoding or "utf-8"
            _number_lines(con, src)
            src.columns = cols
            src.types = {c: "VARCHAR" for c in cols}
            return
    raise InputFileError(f"Cannot read {src.label} as a delimited text file: {errors[-1]}")


def _load_text(con: duckdb.DuckDBPyConnection, src: Source, args: str, delimiter: str | None,
               copies: dict[str, tuple[str, int]]) -> tuple[list[str], bool] | duckdb.Error | None:
    """Parse the files into ``__custseg_raw`` (and :data:`MALFORMED` when the delimiter is
    known): their columns and whether all bytes were of the encoding; ``None`` (nothing made)
    for a table whose fields are separated by blanks; DuckDB's error when it cannot read them.
    """
    try:
        scan = _csv_scan(con, src, args, delimiter, copies)
        types = _describe(con, scan)
        cols = [c for c in types if not (src.multi_file and c == "filename")]
        first = cols[0] if cols else ""
        if delimiter is None and len(cols) == 1 and len(first.split()) > 1:
            return None
        if delimiter is not None:
            _drop_csv_rejects(con)
        con.execute(f"CREATE TEMP TABLE __custseg_raw AS {scan}")
    except duckdb.Error as exc:
        return exc
    return cols, delimiter is None or _collect_malformed(con, src, copies)


def _unload_text(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS __custseg_raw")
    con.execute(f"DROP TABLE IF EXISTS {MALFORMED}")
    _drop_csv_rejects(con)


def _is_gz(path: str) -> bool:
    return path.lower().endswith((".gz", ".gzip"))


def _has_lone_cr(path: str) -> bool:
    """Whether ``path`` holds a carriage return that is data (or one that ends the file). No
    when its lines end with "\\r" (no "\\n" in the first bytes, as custseg.io decides), when a
    byte-order mark names UTF-16 or UTF-32, or for Zstandard, which is not searched."""
    if path.lower().endswith(".zst"):
        return False
    with open_binary(Path(path), gz=_is_gz(path)) as fh:
        chunk = fh.read(_CHUNK)
        if (bom_encoding(chunk)[0] not in (None, "utf-8-sig")
                or b"\n" not in chunk[:SAMPLE_BYTES]):
            return False
        carry = b""
        while chunk:  # a chunk's last "\r" is looked at with the next chunk
            data = carry + chunk if carry else chunk
            carry = b"\r" if data.endswith(b"\r") else b""
            if b"\r" in data and data.count(b"\r") - len(carry) != data.count(b"\r\n"):
                return True
            chunk = fh.read(_CHUNK)
    # A "\r" that ends the file ends its last line, but DuckDB cannot read it in a "\n" file.
    return bool(carry)


def _write_without_lone_cr(path: str, out: str, delimiter: str) -> int | None:
    """Copy ``path`` (decompressed) to ``out`` with a byte that the file does not hold for each
    lone carriage return, and without a "\\r" that ends the file; return that byte (``None``:
    the file holds every candidate)."""
    taken = set(delimiter.encode("utf-8", errors="replace"))
    present: set[int] = set()
    for mark in _MARKS:
        if mark in taken or mark in present:
            continue
        with open_binary(Path(path), gz=_is_gz(path)) as fh, open(out, "wb") as dst:
            carry = b""
            while chunk := fh.read(_CHUNK):
                present.update(chunk.translate(None, _NOT_MARKS))
                data = carry + chunk if carry else chunk
                carry = b"\r" if data.endswith(b"\r") else b""
                dst.write(_LONE_CR.sub(bytes([mark]), data[:len(data) - len(carry)]))
        if mark not in present:  # (else written again with a byte the file does not hold)
            return mark
    return None


def _copy_lone_crs(src: Source, delimiter: str,
                   cleanup: contextlib.ExitStack) -> dict[str, tuple[str, int]]:
    """Temporary copies of the files of ``src`` that hold a lone carriage return, by file:
    (copy, byte standing for each lone "\\r"). The folder goes when ``cleanup`` closes; the
    files themselves are never changed. A file that cannot be searched here is left to DuckDB.
    """
    copies: dict[str, tuple[str, int]] = {}
    folder = None
    for i, path in enumerate(src.files):
        try:
            if not _has_lone_cr(path):
                continue
            if folder is None:
                folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="custseg-cr-"))
            out = os.path.join(folder, f"{i}.csv")
            mark = _write_without_lone_cr(path, out, delimiter)
        except (OSError, EOFError, zlib.error):
            continue
        if mark is not None:
            copies[path] = (out, mark)
    return copies


def _open_whitespace(con: duckdb.DuckDBPyConnection, src: Source, encoding: str | None) -> None:
    """A table whose fields are separated by runs of blanks (no quoting)."""
    enc = f", encoding={quote_literal(encoding)}" if encoding else ""
    fname = ", filename=true" if src.multi_file else ""
    con.execute(
        f"CREATE TEMP TABLE __custseg_lines AS SELECT * FROM read_csv({_sql_list(src.files)}, "
        f"header=false, columns={{'l': 'VARCHAR'}}, delim='\\x1f', quote='', escape='', "
        f"auto_detect=false{enc}{fname})"
    )
    header = con.execute("SELECT l FROM __custseg_lines ORDER BY rowid LIMIT 1").fetchall()
    cols = str(header[0][0]).split() if header and header[0][0] is not None else []
    if not cols:
        raise InputFileError(f"{src.label} is empty.")
    parts = "regexp_split_to_array(trim(l), '\\s+')"
    select = ", ".join(f"p[{i + 1}] AS {quote_ident(c)}" for i, c in enumerate(cols))
    file_col = "filename" if src.multi_file else quote_literal(src.files[0])
    part_by = "PARTITION BY filename " if src.multi_file else ""
    con.execute(
        f"CREATE TEMP VIEW {SOURCE} AS SELECT {select}, n AS {LINE}, f AS {FILE} FROM ("
        f"SELECT {parts} AS p, row_number() OVER ({part_by}ORDER BY rowid) AS n, {file_col} AS f "
        f"FROM __custseg_lines) WHERE n > 1 AND len(p) > 0 AND p[1] <> ''"
    )
    src.columns = cols
    src.types = {c: "VARCHAR" for c in cols}
    src.details["delimiter"] = "whitespace"


def _to_arrow(table: Any) -> pa.Table:
    module = type(table).__module__.split(".")[0]
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    if module == "pandas":
        import pandas as pd

        if isinstance(table, pd.DataFrame):
            frame = table.copy(deep=False)
            frame.columns = [str(c) for c in frame.columns]
            try:
                return pa.Table.from_pandas(frame, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise InvalidParameterError(
                    f"Cannot convert the pandas DataFrame to Arrow for DuckDB: {exc}. Give each "
                    "column a single type (e.g. df[col].astype(str))."
                ) from exc
    if module == "polars":
        import polars as pl

        if isinstance(table, pl.LazyFrame):
            table = table.collect()
        if isinstance(table, pl.DataFrame):
            return table.to_arrow()
    raise InvalidParameterError(
        "The 'transactions' parameter of rfm must be a file path (CSV, TSV, whitespace, .gz, "
        "Parquet file, folder or glob) or a pandas, polars or pyarrow table. "
        f"Got {type(table).__name__} instead."
    )


def _open_table(con: duckdb.DuckDBPyConnection, src: Source, table: Any) -> None:
    arrow = _to_arrow(table)
    names = [str(n) for n in arrow.column_names]
    arrow = arrow.rename_columns(names)
    for helper in (LINE, FILE):
        if helper in names:
            raise InvalidParameterError(f"The column name {helper!r} is reserved by custseg.")
    line = pa.array(range(1, arrow.num_rows + 1), type=pa.int64())
    arrow = arrow.append_column(LINE, line).append_column(FILE, pa.nulls(arrow.num_rows, pa.string()))
    con.register(SOURCE, arrow)
    src.types = {k: v for k, v in _describe(con, SOURCE).items() if k not in (LINE, FILE)}
    src.columns = list(src.types)
    src.details["rows"] = arrow.num_rows


def open_source(con: duckdb.DuckDBPyConnection, transactions: Any) -> Source:
    """Make ``transactions`` available as :data:`SOURCE` in ``con`` and describe it."""
    if isinstance(transactions, str | os.PathLike):
        path = os.fspath(transactions)
        files = _list_files(path)
        if all(_is_parquet(f) for f in files):
            src = Source(label=path, kind="parquet", files=files)
            _open_parquet(con, src)
        elif any(_is_parquet(f) for f in files):
            raise InputFileError(f"{path!r} mixes Parquet and text files; give one kind.")
        else:
            src = Source(label=path, kind="text", files=files)
            _open_text(con, src)
    else:
        src = Source(label=f"<{type(transactions).__module__.split('.')[0]}."
                           f"{type(transactions).__name__}>", kind="table")
        _open_table(con, src, transactions)
    if not src.columns:
        raise InputFileError(f"{src.label} has no columns.")
    return src
