"""Dates on Spark with the local engine's rules (:mod:`custseg.features._dates`).

The *choice* of format is made exactly as the local engine makes it: the first 10,000
non-empty values are collected and the local DuckDB candidate expressions are counted on them
(so both engines pick the same format), and the day-first/month-first tie is broken on the
whole column with Spark. The *parsing* of the whole column is Spark SQL that reproduces DuckDB's
``try_strptime`` and ``TIMESTAMPTZ`` cast for the candidate formats: regular expressions pick
the fields (1–2 digit day, month, hour, minute and second; 1–2 digit ``%y`` read as 1969–2068;
1–4 digit ``%Y``; up to 6 fraction digits; AM/PM in any case; white space around the value and
any run of it where the format has a space), and ``try_cast`` to ``TIMESTAMP_NTZ`` checks the
calendar. Every result is a ``TIMESTAMP_NTZ`` in UTC wall time, so no session time zone is
involved. Known differences: ISO values with a named time zone other than ``UTC``
(``2010-12-01 08:26 Europe/Paris``) are not read on Spark; ``date_format`` supports ``%Y %y %m
%d %H %I %M %S %f %p %b %B %a %A %z %%`` (and ``%-d`` style flags), not ``%j``/``%U``/… .
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._exceptions import InvalidParameterError, SchemaError
from ._spark import INTERNAL, col, sql_ident, sql_string

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

__all__ = ["SparkDateParser", "duck_type", "spark_date_parser"]

_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT")
_FLOAT = ("FLOAT", "DOUBLE")
WS = r"[ \t\n\r\x0B\f]"
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS_LONG = ["january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december"]
_DAYS = "(?:mon|tue|wed|thu|fri|sat|sun)"
_DAYS_LONG = "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"


@dataclass(frozen=True)
class SparkDateParser:
    """Spark SQL text yielding ``TIMESTAMP_NTZ`` (NULL when unparsable), and how it reads."""

    sql: str
    description: str
    helpers: dict[str, str] = field(default_factory=dict)

    def prepare(self, df: DataFrame) -> DataFrame:
        """``df`` with the helper columns :attr:`sql` refers to."""
        from pyspark.sql import functions as F

        if not self.helpers:
            return df
        return df.select("*", *[F.expr(v).alias(k) for k, v in self.helpers.items()])


def duck_type(dtype: object) -> str:
    """The DuckDB type name the local engine would see for a Spark type."""
    from pyspark.sql import types as T

    if isinstance(dtype, T.StringType):
        return "VARCHAR"
    if isinstance(dtype, T.ByteType):
        return "TINYINT"
    if isinstance(dtype, T.ShortType):
        return "SMALLINT"
    if isinstance(dtype, T.IntegerType):
        return "INTEGER"
    if isinstance(dtype, T.LongType):
        return "BIGINT"
    if isinstance(dtype, T.FloatType):
        return "FLOAT"
    if isinstance(dtype, T.DoubleType):
        return "DOUBLE"
    if isinstance(dtype, T.DecimalType):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, T.DateType):
        return "DATE"
    if isinstance(dtype, T.TimestampNTZType):
        return "TIMESTAMP"
    if isinstance(dtype, T.TimestampType):
        return "TIMESTAMP WITH TIME ZONE"
    if isinstance(dtype, T.BooleanType):
        return "BOOLEAN"
    return dtype.simpleString().upper()  # type: ignore[attr-defined]


# ------------------------------------------------------------------------- building blocks


def ntz_from_micros(m: str) -> str:
    """``TIMESTAMP_NTZ`` of epoch microseconds ``m`` (BIGINT SQL), without a time zone."""
    day = 86_400_000_000
    return (f"(CAST(date_from_unix_date(CAST(({m}) div {day} AS INT)) AS TIMESTAMP_NTZ) + "
            f"make_dt_interval(0, 0, 0, CAST(pmod({m}, {day}) AS DECIMAL(20, 0)) / 1000000))")


def ltz_to_ntz(x: str) -> str:
    """UTC wall time of a ``TIMESTAMP`` (with time zone) as ``TIMESTAMP_NTZ``."""
    return ntz_from_micros(f"unix_micros({x})")


def _assemble(y: str, mo: str, d: str, h: str = "'0'", mi: str = "'0'", s: str = "'0'",
              f: str = "''") -> str:
    """``try_cast`` of the fields (SQL text of digits) to ``TIMESTAMP_NTZ``."""
    text = (f"concat(lpad({y}, 4, '0'), '-', lpad({mo}, 2, '0'), '-', lpad({d}, 2, '0'), ' ', "
            f"lpad({h}, 2, '0'), ':', lpad({mi}, 2, '0'), ':', lpad({s}, 2, '0'), '.', "
            f"rpad({f}, 6, '0'))")
    return f"try_cast({text} AS TIMESTAMP_NTZ)"


_SEP = "\u0001"


def _fields(x: str, rx: str, n: int, helpers: dict[str, str]) -> tuple[str, list[str]]:
    """(SQL true when ``x`` matches the anchored ``rx``, SQL of its ``n`` groups).

    One ``regexp_replace`` rewrites a matching value into its groups joined by U+0001 (behind
    a U+0001 marker), split into an array. The array is a helper column (added to
    ``helpers``), computed once per row in its own projection: Spark would otherwise evaluate
    the regular expression again for every reference to a group."""
    repl = _SEP + _SEP.join(f"${i}" for i in range(1, n + 1))
    joined = f"regexp_replace({x}, {sql_string(rx)}, {sql_string(repl)})"
    name = f"{INTERNAL}d{len(helpers)}"
    helpers[name] = (f"CASE WHEN startswith({joined}, {sql_string(_SEP)}) "
                     f"THEN split(substring({joined}, 2), {sql_string(_SEP)}) END")
    ref = sql_ident(name)
    return f"({ref} IS NOT NULL)", [f"nullif(element_at({ref}, {i}), '')"
                                    for i in range(1, n + 1)]


def _two_digit_year(y: str) -> str:
    """DuckDB's ``%y``: 0–68 → 2000s, 69–99 → 1900s; longer years as written (``%Y``)."""
    return (f"CASE WHEN length({y}) <= 2 THEN CAST(CASE WHEN CAST({y} AS INT) < 69 "
            f"THEN 2000 + CAST({y} AS INT) ELSE 1900 + CAST({y} AS INT) END AS STRING) "
            f"ELSE {y} END")


