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
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .._exceptions import InputFileError, InvalidParameterError

__all__ = ["LINE", "FILE", "SOURCE", "Source", "open_source", "quote_ident", "quote_literal"]

SOURCE = "custseg_src"
LINE = "__custseg_line"
FILE = "__custseg_file"

_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".tab", ".psv")
_COMPRESSION_SUFFIXES = (".gz", ".gzip", ".zst")


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


def _read_csv_args(src: Source, encoding: str | None) -> str:
    args = "header=true, all_varchar=true"
    if encoding:
        args += f", encoding={quote_literal(encoding)}"
    if src.multi_file:
        args += ", filename=true, union_by_name=true"
    return args


def _open_text(con: duckdb.DuckDBPyConnection, src: Source) -> None:
    files = _sql_list(src.files)
    errors = []
    for encoding in (None, "latin-1"):
        args = _read_csv_args(src, encoding)
        try:
            types = _describe(con, f"SELECT * FROM read_csv({files}, {args})")
        except duckdb.Error as exc:
            errors.append(exc)
            continue
        cols = [c for c in types if not (src.multi_file and c == "filename")]
        first = cols[0] if cols else ""
        if len(cols) == 1 and len(first.split()) > 1:
            _open_whitespace(con, src, encoding)
            return
        try:
            con.execute(f"CREATE TEMP TABLE __custseg_raw AS SELECT * FROM read_csv({files}, {args})")
        except duckdb.Error as exc:
            errors.append(exc)
            continue
        src.details["encoding"] = encoding or "utf-8"
        if src.multi_file:
            con.execute(
                f"CREATE TEMP VIEW {SOURCE} AS SELECT r.* EXCLUDE (filename), "
                f"r.rowid - o.first_rowid + 2 AS {LINE}, r.filename AS {FILE} "
                f"FROM __custseg_raw r JOIN (SELECT filename, min(rowid) AS first_rowid "
                f"FROM __custseg_raw GROUP BY filename) o USING (filename)"
            )
        else:
            con.execute(
                f"CREATE TEMP VIEW {SOURCE} AS SELECT *, rowid + 2 AS {LINE}, "
                f"{quote_literal(src.files[0])} AS {FILE} FROM __custseg_raw"
            )
        src.columns = cols
        src.types = {c: "VARCHAR" for c in cols}
        return
    raise InputFileError(f"Cannot read {src.label} as a delimited text file: {errors[-1]}")


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
