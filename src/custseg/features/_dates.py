"""Turn a date column of any common spelling into a DuckDB ``TIMESTAMP`` expression.

Recognised, in this order of preference:

* a native ``DATE`` or ``TIMESTAMP`` column (a time zone is converted to UTC and dropped);
* ISO 8601 text: ``2010-12-01``, ``2010-12-01 08:26:00``, ``2010-12-01T08:26:00+01:00``
  (offsets are converted to UTC when the sample has some);
* ``YYYYMMDD`` as an integer or text (``20101201``);
* Unix epoch seconds (integers from 10^9 up to 10^11) or milliseconds (10^11 up to 10^14);
* day and month with a separator (``/``, ``-`` or ``.``), a 2- or 4-digit year and an optional
  time (``12/1/2010 8:26`` as in the UCI Online Retail original, ``01.12.2010 08:26:00``,
  ``12/1/10 8:26 PM``): month first unless ``dayfirst=True`` *or* the data say otherwise;
* ``YYYY/MM/DD`` (and with ``.``).

An explicit ``date_format`` (a ``strptime`` format, e.g. ``"%d %b %Y"``) replaces detection.

Detection parses a sample of the first 5,000 non-empty values with the candidates in order and
keeps the one that parses the most (ties go to the earlier candidate; the search stops at the
first that parses the whole sample). When both month-first and day-first
parse the sample, the whole column decides: if some value has a first field above 12 the column
is day-first, if some has a second field above 12 it is month-first, and only when neither
happens does ``dayfirst`` choose. Values no format parses become ``NULL`` and their lines are
excluded as ``invalid_date``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .._exceptions import SchemaError
from ._source import SOURCE, quote_ident, quote_literal

__all__ = ["DateParser", "date_parser"]

SAMPLE = 5_000
_TIMES = (" %H:%M:%S", " %H:%M", "", " %I:%M:%S %p", " %I:%M %p", "T%H:%M:%S", " %H:%M:%S.%f")
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")


@dataclass(frozen=True)
class DateParser:
    """A SQL expression that yields ``TIMESTAMP`` (``NULL`` when a value cannot be parsed)."""

    sql: str
    description: str


def _dm_formats(order: str, sep: str) -> list[str]:
    # Two-digit years first: %Y would read "24" of "02-01-24" as the year 24.
    fmts = []
    for year in ("%y", "%Y"):
        day = {"mdy": f"%m{sep}%d{sep}{year}", "dmy": f"%d{sep}%m{sep}{year}"}[order]
        fmts.extend(day + t for t in _TIMES)
    return fmts


def _ymd_formats(sep: str) -> list[str]:
    return [f"%Y{sep}%m{sep}%d" + t for t in _TIMES]


def _strptime(expr: str, formats: list[str]) -> str:
    fmts = "[" + ", ".join(quote_literal(f) for f in formats) + "]"
    return f"try_strptime({expr}, {fmts})"


def _integer_sql(expr: str, kind: str) -> str:
    if kind == "yyyymmdd":
        return (f"CASE WHEN {expr} BETWEEN 10000101 AND 99991231 THEN "
                f"try_strptime(CAST(CAST({expr} AS BIGINT) AS VARCHAR), '%Y%m%d') END")
    if kind == "epoch_s":
        return (f"CASE WHEN {expr} >= 1e9 AND {expr} < 1e11 THEN "
                f"make_timestamp(CAST({expr} * 1000000 AS BIGINT)) END")
    return (f"CASE WHEN {expr} >= 1e11 AND {expr} < 1e14 THEN "
            f"make_timestamp(CAST({expr} * 1000 AS BIGINT)) END")


_INTEGER_DESCRIPTIONS = {
    "yyyymmdd": "YYYYMMDD",
    "epoch_s": "Unix epoch seconds",
    "epoch_ms": "Unix epoch milliseconds",
}


def _integer_kind(lo: float, hi: float) -> str | None:
    if lo >= 10000101 and hi <= 99991231:
        return "yyyymmdd"
    if lo >= 1e9 and hi < 1e11:
        return "epoch_s"
    if lo >= 1e11 and hi < 1e14:
        return "epoch_ms"
    return None


_OFFSET = "'[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?\\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'"


def _candidates(x: str, offsets: bool = False) -> list[tuple[str, str, str]]:
    """(name, SQL, description) of every text candidate, in order of preference.

    ISO text is cast to ``TIMESTAMPTZ`` (offsets converted to UTC) only when ``offsets`` says
    the sample has some: that cast is four times slower than the plain one.
    """
    digits = f"regexp_full_match({x}, '\\s*[0-9]+\\s*')"
    num = f"TRY_CAST(trim({x}) AS BIGINT)"
    iso = (f"CAST(TRY_CAST({x} AS TIMESTAMPTZ) AS TIMESTAMP)" if offsets
           else f"TRY_CAST({x} AS TIMESTAMP)")
    cands = [
        # DuckDB's cast alone would read "02-01-24" as the year 2: require a 4-digit year first.
        ("iso", f"CASE WHEN substr({x}, 5, 1) = '-' THEN {iso} END",
         "ISO 8601 (offsets converted to UTC)" if offsets else "ISO 8601"),
        ("yyyymmdd", f"CASE WHEN {digits} THEN {_integer_sql(num, 'yyyymmdd')} END", "YYYYMMDD"),
        ("epoch_s", f"CASE WHEN {digits} THEN {_integer_sql(num, 'epoch_s')} END",
         "Unix epoch seconds"),
        ("epoch_ms", f"CASE WHEN {digits} THEN {_integer_sql(num, 'epoch_ms')} END",
         "Unix epoch milliseconds"),
    ]
    for sep in ("/", "-", "."):
        for order in ("mdy", "dmy"):
            fmts = _dm_formats(order, sep)
            first = "month first" if order == "mdy" else "day first"
            shown = fmts[len(_TIMES) + 1]  # the 4-digit year with hours and minutes
            cands.append((f"{order}{sep}", _strptime(x, fmts), f"{shown} ({first})"))
    for sep in ("/", "."):
        fmts = _ymd_formats(sep)
        cands.append((f"ymd{sep}", _strptime(x, fmts), fmts[1]))
    return cands


def _leading_fields(con: duckdb.DuckDBPyConnection, x: str, sep: str) -> tuple[int, int]:
    s = "\\" + sep if sep in ".-" else sep
    row = con.execute(
        f"SELECT max(TRY_CAST(regexp_extract({x}, '^\\s*([0-9]+){s}', 1) AS INTEGER)), "
        f"max(TRY_CAST(regexp_extract({x}, '^\\s*[0-9]+{s}([0-9]+){s}', 1) AS INTEGER)) "
        f"FROM {SOURCE}"
    ).fetchall()[0]
    return int(row[0] or 0), int(row[1] or 0)


def date_parser(con: duckdb.DuckDBPyConnection, column: str, col_type: str, *,
                dayfirst: bool, date_format: str | None, label: str) -> DateParser:
    """Choose how to parse ``column`` (of DuckDB type ``col_type``) of :data:`SOURCE`.

    Raises
    ------
    SchemaError
        No candidate parses any sampled value (the message shows a few of them).
    """
    x = quote_ident(column)
    base = col_type.split("(")[0].upper()
    if base.startswith("TIMESTAMP") or base == "DATE":
        # Already a date: a date_format has nothing to parse and is ignored.
        return DateParser(f"CAST({x} AS TIMESTAMP)", f"native {base}")
    if date_format is not None:
        text = x if base == "VARCHAR" else f"CAST({x} AS VARCHAR)"
        if base in _FLOAT_TYPES:
            text = f"CAST(CAST({x} AS BIGINT) AS VARCHAR)"
        return DateParser(_strptime(text, [date_format]), date_format)
    if base in _INTEGER_TYPES or base in _FLOAT_TYPES or base.startswith("DECIMAL"):
        lo, hi = con.execute(f"SELECT min({x}), max({x}) FROM {SOURCE}").fetchall()[0]
        kind = _integer_kind(float(lo), float(hi)) if lo is not None else None
        if kind is None:
            raise SchemaError(
                f"The date column {column!r} of {label} holds numbers from {lo} to {hi}, which "
                "are neither YYYYMMDD dates nor Unix epoch seconds (>= 10^9) or milliseconds; "
                "convert it to dates or give date_format=."
            )
        return DateParser(_integer_sql(x, kind), _INTEGER_DESCRIPTIONS[kind])
    if base != "VARCHAR":
        x = f"CAST({x} AS VARCHAR)"

    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __custseg_date_sample AS SELECT {x} AS v FROM {SOURCE} "
        f"WHERE {x} IS NOT NULL AND trim({x}) <> '' LIMIT {SAMPLE}"
    )
    n, with_offset = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE regexp_matches(v, {_OFFSET})) "
        "FROM __custseg_date_sample").fetchall()[0]
    if n == 0:
        raise SchemaError(f"The date column {column!r} of {label} is empty.")
    cands = _candidates("v", offsets=with_offset > 0)
    # Candidates one by one, stopping at the first that parses the whole sample: no later
    # candidate can beat it (ties go to the earlier one), except the other day/month order.
    parsed = [0] * len(cands)
    full = False
    for i, (name, sql, _) in enumerate(cands):
        parsed[i] = con.execute(
            f"SELECT count({sql}) FROM __custseg_date_sample").fetchall()[0][0]
        full = full or parsed[i] == n
        if full and not name.startswith("mdy"):  # after mdy comes dmy, its rival
            break
    best = max(parsed)
    if best == 0:
        examples = [r[0] for r in con.execute(
            f"SELECT DISTINCT {x} FROM (SELECT {x} FROM {SOURCE} WHERE {x} IS NOT NULL LIMIT 50) "
            "LIMIT 3").fetchall()]
        raise SchemaError(
            f"Cannot recognise the dates in column {column!r} of {label} (e.g. "
            f"{', '.join(repr(e) for e in examples)}). Give the format with date_format=, "
            "e.g. date_format='%d/%m/%Y %H:%M'."
        )
    names = [c[0] for c in cands]
    winners = [i for i, c in enumerate(parsed) if c == best]
    choice = winners[0]
    name = names[choice]
    if name[:3] in ("mdy", "dmy"):
        sep = name[3]
        pair = {f"mdy{sep}", f"dmy{sep}"}
        if pair <= {names[i] for i in winners}:
            first, second = _leading_fields(con, x, sep)
            if first > 12 >= second:
                name = f"dmy{sep}"
            elif second > 12 >= first:
                name = f"mdy{sep}"
            else:
                name = f"{'dmy' if dayfirst else 'mdy'}{sep}"
            choice = names.index(name)
    _, sql, description = _candidates(x, offsets=with_offset > 0)[choice]
    return DateParser(sql, description)
