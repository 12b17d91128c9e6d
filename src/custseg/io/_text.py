"""Read delimited text (CSV, TSV, semicolon, pipe, whitespace; optionally gzipped) as text columns.

The work is split so that no row goes missing and the common case stays fast:

1. one pass over the bytes hashes the file, checks that it is UTF-8 and keeps a sample; a file in
   another encoding is transcoded to a temporary UTF-8 file first;
2. the delimiter is sniffed from the sample;
3. :func:`~custseg.io._scan.scan_records` finds every record, its first physical line and its field
   count with numpy; records with the wrong count become rejects, blank lines are counted;
4. DuckDB parses the good records (the file itself, or a temporary copy holding only them) with
   every column as VARCHAR, and must return exactly as many rows as the scan expects.

When the quoting breaks the scan's assumptions, or DuckDB disagrees, Python's csv module reads
the whole file instead: slower, but it follows the quoting rules character by character and
recovers after a quote that is never closed. Whitespace-separated files are always read that way.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import logging
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from .._exceptions import InputFileError, InvalidParameterError
from ._convert import arrow_to_pandas, text_frame
from ._duck import connect
from ._scan import ScanResult, scan_records
from ._sniff import (
    SAMPLE_BYTES,
    WHITESPACE,
    WS_TOKEN,
    bom_encoding,
    normalize_encoding,
    sniff_delimiter,
    unique_names,
)

logger = logging.getLogger(__name__)

RAW_LIMIT = 1000  # characters of a rejected record kept in ``rejects.raw``
MAX_RECORD_BYTES = 64 << 20  # a longer record is rejected (line_too_long), never parsed
_BLOCK = 4 << 20
_UTF8 = {"utf-8", "utf-8-sig"}
_MAX_RESTARTS = 1000  # unclosed quotes tolerated before the file is declared unreadable
# Below this many (decompressed) bytes the csv module is faster than starting DuckDB (~40 ms).
SMALL_FILE_BYTES = 1 << 20


@dataclass
class Probe:
    """What one pass over a file's bytes tells."""

    sha256: str
    size: int  # bytes after decompression
    head: bytes  # the first SAMPLE_BYTES of them
    utf8_ok: bool
    bad_utf8_at: int | None


@dataclass
class TextRead:
    """A parsed text table before it becomes a :class:`~custseg.io.ReadResult`."""

    frame: pd.DataFrame
    line_numbers: np.ndarray
    rejects: list[tuple[int, str, str, str]]
    info: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- bytes and encodings


def open_binary(path: Path, gz: bool) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing gzip on the fly."""
    return gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115 - caller closes


class _Gunzip:
    """Incremental gzip decompression across members, noticing a truncated stream."""

    def __init__(self, path: Path):
        self.path = path
        self.member = zlib.decompressobj(31)
        self.pending = False  # the current member has input but has not ended

    def feed(self, chunk: bytes) -> list[bytes]:
        out = []
        try:
            while chunk:
                out.append(self.member.decompress(chunk))
                self.pending = True
                if self.member.eof:
                    chunk = self.member.unused_data
                    self.member = zlib.decompressobj(31)
                    self.pending = False
                    if not chunk.strip(b"\0"):  # zero padding after the last member
                        chunk = b""
                else:
                    chunk = b""
        except zlib.error as exc:
            raise InputFileError(
                f"{self.path} is not a valid gzip file ({exc}). If it is not compressed, rename "
                "it without the .gz extension; otherwise the download may be incomplete."
            ) from exc
        return out

    def close(self) -> None:
        if self.pending:
            raise InputFileError(
                f"{self.path} is a truncated gzip file (it ends inside the compressed data); "
                "download or copy it again."
            )


def probe(path: Path, gz: bool) -> Probe:
    """Hash the file, keep its first bytes, and check whether it is valid UTF-8.

    The hash covers the bytes on disk (compressed ones for ``.gz``).
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    head = bytearray()
    size = 0
    utf8_ok, bad_at = True, None
    gunzip = _Gunzip(path)
    with open(path, "rb") as raw:
        while chunk := raw.read(_BLOCK):
            digest.update(chunk)
            for piece in (gunzip.feed(chunk) if gz else [chunk]):
                if len(head) < SAMPLE_BYTES:
                    head += piece[: SAMPLE_BYTES - len(head)]
                if utf8_ok:
                    try:
                        decoder.decode(piece)
                    except UnicodeDecodeError as exc:
                        utf8_ok, bad_at = False, max(size + exc.start, 0)
                size += len(piece)
    if gz:
        gunzip.close()
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok, bad_at = False, size
    return Probe(digest.hexdigest(), size, bytes(head), utf8_ok, bad_at)


