"""Read a table with Spark, keeping a line number for every row and rejecting, never dropping.

Delimited text is read as lines (``spark.read.text``) and each line is parsed with
``from_csv`` in ``PERMISSIVE`` mode with a corrupt-record column, so a line with the wrong
number of fields becomes a ``malformed_row`` reject instead of vanishing (Spark's ``DROPMALFORMED``)
or being silently padded. Every cell is text, as in the local reader.

**What ``line`` means on Spark.**

* Delimited text: the 1-based physical line number in its file (the header is line 1; blank
  lines count). It is computed without a Python pass: the hidden ``_metadata.file_path`` and
  ``file_block_start`` columns name the split a line comes from, and
  ``monotonically_increasing_id`` (consecutive within a split) gives its position there; the
  lines of the earlier splits of the file are added. Spark reads one physical line per record,
  so a quoted field holding a line break is not supported: both halves become
  ``malformed_row`` rejects (the local engine reads such records).
* Parquet: the 1-based row number inside its file (``_metadata.row_index``).
* A table or a DataFrame: the 1-based position in scan order (the ``zipWithIndex`` numbering,
  computed from partition sizes).

When the source has several files, a ``file`` column says which one.
"""

from __future__ import annotations

import glob as _glob
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._exceptions import InputFileError, InvalidParameterError, SchemaError
from ._spark import INTERNAL, local_frame
from ._spark_numeric import strip

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

logger = logging.getLogger(__name__)

__all__ = ["LINE", "FILE", "SparkRead", "spark_read", "with_row_numbers"]

LINE = f"{INTERNAL}line"
FILE = f"{INTERNAL}file"
BAD = f"{INTERNAL}bad"  # the line is malformed (its cells are not to be used)
RAW = f"{INTERNAL}raw"  # a malformed line's text (first RAW_LIMIT characters)
DETAIL = f"{INTERNAL}detail"  # why it is malformed
RAW_LIMIT = 1000

_PARQUET = (".parquet", ".pq", ".parq")
_TEXT = (".csv", ".tsv", ".txt", ".dat", ".tab", ".psv", ".gz")
_UTF8 = {"utf-8", "utf8", "utf-8-sig", "utf_8", "utf_8_sig"}


@dataclass
class SparkRead:
    """A table read by Spark.

    Attributes
    ----------
    frame : pyspark.sql.DataFrame
        The rows that were read: the source's columns (text for delimited files, native types
        for Parquet and tables), plus ``LINE`` (``__cs_line``, long) and, when the source has
        several files, ``FILE`` (``__cs_file``).
    rejects : pyspark.sql.DataFrame
        Lines that could not be read: ``line``, ``reason`` (``malformed_row``), ``detail``,
        ``raw_line`` (first 1000 characters), and ``file`` when the source has several files.
    columns : list of str
        The source's column names (unique, as :func:`custseg.io.read_table` names them).
    info : dict
        ``path``, ``format``, ``delimiter``, ``files``, ``blank_lines``, ``renamed_columns``,
        ``line_meaning``.
    staged : pyspark.sql.DataFrame or None
        Text sources: every data line, good or malformed, with ``BAD``, ``RAW`` and ``DETAIL``
        columns, so that one pass can account for all of them.
    """

    frame: DataFrame
    rejects: DataFrame
    columns: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    staged: DataFrame | None = None

    @property
    def multi_file(self) -> bool:
        return FILE in self.frame.columns


