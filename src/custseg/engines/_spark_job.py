"""``custseg segment --engine spark`` and ``custseg assign --engine spark``.

The same job as :func:`custseg.run_segment` — read, account for every row, fit, profile, write
the output folder — with every step over the rows done by Spark: the column roles and the row
accounting (:data:`custseg._pipeline.REJECT_REASONS`, first reason wins, same details) are
Spark expressions, the fit is :func:`~custseg.engines.fit_spark`, and the large outputs
(segments, rejects, features) are written by Spark as folders of part files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._exceptions import ColumnNotFoundError, InvalidParameterError, SchemaError
from .._pipeline import REJECT_REASONS, SegmentOptions, _file_sha256, versions
from ..prep._columns import ID_NAMES, ColumnPlan, _norm
from ..prep._typing import NUMERIC_SHARE
from ._spark import INTERNAL, col, get_spark
from ._spark_fit import DIST, SEG, _xcol, fit_spark_full
from ._spark_numeric import numeric_columns, strip
from ._spark_output import OutputFolder, is_remote
from ._spark_read import FILE, LINE, SparkRead, spark_read

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

logger = logging.getLogger(__name__)

__all__ = ["account_rows_spark", "resolve_columns_spark", "run_assign_spark",
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
        marks = {c: m for c, m in _decimal_marks(frame, chosen).items()}
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
    marks = _decimal_marks(frame, candidates)
    parsed = numeric_columns(frame, candidates, marks)
    aggs = []
    for i, c in enumerate(candidates):
        p = parsed[c]
        aggs += [F.count(F.when(~p.missing, 1)).alias(f"p{i}"),
                 F.count(F.when(~p.missing & ~p.invalid, 1)).alias(f"v{i}"),
                 F.min(p.value).alias(f"lo{i}"), F.max(p.value).alias(f"hi{i}")]
    row = frame.agg(*aggs).collect()[0] if aggs else None
    chosen = []
    for i, c in enumerate(candidates):
        present, valid = int(row[f"p{i}"]), int(row[f"v{i}"])
        numeric = isinstance(schema[c], NumericType) or (
            present > 0 and valid / present >= NUMERIC_SHARE)
        if not numeric:
            excluded[c] = "not numeric"
        elif row[f"lo{i}"] is not None and row[f"lo{i}"] == row[f"hi{i}"]:
            excluded[c] = "constant (one distinct value)"
        else:
            chosen.append(c)
    # excluded in column order, as the local plan lists them
    excluded = {c: excluded[c] for c in columns if c in excluded}
    if not chosen:
        raise SchemaError(
            f"No numeric feature columns found{' in ' + source if source else ''} "
            f"(columns: {', '.join(map(repr, columns))}). Name the columns to use with "
            "--features (Python: features=[...]), or convert numbers stored as text.")
    return ColumnPlan(id_col, detected and id_col is not None, chosen, excluded), \
        {c: marks[c] for c in chosen}


def _decimal_marks(frame: DataFrame, columns: list[str]) -> dict[str, str]:
    from ._spark_numeric import decimal_marks

    return decimal_marks(frame, columns) if columns else {}


# ---------------------------------------------------------------------------- accounting


def _py_repr(c: Column) -> Column:
    """Python's ``repr`` of a string, for the usual characters (as the local details)."""
    from pyspark.sql import functions as F

    escaped = F.regexp_replace(c, r"\\", r"\\\\")
    for ch, rep in (("\n", r"\\n"), ("\r", r"\\r"), ("\t", r"\\t")):
        escaped = F.regexp_replace(escaped, ch, rep)
    single = F.concat(F.lit("'"), F.regexp_replace(escaped, "'", r"\\'"), F.lit("'"))
    double = F.concat(F.lit('"'), escaped, F.lit('"'))
    return F.when(c.contains("'") & ~c.contains('"'), double).otherwise(single)


