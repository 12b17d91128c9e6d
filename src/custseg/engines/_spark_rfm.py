"""Transaction log → one row per customer on Spark, with the local engine's definitions.

:func:`spark_rfm` takes the parameters of :func:`custseg.features.rfm` and returns the same
features, exclusion reasons and summary, computed with Spark SQL. The rules are imported from
the local implementation where they are data (reasons and their order, feature names and
definitions, column roles, date candidates) and restated as Spark SQL where they are SQL:

* a line is excluded with the first reason that applies, in the order of
  :data:`custseg.features._rfm.REASONS`; on Spark a text line that cannot be split into the
  header's fields comes first as ``malformed_row``, on both engines;
* numbers in text are read as DuckDB's ``TRY_CAST(… AS DOUBLE)`` reads them (white space
  around, ``_`` between digits, ``1.``, ``.5``, ``1e5``; infinities and NaN are invalid);
* dates as :mod:`custseg.engines._spark_dates` explains;
* aggregation is per (customer, invoice or day, return flag), then per customer, as locally;
  sums of money are floating point, so they agree with the local engine to about 1e-12
  relative (the order of the additions differs); counts, days and dates are identical.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError, SchemaError
from .._validation import validate_params
from ._spark import INTERNAL, coalesced, col, sql_ident, sql_string
from ._spark_dates import WS, duck_type, spark_date_parser
from ._spark_read import BAD, FILE, LINE, SparkRead, spark_read

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

logger = logging.getLogger(__name__)

__all__ = ["SparkRFMResult", "spark_rfm"]

_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")
_FLOAT = ("FLOAT", "DOUBLE")
# DuckDB's TRY_CAST(text AS DOUBLE): signs "+", "-", "+-"; "_" between digits
_DUCK_DOUBLE = (r"^" + WS + r"*(\+-?|-)?([0-9](_?[0-9])*(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)"
                r"([eE][+-]?[0-9](_?[0-9])*)?" + WS + r"*$")


# the usual shape, cast directly
_PLAIN = r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


@dataclass
class SparkRFMResult:
    """What :func:`spark_rfm` derived.

    Attributes
    ----------
    features : pyspark.sql.DataFrame
        One row per customer, sorted as the local engine sorts them: the ID column (text, under
        its original name), ``recency_days``, ``frequency``, ``monetary``, ``tenure_days``,
        ``avg_order_value``, ``mean_days_between_orders``, ``return_rate``, ``n_lines``,
        ``n_returns`` and the dates ``first_purchase``, ``last_purchase`` (midnight
        ``TIMESTAMP_NTZ``, as the local engine's ``datetime64[us]``).
    rejects : pyspark.sql.DataFrame
        Excluded lines: ``line``, ``reason``, (``file``), then the original columns.
    summary : dict
        The local summary's keys, with ``"engine": "spark"``.
    """

    features: DataFrame
    rejects: DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def customer_id(self) -> str:
        """Name of the customer ID column of :attr:`features`."""
        return str(self.summary["columns"]["customer_id"]["name"])

    def to_local(self) -> Any:
        """The result as a :class:`custseg.features.RFMResult` of pandas frames (collects the
        features and rejects to the driver: for tests and small logs)."""
        from ..features import RFMResult

        rows = self.features.collect()
        names = self.features.columns
        data: dict[str, Any] = {}
        for j, name in enumerate(names):
            values = [r[j] for r in rows]
            if name in ("first_purchase", "last_purchase"):
                data[name] = pd.Series(pd.to_datetime(values), dtype="datetime64[us]")
            elif name in ("recency_days", "frequency", "tenure_days", "n_lines", "n_returns"):
                data[name] = np.asarray(values, dtype=np.int64)
            elif j == 0:
                data[name] = pd.Series(values, dtype="str")
            else:
                data[name] = np.asarray(values, dtype=np.float64)
        features = pd.DataFrame(data, columns=names)
        rej_rows = self.rejects.collect()
        rejects = pd.DataFrame([r.asDict() for r in rej_rows], columns=self.rejects.columns)
        return RFMResult(features=features, rejects=rejects, summary=dict(self.summary))

    def __repr__(self) -> str:
        s = self.summary
        return (f"SparkRFMResult(customers={s.get('customers')}, "
                f"lines_used={s.get('lines_used')}, lines_excluded={s.get('lines_excluded')}, "
                f"as_of={s.get('as_of')!r})")


# ------------------------------------------------------------------------------- pieces


def _numeric(name: str, typ: str) -> tuple[str, str]:
    """(SQL value, SQL true when usable) of a numeric role, as the local ``_numeric``."""
    x = sql_ident(name)
    base = typ.split("(")[0].upper()
    if base in _INTEGER or base.startswith("DECIMAL"):
        return x, f"({x} IS NOT NULL)"
    if base in _FLOAT:
        return (f"CAST({x} AS DOUBLE)",
                f"({x} IS NOT NULL AND NOT isnan({x}) AND abs({x}) <> CAST('Infinity' AS DOUBLE))")
    text = f"CAST({x} AS STRING)" if base != "VARCHAR" else x
    clean = (f"regexp_replace(regexp_replace(regexp_replace({text}, {sql_string(WS)}, ''), "
             "'_', ''), '^[+]', '')")
    v = (f"(CASE WHEN {text} RLIKE {sql_string(_PLAIN)} THEN try_cast({text} AS DOUBLE) "
         f"WHEN {text} RLIKE {sql_string(_DUCK_DOUBLE)} THEN try_cast({clean} AS DOUBLE) END)")
    return v, f"({v} IS NOT NULL AND abs({v}) <> CAST('Infinity' AS DOUBLE))"


def _present(name: str, typ: str) -> str:
    """SQL true when an ID-like value is present (not NULL, not blank, not NaN)."""
    x = sql_ident(name)
    base = typ.split("(")[0].upper()
    if base == "VARCHAR":
        return f"({x} IS NOT NULL AND trim({x}) <> '')"
    if base in _FLOAT:
        return f"({x} IS NOT NULL AND NOT isnan({x}))"
    return f"({x} IS NOT NULL)"


def _ts_literal(ts: pd.Timestamp) -> str:
    return f"TIMESTAMP_NTZ '{ts.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _date_literal(ts: pd.Timestamp) -> str:
    return f"DATE '{ts.strftime('%Y-%m-%d')}'"


# ---------------------------------------------------------------------------------- main


def spark_rfm(spark: SparkSession, transactions: str | SparkRead | DataFrame, *,
              customer_id: str | None = None, date: str | None = None,
              amount: str | None = None, quantity: str | None = None,
              price: str | None = None, invoice: str | None = None, as_of: Any = None,
              cancellation_prefix: str | None = "C", dayfirst: bool = False,
              date_format: str | None = None, duplicates: str = "keep",
              delimiter: str | None = None) -> SparkRFMResult:
    """Derive recency, frequency, monetary value and behaviour features per customer on Spark.

    Same parameters, definitions, exclusion reasons, ``as_of`` rule, ID normalisation and
    sort order as :func:`custseg.features.rfm` (see it for every definition); the work is Spark
    SQL, so the log can be any size the cluster holds.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    transactions : str, SparkRead or pyspark.sql.DataFrame
        A path or URI (CSV/TSV, ``.gz``, Parquet file, folder or glob), the result of
        :func:`~custseg.engines.spark_read`, or a DataFrame.
    customer_id, date, invoice, quantity, price, amount : str, default=None
        Column names; detected from common spellings when left out (reported in
        ``summary["columns"]``).
    as_of : date, datetime or str, default=None
        Reference date; default: the day after the latest valid date in the log.
    cancellation_prefix : str or None, default="C"
    dayfirst : bool, default=False
    date_format : str, default=None
    duplicates : {"keep", "drop"}, default="keep"
    delimiter : str, default=None
        Delimiter of a text source (detected when left out).

    Returns
    -------
    SparkRFMResult
        ``features`` and ``rejects`` as Spark DataFrames, and the ``summary``.

    Raises
    ------
    ColumnNotFoundError
        A named column is missing, or a required one cannot be detected.
    SchemaError
        The dates cannot be recognised, or no line is usable.
    InvalidParameterError
        A parameter has a wrong type or value.
    """
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from ..features import _rfm as local
    from ..features._columns import resolve_roles

    params = dict(customer_id=customer_id, date=date, amount=amount, quantity=quantity,
                  price=price, invoice=invoice, as_of=as_of,
                  cancellation_prefix=cancellation_prefix, dayfirst=dayfirst,
                  date_format=date_format, duplicates=duplicates, memory_limit=None,
                  threads=None)
    validate_params("spark_rfm", local._PARAMS, params)
    as_of_ts = local._to_timestamp(as_of) if as_of is not None else None
    clock = {"start": time.perf_counter()}
    laps: dict[str, float] = {}

    def lap(name: str) -> None:
        now = time.perf_counter()
        laps[name] = round(laps.get(name, 0.0) + now - clock["start"], 4)
        clock["start"] = now

    read = transactions if isinstance(transactions, SparkRead) else spark_read(
        spark, transactions, delimiter=delimiter)
    label = str(read.info.get("path"))
    kind = {"csv": "text", "parquet": "parquet"}.get(str(read.info.get("format")), "table")
    base = read.staged if read.staged is not None else read.frame
    columns = list(read.columns)
    clash = [c for c in columns if c.startswith(INTERNAL)]
    if clash:
        raise InvalidParameterError(f"Column {clash[0]!r}: names starting with {INTERNAL!r} "
                                    "are reserved by custseg.")
    roles = resolve_roles(columns, source=label, customer_id=customer_id, date=date,
                          invoice=invoice, quantity=quantity, price=price, amount=amount)
    types = {f.name: duck_type(f.dataType) for f in base.schema.fields if f.name in columns}
    has_bad = read.staged is not None
    bad = sql_ident(BAD) if has_bad else "false"

    # -- plan: the local _plan, as Spark SQL ---------------------------------------------
    good_rows = base.where(F.expr(f"NOT {bad}")) if has_bad else base
    parser = spark_date_parser(good_rows, roles.date, dayfirst=dayfirst,
                               date_format=date_format, label=label)
    ts = parser.sql
    base = parser.prepare(base)
    if duplicates == "drop":
        order = [F.col(FILE), F.col(LINE)] if read.multi_file else [F.col(LINE)]
        w = Window.partitionBy(F.expr(bad), *[col(c) for c in columns]).orderBy(*order)
        base = base.withColumn(f"{INTERNAL}dup", F.row_number().over(w))
    # Parsed values go to columns of their own first: a large expression referred to several
    # times (the date, a number) would otherwise be evaluated again at every reference.
    staged: dict[str, str] = {f"{INTERNAL}ts": ts}
    ts = sql_ident(f"{INTERNAL}ts")

    def stage(name: str, sql: str) -> str:
        staged[f"{INTERNAL}{name}"] = sql
        return sql_ident(f"{INTERNAL}{name}")

    checks: list[tuple[str, str]] = []
    if has_bad:
        checks.append(("malformed_row", f"NOT {bad}"))
    checks += [("missing_customer_id", _present(roles.customer_id, types[roles.customer_id])),
               ("invalid_date", f"{ts} IS NOT NULL")]
    key_is_cancel = None
    prefix_test = None
    if roles.invoice is not None:
        inv = sql_ident(roles.invoice)
        checks.append(("missing_invoice", _present(roles.invoice, types[roles.invoice])))
        key = inv
        if cancellation_prefix is not None and types[roles.invoice] == "VARCHAR":
            key_is_cancel = f"startswith(k, {sql_string(cancellation_prefix)})"
            prefix_test = f"startswith({inv}, {sql_string(cancellation_prefix)})"
        frequency_definition = "distinct purchase invoices"
    else:
        key = f"CAST({ts} AS DATE)"
        frequency_definition = "distinct purchase days"
    if roles.amount is not None:
        amt, amt_ok = _numeric(roles.amount, types[roles.amount])
        amt, amt_ok = stage("a", amt), stage("a_ok", amt_ok)
        checks += [("invalid_amount", amt_ok), ("zero_value", f"{amt} <> 0")]
        value = f"CAST({amt} AS DOUBLE)"
        sign = amt
    else:
        q, q_ok = _numeric(roles.quantity, types[roles.quantity])  # type: ignore[arg-type]
        p, p_ok = _numeric(roles.price, types[roles.price])  # type: ignore[arg-type]
        q, q_ok, p, p_ok = stage("q", q), stage("q_ok", q_ok), stage("p", p), stage("p_ok", p_ok)
        checks += [("invalid_quantity", q_ok), ("invalid_price", p_ok),
                   ("non_positive_price", f"{p} > 0"), ("zero_value", f"{q} <> 0")]
        value = f"(CAST({q} AS DOUBLE) * CAST({p} AS DOUBLE))"
        sign = q
    # Finite quantity and price can still multiply to inf; Spark orders NaN above inf.
    checks.append(("value_overflow", f"abs({value}) < CAST('Infinity' AS DOUBLE)"))
    if as_of_ts is not None:
        checks.append(("after_as_of", f"{ts} < {_ts_literal(as_of_ts)}"))
    if duplicates == "drop":
        checks.append(("duplicate_line", f"{INTERNAL}dup = 1"))
    is_return = f"({sign} < 0 OR {prefix_test})" if prefix_test else f"({sign} < 0)"
    reason = "CASE " + " ".join(f"WHEN NOT coalesce({good}, false) THEN {sql_string(r)}"
                                for r, good in checks) + " END"

    # -- every line once: reason, customer, timestamp, key, value, return flag ------------
    cust = sql_ident(roles.customer_id)
    base = base.select("*", *[F.expr(v).alias(k) for k, v in staged.items()])
    place = [F.col(LINE), *([F.col(FILE)] if read.multi_file else [])]
    derived = [F.expr(reason).alias("reason"), F.expr(cust).alias("cust"),
               F.expr(ts).alias("ts"), F.expr(key).alias("k"), F.expr(value).alias("v"),
               F.expr(is_return).alias("is_ret")]
    # Only what the passes below read is cached: the original columns (often long text) are
    # needed for the excluded lines alone, which `rejects` takes from `every` again when it
    # is written. Caching them too cost more than the rest of the derivation.
    every = base.select(*[col(c) for c in columns], *place, *derived)
    lines = base.select(*place, *derived).persist(StorageLevel.MEMORY_AND_DISK)
    lap("open")
    # the value of excluded lines counts where finite (as locally: value_overflow lines, and
    # lines with an invalid number, add nothing; Spark would sum inf and -inf to NaN)
    finite_v = F.when(F.abs("v") < F.lit(float("inf")), F.col("v"))
    by = {r["reason"]: r for r in lines.groupBy("reason").agg(
        F.count(F.lit(1)).alias("n"), F.sum(finite_v).alias("value"),
        F.max("ts").alias("max_ts"),
    ).collect()}
    lines_read = sum(int(r["n"]) for r in by.values())
    used_row = by.pop(None, None)
    lines_used = int(used_row["n"]) if used_row is not None else 0
    by_reason = {"malformed_row": 0} if has_bad else {}
    by_reason |= dict.fromkeys(local.REASONS, 0)
    excluded_value = 0.0
    rej_max_ts = None
    for r, row in by.items():
        by_reason[r] = int(row["n"])
        excluded_value += float(row["value"] or 0.0)
        if row["max_ts"] is not None and (rej_max_ts is None or row["max_ts"] > rej_max_ts):
            rej_max_ts = row["max_ts"]
    if has_bad and not by_reason["malformed_row"]:
        del by_reason["malformed_row"]
    lines_excluded = sum(by_reason.values())
    if lines_used == 0:
        _raise_nothing_usable(lines, label, lines_read, by_reason)
    lap("lines")

    # -- customers -----------------------------------------------------------------------
    cust_type = types[roles.customer_id].split("(")[0].upper()
    agg = _add_idle(lines, _aggregate(lines, "cust", key_is_cancel), "cust")
    agg = coalesced(agg, lines_used, _LINES_PER_PARTITION).persist(StorageLevel.MEMORY_AND_DISK)
    text = "cust" if cust_type == "VARCHAR" else "CAST(cust AS STRING)"
    norm = f"regexp_replace({text}, '[.]0+$', '')"
    plain = "'^(0|[1-9][0-9]*)$'"
    # one pass: the totals and everything the ID rules need
    totals = agg.agg(*_totals(), *(
        [F.expr("coalesce(bool_and(cust = round(cust) AND abs(cust) < 9e15), true)").alias("i")]
        if cust_type in _FLOAT else []), *([
            F.expr(f"count_if(NOT {text} RLIKE '^[0-9]+([.]0+)?$')").alias("non_int"),
            F.expr(f"count_if({text} RLIKE '^[0-9]+[.]0+$')").alias("suffixed"),
            F.expr(f"count(DISTINCT {norm})").alias("dn"),
            F.expr(f"coalesce(bool_and({text} RLIKE {plain}), false)").alias("plain_raw"),
            F.expr(f"coalesce(bool_and({norm} RLIKE {plain}), false)").alias("plain_norm"),
        ] if cust_type not in _INTEGER + _FLOAT else [])).collect()[0]
    ids_sql, numeric, normalised, plain_ids = "cust", False, False, False
    if cust_type in _INTEGER:
        ids_sql, numeric = "CAST(cust AS STRING)", True
    elif cust_type in _FLOAT:
        normalised, numeric = bool(totals["i"]), True
        ids_sql = "CAST(CAST(cust AS BIGINT) AS STRING)" if normalised else "CAST(cust AS STRING)"
    else:
        normalised = int(totals["non_int"]) == 0 and int(totals["suffixed"]) > 0
        ids_sql = norm if normalised else text
        plain_ids = bool(totals["plain_norm"] if normalised else totals["plain_raw"])
        if normalised and int(totals["dn"]) != int(totals["customers"]):
            # both "17850" and "17850.0" occur: group again on the normalised text
            renamed = lines.withColumn("cust", F.expr(norm))
            agg.unpersist()
            agg = _add_idle(renamed, _aggregate(renamed, "cust", key_is_cancel), "cust")
            agg = coalesced(agg, lines_used, _LINES_PER_PARTITION).persist(StorageLevel.MEMORY_AND_DISK)
            totals = agg.agg(*_totals()).collect()[0]
            ids_sql = "cust"
    if int(totals["used"]) != lines_used or lines_read != lines_used + lines_excluded:
        raise RuntimeError(  # pragma: no cover - a bug, not bad input
            f"custseg accounting error: {lines_read} lines read but {lines_used} used + "
            f"{lines_excluded} excluded ({totals['used']} in the aggregates). Please report this.")
    lap("aggregate")

    first_ts, last_ts = totals["first_ts"], totals["last_ts"]
    if as_of_ts is None:
        latest = max(t for t in (last_ts, rej_max_ts) if t is not None)
        as_of_ts = pd.Timestamp(latest).normalize() + pd.Timedelta(days=1)
        as_of_source = "default: the day after the latest date in the log"
    else:
        as_of_source = "given"
    window_days = int((as_of_ts.normalize() - pd.Timestamp(first_ts).normalize()).days)
    as_of_date = _date_literal(as_of_ts)
    id_name = roles.customer_id
    feats = agg.select(
        F.expr(ids_sql).alias(id_name), F.col("cust").alias(f"{INTERNAL}key"),
        F.expr(f"CASE WHEN frequency > 0 THEN CAST(datediff({as_of_date}, CAST(last_ts AS DATE)) "
               f"AS BIGINT) ELSE {window_days} END").alias("recency_days"),
        F.col("frequency").cast("long").alias("frequency"),
        F.expr("gross - returned").alias("monetary"),
        F.expr(f"CASE WHEN frequency > 0 THEN CAST(datediff({as_of_date}, CAST(first_ts AS DATE)) "
               f"AS BIGINT) ELSE {window_days} END").alias("tenure_days"),
        F.expr("CASE WHEN frequency > 0 THEN gross / frequency ELSE 0.0D END")
        .alias("avg_order_value"),
        F.expr("CASE WHEN frequency > 1 THEN datediff(CAST(last_ts AS DATE), "
               "CAST(first_ts AS DATE)) / (frequency - 1) "
               f"ELSE CAST({window_days} AS DOUBLE) END").alias("mean_days_between_orders"),
        F.expr("CASE WHEN returned <= 0 THEN 0.0D WHEN gross <= 0 THEN 1.0D "
               "ELSE least(returned / gross, 1.0D) END").alias("return_rate"),
        F.col("n_lines").cast("long").alias("n_lines"),
        F.col("n_returns").cast("long").alias("n_returns"),
        # midnight timestamps without time zone, as the local engine's datetime64[us]: the
        # two features.parquet files then have the same schema
        F.expr("CAST(CAST(first_ts AS DATE) AS TIMESTAMP_NTZ)").alias("first_purchase"),
        F.expr("CAST(CAST(last_ts AS DATE) AS TIMESTAMP_NTZ)").alias("last_purchase"))
    if numeric:
        feats = feats.orderBy(f"{INTERNAL}key")
    elif plain_ids:
        feats = feats.orderBy(F.length(col(id_name)), col(id_name))
    else:
        feats = feats.orderBy(col(id_name))
    feats = feats.select(col(id_name), *[F.col(c) for c in local.FEATURE_COLUMNS])
    lap("features")

    names = {"line": LINE, "reason": "reason", "file": FILE}
    out_cols = []
    for new, old in names.items():
        if new == "file" and not read.multi_file:
            continue
        alias = new if new not in columns else f"{new}_"
        out_cols.append(F.col(old).alias(alias))
    rejects = (every.where(F.col("reason").isNotNull())
               .select(*out_cols, *[col(c) for c in columns])
               .orderBy(*([F.col("file" if "file" not in columns else "file_")]
                          if read.multi_file else []),
                        F.col("line" if "line" not in columns else "line_")))

    gross, returned = float(totals["gross"]), float(totals["returned"])
    summary: dict[str, Any] = {
        "source": label,
        "source_kind": kind,
        "engine": "spark",
        "spark_version": spark.version,
        "columns": roles.to_summary(),
        "value": "amount" if roles.amount is not None else "quantity * price",
        "frequency_definition": frequency_definition,
        "date_format": parser.description,
        "as_of": as_of_ts.isoformat(),
        "as_of_source": as_of_source,
        "date_range": [local._iso(first_ts), local._iso(last_ts)],
        "window_days": window_days,
        "customers": int(totals["customers"]),
        "customers_without_usable_lines": int(totals["idle"]),
        "customer_id_normalised": bool(normalised),
        "lines_read": lines_read,
        "lines_used": lines_used,
        "lines_excluded": int(lines_excluded),
        "lines_excluded_by_reason": by_reason,
        "exclusion_precedence": (["malformed_row"] if has_bad else []) + list(local.REASONS),
        "returns_lines": int(totals["returns"]),
        "cancellation_prefix": cancellation_prefix,
        "cancellation_invoices": (int(totals["cancel"]) if key_is_cancel is not None else None),
        "gross_value": gross,
        "returned_value": returned,
        "net_value": gross - returned,
        "excluded_net_value": float(excluded_value),
        "duplicates": duplicates,
        "feature_definitions": dict(local.FEATURE_DEFINITIONS),
        "line_meaning": read.info.get("line_meaning"),
        "timings_seconds": laps,
    }
    if read.info.get("delimiter"):
        summary["delimiter"] = read.info["delimiter"]
    if read.info.get("encoding"):
        summary["encoding"] = read.info["encoding"]
    logger.info("spark_rfm: %d customers from %d of %d lines (%d excluded)",
                summary["customers"], lines_used, lines_read, lines_excluded)
    return SparkRFMResult(features=feats, rejects=rejects, summary=summary)


#: Usable lines per partition of the cached per-customer table (an upper bound of its
#: customers): small enough that one task's aggregation and cache batches fit a 1 GB heap.
_LINES_PER_PARTITION = 500_000


def _totals() -> list[Any]:
    from pyspark.sql import functions as F

    return [F.count(F.lit(1)).alias("customers"),
            F.coalesce(F.sum("n_lines"), F.lit(0)).alias("used"),
            F.coalesce(F.sum("n_returns"), F.lit(0)).alias("returns"),
            F.coalesce(F.sum("cancellation_invoices"), F.lit(0)).alias("cancel"),
            F.coalesce(F.sum("gross"), F.lit(0.0)).alias("gross"),
            F.coalesce(F.sum("returned"), F.lit(0.0)).alias("returned"),
            F.min("min_ts").alias("first_ts"), F.max("max_ts").alias("last_ts"),
            F.count(F.when(F.col("n_lines") == 0, 1)).alias("idle")]


def _aggregate(lines: DataFrame, cust: str, key_is_cancel: str | None) -> DataFrame:
    """Per customer aggregates of the usable lines (the local ``_aggregate``): first per
    (customer, key, return flag), then per customer, purchases and returns apart."""
    from pyspark.sql import functions as F

    per_key = (lines.where(F.col("reason").isNull())
               .groupBy(F.col(cust).alias("cust"), "k", "is_ret")
               .agg(F.count(F.lit(1)).alias("n"), F.sum(F.abs("v")).alias("v"),
                    F.min("ts").alias("mn"), F.max("ts").alias("mx")))
    cancel = (F.expr(f"count_if(is_ret AND {key_is_cancel})") if key_is_cancel
              else F.lit(0).cast("long"))
    p, r = "NOT is_ret", "is_ret"
    return per_key.groupBy("cust").agg(
        F.expr(f"CAST(coalesce(sum(CASE WHEN {p} THEN n END), 0) + "
               f"coalesce(sum(CASE WHEN {r} THEN n END), 0) AS BIGINT)").alias("n_lines"),
        F.expr(f"CAST(coalesce(sum(CASE WHEN {r} THEN n END), 0) AS BIGINT)").alias("n_returns"),
        F.expr(f"count_if({p})").alias("frequency"),
        cancel.alias("cancellation_invoices"),
        F.expr(f"coalesce(sum(CASE WHEN {p} THEN v END), 0.0D)").alias("gross"),
        F.expr(f"coalesce(sum(CASE WHEN {r} THEN v END), 0.0D)").alias("returned"),
        F.expr(f"min(CASE WHEN {p} THEN mn END)").alias("first_ts"),
        F.expr(f"max(CASE WHEN {p} THEN mx END)").alias("last_ts"),
        F.min("mn").alias("min_ts"), F.max("mx").alias("max_ts"))


def _add_idle(lines: DataFrame, agg: DataFrame, cust: str) -> DataFrame:
    """Customers whose every line was excluded for its value or date get a row with
    ``n_lines`` 0 (the local ``_add_customers_without_usable_lines``)."""
    from pyspark.sql import functions as F

    idle = (lines.where(F.col("reason").isNotNull()
                        & ~F.col("reason").isin("missing_customer_id", "after_as_of",
                                                "malformed_row"))
            .select(F.col(cust).alias("cust")).distinct()
            .join(agg.select("cust"), "cust", "left_anti"))
    zero = idle.select(
        "cust", F.lit(0).cast("long").alias("n_lines"), F.lit(0).cast("long").alias("n_returns"),
        F.lit(0).cast("long").alias("frequency"),
        F.lit(0).cast("long").alias("cancellation_invoices"), F.lit(0.0).alias("gross"),
        F.lit(0.0).alias("returned"), *[F.lit(None).cast("timestamp_ntz").alias(c) for c in (
            "first_ts", "last_ts", "min_ts", "max_ts")])
    return agg.unionByName(zero)


def _raise_nothing_usable(lines: DataFrame, label: str, lines_read: int,
                          by_reason: dict[str, int]) -> None:
    from pyspark.sql import functions as F

    if lines_read == 0:
        raise SchemaError(f"{label} holds no transaction lines.")
    reasons = ", ".join(f"{r}: {n}" for r, n in by_reason.items() if n)
    first = lines.where(F.col("reason").isNotNull()).orderBy(LINE).select(
        LINE, "reason").first()
    raise SchemaError(
        f"No usable line in {label}: all {lines_read} lines were excluded ({reasons}). "
        f"The first is line {first[0]} ({first[1]}). Check the columns (customer_id=, date=, "
        "quantity=, price=, amount=), the date format (date_format=, dayfirst=) and as_of.")