def _is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _local(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def _kind(path: str) -> str:
    """``"parquet"`` or ``"text"`` from the path (a local folder or glob is looked into)."""
    lower = path.lower().rstrip("/")
    if lower.endswith(_PARQUET):
        return "parquet"
    if lower.endswith(_TEXT):
        return "text"
    if not _is_remote(path):
        local = _local(path)
        files = (sorted(_glob.glob(local, recursive=True)) if any(c in local for c in "*?[")
                 else [local])
        expanded = []
        for f in files:
            if os.path.isdir(f):
                expanded += [os.path.join(r, n) for r, _, ns in os.walk(f) for n in ns
                             if not n.startswith((".", "_"))]
            elif os.path.isfile(f):
                expanded.append(f)
        if not expanded:
            raise InputFileError(f"No file found at {path!r}.")
        if all(f.lower().endswith(_PARQUET) for f in expanded):
            return "parquet"
        if all(f.lower().endswith(_TEXT) for f in expanded):
            return "text"
        try:
            with open(expanded[0], "rb") as fh:
                return "parquet" if fh.read(4) == b"PAR1" else "text"
        except OSError:
            return "text"
    return "parquet"


def spark_read(spark: SparkSession, source: str | DataFrame | None = None, *,
               delimiter: str | None = None, header: bool = True, table: str | None = None,
               encoding: str | None = None, format: str | None = None) -> SparkRead:
    """Read a CSV/TSV (``.gz`` too), Parquet (file, folder, glob), table name or DataFrame.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    source : str or pyspark.sql.DataFrame, default=None
        A path or URI (``hdfs://``, ``s3a://``, ``gs://``, ``abfss://``, globs allowed), or a
        DataFrame to number and use as it is.
    delimiter : str, default=None
        Field delimiter of text files; detected from the first lines when left out
        (``,`` ``\\t`` ``;`` ``|`` or runs of white space, as the local reader).
    header : bool, default=True
        Text files start with a header line. ``False`` names the columns ``column_1``, ….
    table : str, default=None
        A table of the session's catalog, read instead of ``source``.
    encoding : str, default=None
        Only UTF-8 is read on Spark (bytes that are not UTF-8 become U+FFFD); another encoding
        raises :class:`InvalidParameterError`.
    format : {"csv", "parquet"}, default=None
        Force the format instead of deciding from the path.

    Returns
    -------
    SparkRead

    Raises
    ------
    InputFileError
        Nothing is found at ``source``, or it has no data rows.
    SchemaError
        The files of a glob have different headers.
    """
    from pyspark.sql import DataFrame as _DF

    if encoding is not None and encoding.lower().replace("-", "_") not in {
            e.replace("-", "_") for e in _UTF8}:
        raise InvalidParameterError(
            f"The Spark engine reads UTF-8 text only; got encoding={encoding!r}. Convert the "
            "file to UTF-8 (iconv -f cp1252 -t utf-8) or use the local engine.")
    if table is not None:
        return _from_dataframe(spark.table(table), {"path": table, "format": "table"})
    if isinstance(source, _DF):
        return _from_dataframe(source, {"path": "<DataFrame>", "format": "dataframe"})
    if source is None:
        raise InvalidParameterError("spark_read needs a source path, a DataFrame or table=.")
    path = os.fspath(source)
    kind = format or _kind(path)
    if kind in ("parquet",):
        return _read_parquet(spark, path)
    if kind in ("csv", "text"):
        return _read_text(spark, path, delimiter=delimiter, header=header)
    raise InvalidParameterError(f"format must be 'csv' or 'parquet'; got {format!r}.")


# ----------------------------------------------------------------------------- numbering


def with_row_numbers(df: DataFrame, name: str = LINE) -> DataFrame:
    """``df`` with a 1-based, gap-free row number in scan order (``zipWithIndex`` in the JVM).

    ``monotonically_increasing_id`` holds the partition index in its upper bits and the
    position in the partition in its lower bits; the sizes of the earlier partitions, counted
    in one aggregate pass, turn it into a contiguous number. ``df`` is persisted so that both
    passes see the same rows in the same order.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    mid, pid = f"{INTERNAL}mid", f"{INTERNAL}pid"
    tagged = df.select("*", F.monotonically_increasing_id().alias(mid),
                       F.spark_partition_id().alias(pid)).persist(StorageLevel.MEMORY_AND_DISK)
    parts = (tagged.groupBy(pid).agg(F.count(F.lit(1)).alias("n"), F.min(mid).alias("m"))
             .orderBy(pid).collect())
    base, offsets = 0, []
    for r in parts:
        offsets.append((int(r[pid]), base - int(r["m"])))
        base += int(r["n"])
    spark = df.sparkSession
    table = local_frame(spark, offsets or [(0, 0)], f"{pid} INT, {INTERNAL}off BIGINT")
    return (tagged.join(F.broadcast(table), pid)
            .withColumn(name, F.col(mid) + F.col(f"{INTERNAL}off") + 1)
            .drop(mid, pid, f"{INTERNAL}off"))


def _from_dataframe(df: DataFrame, info: dict[str, Any]) -> SparkRead:
    spark = df.sparkSession
    clash = [c for c in df.columns if c.startswith(INTERNAL)]
    if clash:
        raise InvalidParameterError(f"Column names starting with {INTERNAL!r} are reserved by "
                                    f"custseg; rename {clash[0]!r}.")
    frame = with_row_numbers(df)
    info |= {"line_meaning": "1-based position in scan order", "files": None}
    return SparkRead(frame, _empty_rejects(spark, False), list(df.columns), info)


def _empty_rejects(spark: SparkSession, multi: bool) -> DataFrame:
    schema = "line BIGINT, reason STRING, detail STRING, raw_line STRING"
    if multi:
        schema += ", file STRING"
    return local_frame(spark, [], schema)


# -------------------------------------------------------------------------------- Parquet


def _read_parquet(spark: SparkSession, path: str) -> SparkRead:
    from pyspark.sql import functions as F

    try:
        df = spark.read.parquet(path)
    except Exception as exc:  # noqa: BLE001 - AnalysisException and friends
        raise InputFileError(f"Cannot read {path!r} as Parquet: {str(exc)[:300]}") from exc
    files = df.inputFiles()
    clash = [c for c in df.columns if c.startswith(INTERNAL)]
    if clash:
        raise InvalidParameterError(f"Column {clash[0]!r}: names starting with {INTERNAL!r} are "
                                    "reserved by custseg.")
    multi = len(files) > 1
    extra = [(F.col("_metadata.row_index") + 1).alias(LINE)]
    if multi:
        extra.append(F.col("_metadata.file_path").alias(FILE))
    frame = df.select("*", *extra)
    info = {"path": path, "format": "parquet", "files": len(files),
            "line_meaning": "1-based row number inside its Parquet file"}
    return SparkRead(frame, _empty_rejects(spark, multi), list(df.columns), info)


# ----------------------------------------------------------------------------------- text


def _read_text(spark: SparkSession, path: str, *, delimiter: str | None,
               header: bool) -> SparkRead:
    from pyspark.sql import functions as F

    try:
        raw = spark.read.text(path)
        files = raw.inputFiles()
    except Exception as exc:  # noqa: BLE001 - AnalysisException: path does not exist
        raise InputFileError(f"Cannot read {path!r}: {str(exc)[:300]}") from exc
    if not files:
        raise InputFileError(f"No file found at {path!r}.")
    mid = f"{INTERNAL}mid"
    blk = f"{INTERNAL}blk"
    lines = raw.select(F.col("value"), F.col("_metadata.file_path").alias(FILE),
                       F.col("_metadata.file_block_start").alias(blk),
                       F.monotonically_increasing_id().alias(mid))
    blank = _blank(F.col("value"))
    splits = (lines.groupBy(FILE, blk)
              .agg(F.count(F.lit(1)).alias("n"), F.min(mid).alias("m"),
                   F.count(F.when(blank, 1)).alias("nb"),
                   F.min(F.when(~blank, F.col(mid))).alias("first"))
              .collect())
    # line = mid + base for each split; the header is the first non-blank line of each file
    per_file: dict[str, list] = {}
    for r in splits:
        per_file.setdefault(r[FILE], []).append(r)
    header_line: dict[str, int] = {}
    offsets: dict[tuple[str, int], int] = {}
    for f, rows in per_file.items():
        offset = 0
        for r in sorted(rows, key=lambda r: r[blk]):
            offsets[(f, int(r[blk]))] = offset - int(r["m"]) + 1
            if f not in header_line and r["first"] is not None:
                header_line[f] = offset + int(r["first"]) - int(r["m"]) + 1
            offset += int(r["n"])
    blank_lines = sum(int(r["nb"]) for r in splits)
    if not header_line:
        raise InputFileError(f"{path} is empty: it has no header and no rows.")
    bases = [(f, b, base, header_line.get(f, 0) if header else 0)
             for (f, b), base in offsets.items()]
    base_df = local_frame(
        spark, bases, f"{FILE} STRING, {blk} BIGINT, {INTERNAL}base BIGINT, {INTERNAL}hdr BIGINT")
    numbered = (lines.join(F.broadcast(base_df), [FILE, blk])
                .select("value", FILE, (F.col(mid) + F.col(f"{INTERNAL}base")).alias(LINE),
                        F.col(f"{INTERNAL}hdr")))

    first_file = sorted(header_line)[0]
    first_line = header_line[first_file]
    wanted = (F.col(FILE) == first_file) & (F.col(LINE) >= first_line) & \
        (F.col(LINE) <= first_line + 400)
    if header:
        wanted = wanted | (F.col(LINE) == F.col(f"{INTERNAL}hdr"))
    rows = numbered.where(wanted & ~blank).select(FILE, LINE, "value").collect()
    rows.sort(key=lambda r: (r[FILE] != first_file, r[FILE], r[LINE]))
    sample = [r["value"] for r in rows if r[FILE] == first_file]
    if sample:
        sample[0] = sample[0].removeprefix("\ufeff")
    from ..io._sniff import WHITESPACE, sniff_delimiter, unique_names

    delim = delimiter or sniff_delimiter("\n".join(sample), truncated=False)
    headers = {r[FILE]: _split_header(r["value"].removeprefix("\ufeff"), delim) for r in rows
               if r[LINE] == header_line.get(r[FILE])}
    names_raw = headers[first_file]
    if header:
        odd = [f for f, h in headers.items() if h != names_raw]
        if odd:
            raise SchemaError(
                f"The files of {path} do not share one header: {odd[0]} has "
                f"{headers[odd[0]]!r}, {first_file} has {names_raw!r}.")
        names, renamed = unique_names(names_raw)
    else:
        names, renamed = [f"column_{i}" for i in range(1, len(names_raw) + 1)], {}
    ncols = len(names)

    body = numbered.where(~blank)
    if header:
        body = body.where(F.col(LINE) != F.col(f"{INTERNAL}hdr"))
    body = body.drop(f"{INTERNAL}hdr")
    corrupt = f"{INTERNAL}corrupt"
    rec = f"{INTERNAL}rec"
    # the record is parsed once, into a column of its own: Spark would otherwise parse the
    # line again for every field taken from it
    if delim == WHITESPACE:
        body = body.select("*", F.split(strip(F.col("value")), r"\s+").alias(rec))
        cells = [F.col(rec).getItem(i) for i in range(ncols)]
        bad = F.size(F.col(rec)) != ncols
        nfields = F.size(F.col(rec))
    else:
        schema = ", ".join(f"c{i} STRING" for i in range(ncols)) + f", {corrupt} STRING"
        body = body.select("*", F.from_csv(F.col("value"), schema, {
            "sep": delim, "quote": '"', "escape": '"', "mode": "PERMISSIVE",
            "columnNameOfCorruptRecord": corrupt, "nullValue": "", "emptyValue": ""}).alias(rec))
        cells = [F.col(f"{rec}.c{i}") for i in range(ncols)]
        bad = F.col(f"{rec}.{corrupt}").isNotNull()
        nfields = F.size(F.split(F.col("value"), _outside_quotes(delim)))
    multi = len(files) > 1
    keep = [FILE] if multi else []
    detail = F.format_string(f"line %d has %d fields, expected {ncols}", F.col(LINE), nfields)
    staged = body.select(*[_blank_to_null(c).alias(n) for c, n in zip(cells, names, strict=True)],
                         LINE, *keep, bad.alias(BAD),
                         F.when(bad, F.substring(F.col("value"), 1, RAW_LIMIT)).alias(RAW),
                         F.when(bad, detail).alias(DETAIL))
    # parsed once, used by every later pass (roles, accounting, fit)
    from pyspark import StorageLevel

    staged = staged.persist(StorageLevel.MEMORY_AND_DISK)
    frame = staged.where(~F.col(BAD)).select(*names, LINE, *keep)
    rejects = staged.where(F.col(BAD)).select(
        F.col(LINE).alias("line"), F.lit("malformed_row").alias("reason"),
        F.col(DETAIL).alias("detail"), F.col(RAW).alias("raw_line"),
        *([F.col(FILE).alias("file")] if multi else []))
    info = {"path": path, "format": "csv", "delimiter": delim, "files": len(files),
            "header_line": header_line[first_file] if header else None,
            "renamed_columns": renamed, "blank_lines": blank_lines,
            "encoding": "utf-8",
            "line_meaning": "1-based physical line number in its file (one line per record)"}
    return SparkRead(frame, rejects, names, info, staged=staged)


def _outside_quotes(delim: str) -> str:
    """A Java regex matching ``delim`` outside double quotes (to count fields of bad lines)."""
    import re

    return re.escape(delim) + r'(?=(?:[^"]*"[^"]*")*[^"]*$)'


def _split_header(text: str, delim: str) -> list[str]:
    import csv
    import io

    from ..io._sniff import WHITESPACE, WS_TOKEN

    if delim == WHITESPACE:
        return [q or p for q, p in WS_TOKEN.findall(text)]
    return next(csv.reader(io.StringIO(text), delimiter=delim, quotechar='"'), [])


#: What the local reader trims before calling a cell or a line blank.
_SPACE = " \t\r\n\f\v"


def _blank(c: Column) -> Column:
    """True when ``c`` is empty or only white space (`` \t\r\n\f\v``), as the local
    reader decides."""
    from pyspark.sql import functions as F

    return F.btrim(c, F.lit(_SPACE)) == ""


def _blank_to_null(c: Column) -> Column:
    from pyspark.sql import functions as F

    return F.when(~_blank(c), c)
