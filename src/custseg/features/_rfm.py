"""Transaction log → one row per customer: recency, frequency, monetary value and behaviour.

Everything runs as DuckDB SQL on the source itself (a file is never loaded into pandas), so a log
larger than memory is aggregated by spilling to a temporary directory.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import logging
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import InvalidParameterError, SchemaError
from .._validation import InstanceOf, Interval, Options, Predicate, validate_params
from ._columns import ColumnRoles, resolve_roles
from ._dates import date_parser
from ._source import (
    FILE,
    LINE,
    MALFORMED,
    SOURCE,
    Source,
    open_source,
    quote_ident,
    quote_literal,
)

if TYPE_CHECKING:
    from ._rfm_dense import CustomerTotals

# The lines with their values parsed from text, and those values (see _Plan.prelude).
_PARSED = "__custseg_parsed"
_PARSED_TS = "__custseg_parsed_ts"
_PARSED_QUANTITY = "__custseg_parsed_quantity"
_PARSED_PRICE = "__custseg_parsed_price"
_PARSED_AMOUNT = "__custseg_parsed_amount"

__all__ = ["REASONS", "RFMResult", "rfm"]

logger = logging.getLogger(__name__)

#: Why a line is excluded, in order of precedence: a line gets the first reason that applies.
REASONS: tuple[str, ...] = (
    "missing_customer_id",
    "invalid_date",
    "missing_invoice",
    "invalid_quantity",
    "invalid_price",
    "invalid_amount",
    "non_positive_price",
    "zero_value",
    "value_overflow",
    "after_as_of",
    "duplicate_line",
)

#: Column order of :attr:`RFMResult.features` after the customer ID column.
FEATURE_COLUMNS: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "avg_order_value",
    "mean_days_between_orders",
    "return_rate",
    "n_lines",
    "n_returns",
    "first_purchase",
    "last_purchase",
)

FEATURE_DEFINITIONS: dict[str, str] = {
    "recency_days": "days from the date of the last purchase to the date of as_of; "
                    "window_days when the customer has no purchase",
    "frequency": "distinct purchase invoices (or purchase days, see frequency_definition)",
    "monetary": "net value: purchases minus returns and cancellations",
    "tenure_days": "days from the date of the first purchase to the date of as_of; "
                   "window_days when the customer has no purchase",
    "avg_order_value": "gross purchase value / frequency; 0 when frequency is 0",
    "mean_days_between_orders": "(last purchase date - first purchase date) / (frequency - 1); "
                                "window_days when frequency <= 1",
    "return_rate": "returned value / gross purchase value, capped at 1; 0 without returns, "
                   "1 when there are returns but no purchase",
    "n_lines": "lines used (purchases and returns)",
    "n_returns": "return and cancellation lines",
    "first_purchase": "date of the first purchase (NaT without purchase)",
    "last_purchase": "date of the last purchase (NaT without purchase)",
}

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")

_AS_OF_TYPES = (str, _dt.date, np.datetime64, pd.Timestamp)
_NONE = Predicate(lambda v: v is None, "None")
_PARAMS = {
    "customer_id": [_NONE, InstanceOf((str,), "a column name")],
    "date": [_NONE, InstanceOf((str,), "a column name")],
    "amount": [_NONE, InstanceOf((str,), "a column name")],
    "quantity": [_NONE, InstanceOf((str,), "a column name")],
    "price": [_NONE, InstanceOf((str,), "a column name")],
    "invoice": [_NONE, InstanceOf((str,), "a column name")],
    "as_of": [_NONE, InstanceOf(_AS_OF_TYPES, "a date, a datetime or an ISO date string")],
    "cancellation_prefix": [_NONE, Predicate(lambda v: isinstance(v, str) and v != "",
                                            "a non-empty string")],
    "dayfirst": [InstanceOf((bool,), "a bool")],
    "date_format": [_NONE, Predicate(lambda v: isinstance(v, str) and "%" in v,
                                    "a strptime format such as '%d/%m/%Y'")],
    "duplicates": [Options(frozenset({"keep", "drop"}))],
    "memory_limit": [_NONE, Predicate(lambda v: isinstance(v, str) and v.strip() != "",
                                     "a DuckDB memory size such as '2GB'")],
    "threads": [_NONE, Interval(int, 1, None)],
}


@dataclass
class RFMResult:
    """What :func:`rfm` derived from a transaction log.

    Attributes
    ----------
    features : pandas.DataFrame
        One row per customer, sorted by customer ID: the ID column (text, under its original
        name), then ``recency_days``, ``frequency``, ``monetary``, ``tenure_days``,
        ``avg_order_value``, ``mean_days_between_orders``, ``return_rate``, ``n_lines``,
        ``n_returns``, ``first_purchase``, ``last_purchase``.
    rejects : pandas.DataFrame
        The excluded lines, ordered by position: ``line``, ``reason``, then the original
        columns (and ``file`` first when the source has several files).
    summary : dict
        JSON-ready record of the run: detected columns, definitions, reference date, counts.
    """

    features: pd.DataFrame
    rejects: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def customer_id(self) -> str:
        """Name of the customer ID column of :attr:`features`."""
        return str(self.summary["columns"]["customer_id"]["name"])

    def __repr__(self) -> str:
        s = self.summary
        return (f"RFMResult(customers={s.get('customers')}, lines_used={s.get('lines_used')}, "
                f"lines_excluded={s.get('lines_excluded')}, as_of={s.get('as_of')!r})")


class _Clock:
    """Wall-clock time of each phase, for ``summary["timings_seconds"]``."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self.last, 4)
        self.last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.start


@dataclass
class _Plan:
    """SQL pieces for one run."""

    relation: str
    cust: str
    cust_type: str
    ts: str
    key: str
    key_is_cancel: str | None  # SQL on the key ``k``: an invoice with the cancellation prefix
    value: str
    is_return: str  # SQL per line: negative value, or an invoice with the cancellation prefix
    checks: list[tuple[str, str]]  # (reason, SQL that is true for a usable line)
    # Values parsed from text (alias -> SQL over ``relation``), which the pieces above name by
    # their alias: each query computes them once per line in :attr:`rows` (see _parse_once).
    parsed: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> str:
        """What the queries read: ``relation``, or the lines with their parsed values."""
        return _PARSED if self.parsed else self.relation

    @property
    def prelude(self) -> str:
        """The ``WITH`` clause that defines :attr:`rows` (empty when it is ``relation``).

        DuckDB evaluates an expression at each place it is written, and the checks name a
        parsed value up to four times (``TRY_CAST(q AS DOUBLE) IS NOT NULL AND
        isfinite(...)``, ``> 0``, ``<> 0``, the value): on a 10M-line CSV the per-key query
        took 3.4 s and the scan for rejected lines 3.3 s, parsing each value once 1.9-2.1 s
        and 2.0-2.7 s. A materialized CTE is computed once, and only for the columns the
        query reads; a plain subquery or view was no faster (the filter is pushed into it).
        """
        if not self.parsed:
            return ""
        values = ", ".join(f"{sql} AS {alias}" for alias, sql in self.parsed.items())
        return f"WITH {_PARSED} AS MATERIALIZED (SELECT *, {values} FROM {self.relation}) "

    @property
    def valid(self) -> str:
        """True for a usable line (never NULL: each NULL-able test has its IS NULL guard)."""
        return " AND ".join(f"({good})" for _, good in self.checks)

    @property
    def invalid(self) -> str:
        """``NOT valid`` as a disjunction of the failed checks: the same rows, as ``valid`` is
        never NULL, and DuckDB filters on it about 10 % faster than on the negated AND."""
        return " OR ".join(f"NOT ({good})" for _, good in self.checks)

    @property
    def reason(self) -> str:
        """The first reason that applies, or NULL for a usable line."""
        whens = " ".join(f"WHEN NOT ({good}) THEN {quote_literal(r)}" for r, good in self.checks)
        return f"CASE {whens} END"