_TIME = (r"(?:(" + WS + r"++|T)(\d{1,2}+):(\d{1,2}+)(?::(\d{1,2}+)(?:\.(\d{1,6}+))?)?"
         r"(?:" + WS + r"++([AaPp][Mm]))?)?")


def _with_time(ok: str, g: list[str], y: str, mo: str, d: str, first: int) -> str:
    """Date fields plus the optional time of the local ``_TIMES`` list (groups ``g`` from
    index ``first``): ``␣H:M:S``, ``␣H:M``, none, ``␣I:M:S␣p``, ``␣I:M␣p``, ``TH:M:S``,
    ``␣H:M:S.f``."""
    sep, hh, mi, ss, ff, ap = g[first:first + 6]
    no_time = f"{hh} IS NULL"
    t_ok = f"({sep} <> 'T' OR ({ss} IS NOT NULL AND {ff} IS NULL AND {ap} IS NULL))"
    ap_ok = (f"({ap} IS NULL OR ({ff} IS NULL AND CAST({hh} AS INT) BETWEEN 1 AND 12))")
    hour = (f"CASE WHEN {ap} IS NULL THEN {hh} "
            f"WHEN lower({ap}) = 'am' THEN CAST(CAST({hh} AS INT) % 12 AS STRING) "
            f"ELSE CAST(CAST({hh} AS INT) % 12 + 12 AS STRING) END")
    with_time = _assemble(y, mo, d, hour, mi, f"coalesce({ss}, '0')", f"coalesce({ff}, '')")
    return (f"CASE WHEN NOT {ok} THEN NULL "
            f"WHEN {no_time} THEN {_assemble(y, mo, d)} "
            f"WHEN {t_ok} AND {ap_ok} THEN {with_time} END")


def _dm_sql(x: str, order: str, sep: str, helpers: dict[str, str]) -> str:
    s = re.escape(sep)
    rx = (r"^" + WS + r"*(\d{1,2}+)" + s + r"(\d{1,2}+)" + s + r"(\d{1,4}+)" + _TIME + WS
          + r"*$")
    ok, g = _fields(x, rx, 9, helpers)
    a, b, y = g[0], g[1], g[2]
    mo, d = (a, b) if order == "mdy" else (b, a)
    return _with_time(ok, g, _two_digit_year(y), mo, d, 3)


def _ymd_sql(x: str, sep: str, helpers: dict[str, str]) -> str:
    s = re.escape(sep)
    rx = r"^" + WS + r"*(\d{1,4}+)" + s + r"(\d{1,2}+)" + s + r"(\d{1,2}+)" + _TIME + WS + r"*$"
    ok, g = _fields(x, rx, 9, helpers)
    return _with_time(ok, g, g[0], g[1], g[2], 3)


