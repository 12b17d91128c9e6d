"""``read_table``: one entry point for every input format custseg accepts."""

from __future__ import annotations

import difflib
import glob
import gzip
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .._exceptions import InputFileError, InvalidParameterError
from ._convert import infer_numbers
from ._formats import (
    FormatRead,
    check_query,
    file_sha256,
    files_sha256,
    read_duckdb,
    read_excel,
    read_json,
    read_parquet,
    read_sqlite,
)
from ._result import ReadResult, rejects_frame
from ._sniff import (
    GZIP_MAGIC,
    UNSUPPORTED,
    WHITESPACE,
    format_from_content,
    format_from_suffix,
    unique_names,
)
from ._text import read_delimited

logger = logging.getLogger(__name__)

_PARQUET_SUFFIXES = {".parquet", ".pq", ".parq"}
_GLOB_CHARS = set("*?[")
_DELIMITER_HELP = ("one character (such as ',', ';', '\\t' or '|') or 'whitespace' for runs of "
                   "spaces and tabs")


def read_table(
    source: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    query: str | None = None,
    columns_as_text: bool = True,
) -> ReadResult:
    """Read a customer table or transaction log from a file, keeping every row accounted for.

    Parameters
    ----------
    source : str or path-like
        A file: delimited text (``.csv``, ``.tsv``, ``.txt``, … with commas, semicolons,
        tabs, pipes or runs of whitespace; also gzipped as ``.gz``), Parquet, Excel
        (``.xlsx``), JSON lines (``.jsonl``, ``.ndjson``; ``.json`` may also hold an array of
        objects), a SQLite database (``.db``, ``.sqlite``) or a DuckDB database (``.duckdb``).
        Or a folder of Parquet files, or a glob such as ``"data/*.parquet"``. The format comes
        from the extension (after ``.gz``), else from the content.
    delimiter : str, default=None
        Text files only: one character, or ``"whitespace"``. Detected when ``None``.
    encoding : str, default=None
        Text and JSON files only. Detected when ``None``: UTF-8 (a byte-order mark is
        removed), else cp1252, else latin-1.
    sheet : str or int, default=None
        Excel only: the sheet's name or 0-based position; the first sheet when ``None``.
    query : str, default=None
        Databases only: a table name or a ``SELECT`` statement; may be left out when the
        database holds one table. The database is opened read-only.
    columns_as_text : bool, default=True
        Text files only. ``True`` returns every column as text (``string`` dtype), so IDs such
        as ``"0001"`` keep their zeros and numbers are typed later by
        :func:`custseg.prep.parse_numeric`. ``False`` turns columns whose every non-blank cell
        is a number into numbers.

    Returns
    -------
    ReadResult
        ``frame`` (the rows read), ``line_numbers`` (where each row is in the file),
        ``rejects`` (rows that could not be read, with line, reason and raw text) and ``info``
        (path, format, encoding, delimiter, ``rows_read``, ``sha256``, columns, renamed
        columns, blank lines).

    Raises
    ------
    InputFileError
        The file is missing, unreadable, empty, has a header but no rows, or is not in a
        readable format; the message names the file and suggests a fix.
    InvalidParameterError
        A parameter has an invalid value or does not apply to the file's format.

    Notes
    -----
    Nothing is dropped silently: a text row with too many or too few fields, or with broken
    quoting, goes to ``rejects``, and ``info["rows_read"] == len(frame) + len(rejects)``.
    Blank lines are skipped and counted in ``info["blank_lines"]``. Blank or repeated column
    names are made unique (``column_3``, ``id_2``) and listed in ``info["renamed_columns"]``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from custseg.io import read_table
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "customers.csv"
    >>> _ = path.write_text("id;spend\\n0001;12,5\\n0002;7\\n0003\\n")
    >>> result = read_table(path)
    >>> result.frame
         id spend
    0  0001  12,5
    1  0002     7
    >>> result.line_numbers.tolist(), result.rejects["line"].tolist()
    ([2, 3], [4])
    >>> result.info["delimiter"], result.info["rows_read"]
    (';', 3)
    """
    _check_params(delimiter, encoding, sheet, query, columns_as_text)
    files, display, root = _resolve(source)

    if len(files) > 1:
        not_parquet = [f for f in files if f.suffix.lower() not in _PARQUET_SUFFIXES]
        if not_parquet:
            raise InputFileError(
                f"{display} matches {len(files)} files, and several files can only be read "
                f"together when they are Parquet (e.g. {not_parquet[0].name}). Pass one file, "
                "or a glob that matches only .parquet files."
            )
        _refuse(delimiter=delimiter, encoding=encoding, sheet=sheet, query=query, fmt="parquet")
        read = read_parquet(files, display)
        info = {"format": "parquet", "sha256": files_sha256(files, root),
                "files": [str(f) for f in files]}
        return _finish(read, display, info, columns_as_text=True)

    path = files[0]
    fmt, gz = _detect(path)
    if fmt in {"csv", "json"}:
        _refuse(sheet=sheet, query=query, fmt=fmt)
    if fmt != "csv":
        _refuse(delimiter=delimiter, fmt=fmt)
    if fmt not in {"csv", "json"}:
        _refuse(encoding=encoding, fmt=fmt)
    if fmt != "excel":
        _refuse(sheet=sheet, fmt=fmt)
    if fmt not in {"sqlite", "duckdb"}:
        _refuse(query=query, fmt=fmt)

    try:
        if fmt == "csv":
            with tempfile.TemporaryDirectory(prefix="custseg-read-") as work:
                text = read_delimited(path, gz=gz, delimiter=delimiter, encoding=encoding,
                                      workdir=Path(work))
            read = FormatRead(text.frame, text.line_numbers, text.rejects, text.info)
            info: dict[str, Any] = {"format": "csv"}
        else:
            read = _read_other(fmt, path, gz, sheet, query, encoding)
            info = {"format": fmt, "sha256": file_sha256(path),
                    "compression": "gzip" if gz else None}
    except PermissionError as exc:
        raise InputFileError(
            f"{path} cannot be read: permission denied. Check the file's permissions, or copy "
            "it somewhere you can read."
        ) from exc
    except IsADirectoryError as exc:  # pragma: no cover - _resolve handles folders
        raise InputFileError(f"{path} is a folder, not a file.") from exc
    return _finish(read, display, info, columns_as_text=columns_as_text or fmt != "csv")


