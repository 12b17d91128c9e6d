"""Numbers on Spark with the local engine's definitions.

* :func:`numeric_columns` parses text cells as :func:`custseg.prep.parse_numeric` does (missing
  tokens, ``1,234.50``, ``12,5``, ``$12``; infinities are invalid), telling missing cells from
  invalid ones, with Spark column expressions only (no Python UDF).
* :func:`exact_quantiles` and :func:`exact_medians` give the *exact* order statistics numpy
  gives (``np.quantile`` linear interpolation, ``np.nanmedian``), where Spark's
  ``percentile_approx`` is approximate: small columns are collected and handed to numpy; large
  ones are bracketed by ``percentile_approx`` and the few values inside the bracket are
  collected and ranked exactly. A bracket that fails its exact check falls back to Spark's exact
  ``percentile``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._exceptions import SchemaError
from ..prep._typing import MISSING_TOKENS
from ._spark import INTERNAL, col, sql_ident, sql_string

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame

logger = logging.getLogger(__name__)

# pandas.to_numeric accepts exactly this shape of (stripped) text as a finite float
NUMBER_RX = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
STRIP_RX = r"(?U)^\s+|\s+$"  # Python's str.strip(): Unicode white space at both ends
SPACES_RX = "(?U)[\\s\u00a0\u202f\u2009']"  # custseg.prep._typing._SPACES
CURRENCY_RX = "^[$€£¥]|[$€£¥]$"
COMMA_DECIMAL_RX = r"^[+-]?[0-9]+(\.[0-9]{3})*,[0-9]+$"

#: Up to this many values per column (and group) are collected and ranked by numpy itself.
COLLECT_LIMIT = 200_000
#: ``percentile_approx`` accuracy used to bracket order statistics of larger columns.
ACCURACY = 10_000


# ------------------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class Parsed:
    """Spark SQL expressions (text) of one parsed column.

    Expressions are built as SQL text and turned into columns with ``F.expr``: one Py4J call
    per expression instead of one per function, which matters on wide tables.
    """

    value_sql: str  # double, NULL where missing or invalid
    missing_sql: str  # boolean
    invalid_sql: str  # boolean

    @property
    def value(self) -> Column:
        from pyspark.sql import functions as F

        return F.expr(self.value_sql)

    @property
    def missing(self) -> Column:
        from pyspark.sql import functions as F

        return F.expr(self.missing_sql)

    @property
    def invalid(self) -> Column:
        from pyspark.sql import functions as F

        return F.expr(self.invalid_sql)


def sql_double(x: float) -> str:
    """A Spark SQL double literal that reads back as exactly ``x``."""
    x = float(x)
    if math.isnan(x):
        return "CAST('NaN' AS DOUBLE)"
    if math.isinf(x):
        return f"CAST('{'-' if x < 0 else ''}Infinity' AS DOUBLE)"
    return f"{x!r}D" if x >= 0 else f"({x!r}D)"


def strip_sql(c: str) -> str:
    """Python's ``str.strip()`` of the text expression ``c``."""
    return f"regexp_replace({c}, {sql_string(STRIP_RX)}, '')"


def strip(c: Column) -> Column:
    """Python's ``str.strip()`` of a text column."""
    from pyspark.sql import functions as F

    return F.regexp_replace(c, STRIP_RX, "")


def _to_double(text: str) -> tuple[str, str]:
    """(value, ok) SQL of text that pandas.to_numeric would read as a finite float."""
    shaped = f"({text} RLIKE {sql_string(NUMBER_RX)})"
    v = f"try_cast({text} AS DOUBLE)"
    ok = (f"coalesce({shaped} AND NOT isnan({v}) AND abs({v}) <> CAST('Infinity' AS DOUBLE), "
          "false)")
    return f"CASE WHEN {ok} THEN {v} END", ok


def _text_parts(c: str) -> dict[str, str]:
    t = strip_sql(c)
    tokens = ", ".join(sql_string(tok) for tok in sorted(MISSING_TOKENS))
    missing = f"({t} IS NULL OR lower({t}) IN ({tokens}))"
    fast, fast_ok = _to_double(t)
    failed = f"(NOT {missing} AND NOT {fast_ok})"
    cleaned = (f"regexp_replace(regexp_replace({t}, {sql_string(SPACES_RX)}, ''), "
               f"{sql_string(CURRENCY_RX)}, '')")
    return {"t": t, "missing": missing, "fast": fast, "fast_ok": fast_ok, "failed": failed,
            "cleaned": cleaned}