def _iso_sql(x: str, offsets: bool, helpers: dict[str, str]) -> str:
    """DuckDB's ``TRY_CAST(x AS TIMESTAMP)`` of ISO text (behind the local rule that the fifth
    character is ``-``): a suffix after the time (``+01:00``, ``Z``, `` UTC``, `` AM``) is
    ignored; ``24:00:00`` is the next midnight. With ``offsets`` (the sample holds UTC offsets),
    ``TRY_CAST(x AS TIMESTAMPTZ)``: ``Z``, ``UTC`` and ``±hh[:mm]`` offsets are converted to
    UTC, other suffixes make the value unreadable (DuckDB reads named zones; Spark does not)."""
    if offsets:
        suffix = r"(?:(Z|[+-]\d{2}(?::?\d{2})?)| (UTC))?" + WS + "?"
    else:
        suffix = r"(?:(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)| ([A-Za-z][A-Za-z_/+-]*))?" + WS + "?"
    rx = (r"^" + WS + r"*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:(?:T|" + WS + r"+)(\d{1,2}):(\d{1,2})"
          r"(?::(\d{1,2})(?:\.(\d*))?)?" + suffix + ")?$")
    ok, g = _fields(x, rx, 9, helpers)
    y, mo, d, hh, mi, ss, ff, off, _word = g
    midnight = f"(CAST({hh} AS INT) = 24 AND CAST({mi} AS INT) = 0 AND coalesce(CAST({ss} AS INT), 0) = 0 AND {ff} IS NULL)"
    base = _assemble(y, mo, d, f"CASE WHEN {midnight} THEN '0' ELSE coalesce({hh}, '0') END",
                     f"coalesce({mi}, '0')", f"coalesce({ss}, '0')",
                     f"substring(coalesce({ff}, ''), 1, 6)")
    base = f"CASE WHEN {midnight} THEN {base} + INTERVAL 1 DAY ELSE {base} END"
    if offsets:
        sign = f"CASE WHEN substring({off}, 1, 1) = '-' THEN -1 ELSE 1 END"
        oh = f"CAST(substring({off}, 2, 2) AS INT)"
        om = f"coalesce(CAST(nullif(substring(replace({off}, ':', ''), 4, 2), '') AS INT), 0)"
        base = (f"CASE WHEN {off} IS NULL OR {off} = 'Z' THEN {base} "
                f"ELSE {base} - make_dt_interval(0, {sign} * {oh}, {sign} * {om}, 0) END")
    return f"CASE WHEN substring({x}, 5, 1) = '-' AND {ok} THEN {base} END"


def _digits(x: str) -> tuple[str, str]:
    digits = f"({x} RLIKE {sql_string('^' + WS + '*[0-9]+' + WS + '*$')})"
    num = f"try_cast(regexp_replace({x}, {sql_string(WS)}, '') AS BIGINT)"
    return digits, num


def _integer_sql(num: str, kind: str) -> str:
    """``_integer_sql`` of the local engine for a BIGINT (or double) SQL value."""
    if kind == "yyyymmdd":
        text = f"CAST(CAST(round({num}) AS BIGINT) AS STRING)"
        return (f"CASE WHEN {num} BETWEEN 10000101 AND 99991231 THEN "
                f"{_assemble(f'substring({text}, 1, 4)', f'substring({text}, 5, 2)', f'substring({text}, 7, 2)')} END")
    if kind == "epoch_s":
        return (f"CASE WHEN {num} >= 1e9 AND {num} < 1e11 THEN "
                f"{ntz_from_micros(f'CAST(round({num} * 1000000) AS BIGINT)')} END")
    return (f"CASE WHEN {num} >= 1e11 AND {num} < 1e14 THEN "
            f"{ntz_from_micros(f'CAST(round({num} * 1000) AS BIGINT)')} END")


def candidate_sql(name: str, x: str, offsets: bool = False,
                  helpers: dict[str, str] | None = None) -> str:
    """Spark SQL of the local candidate ``name`` (see ``custseg.features._dates``).

    Helper columns the SQL refers to are added to ``helpers`` (name → SQL); add them to the
    DataFrame (``select("*", …)``) before using the SQL.
    """
    helpers = {} if helpers is None else helpers
    if name == "iso":
        return _iso_sql(x, offsets, helpers)
    if name in ("yyyymmdd", "epoch_s", "epoch_ms"):
        digits, num = _digits(x)
        return f"CASE WHEN {digits} THEN {_integer_sql(num, name)} END"
    if name[:3] in ("mdy", "dmy"):
        return _dm_sql(x, name[:3], name[3:], helpers)
    if name.startswith("ymd"):
        return _ymd_sql(x, name[3:], helpers)
    raise NotImplementedError(f"date candidate {name!r} has no Spark implementation")


