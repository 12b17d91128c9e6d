"""Guess what a file is: its format, text encoding, delimiter; and name its columns."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

# Extension (after removing ".gz") → format. Anything else is sniffed from the content.
EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".dat": "csv", ".psv": "csv",
    ".parquet": "parquet", ".pq": "parquet", ".parq": "parquet",
    ".xlsx": "excel", ".xlsm": "excel",
    ".jsonl": "json", ".ndjson": "json", ".json": "json",
    ".db": "sqlite", ".sqlite": "sqlite", ".sqlite3": "sqlite",
    ".duckdb": "duckdb", ".ddb": "duckdb",
}
GZIP_MAGIC = b"\x1f\x8b"
_MAGIC = [
    (b"PAR1", 0, "parquet"),
    (b"PK\x03\x04", 0, "excel"),  # a zip: xlsx is the zip a customer table comes in
    (b"SQLite format 3\x00", 0, "sqlite"),
    (b"DUCK", 8, "duckdb"),
]
UNSUPPORTED = {
    ".xls": "old-style Excel (.xls) is not supported; open it in Excel or LibreOffice and save "
            "it as .xlsx (or export CSV)",
    ".zip": "zip archives are not read directly; unzip it first, or compress with gzip (.gz)",
    ".bz2": "bzip2 files are not read directly; decompress it first, or use gzip (.gz)",
    ".xz": "xz files are not read directly; decompress it first, or use gzip (.gz)",
    ".zst": "zstd files are not read directly; decompress it first, or use gzip (.gz)",
}

DELIMITERS = (",", "\t", ";", "|")  # in order of preference when they fit equally well
WHITESPACE = "whitespace"
SAMPLE_BYTES = 1 << 18
_SAMPLE_RECORDS = 200

BOMS = [  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
]
# Bytes that cp1252 leaves undefined: a file holding one is latin-1 (or something else).
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")

# A whitespace-separated token: a double-quoted string ("" inside is a quote) or a run of
# non-space characters.
WS_TOKEN = re.compile(r'"((?:[^"]|"")*)"(?=\s|$)|(\S+)')


def format_from_suffix(path: Path) -> tuple[str | None, bool]:
    """Format named by the extension (``None`` when unknown) and whether it is gzipped."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    return (EXTENSIONS.get(suffixes[-1]) if suffixes else None), gz


def format_from_content(head: bytes) -> str:
    """Format recognised from the first bytes of a (decompressed) file."""
    for magic, at, fmt in _MAGIC:
        if head[at:at + len(magic)] == magic:
            return fmt
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text[:1] == b"{" or text[:1] == b"[":
        return "json"
    return "csv"


def bom_encoding(head: bytes) -> tuple[str | None, int]:
    """Encoding announced by a byte-order mark, and the mark's length."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name, len(bom)
    return None, 0


def legacy_encoding(data_has_cp1252_holes: bool) -> str:
    """The 8-bit encoding to use once UTF-8 has failed."""
    return "latin-1" if data_has_cp1252_holes else "cp1252"


def has_cp1252_holes(chunk: bytes) -> bool:
    return not _CP1252_HOLES.isdisjoint(chunk)


def normalize_encoding(name: str) -> str:
    """Canonical codec name (``"UTF8"`` → ``"utf-8"``); raises LookupError when unknown."""
    return codecs.lookup(name).name


def _complete_records(sample: str, truncated: bool) -> list[str]:
    lines = sample.split("\n")
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    return lines[: _SAMPLE_RECORDS * 4]


def sniff_delimiter(sample: str, *, truncated: bool) -> str:
    """Pick the delimiter that splits the sample's records into the most consistent field counts.

    Candidates are ``,`` ``\\t`` ``;`` ``|``; a candidate must give at least two fields, and the
    header must have the usual count (so ``1,5;2,5`` with header ``a;b`` is ``;``). When none
    fits, runs of whitespace are tried; a file that fits nothing has one column.
    """
    lines = _complete_records(sample, truncated)
    text = "\n".join(lines)
    best: tuple | None = None
    best_delim = None
    for rank, delim in enumerate(DELIMITERS):
        if delim not in text:
            continue
        reader = csv.reader(io.StringIO(text), delimiter=delim, quotechar='"')
        counts = []
        try:
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    counts.append(len(row))
                if len(counts) >= _SAMPLE_RECORDS:
                    break
        except csv.Error:
            pass
        if truncated and len(counts) > 1:
            counts = counts[:-1]  # may be a record cut by the sample's end
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        consistency = freq / len(counts)
        score = (consistency >= 0.9, counts[0] == mode, consistency, mode, -rank)
        if best is None or score > best:
            best, best_delim = score, delim
    if best_delim is not None and best is not None and best[0]:
        return best_delim
    ws_counts = [len(WS_TOKEN.findall(line)) for line in lines if line.strip()]
    if len(ws_counts) > 2 and truncated:
        ws_counts = ws_counts[:-1]
    body = ws_counts[1:]
    if body:
        mode, freq = Counter(body).most_common(1)[0]
        # The header may lack one name: R's write.table leaves the row-names column unnamed.
        if mode >= 2 and freq / len(body) >= 0.9 and ws_counts[0] in (mode, mode - 1):
            return WHITESPACE
    return best_delim if best_delim is not None else ","


def unique_names(raw: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Column names that are unique, non-blank and deterministic.

    Surrounding whitespace is removed; a blank name becomes ``column_<position>`` (1-based);
    a repeated name gets ``_2``, ``_3``, … (the first occurrence keeps it). Generated names
    never collide with a name present in the header.

    Returns
    -------
    names : list of str
    renamed : dict
        ``{new name: name as written in the file}`` for every name that changed.
    """
    stripped = [str(name).strip() for name in raw]
    reserved = {name for name in stripped if name}
    taken: set[str] = set()
    names: list[str] = []
    renamed: dict[str, str] = {}
    for position, (original, name) in enumerate(zip(raw, stripped, strict=True), start=1):
        if name and name not in taken:
            candidate = name
        else:
            base = name or f"column_{position}"
            candidate = base if not name and base not in taken | reserved else None
            suffix = 2
            while candidate is None:
                attempt = f"{base}_{suffix}"
                suffix += 1
                if attempt not in taken and attempt not in reserved:
                    candidate = attempt
        taken.add(candidate)
        names.append(candidate)
        if candidate != original:
            renamed[candidate] = str(original)
    return names, renamed
