"""The jobs behind ``custseg segment|rfm|choose-k|assign --engine spark``.

The same jobs as :func:`custseg.run_segment`, :func:`custseg._pipeline.run_choose_k`,
:func:`custseg._assign_job.run_assign` and ``custseg rfm`` — read, account for every row, fit,
profile, write — with every step over the rows done by Spark: the column roles and the row
accounting (:data:`custseg._pipeline.REJECT_REASONS`, first reason wins, same details) are
Spark expressions, the fit is :func:`~custseg.engines.fit_spark_full`, and the large outputs
(segments, rejects, features) are written by Spark as folders of part files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._exceptions import ColumnNotFoundError, InvalidParameterError, SchemaError
from .._pipeline import _SEGMENT_COLUMNS, REJECT_REASONS, SegmentOptions, _file_sha256, versions
from ..prep._columns import ID_NAMES, ColumnPlan, _norm
from ..prep._typing import NUMERIC_SHARE
from ._spark import INTERNAL, col, get_spark, require_pyspark, sql_ident, sql_string
from ._spark_fit import DIST, PROB, SEG, _xcol, fit_spark_full
from ._spark_numeric import numeric_columns, strip_sql
from ._spark_output import OutputFolder, is_remote
from ._spark_read import BAD, DETAIL, FILE, LINE, RAW, SparkRead, spark_read

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

logger = logging.getLogger(__name__)

__all__ = ["Accounting", "account_rows_spark", "run_choose_k_spark", "run_rfm_spark",
           "spark_rfm_scores", "resolve_columns_spark", "run_assign_spark",
           "run_segment_spark"]

Progress = Callable[[str], None]
#: Duplicate IDs up to this many are broadcast (keeping the rows' order); more are joined.
BROADCAST_DUPLICATES = 1_000_000


def _noop(stage: str) -> None:
    return None


# --------------------------------------------------------------------------- column roles


def resolve_columns_spark(read: SparkRead, features: Sequence[str] | None,
                          id_column: str | None | bool, *, source: str | None = None
                          ) -> tuple[ColumnPlan, dict[str, str]]:
    """:func:`custseg.prep.resolve_columns` on a Spark table, with the same rules.

    The ID column is detected by name (``CustomerID``, ``customer_id``, ``ID`` …), or among
    columns whose name ends in ``id`` when 95% of the values are distinct (exact count). A
    feature is a column of numbers, or of text of which 90% of the non-missing cells parse as
    numbers, that is not constant. Returns the plan and the decimal mark of each feature.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, DateType, NumericType, StringType, TimestampType

    frame = read.frame
    columns = list(read.columns)
    schema = {f.name: f.dataType for f in frame.schema.fields}
    if id_column is None:
        by_norm: dict[str, str] = {}
        for c in columns:
            by_norm.setdefault(_norm(c), c)
        id_col = next((by_norm[n] for n in ID_NAMES if n in by_norm), None)
        if id_col is None:
            candidates = [c for c in columns if _norm(c).endswith("id") and len(_norm(c)) > 2]
            if candidates:
                row = frame.agg(F.count(F.lit(1)).alias("n"), *[
                    F.countDistinct(col(c)).alias(f"d{i}") for i, c in enumerate(candidates)
                ]).collect()[0]
                id_col = next((c for i, c in enumerate(candidates)
                               if row[f"d{i}"] >= 0.95 * row["n"]), None)
        detected = True
    elif id_column is False:
        id_col, detected = None, False
    else:
        if id_column not in columns:
            raise ColumnNotFoundError(id_column, columns, source=source, what="ID column")
        id_col, detected = id_column, False

    excluded: dict[str, str] = {}
    if features is not None:
        chosen = []
        for c in features:
            if c not in columns:
                raise ColumnNotFoundError(c, columns, source=source, what="feature column")
            if c == id_col:
                raise SchemaError(f"Column {c!r} is the ID column and cannot also be a feature. "
                                  "Pick another --id, or leave it out of --features.")
            if c in chosen:
                raise SchemaError(f"Feature column {c!r} is listed twice in features.")
            chosen.append(c)
        excluded = {c: "not requested" for c in columns if c != id_col and c not in chosen}
        stats = _column_stats(frame, chosen)
        text = [c for c in chosen if stats[c]["present"] and stats[c]["share"] <= 0.5]
        if text:
            raise InvalidParameterError(
                f"Feature column {text[0]!r} is mostly text: the local engine would treat it as "
                "categorical, which the Spark engine does not support yet. Leave it out of "
                "--features, or use the local engine.")
        marks = {c: stats[c]["mark"] for c in chosen}
        return ColumnPlan(id_col, detected and id_col is not None, chosen, excluded), marks

    candidates = []
    for c in columns:
        if c == id_col:
            continue
        t = schema[c]
        if isinstance(t, DateType | TimestampType) or t.typeName().startswith("timestamp"):
            excluded[c] = "date/time column"
        elif isinstance(t, BooleanType):
            excluded[c] = "boolean column (not numeric)"
        elif isinstance(t, NumericType | StringType):
            candidates.append(c)
        else:
            excluded[c] = "not numeric"
    stats = _column_stats(frame, candidates)
    chosen = []
    for c in candidates:
        st = stats[c]
        numeric = isinstance(schema[c], NumericType) or (
            st["present"] > 0 and st["share"] >= NUMERIC_SHARE)
        if not numeric:
            excluded[c] = "not numeric"
        elif st["lo"] is not None and st["lo"] == st["hi"]:
            excluded[c] = "constant (one distinct value)"
        else:
            chosen.append(c)
    marks = {c: stats[c]["mark"] for c in chosen}
    # excluded in column order, as the local plan lists them
    excluded = {c: excluded[c] for c in columns if c in excluded}
    if not chosen:
        raise SchemaError(
            f"No numeric feature columns found{' in ' + source if source else ''} "
            f"(columns: {', '.join(map(repr, columns))}). Name the columns to use with "
            "--features (Python: features=[...]), or convert numbers stored as text.")
    return ColumnPlan(id_col, detected and id_col is not None, chosen, excluded), marks