# ------------------------------------------------------------------------- explicit formats


def strptime_sql(x: str, fmt: str, helpers: dict[str, str] | None = None) -> str:
    """Spark SQL reading ``x`` with a strptime format as DuckDB's ``try_strptime`` does
    (helper columns go to ``helpers``, as :func:`candidate_sql`)."""
    helpers = {} if helpers is None else helpers
    rx = ["^" + WS + "*"]
    fields: dict[str, int] = {}
    n = 0

    def grab(name: str, pattern: str) -> None:
        nonlocal n
        n += 1
        rx.append(f"({pattern})")
        fields[name] = n

    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            rx.append(WS + "++" if ch.isspace() else re.escape(ch))
            i += 1
            continue
        i += 1
        if i < len(fmt) and fmt[i] in "-#":
            i += 1
        if i >= len(fmt):
            raise InvalidParameterError(f"date_format {fmt!r} ends with a lone '%'.")
        d = fmt[i]
        i += 1
        if d == "Y":
            grab("Y", r"\d{1,4}+")
        elif d == "y":
            grab("y", r"\d{1,2}+")
        elif d in "mdHIMS":
            grab(d, r"\d{1,2}+")
        elif d == "f":
            grab("f", r"\d{1,6}+")
        elif d == "p":
            grab("p", "[AaPp][Mm]")
        elif d == "b":
            grab("b", "(?i)(?:" + "|".join(_MONTHS) + ")")
        elif d == "B":
            grab("B", "(?i)(?:" + "|".join(_MONTHS_LONG) + ")")
        elif d == "a":
            rx.append("(?i)" + _DAYS)
        elif d == "A":
            rx.append("(?i)" + _DAYS_LONG)
        elif d == "z":
            grab("z", r"Z|[+-]\d{2}:?\d{2}")
        elif d == "%":
            rx.append("%")
        else:
            raise InvalidParameterError(
                f"date_format directive %{d} is not supported by the Spark engine (supported: "
                "%Y %y %m %d %H %I %M %S %f %p %b %B %a %A %z %%); use the local engine.")
    rx.append(WS + "*$")
    pattern = "".join(rx)

    ok, groups = _fields(x, pattern, n, helpers)

    def get(name: str) -> str:
        return groups[fields[name] - 1] if name in fields else "NULL"

    if "Y" in fields:
        year = get("Y")
    elif "y" in fields:
        year = _two_digit_year(get("y"))
    else:
        year = "'1900'"
    if "m" in fields:
        month = get("m")
    elif "b" in fields or "B" in fields:
        names = _MONTHS if "b" in fields else _MONTHS_LONG
        key = get("b") if "b" in fields else get("B")
        month = ("CASE lower(" + key + ") " + " ".join(
            f"WHEN '{m}' THEN '{k + 1}'" for k, m in enumerate(names)) + " END")
    else:
        month = "'1'"
    day = get("d") if "d" in fields else "'1'"
    if "I" in fields:
        h = get("I")
        ap = get("p") if "p" in fields else "'am'"
        hour = (f"CASE WHEN CAST({h} AS INT) NOT BETWEEN 1 AND 12 THEN NULL "
                f"WHEN lower({ap}) = 'am' THEN CAST(CAST({h} AS INT) % 12 AS STRING) "
                f"ELSE CAST(CAST({h} AS INT) % 12 + 12 AS STRING) END")
    else:
        hour = f"coalesce({get('H')}, '0')"
    ts = _assemble(year, month, day, hour, f"coalesce({get('M')}, '0')",
                   f"coalesce({get('S')}, '0')", f"coalesce({get('f')}, '')")
    if "z" in fields:
        off = get("z")
        sign = f"CASE WHEN substring({off}, 1, 1) = '-' THEN -1 ELSE 1 END"
        oh = f"CAST(substring({off}, 2, 2) AS INT)"
        om = f"CAST(substring(replace({off}, ':', ''), 4, 2) AS INT)"
        ts = (f"CASE WHEN {off} = 'Z' THEN {ts} ELSE {ts} - make_dt_interval(0, {sign} * {oh}, "
              f"{sign} * {om}, 0) END")
    return f"CASE WHEN {ok} THEN {ts} END"


# ------------------------------------------------------------------------------- detection