def _read_other(fmt: str, path: Path, gz: bool, sheet: Any, query: str | None,
                encoding: str | None) -> FormatRead:
    if fmt == "parquet":
        return read_parquet([path], str(path))
    if fmt == "excel":
        return read_excel(path, sheet)
    if fmt == "json":
        return read_json(path, gz, encoding)
    if fmt == "sqlite":
        return read_sqlite(path, query)
    if fmt == "duckdb":
        return read_duckdb(path, query)
    raise AssertionError(fmt)  # pragma: no cover


def _finish(read: FormatRead, display: str, info: dict[str, Any], *,
            columns_as_text: bool) -> ReadResult:
    frame = read.frame
    renamed = read.info.pop("renamed_columns", None)
    if renamed is None:  # formats whose names did not go through the text reader
        names, renamed = unique_names([str(c) for c in frame.columns])
        frame.columns = names
    if not columns_as_text:
        frame = infer_numbers(frame)
    frame = frame.reset_index(drop=True)
    rejects = rejects_frame(read.rejects)
    merged: dict[str, Any] = {
        "path": display,
        "format": info.pop("format"),
        "encoding": None,
        "delimiter": None,
        "rows_read": len(frame) + len(rejects),
        "rows_rejected": len(rejects),
        "sha256": None,
        "columns": [str(c) for c in frame.columns],
        "renamed_columns": renamed,
        "blank_lines": 0,
    }
    merged.update(info)
    merged.update(read.info)
    logger.info("read %s: %d rows, %d rejected, %d columns", display, len(frame), len(rejects),
                frame.shape[1])
    return ReadResult(frame, np.asarray(read.line_numbers, dtype=np.int64), rejects, merged)


# ------------------------------------------------------------------------------- parameters


def _check_params(delimiter: Any, encoding: Any, sheet: Any, query: Any,
                  columns_as_text: Any) -> None:
    if delimiter is not None:
        ok = isinstance(delimiter, str) and (
            delimiter.lower() in {WHITESPACE, r"\s+"}
            or (len(delimiter) == 1 and delimiter not in '"\r\n' and ord(delimiter) < 128)
        )
        if not ok:
            raise InvalidParameterError(
                f"The 'delimiter' parameter of read_table must be {_DELIMITER_HELP}. "
                f"Got {delimiter!r} instead."
            )
    if encoding is not None and not isinstance(encoding, str):
        raise InvalidParameterError(
            "The 'encoding' parameter of read_table must be a str such as 'utf-8' or 'cp1252', "
            f"or None. Got {encoding!r} instead."
        )
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        raise InvalidParameterError(
            "The 'sheet' parameter of read_table must be a sheet name (str), a 0-based "
            f"position (int) or None. Got {sheet!r} instead."
        )
    check_query(query)
    if not isinstance(columns_as_text, bool):
        raise InvalidParameterError(
            "The 'columns_as_text' parameter of read_table must be a bool. "
            f"Got {columns_as_text!r} instead."
        )