def _column_stats(frame: DataFrame, columns: list[str]) -> dict[str, dict[str, Any]]:
    """Per column, in one pass: the decimal mark (as ``parse_numeric`` decides it), the
    non-missing cells, the share of them that are numbers, and the min and max value."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType, StringType

    from ._spark_numeric import decimal_evidence, parse_column

    schema = {f.name: f.dataType for f in frame.schema.fields}
    aggs = []
    for i, c in enumerate(columns):
        for m, tag in ((".", "d"), (",", "c")):
            p = parse_column(frame, c, m)
            aggs += [
                F.expr(f"count(CASE WHEN NOT {p.missing_sql} AND NOT {p.invalid_sql} THEN 1 END)")
                .alias(f"v{tag}{i}"),
                F.expr(f"min({p.value_sql})").alias(f"lo{tag}{i}"),
                F.expr(f"max({p.value_sql})").alias(f"hi{tag}{i}")]
            if isinstance(schema[c], NumericType):
                break
        aggs.append(F.expr(f"count(CASE WHEN NOT {p.missing_sql} THEN 1 END)").alias(f"p{i}"))
        if isinstance(schema[c], StringType):
            comma, dotted = decimal_evidence(sql_ident(c))
            aggs += [F.expr(f"max(CAST({comma} AS INT))").alias(f"cm{i}"),
                     F.expr(f"max(CAST({dotted} AS INT))").alias(f"dt{i}")]
    if not aggs:
        return {}
    row = frame.agg(*aggs).collect()[0]
    out = {}
    for i, c in enumerate(columns):
        comma = isinstance(schema[c], StringType) and bool(row[f"cm{i}"]) and \
            not bool(row[f"dt{i}"])
        tag = "c" if comma else "d"
        present, valid = int(row[f"p{i}"]), int(row[f"v{tag}{i}"])
        out[c] = {"mark": "," if comma else ".", "present": present,
                  "share": valid / present if present else 1.0,
                  "lo": row[f"lo{tag}{i}"], "hi": row[f"hi{tag}{i}"]}
    return out


# ---------------------------------------------------------------------------- accounting


def _py_repr_sql(c: str) -> str:
    """SQL giving Python's ``repr`` of the text ``c`` for the usual characters (backslash,
    quotes, newline, carriage return and tab), as in the local engine's reject details."""
    bs, q, dq = "\\", "'", '"'
    esc = f"replace({c}, {sql_string(bs)}, {sql_string(bs + bs)})"
    for ch, rep in (("\n", "n"), ("\r", "r"), ("\t", "t")):
        esc = f"replace({esc}, {sql_string(ch)}, {sql_string(bs + rep)})"
    single = (f"concat({sql_string(q)}, replace({esc}, {sql_string(q)}, {sql_string(bs + q)}), "
              f"{sql_string(q)})")
    double = f"concat({sql_string(dq)}, {esc}, {sql_string(dq)})"
    return (f"CASE WHEN contains({c}, {sql_string(q)}) AND NOT contains({c}, {sql_string(dq)}) "
            f"THEN {double} ELSE {single} END")


@dataclass
class Accounting:
    """What :func:`account_rows_spark` decided.

    Attributes
    ----------
    kept : pyspark.sql.DataFrame
        The rows to segment: the table's columns and the line column (and file column).
    rejects : pyspark.sql.DataFrame
        ``line``, ``reason``, ``detail``, ``raw_line``, (``file``), then the original values.
    imputed : dict
        Missing feature cells per feature among kept rows (they will be imputed).
    n_kept : int
    rejects_by_reason : dict
        Reject count per reason, largest first.
    """

    kept: DataFrame
    rejects: DataFrame
    imputed: dict[str, int]
    n_kept: int
    rejects_by_reason: dict[str, int]
    cached: list[DataFrame] = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        return sum(self.rejects_by_reason.values())

    def release(self) -> None:
        """Unpersist the cached intermediate tables (``kept`` and ``rejects`` then recompute)."""
        for df in self.cached:
            df.unpersist()
        self.cached.clear()


