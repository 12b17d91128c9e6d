"""Which column identifies customers, and which columns are features."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from .._exceptions import ColumnNotFoundError, SchemaError
from ._typing import looks_numeric, parse_numeric

# Normalised names (lower case, no spaces/punctuation) that identify a customer.
ID_NAMES = (
    "customerid", "custid", "customerno", "customernumber", "customerkey", "customercode",
    "clientid", "clientno", "memberid", "userid", "accountid", "accountno", "householdid",
    "shopperid", "buyerid", "id",
)


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass
class ColumnPlan:
    """The resolved roles of a table's columns."""

    id_column: str | None
    id_detected: bool
    features: list[str]  # numeric features
    excluded: dict[str, str] = field(default_factory=dict)  # column -> why it is not a feature
    categorical: list[str] = field(default_factory=list)  # categorical features


def detect_id_column(frame: pd.DataFrame) -> str | None:
    """Return the column that looks like a customer ID, or ``None``.

    A column qualifies by name (``CustomerID``, ``customer_id``, ``Customer ID``, ``CUST_ID``,
    ``ID``, …, in that order of preference); among columns whose name merely ends in ``id``, only
    one whose values are mostly unique qualifies.
    """
    by_norm: dict[str, str] = {}
    for col in frame.columns:
        by_norm.setdefault(_norm(col), col)
    for name in ID_NAMES:
        if name in by_norm:
            return by_norm[name]
    for col in frame.columns:
        n = _norm(col)
        if n.endswith("id") and len(n) > 2 and frame[col].nunique(dropna=True) >= 0.95 * len(frame):
            return col
    return None


def resolve_columns(frame: pd.DataFrame, features: Sequence[str] | None,
                    id_column: str | None | bool, *, source: str | None = None,
                    categorical: Sequence[str] | None = None) -> ColumnPlan:
    """Resolve the ID column, the numeric and the categorical feature columns of ``frame``.

    Parameters
    ----------
    features : list of str or None
        Columns to cluster on; ``None`` takes every numeric column except the ID. A listed
        column that is not numeric (less than 90% of its cells are numbers) is categorical.
    id_column : str, None or False
        The ID column; ``None`` detects it, ``False`` means the table has none.
    categorical : list of str or None
        Columns to treat as categorical even when they hold numbers (codes such as a region
        number); they are features in addition to ``features``.
    """
    columns = [str(c) for c in frame.columns]
    if id_column is None:
        id_col, detected = detect_id_column(frame), True
    elif id_column is False:
        id_col, detected = None, False
    else:
        if id_column not in frame.columns:
            raise ColumnNotFoundError(id_column, columns, source=source, what="ID column")
        id_col, detected = id_column, False

    cats: list[str] = []
    for col in categorical or []:
        if col not in frame.columns:
            raise ColumnNotFoundError(col, columns, source=source, what="categorical column")
        if col == id_col:
            raise SchemaError(f"Column {col!r} is the ID column and cannot also be categorical.")
        cats.append(col)
    excluded: dict[str, str] = {}
    if features is None:
        chosen = []
        for col in frame.columns:
            if col == id_col or col in cats:
                continue
            s = frame[col]
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                excluded[col] = "date/time column"
            elif pd.api.types.is_bool_dtype(s.dtype):
                excluded[col] = "boolean column (not numeric)"
            elif not looks_numeric(s):
                excluded[col] = "not numeric"
            elif _is_constant(s):
                excluded[col] = "constant (one distinct value)"
            else:
                chosen.append(col)
        if not chosen and not cats:
            raise SchemaError(
                f"No numeric feature columns found{' in ' + source if source else ''} "
                f"(columns: {', '.join(map(repr, columns))}). Name the columns to use with "
                "--features (Python: features=[...]), or convert numbers stored as text."
            )
        return ColumnPlan(id_col, detected, chosen, excluded, cats)

    chosen = []
    for col in features:
        if col not in frame.columns:
            raise ColumnNotFoundError(col, columns, source=source, what="feature column")
        if col == id_col:
            raise SchemaError(f"Column {col!r} is the ID column and cannot also be a feature. "
                              "Pick another --id, or leave it out of --features.")
        if col in chosen or col in cats:
            if col in cats and categorical and col in categorical:
                continue  # named in both: categorical wins
            raise SchemaError(f"Feature column {col!r} is listed twice in features.")
        s = frame[col]
        if (not pd.api.types.is_datetime64_any_dtype(s.dtype) and not looks_numeric(s)
                and _mostly_text(s)):
            cats.append(col)
        else:
            chosen.append(col)
    for col in frame.columns:
        if col != id_col and col not in chosen and col not in cats:
            excluded[col] = "not requested"
    return ColumnPlan(id_col, detected, chosen, excluded, cats)


def _mostly_text(s: pd.Series) -> bool:
    """True when at most half of the present cells parse as numbers: a categorical column, not
    a numeric column with some bad cells (those are rejected cell by cell instead)."""
    parsed = parse_numeric(s)
    present = (~parsed.missing).sum()
    return present > 0 and parsed.numeric_share <= 0.5


def _is_constant(s: pd.Series) -> bool:
    values = parse_numeric(s).values
    present = values[~pd.isna(values)]
    return present.size > 0 and bool((present == present[0]).all())