def account_rows_spark(read: SparkRead, features: list[str], id_column: str | None, *,
                       missing: str, duplicates: str, decimals: dict[str, str] | None = None
                       ) -> tuple[DataFrame, DataFrame, dict[str, int]]:
    """:func:`custseg._pipeline.account_rows` on Spark: which rows are segmented, and why not.

    Returns the kept rows (the table's columns and the line column), the rejects (``line``,
    ``reason``, ``detail``, then the original values; the first reason that applies, in the
    order of :data:`~custseg._pipeline.REJECT_REASONS`, with the local engine's details) and
    the count of imputed cells per feature among kept rows. Duplicate IDs: the row with the
    smallest line (per file, files in name order) is kept.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    frame = read.frame
    parsed = numeric_columns(frame, features, decimals)
    reason_col, detail_col = f"{INTERNAL}reason", f"{INTERNAL}detail"
    order = [FILE, LINE] if read.multi_file else [LINE]
    whens: list[tuple[Column, str, Column]] = []
    first_bad = None
    for j, f in enumerate(reversed(features)):
        jj = len(features) - 1 - j
        text = F.concat(F.lit(f"column {f!r}: "),
                        _py_repr(F.substring(col(f).cast("string"), 1, 80)),
                        F.lit(" is not a number"))
        first_bad = F.when(parsed[f].invalid, text) if first_bad is None else \
            F.when(parsed[features[jj]].invalid, text).otherwise(first_bad)
    invalid_any = F.greatest(*[parsed[f].invalid for f in features], F.lit(False))
    nan = {f: parsed[f].missing for f in features}
    whens.append((invalid_any, "invalid_value", first_bad))
    all_missing = F.least(*[nan[f] for f in features], F.lit(True))
    whens.append((all_missing, "all_features_missing", F.lit("no feature has a value")))
    if missing == "reject":
        any_missing = F.greatest(*[nan[f] for f in features], F.lit(False))
        text = F.concat(F.lit("missing: "), F.concat_ws(", ", *[
            F.when(nan[f], F.lit(repr(f))) for f in features]))
        whens.append((any_missing, "missing_value", text))
    staged = frame
    if id_column is not None:
        ids = strip(col(id_column).cast("string"))
        blank = ids.isNull() | (ids == "")
        whens.append((blank, "missing_id", F.lit(f"column {id_column!r} is blank")))
        if duplicates == "reject":
            key, first = f"{INTERNAL}key", f"{INTERNAL}first"
            staged = staged.withColumn(key, F.when(~blank, ids))
            rank = F.struct(*[F.col(c) for c in order])
            dup = (staged.where(F.col(key).isNotNull()).groupBy(key)
                   .agg(F.count(F.lit(1)).alias("n"), F.min(rank).alias("r"))
                   .where(F.col("n") > 1)
                   .select(key, F.col(f"r.{LINE}").alias(first), F.col("r").alias("rk")))
            dup = dup.persist(StorageLevel.MEMORY_AND_DISK)
            n_dup = dup.count()
            joined = F.broadcast(dup) if n_dup <= BROADCAST_DUPLICATES else dup
            staged = staged.join(joined, key, "left")
            is_dup = F.col(first).isNotNull() & (rank != F.col("rk"))
            text = F.concat(F.lit("ID "), _py_repr(F.substring(F.col(key), 1, 80)),
                            F.lit(" first seen on line "), F.col(first).cast("string"))
            whens.append((is_dup, "duplicate_id", text))
    reason = detail = None
    for cond, code, text in reversed(whens):
        reason = F.when(cond, F.lit(code)) if reason is None else \
            F.when(cond, F.lit(code)).otherwise(reason)
        detail = F.when(cond, text) if detail is None else F.when(cond, text).otherwise(detail)
    nan_cols = [F.when(nan[f], 1).otherwise(0).alias(f"{INTERNAL}nan{j}")
                for j, f in enumerate(features)]
    base_cols = [col(c) for c in read.columns] + [F.col(LINE)] + (
        [F.col(FILE)] if read.multi_file else [])
    staged = staged.select(*base_cols, reason.alias(reason_col), detail.alias(detail_col),
                           *nan_cols).persist(StorageLevel.MEMORY_AND_DISK)
    kept = staged.where(F.col(reason_col).isNull())
    counts = kept.agg(*[F.sum(f"{INTERNAL}nan{j}").alias(f"n{j}")
                        for j in range(len(features))]).collect()[0]
    imputed = {f: int(counts[f"n{j}"] or 0) for j, f in enumerate(features)}
    kept = kept.select(*base_cols)
    rejects = staged.where(F.col(reason_col).isNotNull()).select(
        F.col(LINE).alias("line"), F.col(reason_col).alias("reason"),
        F.col(detail_col).alias("detail"),
        *([F.col(FILE).alias("file")] if read.multi_file else []),
        *[col(c).cast("string").alias(c) for c in read.columns
          if c not in ("line", "reason", "detail", "file")])
    return kept, rejects, imputed


# ------------------------------------------------------------------------------- the job


def _spark_info(spark: SparkSession) -> dict[str, Any]:
    sc = spark.sparkContext
    return {"version": spark.version, "master": sc.master, "app_id": sc.applicationId,
            "default_parallelism": sc.defaultParallelism}


def _reject_counts(rejects: DataFrame) -> dict[str, int]:
    rows = rejects.groupBy("reason").count().collect()
    return {str(r["reason"]): int(r["count"]) for r in sorted(rows, key=lambda r: -r["count"])}


def _sample_frame(kept: DataFrame, features: list[str], n: int, seed: int | None,
                  limit: int = 5000) -> pd.DataFrame:
    """Up to ``limit`` kept rows: parsed feature values and segment (``report_sample``)."""
    from pyspark.sql import functions as F

    fraction = min(1.0, 1.2 * limit / max(n, 1))
    rows = (kept.sample(False, fraction, seed=seed if seed is not None else 0)
            .orderBy(LINE).limit(limit)
            .select(*[F.col(_xcol(j)) for j in range(len(features))], SEG).collect())
    data = {f: np.array([r[_xcol(j)] if r[_xcol(j)] is not None else np.nan for r in rows],
                        dtype=np.float64) for j, f in enumerate(features)}
    data["segment"] = np.array([int(r[SEG]) for r in rows], dtype=np.int64)
    return pd.DataFrame(data)


def run_segment_spark(source: str | Path | DataFrame | None, out: str | Path,
                      options: SegmentOptions | None = None, spark: SparkSession | None = None,
                      progress: Progress = _noop, *, master: str | None = None,
                      conf: Mapping[str, Any] | None = None,
                      transactions: Mapping[str, Any] | bool | None = None,
                      table: str | None = None) -> dict[str, Any]:
    """Segment the customer table at ``source`` on Spark and write the output folder ``out``.

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
        The job's options; ``k`` must be a number, ``sheet`` and ``query`` do not apply.
        ``n_init`` k-means runs are made (each a full Spark k-means).
    spark : pyspark.sql.SparkSession, default=None
        The session; else :func:`~custseg.engines.get_spark` with ``master`` and ``conf``.
    progress : callable, default=no-op
        Called with the name of each stage.
    master : str, default=None
    conf : dict, default=None
        Passed to :func:`~custseg.engines.get_spark`.
    transactions : dict or bool, default=None
        The source is a transaction log: derive RFM features with
        :func:`~custseg.engines.spark_rfm` (the dict holds its parameters: ``customer_id``,
        ``date``, ``amount`` …), write ``features.parquet`` and segment the customers.
    table : str, default=None
        Read this table of the session's catalog instead of ``source``.

    Returns
    -------
    dict
        The summary (also written as ``summary.json``).
    """
    from pyspark.sql import functions as F

    from ..io import write_csv, write_json, write_parquet, write_text
    from ..report import render_report

    opts = options or SegmentOptions()
    if not isinstance(opts.k, int | np.integer) or isinstance(opts.k, bool):
        raise InvalidParameterError(
            f"The Spark engine needs a number of segments (--k N); got k={opts.k!r}. Choose k "
            "with `custseg choose-k` first.")
    if opts.sheet is not None or opts.query is not None:
        raise InvalidParameterError("--sheet and --query do not apply to the Spark engine.")
    spark = get_spark(spark, master, conf)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    progress("reading")
    read = spark_read(spark, source if table is None else None, delimiter=opts.delimiter,
                      encoding=opts.encoding, table=table)
    src_name = str(table or (source if not hasattr(source, "columns") else "<DataFrame>"))
    output = OutputFolder(spark, out)
    output.prepare(opts.force)
    rfm_summary = None
    if transactions:
        progress("deriving RFM features")
        from ._spark_rfm import spark_rfm

        params = dict(transactions) if isinstance(transactions, Mapping) else {}
        res = spark_rfm(spark, read, **params)
        output.write_dataframe(res.features, "features.parquet", "parquet")
        rfm_summary = res.summary
        cust = res.features
        cust = cust.select(*[col(c) for c in cust.columns])
        read = spark_read(spark, cust)
        read.info |= {"path": src_name, "format": "rfm features",
                      "line_meaning": "1-based row number of the customer in features.parquet"}
        if opts.id_column is None:
            opts = SegmentOptions(**{**asdict(opts), "id_column": res.customer_id})
    timings["read"] = time.perf_counter() - t0

    t = time.perf_counter()
    progress("checking rows")
    plan, marks = resolve_columns_spark(read, opts.features, opts.id_column, source=src_name)
    kept, rejects, imputed = account_rows_spark(
        read, plan.features, plan.id_column, missing=opts.missing, duplicates=opts.duplicates,
        decimals=marks)
    rejects = rejects.unionByName(
        read.rejects.withColumn("line", F.col("line").cast("long")), allowMissingColumns=True)
    ordered = ["line", "reason", "detail", "raw_line"]
    rejects = rejects.select(*[col(c) for c in ordered if c in rejects.columns],
                             *[col(c) for c in rejects.columns if c not in ordered])
    by_reason = _reject_counts(rejects)
    n_rejected = sum(by_reason.values())
    n_kept = kept.count()
    n_read = n_kept + n_rejected
    timings["check"] = time.perf_counter() - t
    if n_read == 0:
        raise SchemaError(f"{src_name}: no row could be read. See the file's format, or pass "
                          "--delimiter.")
    output.write_dataframe(rejects.orderBy("line"), "rejects.csv", "csv")
    if n_kept < 2:
        raise SchemaError(
            f"{src_name}: only {n_kept} of {n_read} rows can be segmented; see the reasons "
            f"in {output.uri}/rejects.csv." if n_rejected else f"{src_name}: too few rows.")

    t = time.perf_counter()
    progress("clustering")
    key = plan.id_column
    fit = fit_spark_full(spark, kept, plan.features, k=int(opts.k), scale=opts.scale,
                         log_transform=opts.log_transform, clip=opts.clip, impute=opts.impute,
                         seed=opts.seed, algorithm=opts.algorithm, n_init=opts.n_init,
                         max_iter=opts.max_iter, tol=opts.tol, id_column=key,
                         keep=[c for c in (key, LINE) if c is not None], decimals=marks)
    model = fit.model
    model.derivation = ({"kind": "rfm", **{k: rfm_summary.get(k) for k in (
        "as_of", "columns", "frequency_definition", "feature_definitions", "value",
        "cancellation_prefix", "window_days")}} if rfm_summary else None)
    alignment = None
    if opts.previous:
        alignment = _align(model, opts.previous)
    if opts.names:
        _rename(model, opts.names)
    timings["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    progress("writing outputs")
    names = model.names
    ids = {int(s["id"]) for s in model.segments}
    remap = alignment_map(model)
    seg_id = remap(F.col(SEG)) if remap else F.col(SEG)
    name_expr = F.element_at(F.create_map(*[x for s in sorted(ids) for x in (
        F.lit(s), F.lit(names[s]))]), seg_id)
    segments = fit.assignments.select(
        (col(key) if key is not None else F.col(LINE)).alias(key if key is not None else "line"),
        seg_id.cast("long").alias("segment"), name_expr.alias("segment_name"),
        F.col(DIST).alias("distance"))
    if opts.output_format == "parquet":
        output.write_dataframe(segments, "segments.parquet", "parquet")
    else:
        output.write_dataframe(segments, "segments.csv", "csv")
    profiles = model.profiles_.copy()  # type: ignore[attr-defined]
    if remap:
        profiles["segment"] = profiles["segment"].map(model.alignment_new_ids)  # type: ignore[attr-defined]
        profiles["segment_name"] = profiles["segment"].map(names)
    elif opts.names:
        profiles["segment_name"] = profiles["segment"].map(names)
    write_csv(profiles, output.local("profiles.csv"))
    model.save(output.local("model.json"))
    sample = _sample_frame(fit.assignments, plan.features, n_kept, opts.seed)
    if remap:
        sample["segment"] = sample["segment"].map(model.alignment_new_ids)  # type: ignore[attr-defined]
    write_parquet(sample, output.local("report_sample.parquet"))

    path_for_hash = None if (not isinstance(source, str | Path) or is_remote(str(source))) \
        else Path(str(source))
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
        "imputed_by_feature": imputed,
        "duplicate_ids": opts.duplicates,
        "id_column": key,
        "id_column_detected": bool(plan.id_detected and key is not None),
        "features": list(plan.features),
        "excluded_columns": {str(k): v for k, v in plan.excluded.items()},
        "preprocessing": {"scale": opts.scale, "log_transform": opts.log_transform,
                          "log1p_features": [f for f, b in zip(
                              plan.features, model.preprocessor.log1p_, strict=True) if b],
                          "clip": list(opts.clip) if opts.clip else None,
                          "impute": opts.impute},
        "k": len(model.segments),
        "k_requested": opts.k,
        "algorithm": model.algorithm,
        "metrics": fit.metrics,
        "segments": [{"segment": s["id"], "name": s["name"], "size": s["size"],
                      "share": s["share"], "description": s.get("description", "")}
                     for s in model.segments],
        "alignment": alignment,
        "engine": "spark",
        "spark": _spark_info(spark),
        "outputs": {"segments": "segments.parquet" if opts.output_format == "parquet"
                    else "segments.csv", "layout": "Spark folders of part files for "
                    "segments, rejects and features; single files for the rest"},
        "seed": opts.seed,
        "options": {k: v for k, v in asdict(opts).items() if k not in ("extra",)},
        "versions": versions() | {"pyspark": spark.version},
    }
    if rfm_summary is not None:
        summary["rfm"] = rfm_summary
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
    kept, rejects, imputed = account_rows_spark(read, model.features, id_col, missing=missing,
                                                duplicates="keep")
    rejects = rejects.unionByName(read.rejects, allowMissingColumns=True)
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
    by_reason = _reject_counts(rejects)
    n_rejected = sum(by_reason.values())
    if n_rejected:
        output.write_dataframe(rejects.orderBy("line"), f"{stem}.rejects.csv", "csv")
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
