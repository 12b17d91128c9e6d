"""RFM scores (1–5 by quantiles) and the named RFM segments of the R × FM grid."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .._exceptions import (
    ColumnNotFoundError,
    InvalidParameterError,
    ModelFormatError,
    NotFittedError,
    SchemaError,
)
from .._frame import to_pandas
from .._validation import Interval, Predicate, validate_params

__all__ = ["RFM_SEGMENT_NAMES", "RFMScorer", "rfm_scores", "rfm_segment_name"]

#: The named segments, from the best customers to the lost ones.
RFM_SEGMENT_NAMES: tuple[str, ...] = (
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)

# _GRID[r - 1][fm - 1]: rows are the recency score, columns the FM score.
_GRID: tuple[tuple[str, ...], ...] = (
    ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),
    ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    ("About To Sleep", "About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"),
    ("Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers",
     "Loyal Customers"),
    ("New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"),
)
_FORMAT = "custseg.rfm_scorer"
_FORMAT_VERSION = 1


def _fm(f: Any, m: Any) -> Any:
    """FM score: the mean of F and M rounded half up, ``(f + m + 1) // 2``."""
    return (f + m + 1) // 2


def rfm_segment_name(r: int, f: int, m: int) -> str:
    """Name the RFM segment of scores ``r``, ``f``, ``m`` (each 1–5, 5 = best).

    The grid crosses the recency score R with the FM score, the mean of F and M rounded half
    up (``FM = (F + M + 1) // 2``), in the spirit of the well-known R × FM segment map:

    ======== ================ ================ ================ ================ ================
    R vs FM  1                2                3                4                5
    ======== ================ ================ ================ ================ ================
    5        New Customers    Potential Loy.   Potential Loy.   Champions        Champions
    4        Promising        Potential Loy.   Potential Loy.   Loyal Customers  Loyal Customers
    3        About To Sleep   About To Sleep   Need Attention   Loyal Customers  Loyal Customers
    2        Hibernating      Hibernating      At Risk          At Risk          Can't Lose Them
    1        Lost             Lost             At Risk          At Risk          Can't Lose Them
    ======== ================ ================ ================ ================ ================

    (Potential Loy. = Potential Loyalists.) In words: recent and valuable customers are
    Champions; valuable ones who bought a while ago are Loyal Customers; recent ones of middling
    value are Potential Loyalists; the most recent with the lowest value are New Customers, the
    next most recent Promising; middling recency and value need attention; middling recency and
    low value are About To Sleep; old and valuable customers are At Risk, the most valuable of
    them the ones you Can't Lose; old customers of low value are Hibernating, the oldest Lost.
    Each of the 125 (R, F, M) combinations has exactly one name, and every name is used.

    Parameters
    ----------
    r, f, m : int
        Recency, frequency and monetary scores, 1 to 5.

    Returns
    -------
    str
        One of :data:`RFM_SEGMENT_NAMES`.

    Raises
    ------
    InvalidParameterError
        A score is not an integer from 1 to 5.

    Examples
    --------
    >>> rfm_segment_name(5, 5, 4)
    'Champions'
    >>> rfm_segment_name(1, 1, 2)
    'Lost'
    """
    for name, value in (("r", r), ("f", f), ("m", m)):
        if (isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral)
                or not 1 <= value <= 5):
            raise InvalidParameterError(
                f"The {name!r} parameter of rfm_segment_name must be an int from 1 to 5. "
                f"Got {value!r} instead."
            )
    return _GRID[int(r) - 1][int(_fm(int(f), int(m))) - 1]


#: The names of :data:`_GRID` row by row, indexed by :func:`_segment_codes`.
_GRID_NAMES: tuple[str, ...] = tuple(name for row in _GRID for name in row)
_GRID_NAME_ARRAY = np.array(_GRID_NAMES, dtype=object)