def spark_date_parser(df: DataFrame, column: str, *, dayfirst: bool,
                      date_format: str | None, label: str) -> SparkDateParser:
    """Choose how to parse ``column`` of ``df`` as :func:`custseg.features._dates.date_parser`.

    Raises
    ------
    SchemaError
        No candidate parses any sampled value (the message shows a few of them).
    """
    import duckdb
    from pyspark.sql import functions as F

    from ..features import _dates as local

    x = sql_ident(column)
    base = duck_type(df.schema[column].dataType).split("(")[0].upper()
    if base == "TIMESTAMP WITH TIME ZONE":
        return SparkDateParser(ltz_to_ntz(x), f"native {base}")
    if base.startswith("TIMESTAMP") or base == "DATE":
        return SparkDateParser(f"CAST({x} AS TIMESTAMP_NTZ)", f"native {base}")
    if date_format is not None:
        text = x if base == "VARCHAR" else f"CAST({x} AS STRING)"
        if base in _FLOAT:
            text = f"CAST(CAST(round({x}) AS BIGINT) AS STRING)"
        helpers: dict[str, str] = {}
        return SparkDateParser(strptime_sql(text, date_format, helpers), date_format, helpers)
    if base in _INTEGER or base in _FLOAT or base.startswith("DECIMAL"):
        row = df.agg(F.min(col(column)).alias("lo"), F.max(col(column)).alias("hi")).collect()[0]
        lo, hi = row["lo"], row["hi"]
        kind = local._integer_kind(float(lo), float(hi)) if lo is not None else None
        if kind is None:
            raise SchemaError(
                f"The date column {column!r} of {label} holds numbers from {lo} to {hi}, which "
                "are neither YYYYMMDD dates nor Unix epoch seconds (>= 10^9) or milliseconds; "
                "convert it to dates or give date_format=.")
        return SparkDateParser(_integer_sql(f"CAST({x} AS DOUBLE)", kind),
                               local._INTEGER_DESCRIPTIONS[kind])
    text = x if base == "VARCHAR" else f"CAST({x} AS STRING)"
    sample = [r[0] for r in df.where(F.expr(f"{text} IS NOT NULL AND trim({text}) <> ''"))
              .select(F.expr(text)).limit(local.SAMPLE).collect()]
    if not sample:
        raise SchemaError(f"The date column {column!r} of {label} is empty.")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE TABLE __custseg_date_sample (v VARCHAR)")
        con.executemany("INSERT INTO __custseg_date_sample VALUES (?)", [(v,) for v in sample])
        offsets = con.execute(
            "SELECT count(*) FILTER (WHERE regexp_matches(v, "
            f"{local._OFFSET})) FROM __custseg_date_sample").fetchall()[0][0] > 0
        cands = local._candidates("v", offsets=offsets)
        parsed = [0] * len(cands)
        full = False
        for i, (name, sql, _) in enumerate(cands):
            parsed[i] = con.execute(
                f"SELECT count({sql}) FROM __custseg_date_sample").fetchall()[0][0]
            full = full or parsed[i] == len(sample)
            if full and not name.startswith("mdy"):
                break
    finally:
        con.close()
    best = max(parsed)
    if best == 0:
        examples = list(dict.fromkeys(sample[:50]))[:3]
        raise SchemaError(
            f"Cannot recognise the dates in column {column!r} of {label} (e.g. "
            f"{', '.join(repr(e) for e in examples)}). Give the format with date_format=, "
            "e.g. date_format='%d/%m/%Y %H:%M'.")
    names = [c[0] for c in cands]
    winners = [i for i, c in enumerate(parsed) if c == best]
    name = names[winners[0]]
    if name[:3] in ("mdy", "dmy"):
        sep = name[3]
        if {f"mdy{sep}", f"dmy{sep}"} <= {names[i] for i in winners}:
            s = re.escape(sep)
            row = df.agg(
                F.expr(f"max(try_cast(regexp_extract({text}, "
                       f"{sql_string('^' + WS + '*([0-9]+)' + s)}, 1) AS INT))").alias("a"),
                F.expr(f"max(try_cast(regexp_extract({text}, "
                       f"{sql_string('^' + WS + '*[0-9]+' + s + '([0-9]+)' + s)}, 1) AS INT))")
                .alias("b")).collect()[0]
            first, second = int(row["a"] or 0), int(row["b"] or 0)
            if first > 12 >= second:
                name = f"dmy{sep}"
            elif second > 12 >= first:
                name = f"mdy{sep}"
            else:
                name = f"{'dmy' if dayfirst else 'mdy'}{sep}"
    description = next(c[2] for c in cands if c[0] == name)
    helpers = {}
    return SparkDateParser(candidate_sql(name, text, offsets, helpers), description, helpers)