def transcode(path: Path, gz: bool, encodings: Sequence[str], out: Path, *,
              cr_newlines: bool) -> str:
    """Write ``path`` to ``out`` as UTF-8, trying ``encodings`` in turn; return the one used.

    ``cr_newlines`` turns old Mac line ends (a lone ``\\r``) into ``\\n``.
    """
    for i, encoding in enumerate(encodings):
        try:
            with open_binary(path, gz) as src, open(out, "wb") as dst:
                decoder = codecs.getincrementaldecoder(encoding)("strict")
                while True:
                    chunk = src.read(_BLOCK)
                    text = decoder.decode(chunk, final=not chunk)
                    if cr_newlines:
                        text = text.replace("\r", "\n")
                    dst.write(text.encode("utf-8"))
                    if not chunk:
                        break
            return encoding
        except UnicodeDecodeError as exc:
            if i == len(encodings) - 1:
                raise InputFileError(
                    f"{path} cannot be decoded as {encoding} ({exc.reason} at byte {exc.start} "
                    "of a block). Pass the file's encoding, e.g. encoding='cp1252' or "
                    "encoding='latin-1'."
                ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def choose_encoding(path: Path, info: Probe, encoding: str | None) -> tuple[str, bool]:
    """The encoding to read with, and whether the file must be transcoded to UTF-8 first."""
    if encoding is not None:
        try:
            name = normalize_encoding(encoding)
        except LookupError as exc:
            raise InvalidParameterError(
                f"The 'encoding' parameter of read_table must be a codec Python knows, such as "
                f"'utf-8', 'cp1252' or 'latin-1'. Got {encoding!r} instead."
            ) from exc
        if name in _UTF8:
            if not info.utf8_ok:
                raise InputFileError(
                    f"{path} is not valid UTF-8 (first bad byte near offset {info.bad_utf8_at}). "
                    "Leave out encoding= to detect it, or pass encoding='cp1252'."
                )
            return ("utf-8-sig" if info.head.startswith(codecs.BOM_UTF8) else "utf-8"), False
        return name, True
    bom, _ = bom_encoding(info.head)
    if bom == "utf-8-sig":
        if not info.utf8_ok:
            raise InputFileError(
                f"{path} starts with a UTF-8 byte-order mark but is not valid UTF-8 (near byte "
                f"{info.bad_utf8_at}). Pass its real encoding, e.g. encoding='cp1252'."
            )
        return "utf-8-sig", False
    if bom is not None:
        return bom, True
    if b"\x00" in info.head:
        raise InputFileError(
            f"{path} contains NUL bytes: it is a binary file, or UTF-16 text without a "
            "byte-order mark. Export it as CSV in UTF-8, or pass encoding='utf-16-le'."
        )
    if info.utf8_ok:
        return "utf-8", False
    return "cp1252", True  # latin-1 is tried next if cp1252 cannot decode it


# ------------------------------------------------------------------------------------- layout


@dataclass
class Layout:
    """Which records are the header, data rows, rejects and blank lines."""

    header: int
    names: list[str]  # as written in the header
    good: np.ndarray  # record indices of the data rows
    rejects: list[tuple[int, str, str, str]]
    blank_lines: int
    header_fix: str | None  # how the header was made to fit the rows (see ``layout``)


def layout(path: Path, lines: np.ndarray, fields: np.ndarray, blank: np.ndarray,
           raw: Callable[[Sequence[int]], list[str]],
           parse: Callable[[int], list[str]],
           errors: dict[int, tuple[str, str]] | None = None) -> Layout:
    """Classify records: the first non-blank one is the header, rows with its field count are
    data, other non-blank rows are rejected (``errors`` holds rows a parser already refused).

    When at least 90% of the rows agree on a field count one off the header's, the header is
    fixed rather than every row rejected (``header_fix``):

    * ``"row_names"``: rows have one more field, and their last one is not always blank. R's
      ``write.table`` leaves the row-names column unnamed; a blank first name is added.
    * ``"trailing_delimiter"``: rows have one more field, always blank (each data line ends
      with a delimiter); a blank last name is added.
    * ``"header_trailing_delimiter"``: the header ends with a delimiter; its blank last name
      is dropped.

    ``parse(i)`` returns the fields of record ``i``.
    """
    errors = errors or {}
    blank = blank.copy()
    header = None
    for i in np.flatnonzero(~blank):
        if int(i) in errors:
            reason, detail = errors[int(i)]
            raise InputFileError(
                f"{path}: the header cannot be parsed ({detail}). Check the quoting of line "
                f"{lines[i]}."
            )
        if raw([int(i)])[0].strip():
            header = int(i)
            break
        blank[i] = True  # whitespace only
    if header is None:
        raise InputFileError(f"{path} is empty: it has no header and no rows.")
    names = parse(header)
    ncols = len(names)
    data = np.arange(header + 1, len(fields))
    data = data[~blank[data]]
    if data.size == 0:
        raise InputFileError(f"{path} has a header but no data rows.")

    counts = fields[data]
    header_fix = None
    valid = counts[counts > 0]
    if valid.size:
        values, freq = np.unique(valid, return_counts=True)
        mode = int(values[np.argmax(freq)])
        if freq.max() >= 0.9 * data.size:
            if mode == ncols + 1:
                sample = data[counts == mode][:100].tolist()
                if all(not parse(i)[-1].strip() for i in sample):
                    header_fix, names = "trailing_delimiter", [*names, ""]
                else:
                    header_fix, names = "row_names", ["", *names]
            elif mode == ncols - 1 and not names[-1].strip():
                header_fix, names = "header_trailing_delimiter", names[:-1]
            ncols = len(names)
    ok = counts == ncols
    bad = data[~ok]
    rejects: list[tuple[int, str, str, str]] = []
    extra_blank = 0
    for i, text in zip(bad.tolist(), raw(bad.tolist()) if bad.size else [], strict=True):
        line = int(lines[i])
        if i in errors:
            reason, detail = errors[i]
        elif not text.strip():
            extra_blank += 1
            continue
        else:
            reason = "malformed_row"
            detail = f"line {line} has {int(fields[i])} fields, expected {ncols}"
        rejects.append((line, reason, detail, text[:RAW_LIMIT]))
    good = data[ok]
    if good.size == 0 and not rejects:
        raise InputFileError(f"{path} has a header but no data rows.")
    blank_lines = int(blank.sum()) + extra_blank
    return Layout(header, names, good, rejects, blank_lines, header_fix)


# --------------------------------------------------------------------------- DuckDB fast path


def _decode_record(data: bytes, at_file_start: bool) -> str:
    text = data.decode("utf-8", errors="replace")
    if at_file_start:
        text = text.removeprefix("\ufeff")
    text = text.replace("\r\n", "\n")
    return text[:-1] if text.endswith("\r") else text  # the \r of a final \r\n


def _record_reader(src: Path, gz: bool, scan: ScanResult,
                   limit: int | None = 4 * RAW_LIMIT + 8) -> Callable[[Sequence[int]], list[str]]:
    """A function returning the text of records by index (the first ``limit`` bytes of each:
    enough for ``RAW_LIMIT`` characters, as UTF-8 takes at most four bytes for one)."""
    def read(indices: Sequence[int]) -> list[str]:
        texts = {}
        with open_binary(src, gz) as f:
            for i in sorted(indices):
                start, end = int(scan.starts[i]), int(scan.ends[i])
                f.seek(start)
                size = end - start if limit is None else min(end - start, limit)
                texts[i] = _decode_record(f.read(size), start == 0)
        return [texts[i] for i in indices]
    return read


def _first_record(text: str, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"'), [])


def _write_records(src: Path, gz: bool, scan: ScanResult, good: np.ndarray, out: Path) -> None:
    """Copy the records ``good`` (sorted indices) to ``out``, one newline after each run."""
    terminated = scan.ends < scan.size
    eol = b"\r\n" if scan.crlf[terminated].all() and terminated.any() else b"\n"
    breaks = np.flatnonzero(np.diff(good) != 1)
    firsts = good[np.concatenate(([0], breaks + 1))]
    lasts = good[np.concatenate((breaks, [len(good) - 1]))]
    with open_binary(src, gz) as f, open(out, "wb") as dst:
        for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
            start, end = int(scan.starts[first]), int(scan.ends[last])
            f.seek(start)
            remaining = end - start
            while remaining > 0:
                block = f.read(min(_BLOCK, remaining))
                if not block:
                    break
                dst.write(block)
                remaining -= len(block)
            dst.write(b"\n" if terminated[last] else eol)


def _duckdb_read(path: Path, *, gz: bool, header: bool, delimiter: str, ncols: int,
                 strict: bool, parallel: bool, max_line: int) -> pd.DataFrame:
    columns = {f"c{i}": "VARCHAR" for i in range(ncols)}
    sql = (
        "SELECT * FROM read_csv($path, delim=$delim, quote='\"', escape='\"', header=$header, "
        "all_varchar=true, auto_detect=false, strict_mode=$strict, null_padding=false, "
        "columns=$columns, compression=$compression, max_line_size=$max_line, "
        "parallel=$parallel, encoding='utf-8')"
    )
    params = {"path": str(path), "delim": delimiter, "header": header, "strict": strict,
              "columns": columns, "compression": "gzip" if gz else "none",
              "max_line": max_line, "parallel": parallel}
    con = connect()
    try:
        table = con.sql(sql, params=params).to_arrow_table()
    finally:
        con.close()
    return arrow_to_pandas(table, blank_text_to_na=True)


class _NeedsCsvModule(Exception):
    """The fast path cannot be sure of a record; the csv module reads the file instead."""


def _read_fast(path: Path, src: Path, gz: bool, skip: int, delimiter: str,
               workdir: Path) -> TextRead | None:
    """The numpy scan + DuckDB path; ``None`` when the quoting needs the csv module."""
    with open_binary(src, gz) as f:
        scan = scan_records(f, delimiter, skip_bytes=skip)
    if not scan.usable:
        why = ("a quote is never closed" if scan.unterminated else "a lone carriage return"
               if scan.lone_cr else "quotes inside unquoted fields")
        logger.info("%s: %s; reading it with the csv module", path, why)
        return None
    raw = _record_reader(src, gz, scan)
    whole = _record_reader(src, gz, scan, limit=None)

    def parse(i: int) -> list[str]:
        try:
            return _first_record(whole([i])[0], delimiter)
        except csv.Error as exc:
            raise _NeedsCsvModule from exc

    fields, errors = scan.fields, {}
    too_long = (scan.ends - scan.starts) > MAX_RECORD_BYTES
    if too_long.any():  # rejected before a parser holds one in memory
        fields = np.where(too_long, -1, scan.fields)
        errors = {int(i): ("line_too_long", f"line {int(scan.lines[i])} holds "
                           f"{int(scan.ends[i] - scan.starts[i]):,} bytes; a row may hold at "
                           f"most {MAX_RECORD_BYTES:,}") for i in np.flatnonzero(too_long)}
    try:
        lay = layout(path, scan.lines, fields, scan.blank, raw, parse, errors)
        if len(parse(lay.header)) != scan.fields[lay.header]:
            raise _NeedsCsvModule
    except _NeedsCsvModule:  # the csv module splits some record differently: let it decide
        return None
    good = lay.good
    frame = pd.DataFrame()
    if good.size:
        direct = lay.header == 0 and good.size == len(scan.fields) - 1 and lay.header_fix is None
        terminated = scan.ends[good] < scan.size
        endings = scan.crlf[good][terminated]
        strict = bool(endings.all() or not endings.any())
        multiline = bool((np.diff(scan.lines) > 1).any())
        max_line = int(max(2 << 20, (scan.ends[good] - scan.starts[good]).max() + 64))
        target, target_gz = src, gz
        if not direct:
            target, target_gz = workdir / "records.csv", False
            _write_records(src, gz, scan, good, target)
        try:
            frame = _duckdb_read(target, gz=target_gz, header=direct, delimiter=delimiter,
                                 ncols=len(lay.names), strict=strict, parallel=not multiline,
                                 max_line=max_line)
        except Exception as exc:  # noqa: BLE001 - any DuckDB failure falls back to the csv module
            logger.info("%s: DuckDB could not parse it (%s); using the csv module", path, exc)
            return None
        if len(frame) != good.size:
            logger.info("%s: DuckDB read %d rows where %d were expected; using the csv module",
                        path, len(frame), good.size)
            return None
    names, renamed = unique_names(lay.names)
    frame = _with_names(frame, names)
    return TextRead(frame, scan.lines[good].astype(np.int64), lay.rejects,
                    {"blank_lines": lay.blank_lines, "renamed_columns": renamed,
                     "parser": "duckdb", "header_line": int(scan.lines[lay.header]),
                     "header_fix": lay.header_fix})


def _with_names(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if frame.shape[1] == 0:
        return text_frame([[] for _ in names], names)
    frame.columns = names
    return frame


# ------------------------------------------------------------------------ csv-module fallback


class _Lines:
    """An iterator over lines that can be rewound, for recovering after an unclosed quote."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.pos = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1] + "\n"


def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _parse_records(path: Path, text: str, delimiter: str):
    """Records of ``text`` by Python's csv module, with the physical line each starts on.

    A quote left open until the end of the file rejects only the line it opened on; reading
    resumes on the next line.
    """
    lines = _split_lines(text)
    feed = _Lines(lines)
    options = {"delimiter": delimiter, "quotechar": '"', "doublequote": True, "strict": True}
    reader = csv.reader(feed, **options)
    spans: list[tuple[int, int]] = []
    rows: list[list[str] | None] = []
    errors: dict[int, tuple[str, str]] = {}
    restarts = 0
    while True:
        start = feed.pos
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # the record ran to the end of the file (not: the last record closes its quote and
            # goes on, as in '"a";0', which is one bad record)
            if feed.pos >= len(lines) and "expected after" not in str(exc):
                restarts += 1
                if restarts > _MAX_RESTARTS:
                    raise InputFileError(
                        f"{path}: more than {_MAX_RESTARTS} quotes are never closed; the file "
                        "does not use double quotes for quoting. Fix the export, or pass the "
                        "right delimiter."
                    ) from exc
                errors[len(rows)] = ("bad_quoting",
                                     f"line {start + 1} opens a quote that is never closed")
                spans.append((start, start + 1))
                rows.append(None)
                feed.pos = start + 1
                reader = csv.reader(feed, **options)
                continue
            errors[len(rows)] = ("bad_quoting", f"line {start + 1}: {exc}")
            spans.append((start, max(feed.pos, start + 1)))
            rows.append(None)
            continue
        spans.append((start, feed.pos))
        rows.append(row)
    return lines, spans, rows, errors


def _raw_from_lines(lines: list[str], spans: list[tuple[int, int]]):
    def read(indices: Sequence[int]) -> list[str]:
        out = []
        for i in indices:
            start, end = spans[i]
            text = "\n".join(line[:-1] if line.endswith("\r") else line
                              for line in lines[start:min(end, start + 50)])
            out.append(text.removeprefix("\ufeff") if start == 0 else text)
        return out
    return read


# A carriage return that ends neither a line nor the file: Python < 3.12 writes one unquoted
# (pandas' to_csv on Linux does), and the csv module then refuses the row.
_LONE_CR = re.compile(r"\r(?!\n|\Z)")


def _read_python(path: Path, text: str, delimiter: str) -> TextRead:
    """Parse the whole text with the csv module (or the whitespace tokenizer)."""
    text = text.removeprefix("\ufeff")
    mark = None
    if "\r" in text and _LONE_CR.search(text):
        # Hide lone "\r"s behind a private-use character the text does not contain, and put
        # them back in the values: they are data, not line ends.
        mark = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
        text = _LONE_CR.sub(mark, text)
    if delimiter == WHITESPACE:
        lines = _split_lines(text)
        rows: list[list[str] | None] = [
            [q.replace('""', '"') if q or not plain else plain
             for q, plain in WS_TOKEN.findall(line)] for line in lines
        ]
        spans = [(i, i + 1) for i in range(len(lines))]
        errors: dict[int, tuple[str, str]] = {}
    else:
        lines, spans, rows, errors = _parse_records(path, text, delimiter)
    if mark is not None:
        lines = [line.replace(mark, "\r") for line in lines]
        rows = [None if r is None else [c.replace(mark, "\r") for c in r] for r in rows]
    starts = np.array([s for s, _ in spans], dtype=np.int64) + 1
    fields = np.array([-1 if r is None else len(r) for r in rows], dtype=np.int64)
    blank = np.array([r is not None and len(r) == 0 for r in rows], dtype=bool)
    raw = _raw_from_lines(lines, spans)
    lay = layout(path, starts, fields, blank, raw, lambda i: list(rows[i] or []), errors)
    names, renamed = unique_names(lay.names)
    good_rows = [rows[i] for i in lay.good.tolist()]
    columns = [list(col) for col in zip(*good_rows, strict=True)] if good_rows else \
        [[] for _ in names]
    frame = text_frame(columns, names)
    return TextRead(frame, starts[lay.good], lay.rejects,
                    {"blank_lines": lay.blank_lines, "renamed_columns": renamed,
                     "parser": "python", "header_line": int(starts[lay.header]),
                     "header_fix": lay.header_fix})


def _read_all_text(src: Path, gz: bool) -> str:
    with open_binary(src, gz) as f:
        return f.read().decode("utf-8", errors="strict")


# --------------------------------------------------------------------------------- entry point


def read_delimited(path: Path, *, gz: bool, delimiter: str | None, encoding: str | None,
                   workdir: Path) -> TextRead:
    """Read a delimited text file; every column comes back as text (``string`` dtype).

    Temporary files (a UTF-8 copy, the good records for DuckDB) go to ``workdir``.
    """
    info = probe(path, gz)
    if info.size == 0:
        raise InputFileError(f"{path} is empty (0 bytes).")
    enc, needs_transcode = choose_encoding(path, info, encoding)
    if needs_transcode:
        head_text = codecs.getincrementaldecoder(enc)("replace").decode(info.head)
    else:
        head_text = info.head.decode("utf-8", errors="replace")
    cr_newlines = "\r" in head_text and "\n" not in head_text
    src, src_gz, skip = path, gz, 0
    if needs_transcode or cr_newlines:
        src, src_gz = workdir / "utf8.txt", False
        # cp1252 leaves five bytes undefined; a file holding one of them is taken as latin-1.
        tries = ["cp1252", "latin-1"] if encoding is None and enc == "cp1252" else [enc]
        enc = transcode(path, gz, tries, src, cr_newlines=cr_newlines)
        if cr_newlines:
            head_text = head_text.replace("\r", "\n")
    elif enc == "utf-8-sig":
        skip = len(codecs.BOM_UTF8)

    if delimiter is None:
        delimiter = sniff_delimiter(head_text.removeprefix("\ufeff"),
                                    truncated=info.size > len(info.head))
    elif delimiter.lower() in {"whitespace", r"\s+"}:
        delimiter = WHITESPACE

    result = None
    if delimiter != WHITESPACE and info.size >= SMALL_FILE_BYTES:
        result = _read_fast(path, src, src_gz, skip, delimiter, workdir)
    if result is None:
        result = _read_python(path, _read_all_text(src, src_gz), delimiter)
    result.info.update({"encoding": enc, "delimiter": delimiter, "sha256": info.sha256,
                        "compression": "gzip" if gz else None})
    return result