def _base_type(t: str) -> str:
    return t.split("(")[0].upper()


def _numeric(col: str, typ: str, parsed: dict[str, str] | None = None,
             alias: str = "") -> tuple[str, str]:
    """(SQL value, SQL true when the value is usable) of a numeric role.

    A text column's value is parsed once per line when ``parsed`` is given: it is added there
    under ``alias``, and the SQL names the alias."""
    x = quote_ident(col)
    base = _base_type(typ)
    if base in _INTEGER_TYPES or base.startswith("DECIMAL"):
        return x, f"{x} IS NOT NULL"
    if base in _FLOAT_TYPES:
        return x, f"{x} IS NOT NULL AND isfinite({x})"
    v = _parse_once(parsed, alias, f"TRY_CAST({x} AS DOUBLE)")
    return v, f"{v} IS NOT NULL AND isfinite({v})"


def _parse_once(parsed: dict[str, str] | None, alias: str, sql: str) -> str:
    """``sql`` (a value parsed from text), or its alias once it is added to ``parsed``."""
    if parsed is None:
        return sql
    parsed[alias] = sql
    return alias


def _present(col: str, typ: str, lowest: str | None = None) -> str:
    """SQL true when an ID-like value is present (not NULL, not blank, not NaN).

    ``lowest`` is the smallest text value of the column when known: when it starts with a
    character above the blank, no value can be empty or blank, so ``IS NOT NULL`` suffices.
    """
    x = quote_ident(col)
    base = _base_type(typ)
    if base == "VARCHAR":
        if lowest is not None and lowest[:1] > " ":
            return f"{x} IS NOT NULL"
        # trim() only runs on the rare values that start with a blank (a CASE, so that the
        # optimizer cannot move it in front of the cheap test).
        return (f"{x} IS NOT NULL AND {x} <> '' AND "
                f"CASE WHEN starts_with({x}, ' ') THEN trim({x}) <> '' ELSE true END")
    if base in _FLOAT_TYPES:
        return f"{x} IS NOT NULL AND NOT isnan({x})"
    return f"{x} IS NOT NULL"


def _lowest(con: duckdb.DuckDBPyConnection, relation: str,
            columns: list[str]) -> dict[str, str | None]:
    """Smallest value of each text column (Parquet answers from its statistics)."""
    if not columns:
        return {}
    row = con.execute("SELECT " + ", ".join(f"min({quote_ident(c)})" for c in columns)
                      + f" FROM {relation}").fetchall()[0]
    return {c: (None if v is None else str(v)) for c, v in zip(columns, row, strict=True)}