def decimal_evidence(c: str) -> tuple[str, str]:
    """SQL of (a value only parses with a decimal comma, a value that parsed has a dot)."""
    p = _text_parts(c)
    plain = f"coalesce({c} RLIKE {sql_string(NUMBER_RX)}, false)"
    comma = (f"CASE WHEN {plain} THEN false ELSE "
             f"({p['failed']} AND {p['cleaned']} RLIKE {sql_string(COMMA_DECIMAL_RX)}) END")
    dotted = (f"CASE WHEN {plain} THEN contains({c}, '.') ELSE "
              f"(NOT {p['missing']} AND NOT {p['failed']} AND contains({p['t']}, '.')) END")
    return comma, dotted


def decimal_marks(df: DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """The decimal mark (``"."`` or ``","``) of each text column, decided as ``parse_numeric``.

    A comma is the decimal mark when some value only parses that way (``"12,5"``) and no value
    that parsed directly contains a dot. One aggregate pass over ``df``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    text = [c for c in columns if isinstance(df.schema[c].dataType, StringType)]
    if not text:
        return {c: "." for c in columns}
    aggs = []
    for i, c in enumerate(text):
        comma, dotted = decimal_evidence(sql_ident(c))
        aggs.append(F.expr(f"max(CAST({comma} AS INT))").alias(f"c{i}"))
        aggs.append(F.expr(f"max(CAST({dotted} AS INT))").alias(f"d{i}"))
    row = df.agg(*aggs).collect()[0]
    marks = {c: "." for c in columns}
    for i, c in enumerate(text):
        if (row[f"c{i}"] or 0) and not (row[f"d{i}"] or 0):
            marks[c] = ","
    return marks


def parse_column(df: DataFrame, name: str, decimal: str = ".") -> Parsed:
    """Expressions parsing column ``name`` of ``df`` as :func:`custseg.prep.parse_numeric`.

    A cell already shaped like a plain number (the usual case) costs one regular-expression
    test and a cast; only the others go through the missing tokens, white space, currency
    signs and thousands separators.
    """
    from pyspark.sql.types import BooleanType, NumericType, StringType

    dtype = df.schema[name].dataType
    c = sql_ident(name)
    if isinstance(dtype, NumericType | BooleanType):
        x = f"CAST({c} AS DOUBLE)"
        missing = f"({x} IS NULL OR isnan({x}))"
        invalid = f"coalesce(NOT {missing} AND abs({x}) = CAST('Infinity' AS DOUBLE), false)"
        return Parsed(f"CASE WHEN NOT {missing} AND NOT {invalid} THEN {x} END", missing,
                      invalid)
    if not isinstance(dtype, StringType):
        raise SchemaError(f"Column {name!r} has Spark type {dtype.simpleString()}, which is not "
                          "a number; leave it out of the features or cast it.")
    p = _text_parts(c)
    missing = p["missing"]
    if decimal == ",":
        redo = (f"replace(replace(regexp_replace({p['t']}, {sql_string(SPACES_RX)}, ''), "
                "'.', ''), ',', '.')")
        value, ok = _to_double(redo)
        return Parsed(f"CASE WHEN NOT {missing} AND {ok} THEN {value} END", missing,
                      f"(NOT {missing} AND NOT {ok})")
    slow, slow_ok = _to_double(f"replace({p['cleaned']}, ',', '')")
    value = f"CASE WHEN {p['fast_ok']} THEN {p['fast']} ELSE {slow} END"
    ok = f"({p['fast_ok']} OR {slow_ok})"
    plain = f"coalesce({c} RLIKE {sql_string(NUMBER_RX)}, false)"
    finite = f"abs(try_cast({c} AS DOUBLE)) <> CAST('Infinity' AS DOUBLE)"
    return Parsed(
        f"CASE WHEN {plain} THEN CASE WHEN {finite} THEN try_cast({c} AS DOUBLE) END "
        f"WHEN NOT {missing} AND {ok} THEN {value} END",
        f"CASE WHEN {plain} THEN false ELSE {missing} END",
        f"CASE WHEN {plain} THEN NOT {finite} ELSE (NOT {missing} AND NOT {ok}) END")


def numeric_columns(df: DataFrame, columns: Sequence[str],
                    decimals: dict[str, str] | None = None) -> dict[str, Parsed]:
    """:class:`Parsed` expressions of ``columns`` (decimal marks detected unless given)."""
    marks = decimals if decimals is not None else decimal_marks(df, columns)
    return {c: parse_column(df, c, marks.get(c, ".")) for c in columns}


# -------------------------------------------------------------------- exact order statistics


def numpy_quantile(values_at: Callable[[int], float], n: int, p: float) -> float:
    """``np.quantile(x, p)`` (linear method) from a function returning the sorted ``x[i]``."""
    v = (n - 1) * p
    prev = math.floor(v)
    gamma = np.float64(v) - np.float64(prev)
    a = np.float64(values_at(prev))
    b = np.float64(values_at(min(prev + 1, n - 1)))
    diff = b - a
    if gamma >= 0.5:
        return float(b - diff * (1 - gamma))
    return float(a + diff * gamma)


def numpy_median(values_at: Callable[[int], float], n: int) -> float:
    """``np.nanmedian(x)`` from a function returning the sorted non-missing ``x[i]``."""
    if n % 2:
        return float(values_at(n // 2))
    pair = np.array([values_at(n // 2 - 1), values_at(n // 2)], dtype=np.float64)
    return float(np.mean(pair))


def _target_ranks(n: int, p: float | None) -> list[int]:
    """0-based ranks numpy reads for quantile ``p`` (``None``: the median) of ``n`` values."""
    if p is None:
        return [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    prev = math.floor((n - 1) * p)
    return sorted({prev, min(prev + 1, n - 1)})


def order_statistics(df: DataFrame, columns: Sequence[str], *, probs: Sequence[float] = (),
                     median: bool = False, group: str | None = None,
                     counts: dict[Any, dict[str, int]] | None = None
                     ) -> dict[Any, dict[str, tuple[int, dict[int, float]]]]:
    """Exact order statistics of double columns of ``df`` (NULL = missing, ignored).

    Returns ``{group value: {column: (n, {rank: value})}}`` holding the ranks that
    ``probs`` (numpy's linear quantiles) and, with ``median=True``, the median need. Without
    ``group`` the only key is ``None``. ``counts`` (``{group: {column: non-missing
    values}}``), when the caller knows them and every one is at most :data:`COLLECT_LIMIT`,
    saves the first pass.

    Two aggregate passes: counts with ``percentile_approx`` brackets, then per column either
    all its values (up to :data:`COLLECT_LIMIT`) or, per quantile, the count below the bracket,
    the ties on its ends and the values strictly inside it (about ``4 n / ACCURACY``).
    """
    from pyspark.sql import functions as F

    gname = f"{INTERNAL}g"
    data = df.select((col(group) if group else F.lit(0)).alias(gname),
                     *[col(c).cast("double").alias(f"v{i}") for i, c in enumerate(columns)])
    eps = 1.0 / ACCURACY
    targets: list[float | None] = [*dict.fromkeys(probs)] + ([None] if median else [])
    tp = [0.5 if p is None else p for p in targets]
    brackets = [max(0.0, p - 3 * eps) for p in tp] + [min(1.0, p + 3 * eps) for p in tp]
    if counts is not None and all(n <= COLLECT_LIMIT for per in counts.values()
                                  for n in per.values()):
        first = {(0 if group is None else g): {f"n{i}": per.get(c, 0)
                                               for i, c in enumerate(columns)}
                 for g, per in counts.items()}
    else:
        aggs = []
        for i in range(len(columns)):
            v = F.col(f"v{i}")
            aggs += [F.count(v).alias(f"n{i}"),
                     F.percentile_approx(v, brackets, ACCURACY).alias(f"a{i}")]
        first = {r[gname]: r for r in data.groupBy(gname).agg(*aggs).collect()}

    out: dict[Any, dict[str, tuple[int, dict[int, float]]]] = {}
    small: list[tuple[Any, int]] = []
    large: list[tuple[Any, int, list[int], float, float]] = []
    for g, row in first.items():
        key = g if group else None
        out[key] = {}
        for i, c in enumerate(columns):
            n = int(row[f"n{i}"])
            out[key][c] = (n, {})
            if n == 0:
                continue
            if n <= COLLECT_LIMIT:
                small.append((g, i))
                continue
            approx = [float(a) for a in row[f"a{i}"]]
            for t, p in enumerate(targets):
                lo, hi = approx[t], approx[len(targets) + t]
                large.append((g, i, _target_ranks(n, p), lo, max(lo, hi)))
    if not (small or large):
        return out

    aggs = []
    for j, (g, i) in enumerate(small):
        mine = F.col(gname) == F.lit(g)
        aggs.append(F.collect_list(F.when(mine, F.col(f"v{i}"))).alias(f"s{j}"))
    for j, (g, i, _, lo, hi) in enumerate(large):
        v = F.col(f"v{i}")
        mine = F.col(gname) == F.lit(g)
        aggs += [
            F.count(F.when(mine & (v < lo), 1)).alias(f"lt{j}"),
            F.count(F.when(mine & (v == lo), 1)).alias(f"eqlo{j}"),
            F.count(F.when(mine & (v == hi) & F.lit(hi > lo), 1)).alias(f"eqhi{j}"),
            F.collect_list(F.when(mine & (v > lo) & (v < hi), v)).alias(f"in{j}"),
        ]
    row = data.agg(*aggs).collect()[0]
    for j, (g, i) in enumerate(small):
        key = g if group else None
        c = columns[i]
        values = np.sort(np.asarray(row[f"s{j}"], dtype=np.float64))
        n = out[key][c][0]
        ranks = {r for p in targets for r in _target_ranks(n, p)}
        out[key][c] = (n, {r: float(values[r]) for r in sorted(ranks)})
    retry: dict[tuple[Any, int], list[int]] = {}
    for j, (g, i, ranks, lo, hi) in enumerate(large):
        key = g if group else None
        c = columns[i]
        n, stats = out[key][c]
        lt, eqlo, eqhi = int(row[f"lt{j}"]), int(row[f"eqlo{j}"]), int(row[f"eqhi{j}"])
        inner = np.sort(np.asarray(row[f"in{j}"], dtype=np.float64))
        upto = lt + eqlo + len(inner) + eqhi
        if ranks[0] < lt or ranks[-1] >= upto:
            retry.setdefault((g, i), []).extend(ranks)
            continue
        for r in ranks:
            k = r - lt
            if k < eqlo:
                stats[r] = lo
            elif k < eqlo + len(inner):
                stats[r] = float(inner[k - eqlo])
            else:
                stats[r] = hi
    if retry:
        _exact_fallback(data, gname, columns, retry, out, bool(group))
    return out


def _exact_fallback(data: DataFrame, gname: str, columns: Sequence[str],
                    retry: dict[tuple[Any, int], list[int]], out: dict, grouped: bool) -> None:
    """Order statistics from Spark's exact ``percentile`` (when a bracket missed; rare)."""
    from pyspark.sql import functions as F

    logger.info("an exact-quantile bracket missed for %d column(s); using Spark's percentile",
                len(retry))
    for (g, i), ranks in retry.items():
        key = g if grouped else None
        c = columns[i]
        n, stats = out[key][c]
        ranks = sorted(set(ranks))
        fractions = [r / (n - 1) if n > 1 else 0.0 for r in ranks]
        row = (data.where(F.col(gname) == F.lit(g))
               .agg(F.percentile(F.col(f"v{i}"), F.array(*map(F.lit, fractions))).alias("p"))
               .collect()[0])
        stats.update({r: float(v) for r, v in zip(ranks, row["p"], strict=True)})


def exact_quantiles(df: DataFrame, columns: Sequence[str], probs: Sequence[float], *,
                    group: str | None = None, counts: dict[Any, dict[str, int]] | None = None
                    ) -> dict[Any, dict[str, np.ndarray]]:
    """``np.quantile(column, probs)`` of each column (NULL ignored), exactly, per group.

    Returns ``{group value (None without group): {column: array of len(probs)}}``; a column
    without values gives NaNs.
    """
    stats = order_statistics(df, columns, probs=probs, group=group, counts=counts)
    result: dict[Any, dict[str, np.ndarray]] = {}
    for g, per_col in stats.items():
        result[g] = {}
        for c, (n, at) in per_col.items():
            if n == 0:
                result[g][c] = np.full(len(probs), np.nan)
            else:
                result[g][c] = np.array([numpy_quantile(at.__getitem__, n, p) for p in probs])
    return result


def exact_medians(df: DataFrame, columns: Sequence[str],
                  counts: dict[str, int] | None = None) -> np.ndarray:
    """``np.nanmedian`` of each column, exactly (NaN for a column without values)."""
    stats = order_statistics(df, columns, median=True,
                             counts=None if counts is None else {None: counts})[None]
    return np.array([numpy_median(stats[c][1].__getitem__, stats[c][0]) if stats[c][0] else
                     np.nan for c in columns])