_APPLIES = {"delimiter": "delimited text files", "encoding": "text and JSON files",
            "sheet": "Excel workbooks", "query": "SQLite and DuckDB databases"}


def _refuse(*, fmt: str, **given: Any) -> None:
    for name, value in given.items():
        if value is not None:
            raise InvalidParameterError(
                f"The '{name}' parameter of read_table applies only to {_APPLIES[name]}; the "
                f"input is {fmt}. Got {value!r} instead; leave it out."
            )


# ---------------------------------------------------------------------------------- sources


def _resolve(source: Any) -> tuple[list[Path], str, Path | None]:
    """The file(s) ``source`` names, a display name, and the folder they are relative to."""
    if not isinstance(source, str | os.PathLike):
        raise InvalidParameterError(
            "The 'source' parameter of read_table must be a path (str or pathlib.Path). "
            f"Got {type(source).__name__} instead; for a DataFrame you already have the table."
        )
    text = os.fspath(source)
    path = Path(text).expanduser()
    display = str(path)
    if path.is_dir():
        files = sorted(
            (f for f in path.rglob("*") if f.is_file()
             and f.suffix.lower() in _PARQUET_SUFFIXES
             and not any(part.startswith((".", "_")) for part in f.relative_to(path).parts)),
            key=lambda f: f.relative_to(path).as_posix(),
        )
        if not files:
            listing = sorted(f.name for f in path.iterdir())[:10]
            raise InputFileError(
                f"{path} is a folder with no Parquet files in it (it holds: "
                f"{', '.join(listing) or 'nothing'}). Pass a file, a folder of .parquet "
                "files, or a glob such as 'folder/*.csv' that matches one file."
            )
        return files, display, path
    if path.is_file():
        if not os.access(path, os.R_OK):
            raise InputFileError(
                f"{path} cannot be read: permission denied. Check the file's permissions."
            )
        return [path], display, None
    if _GLOB_CHARS & set(text):
        matches = sorted(Path(m) for m in glob.glob(os.path.expanduser(text), recursive=True)
                         if Path(m).is_file())
        if not matches:
            raise InputFileError(
                f"No file matches {text!r}. Check the folder and the pattern (quote it in the "
                "shell so that the shell does not expand it)."
            )
        root = Path(os.path.commonpath([m.parent for m in matches]))
        return matches, text, root if len(matches) > 1 else None
    raise InputFileError(_missing_message(path))


def _missing_message(path: Path) -> str:
    parent = path.parent if str(path.parent) else Path(".")
    msg = f"File not found: {path}."
    if parent.is_dir():
        names = [p.name for p in parent.iterdir()]
        close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
        if close:
            msg += f" Did you mean {str(parent / close[0])!r}?"
        elif not path.is_absolute():
            msg += f" Check the path; it is relative to the working directory {Path.cwd()}."
        else:
            msg += " Check the path."
    else:
        msg += f" The folder {parent} does not exist either; check the path."
    return msg


def _detect(path: Path) -> tuple[str, bool]:
    """Format of ``path`` and whether it is gzipped: by extension, else by content."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in UNSUPPORTED:
        raise InputFileError(f"{path}: {UNSUPPORTED[suffixes[-1]]}.")
    fmt, gz = format_from_suffix(path)
    with open(path, "rb") as f:
        head = f.read(64)
    if not head:
        raise InputFileError(f"{path} is empty (0 bytes).")
    is_gzip = head.startswith(GZIP_MAGIC)
    if gz and not is_gzip:
        raise InputFileError(
            f"{path} ends in .gz but is not gzip-compressed. Rename it without .gz."
        )
    gz = gz or (is_gzip and fmt in {None, "csv", "json"})
    if fmt is None:
        if is_gzip:
            with gzip.open(path, "rb") as f:
                try:
                    head = f.read(64)
                except (OSError, EOFError) as exc:
                    raise InputFileError(f"{path} is a damaged gzip file ({exc}).") from exc
        fmt = format_from_content(head)
        logger.info("%s: no known extension; content looks like %s", path, fmt)
    if gz and fmt not in {"csv", "json"}:
        raise InputFileError(
            f"{path}: only text and JSON files can be read gzipped; decompress it first."
        )
    return fmt, gz