def account_rows_spark(read: SparkRead, features: list[str], id_column: str | None, *,
                       missing: str, duplicates: str, decimals: dict[str, str] | None = None
                       ) -> Accounting:
    """:func:`custseg._pipeline.account_rows` on Spark: which rows are segmented, and why not.

    Every data line gets at most one reason, the first that applies in the order of
    :data:`~custseg._pipeline.REJECT_REASONS` (``malformed_row`` first), with the local
    engine's details. Duplicate IDs: the row with the smallest line (per file) is kept, and
    only IDs seen more than once are joined back (broadcast, so the rows keep their order).
    One aggregate pass counts the kept rows, the rejects per reason and the imputed cells.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    base = read.staged if read.staged is not None else read.frame
    has_bad = read.staged is not None
    bad = sql_ident(BAD) if has_bad else "false"
    parsed = numeric_columns(base, features, decimals)
    reason_col, detail_col = f"{INTERNAL}reason", f"{INTERNAL}detail"
    order = [FILE, LINE] if read.multi_file else [LINE]
    whens: list[tuple[str, str, str]] = []  # (condition, code, detail), all SQL
    if has_bad:
        whens.append((bad, "malformed_row", sql_ident(DETAIL)))
    nan = {f: parsed[f].missing_sql for f in features}
    inv = {f: parsed[f].invalid_sql for f in features}
    first_bad = "CASE " + " ".join(
        f"WHEN {inv[f]} THEN concat({sql_string(f'column {f!r}: ')}, "
        f"{_py_repr_sql(f'substring(CAST({sql_ident(f)} AS STRING), 1, 80)')}, "
        "' is not a number')" for f in features) + " END"
    whens.append(("(" + " OR ".join(inv.values()) + ")", "invalid_value", first_bad))
    whens.append(("(" + " AND ".join(nan.values()) + ")", "all_features_missing",
                  "'no feature has a value'"))
    if missing == "reject":
        listed = ", ".join(f"CASE WHEN {nan[f]} THEN {sql_string(repr(f))} END" for f in features)
        whens.append(("(" + " OR ".join(nan.values()) + ")", "missing_value",
                      f"concat('missing: ', concat_ws(', ', {listed}))"))
    staged = base
    dup = None
    if id_column is not None:
        ids = strip_sql(f"CAST({sql_ident(id_column)} AS STRING)")
        blank = f"({ids} IS NULL OR {ids} = '')"
        whens.append((blank, "missing_id", sql_string(f"column {id_column!r} is blank")))
        if duplicates == "reject":
            key, first = f"{INTERNAL}key", f"{INTERNAL}first"
            staged = staged.withColumn(key, F.expr(f"CASE WHEN NOT {blank} AND NOT {bad} "
                                                   f"THEN {ids} END"))
            rank = F.struct(*[F.col(c) for c in order])
            dup = (staged.where(F.col(key).isNotNull()).groupBy(key)
                   .agg(F.count(F.lit(1)).alias("n"), F.min(rank).alias("rk"))
                   .where(F.col("n") > 1)
                   .select(key, F.col(f"rk.{LINE}").alias(first), "rk"))
            dup = dup.persist(StorageLevel.MEMORY_AND_DISK)
            n_dup = dup.count()
            if n_dup:
                joined = F.broadcast(dup) if n_dup <= BROADCAST_DUPLICATES else dup
                staged = staged.join(joined, key, "left")
                rank_sql = "struct(" + ", ".join(sql_ident(c) for c in order) + ")"
                whens.append((
                    f"({sql_ident(first)} IS NOT NULL AND {rank_sql} <> rk)", "duplicate_id",
                    f"concat('ID ', {_py_repr_sql(f'substring({sql_ident(key)}, 1, 80)')}, "
                    f"' first seen on line ', CAST({sql_ident(first)} AS STRING))"))
    reason = F.expr("CASE " + " ".join(f"WHEN {c} THEN {sql_string(code)}"
                                       for c, code, _ in whens) + " END")
    detail = F.expr("CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in whens) + " END")
    nan_cols = [F.expr(f"CASE WHEN {nan[f]} THEN 1 ELSE 0 END").alias(f"{INTERNAL}nan{j}")
                for j, f in enumerate(features)]
    file_cols = [F.col(FILE)] if read.multi_file else []
    raw = [F.col(RAW)] if has_bad else []
    originals = [F.expr(f"CASE WHEN NOT {bad} THEN {sql_ident(c)} END").alias(c)
                 for c in read.columns]
    staged = staged.select(*originals, F.col(LINE), *file_cols, *raw,
                           reason.alias(reason_col), detail.alias(detail_col),
                           *nan_cols).persist(StorageLevel.MEMORY_AND_DISK)
    rows = staged.groupBy(reason_col).agg(
        F.count(F.lit(1)).alias("n"),
        *[F.sum(f"{INTERNAL}nan{j}").alias(f"m{j}") for j in range(len(features))]).collect()
    kept_row = next((r for r in rows if r[reason_col] is None), None)
    n_kept = int(kept_row["n"]) if kept_row is not None else 0
    imputed = {f: int(kept_row[f"m{j}"] or 0) if kept_row is not None else 0
               for j, f in enumerate(features)}
    by_reason = {str(r[reason_col]): int(r["n"]) for r in sorted(
        (r for r in rows if r[reason_col] is not None), key=lambda r: -r["n"])}
    kept = staged.where(F.col(reason_col).isNull()).select(
        *[col(c) for c in read.columns], F.col(LINE), *file_cols)
    rejects = staged.where(F.col(reason_col).isNotNull()).select(
        F.col(LINE).alias("line"), F.col(reason_col).alias("reason"),
        F.col(detail_col).alias("detail"),
        *([F.col(RAW).alias("raw_line")] if raw else []),
        *([F.col(FILE).alias("file")] if read.multi_file else []),
        *[col(c).cast("string").alias(c) for c in read.columns
          if c not in ("line", "reason", "detail", "raw_line", "file")])
    cached = [staged] + ([dup] if dup is not None else [])
    if read.staged is not None:
        read.staged.unpersist()  # the accounting table holds all it had
    return Accounting(kept, rejects, imputed, n_kept, by_reason, cached)


# ------------------------------------------------------------------------------- the job


def _spark_info(spark: SparkSession) -> dict[str, Any]:
    sc = spark.sparkContext
    return {"version": spark.version, "master": sc.master, "app_id": sc.applicationId,
            "default_parallelism": sc.defaultParallelism}


def _sample_frame(assigned: DataFrame, features: list[str], n: int, extra: list[str],
                  limit: int = 5000) -> pd.DataFrame:
    """Up to ``limit`` kept rows (a fixed random sample, in line order): parsed feature values,
    segment and ``extra`` columns (``report_sample.parquet``)."""
    from pyspark.sql import functions as F

    fraction = min(1.0, 1.2 * limit / max(n, 1))
    rows = (assigned.sample(False, fraction, seed=0).orderBy(LINE).limit(limit)
            .select(*[F.col(_xcol(j)) for j in range(len(features))], SEG,
                    *[F.col(c) for c in extra]).collect())
    data: dict[str, Any] = {
        f: np.array([r[_xcol(j)] if r[_xcol(j)] is not None else np.nan for r in rows],
                    dtype=np.float64) for j, f in enumerate(features)}
    data["segment"] = np.array([int(r[SEG]) for r in rows], dtype=np.int64)
    for c in extra:
        data[c] = [r[c] for r in rows]
    return pd.DataFrame(data)


_SPARK_ALGORITHMS = ("kmeans", "bisecting", "gmm")


def _check_options(opts: SegmentOptions) -> None:
    if opts.sheet is not None or opts.query is not None:
        raise InvalidParameterError("--sheet and --query do not apply to the Spark engine; "
                                    "export the table as CSV or Parquet.")
    if getattr(opts, "categorical", None):
        raise InvalidParameterError("Categorical features (--categorical) are not supported by "
                                    "the Spark engine yet; use the local engine.")
    if opts.algorithm not in _SPARK_ALGORITHMS:
        raise InvalidParameterError(
            f"The Spark engine runs the algorithms {', '.join(_SPARK_ALGORITHMS)} "
            f"(pyspark.ml); got --algorithm {opts.algorithm}. Use the local engine for it.")
    if opts.dtype != "float64":
        raise InvalidParameterError(
            f"--dtype {opts.dtype} applies to the local engine's k-means; Spark MLlib computes "
            "in float64. Leave --dtype out with --engine spark.")
    if opts.init_size != "auto":
        raise InvalidParameterError(
            "--init-size applies to the local engine's k-means; Spark MLlib seeds with its "
            "own sampled k-means|| initialisation. Leave --init-size out with --engine spark.")


def _derive(spark: SparkSession, read: SparkRead, opts: SegmentOptions, output: OutputFolder,
            progress: Progress) -> tuple[SparkRead, Any, DataFrame]:
    """Transactions mode: RFM on Spark, ``features.parquet``; the customers become the rows."""
    from pyspark.sql import functions as F

    from .._pipeline import RFM_FEATURES, RFM_LOG_FEATURES
    from ._spark_rfm import spark_rfm

    progress("deriving RFM features")
    # memory_limit / threads tune DuckDB; Spark takes its resources from the session
    params = {k: v for k, v in dict(opts.rfm).items() if k not in ("memory_limit", "threads")}
    res = spark_rfm(spark, read, **params)
    output.write_dataframe(res.features, "features.parquet", "parquet")
    cust = spark_read(spark, res.features)
    cust.info |= {"path": read.info.get("path"), "format": "transactions", "unit": "customers",
                  "line_meaning": "1-based row number of the customer in ID order"}
    if opts.features is None:
        opts.features = list(RFM_FEATURES)
        if opts.log_transform is None:
            opts.log_transform = list(RFM_LOG_FEATURES)
    line_rejects = res.rejects.withColumn(
        "detail", F.lit("excluded from the log, see summary.rfm"))
    return cust, res, line_rejects


def run_segment_spark(source: str | Path | DataFrame | None, out: str | Path,
                      options: SegmentOptions | None = None, spark: SparkSession | None = None,
                      progress: Progress = _noop, *, master: str | None = None,
                      conf: Mapping[str, Any] | None = None, table: str | None = None
                      ) -> dict[str, Any]:
    """Segment the customer table (or, with ``options.transactions``, the order log) at
    ``source`` on Spark and write the output folder ``out``.

    The output folder is the one :func:`custseg.run_segment` writes (DESIGN §3), except that
    ``segments.csv`` (or ``segments.parquet``), ``rejects.csv`` and ``features.parquet`` are
    folders of part files written by Spark (rows in input order, part files in order), and
    ``summary.json`` says ``"engine": "spark"`` and holds a ``spark`` section. The row
    accounting is the same: ``rows_read == rows_segmented + rows_rejected``.

    Parameters
    ----------
    source : str, path-like or pyspark.sql.DataFrame
        CSV/TSV (``.gz``), Parquet file, folder or glob, local or a URI (``hdfs://``,
        ``s3a://`` …), or a DataFrame. ``None`` with ``table=``.
    out : str or path-like
        Output folder, local or a URI.
    options : SegmentOptions, default=None
        The job's options, as for :func:`custseg.run_segment`. On Spark: algorithms
        ``kmeans`` (``method`` is ignored: Spark's Lloyd with k-means|| starts; ``n_init``
        runs, each a full Spark k-means), ``bisecting`` and ``gmm``; ``k="auto"`` chooses k on
        a sample of 100,000 rows; no categorical features, ``sheet`` or ``query``.
    spark : pyspark.sql.SparkSession, default=None
        The session; else :func:`~custseg.engines.get_spark` with ``master`` and ``conf``.
    progress : callable, default=no-op
        Called with the name of each stage.
    master : str, default=None
    conf : dict, default=None
        Passed to :func:`~custseg.engines.get_spark`.
    table : str, default=None
        Read this table of the session's catalog instead of ``source``.

    Returns
    -------
    dict
        The summary (also written as ``summary.json``).
    """
    require_pyspark()  # before any pyspark import: MissingDependencyError names the extra
    from pyspark.sql import functions as F

    from ..io import write_csv, write_json, write_parquet, write_text
    from ..report import render_report

    opts = replace(options, rfm=dict(options.rfm)) if options else SegmentOptions()
    _check_options(opts)
    spark = get_spark(spark, master, conf)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    progress("reading")
    read = spark_read(spark, source if table is None else None, delimiter=opts.delimiter,
                      encoding=opts.encoding, table=table)
    src_name = str(table or (source if not hasattr(source, "columns") else "<DataFrame>"))
    output = OutputFolder(spark, out)
    output.prepare(opts.force)
    derived = line_rejects = None
    if opts.transactions:
        read, derived, line_rejects = _derive(spark, read, opts, output, progress)
        timings["derive"] = time.perf_counter() - t0
    else:
        timings["read"] = time.perf_counter() - t0

    t = time.perf_counter()
    progress("checking rows")
    plan, marks = resolve_columns_spark(read, opts.features, opts.id_column, source=src_name)
    if plan.id_column in _SEGMENT_COLUMNS:
        raise SchemaError(f"{src_name}: the ID column is named {plan.id_column!r}, like a column "
                          "custseg writes in segments.csv. Rename it in the input, or pass "
                          "--no-id.")
    acc = account_rows_spark(read, plan.features, plan.id_column, missing=opts.missing,
                             duplicates=opts.duplicates, decimals=marks)
    by_reason, n_rejected, n_kept = acc.rejects_by_reason, acc.n_rejected, acc.n_kept
    n_read = n_kept + n_rejected
    timings["check"] = time.perf_counter() - t
    if n_read == 0:
        raise SchemaError(f"{src_name}: no row could be read. See the file's format, or pass "
                          "--delimiter.")
    rejects = acc.rejects
    if line_rejects is not None:
        rejects = line_rejects.unionByName(rejects, allowMissingColumns=True)
    ordered = ["line", "reason", "detail", "raw_line"]
    rejects = rejects.select(*[col(c) for c in ordered if c in rejects.columns],
                             *[col(c) for c in rejects.columns if c not in ordered])
    output.write_dataframe(rejects, "rejects.csv", "csv")
    if n_kept < 2:
        raise SchemaError(
            f"{src_name}: only {n_kept} of {n_read} rows can be segmented; see the reasons "
            f"in {output.uri}/rejects.csv." if n_rejected else f"{src_name}: too few rows.")

    t = time.perf_counter()
    progress("clustering")
    key = plan.id_column
    rfm_cols = ["recency_days", "frequency", "monetary"] if derived is not None else []
    keep = list(dict.fromkeys([c for c in (key, LINE) if c is not None] + rfm_cols))
    fit = fit_spark_full(spark, acc.kept, plan.features, k=opts.k, scale=opts.scale,
                         log_transform=opts.log_transform, clip=opts.clip, impute=opts.impute,
                         seed=opts.seed, algorithm=opts.algorithm, n_init=opts.n_init,
                         max_iter=opts.max_iter, tol=opts.tol, id_column=key, keep=keep,
                         decimals=marks, k_range=tuple(opts.k_range),
                         min_segment_share=opts.min_segment_share,
                         known=(n_kept, {f: n_kept - acc.imputed[f] for f in plan.features}))
    acc.release()
    model = fit.model
    alignment = _align(model, opts.previous) if opts.previous else None
    if opts.names:
        _rename(model, opts.names)
    timings["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    progress("writing outputs")
    names = model.names
    remap = alignment_map(model)
    seg_id = remap(F.col(SEG)) if remap else F.col(SEG)
    ids = sorted(names)
    name_expr = F.element_at(F.create_map(*[x for s in ids for x in (
        F.lit(s), F.lit(names[s]))]), seg_id)
    assigned = fit.assignments
    scorer_dict = None
    score_cols: list[str] = []
    if derived is not None:
        assigned, edges = spark_rfm_scores(assigned)
        from ..features import RFMScorer

        scorer = RFMScorer()
        scorer.edges_, scorer.n_customers_ = edges, n_kept
        scorer_dict = scorer.to_dict()
        score_cols = ["r_score", "f_score", "m_score", "rfm_segment"]
        model.derivation = {"kind": "rfm", "rfm": derived.summary, "scorer": scorer_dict}
    gmm = model.algorithm.get("name") == "gmm"
    segments = assigned.select(
        (col(key) if key is not None else F.col(LINE)).alias(key if key is not None else "line"),
        seg_id.cast("long").alias("segment"), name_expr.alias("segment_name"),
        F.col(DIST).alias("distance"), *([F.col(PROB)] if gmm else []),
        *[F.col(c) for c in score_cols])
    if opts.output_format == "parquet":
        output.write_dataframe(segments, "segments.parquet", "parquet")
    else:
        output.write_dataframe(segments, "segments.csv", "csv")
    profiles = model.profiles_.copy()  # type: ignore[attr-defined]
    if remap:
        new_ids = model.alignment_new_ids  # type: ignore[attr-defined]
        profiles["segment"] = profiles["segment"].map(new_ids)
    profiles["segment_name"] = profiles["segment"].map(names)
    write_csv(profiles, output.local("profiles.csv"))
    model.save(output.local("model.json"))
    sample = _sample_frame(assigned, plan.features, n_kept,
                           score_cols[:2] + score_cols[3:] + ([PROB] if gmm else []))
    if remap:
        sample["segment"] = sample["segment"].map(model.alignment_new_ids)  # type: ignore[attr-defined]
    write_parquet(sample, output.local("report_sample.parquet"))

    path_for_hash = None if (not isinstance(source, str | Path) or is_remote(str(source))) \
        else Path(str(source))
    choice = fit.k_selection
    summary: dict[str, Any] = {
        "input": {k: v for k, v in read.info.items() if k != "columns"}
        | {"path": src_name,
           "sha256": _file_sha256(path_for_hash) if path_for_hash is not None else None},
        "rows_read": int(n_read),
        "rows_segmented": int(n_kept),
        "rows_rejected": int(n_rejected),
        "rejects_by_reason": by_reason,
        "reject_reasons": {k: REJECT_REASONS[k] for k in by_reason if k in REJECT_REASONS},
        "missing_policy": opts.missing,
        "imputed_by_feature": acc.imputed,
        "duplicate_ids": opts.duplicates,
        "id_column": key,
        "id_column_detected": bool(plan.id_detected and key is not None),
        "features": list(plan.features),
        "categorical_features": [],
        "excluded_columns": {str(k): v for k, v in plan.excluded.items()},
        "preprocessing": {"scale": opts.scale, "log_transform": opts.log_transform,
                          "log1p_features": [f for f, b in zip(
                              plan.features, model.preprocessor.log1p_, strict=True) if b],
                          "clip": list(opts.clip) if opts.clip else None,
                          "impute": opts.impute},
        "k": len(model.segments),
        "k_requested": opts.k,
        "clear_segmentation": bool(choice.clear_segmentation) if choice is not None else True,
        "k_selection": (choice.to_dict() | {"spark_sample_rows": int(choice.n_samples)})
        if choice is not None else None,
        "noise_customers": 0,
        "algorithm": model.algorithm,
        "metrics": fit.metrics,
        "segments": [{"segment": s["id"], "name": s["name"], "size": s["size"],
                      "share": s["share"], "description": s.get("description", "")}
                     for s in model.segments],
        "alignment": alignment,
        "transactions": None if derived is None else _transactions_summary(derived, assigned),
        "engine": "spark",
        "spark": _spark_info(spark),
        "outputs": {"layout": "Spark folders of part files: segments, rejects, features; "
                              "single files: the rest"},
        "seed": opts.seed,
        "options": {k: v for k, v in asdict(opts).items() if k not in ("extra",)},
        "versions": versions() | {"pyspark": spark.version},
    }
    timings["write"] = time.perf_counter() - t
    summary["timings_seconds"] = {k: round(v, 4) for k, v in timings.items()} | {
        f"fit_{k}": round(v, 4) for k, v in fit.timings.items()}
    if summary["rows_read"] != summary["rows_segmented"] + summary["rows_rejected"]:
        raise AssertionError("row accounting broken")  # pragma: no cover - invariant
    write_json(summary, output.local("summary.json"))
    progress("rendering report")
    write_text(render_report(output.staging, include_ids=opts.include_ids),
               output.local("report.html"))
    output.publish(["profiles.csv", "model.json", "report_sample.parquet", "summary.json",
                    "report.html"])
    output.cleanup()
    fit.assignments.unpersist()
    return summary


def run_choose_k_spark(source: str | Path | DataFrame | None,
                       options: SegmentOptions | None = None,
                       spark: SparkSession | None = None, progress: Progress = _noop, *,
                       master: str | None = None, conf: Mapping[str, Any] | None = None,
                       table: str | None = None, sample: int = 100_000
                       ) -> tuple[Any, dict[str, Any]]:
    """``custseg choose-k --engine spark``: :func:`custseg._pipeline.run_choose_k` on Spark.

    Reading, the row accounting and the preprocessing run on Spark over every row; the
    candidates of ``options.k_range`` are then evaluated by :func:`custseg.select.choose_k` on
    a uniform sample of at most ``sample`` preprocessed rows (choose_k fits on at most 20,000
    of them). Returns the :class:`custseg.select.Choice` and facts about the rows used.
    """
    from ._spark_fit import _choose_k_spark, _zcol, scaled_frame

    opts = replace(options, rfm=dict(options.rfm)) if options else SegmentOptions()
    _check_options(opts)
    spark = get_spark(spark, master, conf)
    progress("reading")
    read = spark_read(spark, source if table is None else None, delimiter=opts.delimiter,
                      encoding=opts.encoding, table=table)
    src_name = str(table or (source if not hasattr(source, "columns") else "<DataFrame>"))
    plan, marks = resolve_columns_spark(read, opts.features, opts.id_column, source=src_name)
    acc = account_rows_spark(read, plan.features, plan.id_column, missing=opts.missing,
                             duplicates=opts.duplicates, decimals=marks)
    progress("choosing k")
    Z, _, n = scaled_frame(acc.kept, plan.features, decimals=marks,
                           known=(acc.n_kept, {f: acc.n_kept - acc.imputed[f]
                                               for f in plan.features}),
                           impute=opts.impute, log_transform=opts.log_transform,
                           clip=opts.clip, scale=opts.scale)
    acc.release()
    choice = _choose_k_spark(Z, [_zcol(j) for j in range(len(plan.features))], n,
                             tuple(opts.k_range), algorithm=opts.algorithm, seed=opts.seed,
                             min_share=opts.min_segment_share, sample=sample)
    Z.unpersist()
    info = {"rows": int(acc.n_kept), "rows_rejected": int(acc.n_rejected),
            "features": list(plan.features), "engine": "spark",
            "sample_rows": int(choice.n_samples)}
    return choice, info


def _transactions_summary(derived: Any, assigned: DataFrame) -> dict[str, Any]:
    s = derived.summary
    counts = assigned.groupBy("rfm_segment").count().collect()
    return {
        "unit": "rows_* count customers; lines_* count lines of the log (excluded lines are "
                "in rejects.csv)",
        "lines_read": s["lines_read"], "lines_used": s["lines_used"],
        "lines_excluded": s["lines_excluded"],
        "lines_excluded_by_reason": {k: v for k, v in s["lines_excluded_by_reason"].items() if v},
        "rfm_segments": {str(r["rfm_segment"]): int(r["count"])
                         for r in sorted(counts, key=lambda r: -r["count"])},
        "rfm": s,
    }


# --------------------------------------------------------------- previous runs and names


def _align(model: Any, previous: str) -> dict[str, Any]:
    """Give the segments the ids and names of the matching segments of a previous run (as
    :meth:`custseg.Segmenter.align_to`); the new ids are applied when writing."""
    from ..model import load_model
    from ..track import align_segments

    old = load_model(previous)
    alignment = align_segments(model, old)
    mapping = alignment.new_to_old
    old_names = old.names
    taken = {old_names[o] for o in alignment.matched.values()}
    names = {}
    for seg in model.segments:
        sid = int(seg["id"])
        if sid in alignment.matched:
            names[mapping[sid]] = old_names[alignment.matched[sid]]
        else:
            name = seg["name"]
            names[mapping[sid]] = name if name not in taken else f"{name} (new)"
    for seg in model.segments:
        seg["id"] = mapping[int(seg["id"])]
        seg["name"] = names[seg["id"]]
    model.alignment = alignment.to_dict()
    model.alignment_new_ids = {int(k): int(v) for k, v in mapping.items()}
    return alignment.to_dict()


def alignment_map(model: Any) -> Callable[[Column], Column] | None:
    """A Spark expression mapping fitted segment numbers to aligned ids (``None`` if none)."""
    from pyspark.sql import functions as F

    mapping = getattr(model, "alignment_new_ids", None)
    if not mapping:
        return None
    m = F.create_map(*[x for k, v in sorted(mapping.items()) for x in (F.lit(k), F.lit(v))])
    return lambda c: F.element_at(m, c)


def _rename(model: Any, names: dict[int, str]) -> None:
    known = {int(s["id"]) for s in model.segments}
    for seg, name in names.items():
        if int(seg) not in known:
            raise InvalidParameterError(f"Segment {seg!r} does not exist; segments are "
                                        f"{sorted(known)}.")
        if not isinstance(name, str) or not name.strip():
            raise InvalidParameterError(f"The name of segment {seg} must be non-empty text.")
    merged = {**model.names, **{int(s): n.strip() for s, n in names.items()}}
    if len(set(merged.values())) != len(merged):
        raise InvalidParameterError("Segment names must be unique within a segmentation.")
    for s in model.segments:
        s["name"] = merged[int(s["id"])]


# ------------------------------------------------------------------------------- assign


def run_assign_spark(model_path: str | Path, source: str | Path | DataFrame, out_file: str | Path,
                     *, missing: str = "impute", delimiter: str | None = None,
                     encoding: str | None = None, spark: SparkSession | None = None,
                     master: str | None = None, conf: Mapping[str, Any] | None = None,
                     table: str | None = None) -> dict[str, Any]:
    """``custseg assign`` on Spark: :func:`custseg._assign_job.run_assign`'s rules and summary.

    Writes ``out_file`` as a Spark folder (Parquet when it ends in ``.parquet``, else CSV) with
    the ID (or ``line``), ``segment``, ``segment_name``, ``distance``, ``margin`` and
    ``out_of_distribution``, and the rejected rows to ``<stem>.rejects.csv`` beside it.
    """
    require_pyspark()
    from pyspark.sql import functions as F

    from ..model import load_model
    from ._spark_fit import assign_spark

    if missing not in ("impute", "reject"):
        raise InvalidParameterError(f"missing must be 'impute' or 'reject'; got {missing!r}.")
    model = load_model(model_path)
    spark = get_spark(spark, master, conf)
    read = spark_read(spark, source if table is None else None, delimiter=delimiter,
                      encoding=encoding, table=table)
    absent = [f for f in model.features if f not in read.columns]
    if absent:
        raise SchemaError(
            f"{source} lacks the model's feature column(s) {', '.join(map(repr, absent))}; the "
            f"model needs {', '.join(map(repr, model.features))}. Rename the columns to match.")
    id_col = model.id_column if model.id_column in read.columns else None
    acc = account_rows_spark(read, model.features, id_col, missing=missing, duplicates="keep")
    kept, rejects, imputed = acc.kept, acc.rejects, acc.imputed
    assigned = assign_spark(spark, model, kept, keep=[LINE] if id_col is None else [])
    if id_col is None:
        assigned = assigned.withColumnRenamed(LINE, "line")
    assigned = assigned.drop("reason")
    out_file = str(out_file)
    folder = out_file.rsplit("/", 1)[0] if "/" in out_file else "."
    name = out_file.rsplit("/", 1)[-1]
    output = OutputFolder(spark, folder)
    if not output.remote:
        output.staging.mkdir(parents=True, exist_ok=True)
    fmt = "parquet" if name.endswith(".parquet") else "csv"
    output.write_dataframe(assigned, name, fmt)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    by_reason, n_rejected = acc.rejects_by_reason, acc.n_rejected
    if n_rejected:
        output.write_dataframe(rejects, f"{stem}.rejects.csv", "csv")
    stats = assigned.agg(F.count(F.lit(1)).alias("n"),
                         F.sum(F.col("out_of_distribution").cast("int")).alias("ood")).collect()[0]
    per_seg = assigned.groupBy("segment_name").count().collect()
    return {
        "rows_read": int(stats["n"]) + n_rejected,
        "rows_assigned": int(stats["n"]),
        "rows_rejected": n_rejected,
        "rejects_by_reason": by_reason,
        "imputed_by_feature": imputed,
        "out_of_distribution": int(stats["ood"] or 0),
        "segments": {str(r["segment_name"]): int(r["count"])
                     for r in sorted(per_seg, key=lambda r: str(r["segment_name"]))},
        "output": out_file,
        "rejects_file": f"{folder}/{stem}.rejects.csv" if n_rejected else None,
        "engine": "spark",
    }


# ---------------------------------------------------------------------------------- rfm


def spark_rfm_scores(features: DataFrame, bins: int = 5, *, recency: str = "recency_days",
                     frequency: str = "frequency", monetary: str = "monetary"
                     ) -> tuple[DataFrame, dict[str, list[float]]]:
    """:func:`custseg.features.rfm_scores` on Spark: ``r_score``, ``f_score``, ``m_score``
    (1 to ``bins``) and, with 5 bins, ``rfm_segment``.

    The edges are the exact quantiles at ``1/bins, …`` (numpy's linear interpolation, as
    :class:`custseg.features.RFMScorer`); a value scores the interval ``(e[i-1], e[i]]`` it falls
    in, recency reversed. Returns the scored DataFrame and the edges.
    """
    from pyspark.sql import functions as F

    from ..features._rfm_segments import _GRID
    from ._spark_numeric import exact_quantiles

    probs = [i / bins for i in range(1, bins)]
    roles = {"recency": recency, "frequency": frequency, "monetary": monetary}
    q = exact_quantiles(features, list(roles.values()), probs)[None]
    edges = {role: [float(e) for e in q[c]] for role, c in roles.items()}
    cols = []
    for role, prefix in (("recency", "r"), ("frequency", "f"), ("monetary", "m")):
        v = f"CAST({sql_ident(roles[role])} AS DOUBLE)"
        below = " + ".join(f"CASE WHEN {v} > {e!r}D THEN 1 ELSE 0 END" for e in edges[role])
        score = f"({bins} - ({below}))" if role == "recency" else f"(({below}) + 1)"
        cols.append(F.expr(f"CAST({score} AS BIGINT)").alias(f"{prefix}_score"))
    scored = features.select("*", *cols)
    if bins == 5:
        grid = "array(" + ", ".join(sql_string(name) for row in _GRID for name in row) + ")"
        scored = scored.withColumn("rfm_segment", F.expr(
            f"element_at({grid}, CAST((r_score - 1) * 5 + (f_score + m_score + 1) div 2 AS INT))"))
    return scored, edges


def run_rfm_spark(source: str | Path | DataFrame, out_file: str | Path, *,
                  spark: SparkSession | None = None, master: str | None = None,
                  conf: Mapping[str, Any] | None = None, scores: bool = True,
                  delimiter: str | None = None, **params: Any) -> dict[str, Any]:
    """``custseg rfm --engine spark``: derive the features and write them with Spark.

    Writes ``out_file`` (a Spark folder: Parquet, or CSV when it ends in ``.csv``) with the
    features and, with ``scores``, the RFM scores and named segment; the excluded lines to
    ``<stem>.rejects.csv`` (a Spark folder, when there are any) and the summary to
    ``<stem>.summary.json``, beside it. ``params`` are those of
    :func:`~custseg.engines.spark_rfm`. Returns the summary.
    """
    from ..io import write_json
    from ._spark_rfm import spark_rfm

    spark = get_spark(spark, master, conf)
    res = spark_rfm(spark, source, delimiter=delimiter, **params)
    features = res.features
    if scores and res.summary["customers"] >= 1:
        features, edges = spark_rfm_scores(features)
        res.summary["rfm_score_edges"] = edges
    out_file = str(out_file)
    folder, name = (out_file.rsplit("/", 1) if "/" in out_file else (".", out_file))
    output = OutputFolder(spark, folder)
    if not output.remote:
        output.staging.mkdir(parents=True, exist_ok=True)
    output.write_dataframe(features, name, "csv" if name.endswith(".csv") else "parquet")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if res.summary["lines_excluded"]:
        output.write_dataframe(res.rejects, f"{stem}.rejects.csv", "csv")
    write_json(res.summary, output.local(f"{stem}.summary.json"))
    output.publish([f"{stem}.summary.json"])
    output.cleanup()
    return res.summary