def _segment_codes(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Index into :data:`_GRID_NAMES` of each customer's RFM segment."""
    return (np.asarray(r) - 1) * len(_GRID[0]) + _fm(np.asarray(f), np.asarray(m)) - 1


def _segment_names(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    return _GRID_NAME_ARRAY[_segment_codes(r, f, m)]


def _score(values: np.ndarray, edges: np.ndarray, bins: int, reverse: bool) -> np.ndarray:
    # The number of edges strictly below the value: bins are (e[i-1], e[i]], so equal values
    # always share a score and a value equal to an edge joins the lower bin.
    below = np.searchsorted(edges, values, side="left")
    return (bins - below) if reverse else (below + 1)


class RFMScorer(TransformerMixin, BaseEstimator):
    """Score recency, frequency and monetary value 1 to ``bins`` by quantiles, and name segments.

    ``fit`` learns the cut points (``edges_``): the quantiles at ``1/bins, 2/bins, …`` of each
    column (numpy's default linear interpolation). ``transform`` scores a table on those edges,
    so new customers are scored like the ones the edges were learned on. A value falls in the
    interval ``(e[i-1], e[i]]`` (the first interval also takes everything below ``e[0]``), which
    is deterministic under ties: equal values always get equal scores, even when that leaves a
    score unused (e.g. when 40 % of customers have one order, they all get F = 1). Frequency and
    monetary score ``i`` for interval ``i``; recency is reversed, so the most recent customers
    score ``bins``.

    Parameters
    ----------
    bins : int, default=5
        Number of scores. Named segments (``rfm_segment``) need the usual 5.
    recency, frequency, monetary : str
        Column names, by default those of :func:`custseg.features.rfm`.

    Attributes
    ----------
    edges_ : dict of str to list of float
        Cut points per role (``"recency"``, ``"frequency"``, ``"monetary"``), ``bins - 1`` each.
    n_customers_ : int
        Rows the edges were learned on.

    Examples
    --------
    >>> import pandas as pd
    >>> feats = pd.DataFrame({"recency_days": [1, 10, 100, 200, 300],
    ...                       "frequency": [9, 5, 3, 2, 1],
    ...                       "monetary": [900.0, 500.0, 300.0, 200.0, 100.0]})
    >>> scored = RFMScorer().fit(feats).transform(feats)
    >>> scored[["r_score", "f_score", "m_score", "rfm_segment"]]
       r_score  f_score  m_score      rfm_segment
    0        5        5        5        Champions
    1        4        4        4  Loyal Customers
    2        3        3        3   Need Attention
    3        2        2        2      Hibernating
    4        1        1        1             Lost
    """

    _parameter_constraints = {
        "bins": [Interval(int, 2, 20)],
        "recency": [Predicate(lambda v: isinstance(v, str), "a column name")],
        "frequency": [Predicate(lambda v: isinstance(v, str), "a column name")],
        "monetary": [Predicate(lambda v: isinstance(v, str), "a column name")],
    }

    def __init__(self, bins: int = 5, recency: str = "recency_days",
                 frequency: str = "frequency", monetary: str = "monetary"):
        self.bins = bins
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary

    def _columns(self) -> dict[str, str]:
        return {"recency": self.recency, "frequency": self.frequency, "monetary": self.monetary}

    def _values(self, X: Any) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        frame = to_pandas(X, owner=type(self).__name__)
        out = {}
        for role, col in self._columns().items():
            if col not in frame.columns:
                raise ColumnNotFoundError(col, frame.columns, what=f"{role} column")
            values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
            bad = ~np.isfinite(values)
            if bad.any():
                raise SchemaError(
                    f"Column {col!r} has {int(bad.sum())} missing or non-numeric values "
                    f"(first at row {int(np.flatnonzero(bad)[0])}); RFM scores need a number "
                    "for every customer."
                )
            out[role] = values
        return frame, out

    def fit(self, X: Any, y: None = None) -> RFMScorer:
        """Learn the quantile edges of each column.

        Parameters
        ----------
        X : pandas.DataFrame (or polars / pyarrow table)
            Customer features, e.g. :attr:`RFMResult.features`.
        y : None
            Ignored.

        Returns
        -------
        RFMScorer
            ``self``.
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        _, values = self._values(X)
        self._learn(values)
        return self

    def _learn(self, values: dict[str, np.ndarray]) -> None:
        n = len(values["recency"])
        if n == 0:
            raise SchemaError("RFMScorer needs at least one customer to learn its edges.")
        probs = np.arange(1, self.bins) / self.bins
        self.edges_ = {role: [float(e) for e in np.quantile(v, probs)]
                       for role, v in values.items()}
        self.n_customers_ = n

    def _scores(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Scores ``"r"``, ``"f"``, ``"m"`` of the checked columns ``values`` (see ``_values``)."""
        return {prefix: _score(values[role], np.asarray(self.edges_[role], dtype=float),
                               self.bins, reverse=(role == "recency"))
                for role, prefix in (("recency", "r"), ("frequency", "f"), ("monetary", "m"))}

    def _fit_scores(self, X: Any) -> dict[str, np.ndarray]:
        """``fit(X)``, then the scores of ``X`` as arrays: ``r_score``, ``f_score``, ``m_score``
        (int64) and, with 5 bins, ``rfm_segment_code`` (index into ``_GRID_NAMES``).

        The values of ``transform(X)``, without its copy of the whole table and without
        building a million segment-name strings (for ``custseg segment --transactions``)."""
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        _, values = self._values(X)
        self._learn(values)
        scores = self._scores(values)
        out = {f"{p}_score": scores[p].astype(np.int64) for p in ("r", "f", "m")}
        if self.bins == 5:
            out["rfm_segment_code"] = _segment_codes(scores["r"], scores["f"], scores["m"])
        return out

    def transform(self, X: Any) -> pd.DataFrame:
        """Add ``r_score``, ``f_score``, ``m_score`` and, with 5 bins, ``rfm_segment``.

        Parameters
        ----------
        X : pandas.DataFrame (or polars / pyarrow table)
            Customer features with the three columns.

        Returns
        -------
        pandas.DataFrame
            A copy of ``X`` with the score columns (int64) and the segment name.
        """
        if not hasattr(self, "edges_"):
            raise NotFittedError(
                "This RFMScorer is not fitted yet. Call 'fit' with customer features first, "
                "or build it with RFMScorer.from_dict(...)."
            )
        frame, values = self._values(X)
        out = frame.copy()
        scores = self._scores(values)
        for prefix in ("r", "f", "m"):
            out[f"{prefix}_score"] = scores[prefix].astype(np.int64)
        if self.bins == 5:
            out["rfm_segment"] = _segment_names(scores["r"], scores["f"], scores["m"])
        return out

    def to_dict(self) -> dict[str, Any]:
        """The fitted scorer as plain JSON-ready data (for the model file)."""
        if not hasattr(self, "edges_"):
            raise NotFittedError("This RFMScorer is not fitted yet; there is nothing to save.")
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "bins": int(self.bins),
            "columns": self._columns(),
            "edges": {k: list(v) for k, v in self.edges_.items()},
            "n_customers": int(self.n_customers_),
            "rule": "score = interval (e[i-1], e[i]] of the value among the quantile edges; "
                    "recency reversed; segment from R and FM = (F + M + 1) // 2",
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RFMScorer:
        """Rebuild a fitted scorer from :meth:`to_dict` output.

        Raises
        ------
        ModelFormatError
            The data are malformed or of an unknown format version.
        """
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
            raise ModelFormatError(f"Not an RFM scorer: expected format {_FORMAT!r}.")
        if data.get("format_version") != _FORMAT_VERSION:
            raise ModelFormatError(
                f"Unknown RFM scorer format_version {data.get('format_version')!r}; this "
                f"custseg reads version {_FORMAT_VERSION}."
            )
        bins = data.get("bins")
        if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 20:
            raise ModelFormatError(f"RFM scorer 'bins' must be an int from 2 to 20, got {bins!r}.")
        columns = data.get("columns")
        edges = data.get("edges")
        roles = ("recency", "frequency", "monetary")
        if (not isinstance(columns, Mapping) or not isinstance(edges, Mapping)
                or any(not isinstance(columns.get(r), str) for r in roles)):
            raise ModelFormatError("RFM scorer needs 'columns' and 'edges' for recency, "
                                   "frequency and monetary.")
        clean = {}
        for role in roles:
            e = edges.get(role)
            if (not isinstance(e, list) or len(e) != bins - 1
                    or not all(isinstance(v, int | float) and not isinstance(v, bool)
                               and math.isfinite(v) for v in e)
                    or any(b < a for a, b in zip(e, e[1:], strict=False))):
                raise ModelFormatError(
                    f"RFM scorer edges for {role!r} must be {bins - 1} finite, non-decreasing "
                    f"numbers; got {e!r}."
                )
            clean[role] = [float(v) for v in e]
        scorer = cls(bins=bins, recency=columns["recency"], frequency=columns["frequency"],
                     monetary=columns["monetary"])
        scorer.edges_ = clean
        n = data.get("n_customers", 0)
        scorer.n_customers_ = int(n) if isinstance(n, int) and not isinstance(n, bool) else 0
        return scorer


def rfm_scores(features: Any, bins: int = 5, *, recency: str = "recency_days",
               frequency: str = "frequency", monetary: str = "monetary") -> pd.DataFrame:
    """Score customers 1 to ``bins`` on recency, frequency and monetary value, and name them.

    Shorthand for ``RFMScorer(bins, ...).fit(features).transform(features)``; use
    :class:`RFMScorer` to keep the edges and score other customers the same way.

    Parameters
    ----------
    features : pandas.DataFrame
        Customer features, e.g. ``rfm(log).features``.
    bins : int, default=5
        Number of scores; the named ``rfm_segment`` column is added when it is 5.
    recency, frequency, monetary : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        ``features`` with ``r_score``, ``f_score``, ``m_score`` (and ``rfm_segment``).
    """
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral):
        raise InvalidParameterError(
            f"The 'bins' parameter of rfm_scores must be an int >= 2. Got {bins!r} instead.")
    return RFMScorer(bins=int(bins), recency=recency, frequency=frequency,
                     monetary=monetary).fit(features).transform(features)