def _to_timestamp(as_of: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(
            f"The 'as_of' parameter of rfm must be a date, a datetime or an ISO date string. "
            f"Got {as_of!r} instead."
        ) from exc
    if ts is pd.NaT:
        raise InvalidParameterError("The 'as_of' parameter of rfm cannot be NaT.")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def _sql_ts(ts: pd.Timestamp) -> str:
    return f"TIMESTAMP {quote_literal(ts.strftime('%Y-%m-%d %H:%M:%S.%f'))}"


def _sql_date(ts: pd.Timestamp) -> str:
    return f"DATE {quote_literal(ts.strftime('%Y-%m-%d'))}"


def _iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return pd.Timestamp(value).isoformat()


def _connect(memory_limit: str | None, threads: int | None,
             temp_dir: str) -> duckdb.DuckDBPyConnection:
    config: dict[str, Any] = {"temp_directory": temp_dir}
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    if threads is not None:
        config["threads"] = threads
    try:
        con = duckdb.connect(":memory:", config=config)
    except duckdb.Error as exc:
        raise InvalidParameterError(
            f"DuckDB refused memory_limit={memory_limit!r} / threads={threads!r}: {exc}"
        ) from exc
    con.execute("SET TimeZone = 'UTC'")
    return con


def _plan(con: duckdb.DuckDBPyConnection, src: Source, roles: ColumnRoles, *,
          cancellation_prefix: str | None, dayfirst: bool, date_format: str | None,
          as_of: pd.Timestamp | None, duplicates: str) -> tuple[_Plan, dict[str, Any]]:
    types = src.types
    notes: dict[str, Any] = {}
    relation = SOURCE
    if duplicates == "drop":
        cols = ", ".join(quote_ident(c) for c in src.columns)
        con.execute(
            f"CREATE TEMP TABLE __custseg_dedup AS SELECT *, row_number() OVER "
            f"(PARTITION BY {cols} ORDER BY {FILE}, {LINE}) AS __custseg_dup FROM {SOURCE}"
        )
        relation = "__custseg_dedup"

    parser = date_parser(con, roles.date, types[roles.date], dayfirst=dayfirst,
                         date_format=date_format, label=src.label)
    notes["date_format"] = parser.description
    # Dates and numbers written as text (CSV logs) are parsed once per line (_Plan.prelude).
    parsed: dict[str, str] = {}
    text_date = _base_type(types[roles.date]) == "VARCHAR"
    ts = _parse_once(parsed if text_date else None, _PARSED_TS, parser.sql)

    text_roles = [c for c in (roles.customer_id, roles.invoice)
                  if c is not None and _base_type(types[c]) == "VARCHAR"]
    lowest = _lowest(con, relation, text_roles)
    checks: list[tuple[str, str]] = [
        ("missing_customer_id", _present(roles.customer_id, types[roles.customer_id],
                                         lowest.get(roles.customer_id))),
        # a Parquet or Arrow timestamp can be +-infinity, which no date arithmetic survives
        ("invalid_date", f"{ts} IS NOT NULL AND isfinite({ts})"),
    ]
    key_is_cancel = None
    if roles.invoice is not None:
        inv = quote_ident(roles.invoice)
        checks.append(("missing_invoice", _present(roles.invoice, types[roles.invoice],
                                                   lowest.get(roles.invoice))))
        key = inv
        if cancellation_prefix is not None and _base_type(types[roles.invoice]) == "VARCHAR":
            key_is_cancel = f"starts_with(k, {quote_literal(cancellation_prefix)})"
            prefix_test = f"starts_with({inv}, {quote_literal(cancellation_prefix)})"
        else:
            prefix_test = None
        notes["frequency_definition"] = "distinct purchase invoices"
    else:
        key = f"CAST({ts} AS DATE)"
        prefix_test = None
        notes["frequency_definition"] = "distinct purchase days"

    if roles.amount is not None:
        amount, amount_ok = _numeric(roles.amount, types[roles.amount], parsed, _PARSED_AMOUNT)
        checks.append(("invalid_amount", amount_ok))
        checks.append(("zero_value", f"{amount} <> 0"))
        value = f"CAST({amount} AS DOUBLE)"
        checks.append(("value_overflow", f"isfinite({value})"))
        sign = amount
    else:
        q, q_ok = _numeric(roles.quantity, types[roles.quantity],  # type: ignore[arg-type]
                           parsed, _PARSED_QUANTITY)
        p, p_ok = _numeric(roles.price, types[roles.price],  # type: ignore[arg-type]
                           parsed, _PARSED_PRICE)
        checks.append(("invalid_quantity", q_ok))
        checks.append(("invalid_price", p_ok))
        checks.append(("non_positive_price", f"{p} > 0"))
        checks.append(("zero_value", f"{q} <> 0"))
        value = f"CAST({q} AS DOUBLE) * CAST({p} AS DOUBLE)"
        # Finite quantity and price can still multiply to inf (1e200 * 1e200).
        checks.append(("value_overflow", f"isfinite({value})"))
        sign = q  # prices of usable lines are > 0, so the quantity carries the sign
    if as_of is not None:
        checks.append(("after_as_of", f"{ts} < {_sql_ts(as_of)}"))
    if duplicates == "drop":
        checks.append(("duplicate_line", "__custseg_dup = 1"))
    plan = _Plan(relation=relation, cust=quote_ident(roles.customer_id),
                 cust_type=_base_type(types[roles.customer_id]), ts=ts, key=key,
                 key_is_cancel=key_is_cancel, value=value,
                 is_return=f"({sign} < 0 OR {prefix_test})" if prefix_test else f"{sign} < 0",
                 checks=checks, parsed=parsed)
    return plan, notes


def _keys_query(plan: _Plan, cust_expr: str) -> str:
    """SQL of the aggregates of the usable lines per (customer, invoice or day, return flag):
    grouping by the key first turns the distinct count of invoices into a plain count. ``v``
    sums ``|value|``: purchases are positive anyway, and a return counts ``-|value|``.

    Values are added with ``fsum`` (compensated summation): DuckDB's threads combine partial
    sums in whatever order they finish, and with plain ``sum`` the same log gave features that
    differed in the last bit from one run to the next (3 variants in 5 runs of a 10M-line log);
    ``fsum`` costs ~3 % of this step and gave the same bits every time.
    """
    cancel = (f", {plan.key_is_cancel} AS cancel" if plan.key_is_cancel else "")
    return f"""
        {plan.prelude}
        SELECT cust, is_ret, count(*) AS n, fsum(abs(v)) AS v, min(ts) AS mn,
               max(ts) AS mx{cancel}
        FROM (SELECT {cust_expr} AS cust, {plan.ts} AS ts, {plan.key} AS k,
                     {plan.value} AS v, {plan.is_return} AS is_ret
              FROM {plan.rows} WHERE {plan.valid})
        GROUP BY cust, k, is_ret
    """


def _fetch_keys(con: duckdb.DuckDBPyConnection, plan: _Plan) -> pa.Table:
    """The per-key aggregates as one Arrow table, for :mod:`._rfm_dense`."""
    return con.sql(_keys_query(plan, plan.cust)).to_arrow_table(batch_size=1 << 30
                                                                ).combine_chunks()


def _aggregate(con: duckdb.DuckDBPyConnection, plan: _Plan, cust_expr: str,
               keys: str | None = None) -> None:
    """Per customer aggregates of the usable lines into the temp table ``__custseg_agg``: per
    key first (:func:`_keys_query`, or the relation ``keys`` that holds them), then per
    customer, purchases and returns apart (returns are a few percent of the keys, so each side
    needs few aggregates) and joined. :mod:`._rfm_dense` does the second level in numba."""
    cancel = "count(*) FILTER (WHERE cancel)" if plan.key_is_cancel else "0"
    if keys is None:
        keys = "per_key"
        with_keys = f"per_key AS MATERIALIZED ({_keys_query(plan, cust_expr)}),"
    else:
        with_keys = ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __custseg_agg AS
        WITH {with_keys} p AS (
            SELECT cust, count(*) AS frequency, sum(n) AS n, fsum(v) AS gross,
                   min(mn) AS first_ts, max(mx) AS last_ts
            FROM {keys} WHERE NOT is_ret GROUP BY cust
        ), r AS (
            SELECT cust, sum(n) AS n, {cancel} AS cancellation_invoices,
                   fsum(v) AS returned, min(mn) AS mn, max(mx) AS mx
            FROM {keys} WHERE is_ret GROUP BY cust
        )
        SELECT coalesce(p.cust, r.cust) AS cust,
               CAST(coalesce(p.n, 0) + coalesce(r.n, 0) AS BIGINT) AS n_lines,
               CAST(coalesce(r.n, 0) AS BIGINT) AS n_returns,
               coalesce(p.frequency, 0) AS frequency,
               coalesce(r.cancellation_invoices, 0) AS cancellation_invoices,
               coalesce(p.gross, 0.0) AS gross,
               coalesce(r.returned, 0.0) AS returned,
               p.first_ts, p.last_ts,
               least(p.first_ts, r.mn) AS min_ts, greatest(p.last_ts, r.mx) AS max_ts
        FROM p FULL OUTER JOIN r ON p.cust = r.cust
    """)


def _normalised(expr: str) -> str:
    return f"regexp_replace({expr}, '\\.0+$', '')"


def _add_customers_without_usable_lines(con: duckdb.DuckDBPyConnection, cust_expr: str) -> None:
    """Give a row to customers whose every line was excluded for its value or date.

    A customer ID seen on a line dated before ``as_of`` is a customer, even when none of its
    lines can be used (UCI Online Retail's 13256 ordered only free items): it gets
    ``n_lines`` 0 and no purchase. Lines without an ID or dated after ``as_of`` add no one.
    """
    con.execute(f"""
        INSERT INTO __custseg_agg (cust, n_lines, n_returns, frequency, cancellation_invoices,
                                   gross, returned)
        SELECT r.cust, 0, 0, 0, 0, 0.0, 0.0
        FROM (SELECT DISTINCT {cust_expr} AS cust FROM __custseg_rej
              WHERE __custseg_reason NOT IN ('malformed_row', 'missing_customer_id',
                                             'after_as_of')) AS r
        -- a LEFT JOIN hashes the few candidates, where NOT IN hashed every customer
        LEFT JOIN __custseg_agg AS a ON a.cust = r.cust
        WHERE a.cust IS NULL
    """)


@dataclass(frozen=True)
class _Ids:
    """How customer keys become the text IDs of the output, and how they are sorted."""

    sql: str  # SQL text of the ID from the key column ``cust``
    numeric: bool  # the key is a number: sort in numpy by value
    integral: bool  # ... and every key is an integer: build the text in numpy
    normalised: bool  # "17850.0" was written "17850"
    reaggregate: bool = False  # both "17850" and "17850.0" occur: group again


def _customer_ids(con: duckdb.DuckDBPyConnection, plan: _Plan) -> _Ids:
    if plan.cust_type in _INTEGER_TYPES:
        return _Ids("CAST(cust AS VARCHAR)", numeric=True, integral=True, normalised=False)
    if plan.cust_type in _FLOAT_TYPES:
        integral = con.execute(
            "SELECT coalesce(bool_and(cust = round(cust) AND abs(cust) < 9e15), true) "
            "FROM __custseg_agg").fetchall()[0][0]
        return _Ids("CAST(cust AS VARCHAR)", numeric=True, integral=bool(integral),
                    normalised=bool(integral))
    text = "cust" if plan.cust_type == "VARCHAR" else "CAST(cust AS VARCHAR)"
    non_int, suffixed, distinct_norm, n = con.execute(f"""
        SELECT count(*) FILTER (WHERE NOT regexp_full_match({text}, '[0-9]+(\\.0+)?')),
               count(*) FILTER (WHERE regexp_full_match({text}, '[0-9]+\\.0+')),
               count(DISTINCT regexp_replace({text}, '\\.0+$', '')), count(*)
        FROM __custseg_agg""").fetchall()[0]
    normalise = non_int == 0 and suffixed > 0
    return _Ids(_normalised(text) if normalise else text, numeric=False, integral=False,
                normalised=normalise, reaggregate=normalise and distinct_norm != n)


#: Customer ID types whose values :mod:`._rfm_dense` can take as int64 numbers.
_DENSE_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                          "UINTEGER", "UBIGINT", *_FLOAT_TYPES})
#: None: the numba level when it pays (see :func:`_dense_pays`); True or False (tests): always
#: or never, for the logs it can take.
USE_DENSE: bool | None = None
#: None: the per-key table by runs of invoice lines (:mod:`._rfm_runs`) wherever the numba
#: level runs and the log allows it; False (tests): never.
USE_RUNS: bool | None = None
#: Fewer lines than this: the SQL level, which takes a few milliseconds there.
DENSE_MIN_LINES = 500_000
#: In a process without numba loaded, the numba level only from this many lines on: numba's
#: import and first kernel load take ~1.2 s, and the level saves ~0.3-0.7 s per 2M keys (a
#: 10M-line retail log; ~5 lines an invoice), so it pays from ~5M keys.
DENSE_COLD_MIN_LINES = 25_000_000


#: Set by a caller that loads numba anyway, e.g. ``custseg segment`` (which imports it in a
#: worker thread while DuckDB reads the log, and clusters with numba kernels afterwards).
NUMBA_LOADING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "custseg_rfm_numba_loading", default=False)


def _dense_pays(n_lines: int) -> bool:
    """Whether the numba level is worth its cost for a log of ``n_lines`` lines (decided before
    the aggregation, as the keys are then fetched instead of kept in DuckDB)."""
    if USE_DENSE is not None:
        return USE_DENSE
    if n_lines < DENSE_MIN_LINES:
        return False
    return (NUMBA_LOADING.get() or "numba" in sys.modules
            or n_lines >= DENSE_COLD_MIN_LINES)


def _runs_apply(src: Source, roles: ColumnRoles, params: dict[str, Any]) -> bool:
    """Whether :mod:`._rfm_runs` may take the log: one Parquet file with an invoice column,
    duplicates kept (it may still decline the file's column types or line order)."""
    return (src.kind == "parquet" and len(src.files) == 1 and roles.invoice is not None
            and params["duplicates"] == "keep")


def _invoice_runs(src: Source, roles: ColumnRoles, params: dict[str, Any],
                  as_of: pd.Timestamp | None) -> Any:
    """The per-key table by runs of invoice lines (:mod:`._rfm_runs`), or None when the pass
    declines the log."""
    from ._rfm_runs import invoice_runs

    columns = {"inv": roles.invoice, "cust": roles.customer_id, "ts": roles.date}
    if roles.amount is not None:
        columns["q"] = roles.amount
    else:
        columns |= {"q": roles.quantity, "p": roles.price}  # type: ignore[dict-item]
    return invoice_runs(src.files[0], columns,  # type: ignore[arg-type]
                        cancellation_prefix=params["cancellation_prefix"],
                        as_of_us=None if as_of is None else int(  # (no nanoseconds: any year)
                            as_of.to_datetime64().astype("datetime64[us]").astype(np.int64)),
                        threads=params["threads"])


def _dense_customers(con: duckdb.DuckDBPyConnection, keys: pa.Table,
                     threads: int | None) -> CustomerTotals | None:
    """The per-customer level in numba when every customer ID is an integer number, else None
    (the SQL level then runs)."""
    # Imported here, where it pays (see DENSE_COLD_MIN_LINES).
    from ._rfm_dense import customer_numbers, reduce_keys

    cust = customer_numbers(keys.column("cust").to_numpy())
    # Customers whose every line was excluded for its value or date get a row too (see
    # _add_customers_without_usable_lines).
    extra = con.execute("""
        SELECT DISTINCT __custseg_cust FROM __custseg_rej
        WHERE __custseg_reason NOT IN ('malformed_row', 'missing_customer_id', 'after_as_of')
          AND __custseg_cust IS NOT NULL""").fetchnumpy()["__custseg_cust"]
    extra = customer_numbers(np.asarray(extra))
    if cust is None or extra is None:
        return None
    keys = keys.set_column(keys.schema.get_field_index("mn"), "mn",
                           keys.column("mn").cast(pa.int64()))
    keys = keys.set_column(keys.schema.get_field_index("mx"), "mx",
                           keys.column("mx").cast(pa.int64()))
    return reduce_keys(keys, cust, extra, threads)


def _dense_features(dense: CustomerTotals, id_name: str, as_of: pd.Timestamp,
                    window_days: int, threads: int | None) -> pd.DataFrame:
    # in days, not through nanoseconds: a date after 2262 has none
    as_of_day = int(as_of.to_datetime64().astype("datetime64[D]").astype(np.int64))
    cols = dense.features(as_of_day, window_days, threads)
    return _features_frame(id_name, _integer_ids(dense.key), cols)


def _integer_ids(key: np.ndarray) -> pd.Series:
    """Integer customer numbers as their text IDs: Arrow writes 1M integers as text several
    times faster than pandas' astype."""
    return pd.Series(pd.array(pc.cast(pa.array(key.astype(np.int64, copy=False)), pa.string()),
                              dtype="str"))


def _features_frame(id_name: str, ids: pd.Series, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    """The features table: the ID column, then :data:`FEATURE_COLUMNS`. ``copy=False``: the
    columns stay the arrays they are (no consolidation copy)."""
    return pd.DataFrame({id_name: ids} | {name: cols[name] for name in FEATURE_COLUMNS},
                        copy=False)


def _fetch_features(con: duckdb.DuckDBPyConnection, ids: _Ids, id_name: str, as_of_date: str,
                    window_days: int) -> pd.DataFrame:
    """Compute the features from ``__custseg_agg`` and return them sorted by customer ID."""
    if ids.numeric:
        # Sorting numbers in numpy is cheaper than an SQL sort of the whole result.
        order_clause = ""
    else:
        plain_integers = con.execute(
            f"SELECT coalesce(bool_and(regexp_full_match({ids.sql}, '0|[1-9][0-9]*')), false) "
            "FROM __custseg_agg").fetchall()[0][0]
        order_clause = "ORDER BY length(id), id" if plain_integers else "ORDER BY id"
    table = con.sql(f"""
        SELECT {"" if ids.integral else "id, "}cust AS __custseg_key, recency_days, frequency,
               monetary, tenure_days, avg_order_value, mean_days_between_orders, return_rate,
               n_lines, n_returns, first_purchase, last_purchase
        FROM (
            SELECT {ids.sql} AS id, cust,
                CASE WHEN frequency > 0
                     THEN date_diff('day', CAST(last_ts AS DATE), {as_of_date})
                     ELSE {window_days} END AS recency_days,
                frequency,
                gross - returned AS monetary,
                CASE WHEN frequency > 0
                     THEN date_diff('day', CAST(first_ts AS DATE), {as_of_date})
                     ELSE {window_days} END AS tenure_days,
                CASE WHEN frequency > 0 THEN gross / frequency ELSE 0.0 END AS avg_order_value,
                CASE WHEN frequency > 1
                     THEN date_diff('day', CAST(first_ts AS DATE), CAST(last_ts AS DATE))
                          / (frequency - 1)
                     ELSE CAST({window_days} AS DOUBLE) END AS mean_days_between_orders,
                CASE WHEN returned <= 0 THEN 0.0 WHEN gross <= 0 THEN 1.0
                     ELSE least(returned / gross, 1.0) END AS return_rate,
                n_lines, n_returns,
                -- midnight timestamps: Arrow gives them to numpy as datetime64[us], no copy
                CAST(CAST(first_ts AS DATE) AS TIMESTAMP) AS first_purchase,
                CAST(CAST(last_ts AS DATE) AS TIMESTAMP) AS last_purchase
            FROM __custseg_agg)
        {order_clause}
    """).to_arrow_table(batch_size=1 << 30)  # one chunk: numpy views, no concatenation
    # Arrow, then numpy: about twice as fast as fetchnumpy; NULL dates become NaT.
    text_ids = table.column("id") if "id" in table.column_names else None
    cols = {name: table.column(name).to_numpy() for name in table.column_names if name != "id"}
    key = cols.pop("__custseg_key")
    if ids.numeric:
        order = _sort_order(key)
        key = key[order]
        cols = _gather(cols, order)
        if text_ids is not None:
            text_ids = text_ids.take(pa.array(order))
    id_values = (_integer_ids(key) if ids.integral
                 else pd.Series(pd.array(text_ids, dtype="str")))
    return _features_frame(id_name, id_values, cols)


def _sort_order(key: np.ndarray) -> np.ndarray:
    """The permutation that sorts the unique ``key``: for integers in a span of at most four
    times their number (customer numbers usually are), by placing each at its offset, about
    twice as fast as ``argsort``."""
    n = len(key)
    if key.dtype.kind == "i" and n:
        lo, hi = int(key.min()), int(key.max())
        if hi - lo < 4 * n:
            slots = np.full(hi - lo + 1, -1, dtype=np.int64)
            slots[key - lo] = np.arange(n)
            return slots[slots >= 0]
    return np.argsort(key)  # keys are unique: no need for a stable sort


def _gather(cols: dict[str, np.ndarray], order: np.ndarray) -> dict[str, np.ndarray]:
    """``{name: values[order]}``, the columns taken in two threads (numpy's ``take`` releases
    the GIL; each random gather of a million values is memory-latency bound)."""
    if len(order) < 100_000 or (os.cpu_count() or 1) < 2:
        return {name: values[order] for name, values in cols.items()}
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="custseg-rfm") as pool:
        taken = pool.map(lambda values: np.take(values, order), cols.values())
        return dict(zip(cols, taken, strict=True))


def rfm(
    transactions: Any,
    *,
    customer_id: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    quantity: str | None = None,
    price: str | None = None,
    invoice: str | None = None,
    as_of: str | _dt.date | pd.Timestamp | np.datetime64 | None = None,
    cancellation_prefix: str | None = "C",
    dayfirst: bool = False,
    date_format: str | None = None,
    duplicates: Literal["keep", "drop"] = "keep",
    memory_limit: str | None = None,
    threads: int | None = None,
) -> RFMResult:
    """Derive recency, frequency, monetary value and behaviour features per customer.

    The log is read and aggregated by DuckDB SQL: a file (CSV, TSV, whitespace-separated, gzip,
    Parquet file, folder or glob) is scanned directly, never loaded into pandas, so files larger
    than memory work with ``memory_limit``. A pandas, polars or pyarrow table is handed to DuckDB
    through Arrow. When every customer ID is a number (an integer or integral float column),
    the second level, per customer, runs in numba on the per-invoice table DuckDB produced
    (:mod:`custseg.features._rfm_dense`); the features are the same, bit for bit. A single
    Parquet file whose lines of an invoice come together (as order systems export them) gets
    that per-invoice table from one numba pass over its runs of invoice lines instead of
    DuckDB's group-by (:mod:`custseg.features._rfm_runs`; ``summary["invoice_level"]``), with
    the same result, bit for bit (an invoice whose lines come back later is merged once they
    are read back as one customer's one invoice; a log the pass cannot decode, e.g. decimal
    columns or time zones, is grouped by DuckDB).

    **Lines.** A line is a *return* when its value (``quantity * price`` or ``amount``) is
    negative or its invoice starts with ``cancellation_prefix``; returns are netted in
    ``monetary`` and counted in ``return_rate`` (a return's value is ``-|value|``). Every other
    usable line is a *purchase*. A line is excluded, with the first reason that applies, in this
    order: ``malformed_row`` (a text line whose fields do not match the header's, e.g. a tab too
    many; its values are not read), ``missing_customer_id`` (empty or missing ID),
    ``invalid_date`` (no format parses it), ``missing_invoice``, ``invalid_quantity`` /
    ``invalid_price`` / ``invalid_amount`` (not a finite number), ``non_positive_price``
    (price <= 0, e.g. free samples and bad-debt adjustments), ``zero_value`` (quantity or
    amount 0), ``value_overflow`` (quantity * price is not a finite double), ``after_as_of``
    (dated at or after an explicit ``as_of``), ``duplicate_line`` (with ``duplicates="drop"``,
    the second and later copies of an exact duplicate line). So a line without a customer that
    also has a zero price counts as ``missing_customer_id``. Excluded lines are returned in
    :attr:`RFMResult.rejects` and counted in the summary; ``lines_read == lines_used +
    lines_excluded`` always holds, and ``sum(monetary) + excluded_net_value`` is the total
    ``quantity * price`` (or ``amount``) of the log (a line of a cancellation invoice with a
    *positive* value, which no known export has, counts ``-|value|`` and so breaks that sum by
    twice its value).

    **Features**: one row per customer, sorted by ID. A customer is an ID found on any line
    not excluded for ``missing_customer_id`` or ``after_as_of``, so a customer whose lines were
    all excluded for their value or date still has a row (``n_lines`` 0, no purchase; counted in
    ``summary["customers_without_usable_lines"]``).

    ============================== ==========================================================
    ``recency_days``               whole days from the last purchase date to the date of
                                   ``as_of``
    ``frequency``                  distinct purchase invoices (cancellation invoices are not
                                   counted); without an invoice column, distinct purchase days
    ``monetary``                   net value: purchases minus returns and cancellations
    ``tenure_days``                whole days from the first purchase date to the date of
                                   ``as_of``
    ``avg_order_value``            gross purchase value / ``frequency``
    ``mean_days_between_orders``   (last − first purchase date, in days) / (``frequency`` − 1)
    ``return_rate``                returned value / gross purchase value, capped at 1
    ``n_lines``, ``n_returns``     usable lines, and how many of them are returns
    ``first_purchase``,            dates of the first and last purchase (datetime64, midnight)
    ``last_purchase``
    ============================== ==========================================================

    Defined values where a ratio has no data, so that clustering needs no imputation:
    ``mean_days_between_orders`` is ``window_days`` (days from the first date of the usable log
    to ``as_of``) when ``frequency <= 1``: one order in the window is the slowest rhythm that can
    be observed, and every customer with two or more orders has a smaller value, so the
    feature stays monotone in "buys rarely" (a one-time buyer of yesterday is *not* a buyer
    every day). ``avg_order_value`` is 0 without purchase. ``return_rate`` is 0 without returns,
    and 1 when returns exceed the purchases of the window (goods bought before it) or when there
    is no purchase. A customer without purchase (returns only, the goods having been bought
    before the log starts, or no usable line) has ``frequency`` 0, ``monetary`` the net of its
    returns (<= 0), ``recency_days`` and ``tenure_days`` equal to ``window_days`` (the purchase,
    if any, predates the window) and ``first_purchase``/``last_purchase`` NaT.

    **Customer IDs** are kept as text exactly as in the source, except that the
    float-as-text form of the UCI Online Retail exports (``"17850.0"``) is written ``"17850"``
    when *every* ID is an integer written with or without ``.0`` (a float column is treated the
    same way); ``summary["customer_id_normalised"]`` records it. Rows are sorted numerically
    when every ID is a plain integer, else by text.

    Parameters
    ----------
    transactions : str, path-like, pandas.DataFrame, polars.DataFrame or pyarrow.Table
        The transaction log, one line per invoice line (or per order).
    customer_id, date, invoice, quantity, price, amount : str, default=None
        Column names. Left out, they are detected from common spellings (``CustomerID``,
        ``customer_id``, ``Customer ID``, ``client_id``; ``InvoiceNo``, ``order_id``;
        ``InvoiceDate``, ``order_date``, ``timestamp``; ``Quantity``, ``qty``; ``UnitPrice``,
        ``price``; ``Amount``, ``Sales``, ``Revenue``, ``total``) and the choice is reported in
        ``summary["columns"]``. Give ``amount`` or ``quantity`` and ``price``; the invoice is
        optional.
    as_of : date, datetime or str, default=None
        The reference date. Default: the day after the latest valid date in the log, at
        midnight (never today's date). Lines dated at or after an explicit ``as_of`` are
        excluded as ``after_as_of``.
    cancellation_prefix : str or None, default="C"
        Invoices starting with it are cancellations (their lines are returns). ``None``
        disables the rule; negative values are returns either way.
    dayfirst : bool, default=False
        Read ambiguous dates such as ``01/12/2010`` day first. Used only when the data cannot
        decide (see :mod:`custseg.features._dates` for the detection rules).
    date_format : str, default=None
        An explicit ``strptime`` format (``"%d/%m/%Y %H:%M"``), replacing detection.
    duplicates : {"keep", "drop"}, default="keep"
        Exact duplicate lines are kept by default: a log without a line number cannot tell a
        duplicated export row from the same item scanned twice on one invoice, and the
        published totals of datasets such as UCI Online Retail include them. ``"drop"`` keeps
        the first copy and excludes the others as ``duplicate_line`` (this needs a sort of the
        whole log).
    memory_limit : str, default=None
        DuckDB memory limit, e.g. ``"2GB"``; beyond it DuckDB spills to a temporary directory
        that is removed afterwards.
    threads : int, default=None
        DuckDB threads (default: all cores).

    Returns
    -------
    RFMResult
        ``features``, ``rejects`` and ``summary``. The summary holds ``columns`` (name and
        ``detected`` per role), ``frequency_definition``, ``date_format``, ``as_of``,
        ``date_range``, ``window_days``, ``customers``, ``lines_read``, ``lines_used``,
        ``lines_excluded``, ``lines_excluded_by_reason``, ``returns_lines``,
        ``cancellation_invoices`` (invoices with the prefix among used lines, per customer),
        ``gross_value``, ``returned_value``, ``net_value``, ``excluded_net_value`` (so that
        ``net_value + excluded_net_value`` is the total value of the log),
        ``customers_without_usable_lines``, ``customer_id_normalised``, ``exclusion_precedence``,
        ``feature_definitions``, ``invoice_level`` (``"numba runs"`` or ``"sql"``: where the
        per-invoice step ran), ``customer_level`` (``"numba"`` or ``"sql"``: where the
        per-customer step ran) and ``timings_seconds`` (with the invoice runs, DuckDB's scan
        for rejected lines runs meanwhile and is timed within ``aggregate``).

    Raises
    ------
    ColumnNotFoundError
        A named column is missing, or a required one cannot be detected.
    InputFileError
        The file does not exist or cannot be read.
    SchemaError
        The dates cannot be recognised, or no line is usable.
    InvalidParameterError
        A parameter has a wrong type or value.

    Notes
    -----
    ``rejects.line`` is, for a text file, the data row number + 1 (the header is line 1), which
    is the line number in the file unless a quoted field spans lines; for Parquet the 1-based row
    number in its file; for an in-memory table the 1-based row position.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "CustomerID": ["A", "A", "B"],
    ...     "InvoiceNo": ["1", "2", "3"],
    ...     "InvoiceDate": ["2024-01-01", "2024-01-05", "2024-01-03"],
    ...     "Amount": [10.0, 30.0, 5.0],
    ... })
    >>> res = rfm(log)
    >>> res.features[["CustomerID", "recency_days", "frequency", "monetary"]]
      CustomerID  recency_days  frequency  monetary
    0          A             1          2      40.0
    1          B             3          1       5.0
    >>> res.summary["as_of"]
    '2024-01-06T00:00:00'
    """
    params = dict(customer_id=customer_id, date=date, amount=amount, quantity=quantity,
                  price=price, invoice=invoice, as_of=as_of,
                  cancellation_prefix=cancellation_prefix, dayfirst=dayfirst,
                  date_format=date_format, duplicates=duplicates, memory_limit=memory_limit,
                  threads=threads)
    validate_params("rfm", _PARAMS, params)
    as_of_ts = _to_timestamp(as_of) if as_of is not None else None
    clock = _Clock()

    with tempfile.TemporaryDirectory(prefix="custseg-rfm-") as temp_dir:
        con = _connect(memory_limit, threads, os.path.join(temp_dir, "spill"))
        try:
            return _run(con, transactions, params, as_of_ts, clock)
        finally:
            con.close()


def _run(con: duckdb.DuckDBPyConnection, transactions: Any, params: dict[str, Any],
         as_of_ts: pd.Timestamp | None, clock: _Clock) -> RFMResult:
    src = open_source(con, transactions)
    roles = resolve_roles(src.columns, source=src.label, customer_id=params["customer_id"],
                          date=params["date"], invoice=params["invoice"],
                          quantity=params["quantity"], price=params["price"],
                          amount=params["amount"])
    plan, notes = _plan(con, src, roles, cancellation_prefix=params["cancellation_prefix"],
                        dayfirst=params["dayfirst"], date_format=params["date_format"],
                        as_of=as_of_ts, duplicates=params["duplicates"])
    clock.lap("open")
    # From here every result is sorted explicitly; letting DuckDB drop the insertion order
    # makes its temporary tables cheaper (text sources were numbered when loaded).
    con.execute("SET preserve_insertion_order = false")

    lines_parsed = int(con.execute(f"SELECT count(*) FROM {SOURCE}").fetchall()[0][0])
    lines_read = lines_parsed + src.malformed
    # Numeric IDs take the per-customer level in numba where it pays (there are at most as
    # many keys as lines), unless DuckDB must be free to spill.
    fetch = (plan.cust_type in _DENSE_TYPES and params["memory_limit"] is None
             and _dense_pays(lines_parsed))
    # Rejected lines, with their reason, customer, value and parsed date.
    originals = ", ".join(quote_ident(c) for c in src.columns)
    file_col = f"{FILE} AS __custseg_file, " if src.multi_file else ""

    def scan_rejects(where: str) -> None:
        found = f"""
            SELECT {file_col}{LINE} AS __custseg_line, {plan.reason} AS __custseg_reason,
                   {plan.cust} AS __custseg_cust, {plan.value} AS __custseg_value,
                   {plan.ts} AS __custseg_ts"""
        if not plan.parsed:
            con.execute(f"""CREATE TEMP TABLE __custseg_rej AS {found}, {originals}
                            FROM {plan.relation} WHERE {where}""")
            return
        # The rejected lines from the parsed values alone, then their original values by
        # line: with the originals in the CTE, it would hold a copy of every column.
        same_file = f" AND r.{FILE} = b.__custseg_file" if src.multi_file else ""
        con.execute(f"""
            CREATE TEMP TABLE __custseg_rej AS
            {plan.prelude}, __custseg_bad AS ({found} FROM {plan.rows} WHERE {where})
            SELECT b.*, {", ".join("r." + quote_ident(c) for c in src.columns)}
            FROM __custseg_bad b JOIN {plan.relation} r
              ON r.{LINE} = b.__custseg_line{same_file}
        """)

    runs = None
    scanned_early = fetch and USE_RUNS is not False and _runs_apply(src, roles, params)
    if scanned_early:
        # DuckDB scans for the rejected lines while the invoice-run pass reads the log (the
        # pass leaves a core to spare: ~1.5 of 2 busy), then the keys are the pass's, or, if
        # it cannot take the log, DuckDB's group-by's.
        with ThreadPoolExecutor(1) as pool:
            scanned = pool.submit(scan_rejects, plan.invalid)
            try:
                runs = _invoice_runs(src, roles, params, as_of_ts)
            finally:
                scanned.result()
    if runs is not None:
        keys = runs.keys
        used = int(pc.sum(keys.column("n")).as_py() or 0)
    elif fetch:
        keys = _fetch_keys(con, plan)
        used = int(pc.sum(keys.column("n")).as_py() or 0)
    else:
        keys = None
        _aggregate(con, plan, plan.cust)
        used = con.execute("SELECT coalesce(sum(n_lines), 0) FROM __custseg_agg").fetchall()[0][0]
    clock.lap("aggregate")
    if not scanned_early:
        scan_rejects("false" if lines_parsed == used else plan.invalid)  # (none: no scan)
    if src.malformed:
        # Records that do not split into the header's fields: no value can be trusted.
        con.execute(f"""
            INSERT INTO __custseg_rej BY NAME
            SELECT {file_col}{LINE} AS __custseg_line, 'malformed_row' AS __custseg_reason
            FROM {MALFORMED}
        """)
    clock.lap("rejects")
    dense = (_dense_customers(con, keys, params["threads"]) if keys is not None else None)
    if keys is not None and dense is None:  # not all integers: the SQL level after all
        con.register("__custseg_keys", keys)
        _aggregate(con, plan, plan.cust, keys="__custseg_keys")
    keys = None  # its 40 bytes a key are not needed any more
    if dense is not None:
        id_normalised = plan.cust_type in _FLOAT_TYPES  # 17850.0 is written 17850
        (n_customers, lines_used, returns_lines, cancel_inv, gross, returned, first_us,
         last_us) = dense.totals()
        first_ts = None if first_us is None else pd.Timestamp(first_us, unit="us")
        last_ts = None if last_us is None else pd.Timestamp(last_us, unit="us")
        idle = int(np.count_nonzero(dense.n_lines == 0))
    else:
        _add_customers_without_usable_lines(con, "__custseg_cust")
        ids = _customer_ids(con, plan)
        if ids.reaggregate:
            # Both "17850" and "17850.0" occur: group again on the normalised text.
            _aggregate(con, plan, _normalised(plan.cust))
            _add_customers_without_usable_lines(con, _normalised("__custseg_cust"))
            ids = _Ids("cust", numeric=False, integral=False, normalised=True)
        id_normalised = ids.normalised
        totals = con.execute("""
            SELECT count(*), coalesce(sum(n_lines), 0), coalesce(sum(n_returns), 0),
                   coalesce(sum(cancellation_invoices), 0), coalesce(fsum(gross), 0.0),
                   coalesce(fsum(returned), 0.0), min(min_ts), max(max_ts)
            FROM __custseg_agg""").fetchall()[0]
        (n_customers, lines_used, returns_lines, cancel_inv, gross, returned, first_ts,
         last_ts) = totals
        idle = con.execute("SELECT count(*) FROM __custseg_agg WHERE n_lines = 0"
                           ).fetchall()[0][0]
    clock.lap("aggregate")
    by_reason = {"malformed_row": 0} if src.malformed else {}
    by_reason |= dict.fromkeys(REASONS, 0)
    excluded_value = 0.0
    rej_max_ts = None
    for reason, n, value, max_ts in con.execute(
            "SELECT __custseg_reason, count(*), coalesce(fsum(__custseg_value) FILTER "
            "(WHERE isfinite(__custseg_value)), 0.0), "
            "max(__custseg_ts) FILTER (WHERE isfinite(__custseg_ts)) "
            "FROM __custseg_rej GROUP BY 1 ORDER BY 1").fetchall():
        by_reason[reason] = int(n)
        excluded_value += float(value)
        if max_ts is not None and (rej_max_ts is None or max_ts > rej_max_ts):
            rej_max_ts = max_ts
    lines_excluded = sum(by_reason.values())
    if lines_read != lines_used + lines_excluded:  # pragma: no cover - a bug, not bad input
        raise RuntimeError(
            f"custseg accounting error: {lines_read} lines read but {lines_used} used + "
            f"{lines_excluded} excluded. Please report this."
        )
    if lines_used == 0:
        _raise_nothing_usable(con, src, lines_read, by_reason)

    if as_of_ts is None:
        latest = max(t for t in (last_ts, rej_max_ts) if t is not None)
        as_of_ts = pd.Timestamp(latest).normalize() + pd.Timedelta(days=1)
        as_of_source = "default: the day after the latest date in the log"
    else:
        as_of_source = "given"
    window_days = int((as_of_ts.normalize() - pd.Timestamp(first_ts).normalize()).days)

    if dense is not None:
        features = _dense_features(dense, roles.customer_id, as_of_ts, window_days,
                                   params["threads"])
    else:
        features = _fetch_features(con, ids, roles.customer_id, _sql_date(as_of_ts),
                                   window_days)
    clock.lap("features")
    rejects = _fetch_rejects(con, src)
    clock.lap("fetch_rejects")

    total_value = gross - returned
    summary: dict[str, Any] = {
        "source": src.label,
        "source_kind": src.kind,
        "engine": "duckdb",
        "duckdb_version": duckdb.__version__,
        "invoice_level": "numba runs" if runs is not None else "sql",
        "customer_level": "numba" if dense is not None else "sql",
        "columns": roles.to_summary(),
        "value": "amount" if roles.amount is not None else "quantity * price",
        "frequency_definition": notes["frequency_definition"],
        "date_format": notes["date_format"],
        "as_of": as_of_ts.isoformat(),
        "as_of_source": as_of_source,
        "date_range": [_iso(first_ts), _iso(last_ts)],
        "window_days": window_days,
        "customers": int(n_customers),
        "customers_without_usable_lines": int(idle),
        "customer_id_normalised": id_normalised,
        "lines_read": lines_read,
        "lines_used": int(lines_used),
        "lines_excluded": int(lines_excluded),
        "lines_excluded_by_reason": by_reason,
        "exclusion_precedence": (["malformed_row"] if src.kind == "text" else []) + list(REASONS),
        "returns_lines": int(returns_lines),
        "cancellation_prefix": params["cancellation_prefix"],
        "cancellation_invoices": (int(cancel_inv) if plan.key_is_cancel is not None else None),
        "gross_value": float(gross),
        "returned_value": float(returned),
        "net_value": float(total_value),
        "excluded_net_value": float(excluded_value),
        "duplicates": params["duplicates"],
        "feature_definitions": dict(FEATURE_DEFINITIONS),
        "timings_seconds": clock.laps,
    }
    summary.update({k: v for k, v in src.details.items() if k in ("encoding", "delimiter")})
    logger.info("rfm: %d customers from %d of %d lines (%d excluded) in %.2f s",
                n_customers, lines_used, lines_read, lines_excluded, clock.total)
    return RFMResult(features=features, rejects=rejects, summary=summary)


def _fetch_rejects(con: duckdb.DuckDBPyConnection, src: Source) -> pd.DataFrame:
    names = {"__custseg_line": "line", "__custseg_reason": "reason", "__custseg_file": "file"}
    taken = set(src.columns)
    renames = []
    for old, new in names.items():
        if src.multi_file or old != "__custseg_file":
            alias = new if new not in taken else f"{new}_"
            renames.append(f"{old} AS {quote_ident(alias)}")
    originals = ", ".join(quote_ident(c) for c in src.columns)
    order = "__custseg_file, __custseg_line" if src.multi_file else "__custseg_line"
    rel = con.sql(f"SELECT {', '.join(renames)}, {originals} FROM __custseg_rej ORDER BY {order}")
    if not all(str(t) in _ARROW_TYPES for t in rel.types):
        return rel.df()
    # Through Arrow for the usual types, with the dtypes DuckDB's df() gives: three times as
    # fast for text columns.
    table = rel.to_arrow_table()
    return pd.DataFrame({name: _pandas_column(table.column(name))
                         for name in table.column_names}, copy=False)


#: DuckDB types whose Arrow form converts to pandas as DuckDB's ``df()`` does, given
#: :func:`_pandas_column`.
_ARROW_TYPES = frozenset({"VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE",
                          "FLOAT", "BOOLEAN", "TIMESTAMP"})


def _pandas_column(values: pa.ChunkedArray) -> Any:
    """A column as DuckDB's ``df()`` gives it: text as ``str``, integers and booleans with a
    NULL as nullable ``Int*``/``boolean`` arrays, NULL floats as NaN."""
    if values.null_count and (pa.types.is_integer(values.type)
                              or pa.types.is_boolean(values.type)):
        data = values.fill_null(False if pa.types.is_boolean(values.type) else 0).to_numpy()
        mask = values.is_null().to_numpy()
        if pa.types.is_boolean(values.type):
            return pd.arrays.BooleanArray(data, mask)
        return pd.arrays.IntegerArray(data, mask)
    if pa.types.is_string(values.type):
        return pd.array(values, dtype="str")
    return values.to_numpy()


def _raise_nothing_usable(con: duckdb.DuckDBPyConnection, src: Source, lines_read: int,
                          by_reason: dict[str, int]) -> None:
    if lines_read == 0:
        raise SchemaError(f"{src.label} holds no transaction lines.")
    reasons = ", ".join(f"{r}: {n}" for r, n in by_reason.items() if n)
    first = con.execute(
        "SELECT __custseg_line, __custseg_reason FROM __custseg_rej "
        "ORDER BY __custseg_line LIMIT 1").fetchall()[0]
    raise SchemaError(
        f"No usable line in {src.label}: all {lines_read} lines were excluded ({reasons}). "
        f"The first is line {first[0]} ({first[1]}). Check the columns (customer_id=, date=, "
        "quantity=, price=, amount=), the date format (date_format=, dayfirst=) and as_of."
    )
