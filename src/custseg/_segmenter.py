"""The :class:`Segmenter` estimator: prepare → cluster → profile → name, in one ``fit``."""

from __future__ import annotations

import logging
import numbers
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._exceptions import InvalidParameterError, NotFittedError, SchemaError
from ._frame import to_pandas
from ._validation import (
    COLUMN_LIST,
    NONE,
    RANDOM_STATE,
    Interval,
    Options,
    Predicate,
    validate_params,
)
from .model import SegmentModel, feature_matrix
from .prep import Preprocessor, resolve_columns
from .profile import distinguishing_features, segment_descriptions, segment_names, segment_profiles

logger = logging.getLogger(__name__)


def renumber(labels: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic segment numbering: by size (largest first), ties broken by centroid.

    Returns the new labels, the reordered centres and ``order`` (new id → old id). Labels < 0
    (noise) are kept as they are.
    """
    k = centers.shape[0]
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    keys = [centers[:, j] for j in range(centers.shape[1] - 1, -1, -1)] + [-sizes]
    order = np.lexsort(keys)
    new_of_old = np.empty(k, dtype=np.int64)
    new_of_old[order] = np.arange(k)
    new = np.where(labels >= 0, new_of_old[np.maximum(labels, 0)], labels)
    return new, centers[order], order


class Segmenter(ClusterMixin, TransformerMixin, BaseEstimator):
    """Segment customers: choose the features, clean and scale them, cluster, profile and name.

    Parameters
    ----------
    features : list of str or None, default=None
        Columns to segment on. ``None`` takes every numeric column except the ID column; text
        columns are left out and listed in ``excluded_columns_``.
    id_column : str, None or False, default=None
        The customer ID column. ``None`` detects it by name (``CustomerID``, ``customer_id``,
        ``CUST_ID``, ``ID``, …) and reports it in ``id_column_``; ``False``: the table has none.
    k : int, default=5
        Number of segments.
    scale : {"standard", "sample", "robust", "minmax", None}, default="standard"
        ``"standard"`` uses the population standard deviation (scikit-learn's
        ``StandardScaler``); ``"sample"`` the sample standard deviation (R's ``scale()``,
        Spark's ``StandardScaler``); ``"robust"`` median and IQR; ``"minmax"`` [0, 1];
        ``None`` keeps the original units (Spark's ``VectorAssembler`` + ``KMeans`` recipe).
    log_transform : {None, "all", "auto"} or list of str, default=None
        ``log(1 + x)`` of every feature (``"all"``), of the non-negative, right-skewed ones
        (``"auto"``, skewness > 1: typical of spend and counts), or of the listed features
        (negative values, such as net refunds, count as 0).
    clip : tuple of float or None, default=None
        Winsorize each feature at these quantiles, e.g. ``(0.01, 0.99)``.
    missing : {"impute", "error"}, default="impute"
        What to do with missing feature values: replace them by the ``impute`` statistic
        (the count per feature is in ``n_imputed_``) or raise.
    impute : {"median", "mean"}, default="median"
    algorithm : {"kmeans"}, default="kmeans"
    n_init : int, default=10
        Number of k-means++ starts; the run with the lowest inertia is kept.
    max_iter : int, default=300
    tol : float, default=1e-4
        Relative tolerance on centre movement (scikit-learn's definition).
    random_state : int, numpy Generator/RandomState or None, default=None

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Segment of each customer, numbered by size (0 = largest).
    n_clusters_ : int
        Number of segments found.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Centroids in scaled units.
    inertia_ : float
        Sum of squared distances to the centroids, in scaled units.
    profiles_ : pandas.DataFrame
        One row per segment: name, size, share, per-feature mean/median/quartiles/index.
    model_ : SegmentModel
        Everything needed to assign new customers; ``save`` writes it as JSON.
    features_ : list of str
        The feature columns used.
    id_column_ : str or None
        The ID column used (detected or given).
    excluded_columns_ : dict
        Columns not used as features, with the reason.
    n_imputed_ : dict
        Missing values replaced, per feature.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg import Segmenter
    >>> df = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e", "f"],
    ...                    "spend": [10, 12, 11, 200, 210, 190], "visits": [1, 2, 1, 9, 8, 10]})
    >>> seg = Segmenter(k=2, random_state=0).fit(df)
    >>> seg.id_column_, seg.features_
    ('customer_id', ['spend', 'visits'])
    >>> seg.labels_.tolist()
    [0, 0, 0, 1, 1, 1]
    """

    _parameter_constraints: dict = {
        "features": [NONE, COLUMN_LIST],
        "id_column": [NONE, Options(frozenset({False})),
                      Predicate(lambda v: isinstance(v, str | int) and not isinstance(v, bool),
                                "a column name")],
        "k": [Interval(int, 2, None)],
        "scale": [Options(frozenset({"standard", "sample", "robust", "minmax", None}))],
        "log_transform": [Options(frozenset({None, "all", "auto"})), COLUMN_LIST],
        "clip": [NONE, Predicate(lambda v: len(v) == 2 and 0 <= v[0] < v[1] <= 1,
                                 "a pair of quantiles (low, high) with 0 <= low < high <= 1")],
        "missing": [Options(frozenset({"impute", "error"}))],
        "impute": [Options(frozenset({"median", "mean"}))],
        "algorithm": [Options(frozenset({"kmeans"}))],
        "n_init": [Interval(int, 1, None)],
        "max_iter": [Interval(int, 1, None)],
        "tol": [Interval(float, 0, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(self, features: list[str] | None = None, id_column: str | None = None,
                 k: int = 5, scale: Literal["standard", "sample", "robust", "minmax"] | None
                 = "standard", log_transform: Literal["all", "auto"] | list[str] | None = None,
                 clip: tuple[float, float] | None = None,
                 missing: Literal["impute", "error"] = "impute",
                 impute: Literal["median", "mean"] = "median", algorithm: str = "kmeans",
                 n_init: int = 10, max_iter: int = 300, tol: float = 1e-4,
                 random_state: int | None = None):
        self.features = features
        self.id_column = id_column
        self.k = k
        self.scale = scale
        self.log_transform = log_transform
        self.clip = clip
        self.missing = missing
        self.impute = impute
        self.algorithm = algorithm
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # ---------------------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are imputed (missing="impute")
        return tags

    def _prepare(self, X: Any) -> tuple[pd.DataFrame, np.ndarray]:
        frame = to_pandas(X, owner=type(self).__name__)
        if frame.shape[0] == 0:
            raise SchemaError(f"Found array with 0 sample(s) (shape={frame.shape}) while a "
                              "minimum of 1 is required: the table has no rows.")
        if frame.shape[0] < 2:
            raise SchemaError(f"n_samples = {frame.shape[0]}: segmentation needs at least 2 "
                              "customers (1 sample given).")
        if frame.shape[1] == 0:
            raise SchemaError(f"Found array with 0 feature(s) (shape={frame.shape}) while a "
                              "minimum of 1 is required: the table has no columns.")
        plan = resolve_columns(frame, self.features, self.id_column)
        M, _ = feature_matrix(frame, plan.features)
        self._plan = plan
        return frame, M

    def fit(self, X: Any, y: None = None) -> Segmenter:
        """Learn the segments of the customers in ``X``.

        Parameters
        ----------
        X : pandas/polars DataFrame, pyarrow Table or 2-D array
            One row per customer.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : Segmenter
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        frame, M = self._prepare(X)
        plan = self._plan
        del self._plan
        if self.missing == "error" and np.isnan(M).any():
            i, j = np.argwhere(np.isnan(M))[0]
            raise SchemaError(f"Row {i + 1}, column {plan.features[j]!r} is missing and "
                              "missing='error'. Use missing='impute' or fill the value.")
        pre = Preprocessor(impute=self.impute, log_transform=self.log_transform, clip=self.clip,
                           scale=self.scale).fit(M, plan.features)
        Z = pre.transform_matrix(M)
        k = int(self.k)
        n_distinct = len(np.unique(Z, axis=0))
        if k > n_distinct:
            raise SchemaError(
                f"k={k} is larger than the number of distinct customers ({n_distinct} of "
                f"{len(Z)} rows after preprocessing). Use k <= {n_distinct}.")

        labels, centers, inertia, n_iter, algo = self._cluster(Z, k)
        labels, centers, _ = renumber(labels, centers)
        self._set_fitted(frame, plan, pre, M, Z, labels, centers, inertia, n_iter, algo)
        return self

    def _cluster(self, Z: np.ndarray, k: int):
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=k, n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
                    random_state=self.random_state, algorithm="lloyd").fit(Z)
        algo = {"name": "kmeans", "params": {"method": "lloyd", "n_init": self.n_init,
                                             "max_iter": self.max_iter, "tol": self.tol,
                                             "init": "k-means++"}}
        return km.labels_.astype(np.int64), km.cluster_centers_, float(km.inertia_), \
            int(km.n_iter_), algo

    def _set_fitted(self, frame, plan, pre, M, Z, labels, centers, inertia, n_iter, algo) -> None:
        features = plan.features
        values = pd.DataFrame(M, columns=features)
        distinct = distinguishing_features(Z, labels, features)
        names = segment_names(distinct)
        profiles = segment_profiles(values, labels, names)
        descriptions = segment_descriptions(profiles, features, distinct)
        centroids_orig = pre.inverse_transform_matrix(centers)
        dist = np.sqrt(((Z - centers[labels]) ** 2).sum(axis=1))
        segments = []
        for s, row in profiles.iterrows():
            seg = int(row["segment"])
            d = dist[labels == seg]
            segments.append({
                "id": seg, "name": names[seg], "description": descriptions[seg],
                "size": int(row["size"]), "share": float(row["share"]),
                "centroid": centroids_orig[s].tolist(),
                "distance_q99": float(np.quantile(d, 0.99)) if d.size else 0.0,
                "distinguishing": [{"feature": f, "std_diff": v} for f, v in distinct[seg][:5]],
                "profile": {c: row[c] for c in profiles.columns
                            if c not in ("segment", "segment_name", "size", "share")},
            })
        self.model_ = SegmentModel(id_column=plan.id_column, preprocessor=pre,
                                   centroids_scaled=centers, segments=segments, algorithm=algo,
                                   metrics={"inertia": inertia})
        self.labels_ = labels
        self.n_clusters_ = int(centers.shape[0])
        self.cluster_centers_ = centers
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.profiles_ = profiles
        self.features_ = list(features)
        self.id_column_ = plan.id_column
        self.id_detected_ = plan.id_detected
        self.excluded_columns_ = dict(plan.excluded)
        self.n_imputed_ = {f: int(c) for f, c in zip(features, pre.n_imputed_, strict=True)}
        self.distances_ = dist
        self.n_features_in_ = frame.shape[1]
        if all(isinstance(c, str) for c in frame.columns) and not isinstance(
                frame.columns, pd.RangeIndex) and not _generated_names(frame):
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self._input_was_array = _generated_names(frame)

    # ---------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "model_")
        except Exception as exc:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.") from exc

    def _input_matrix(self, X: Any) -> np.ndarray:
        if not (hasattr(X, "columns") or hasattr(X, "column_names")):
            arr = to_pandas(X, owner=type(self).__name__)
            if arr.shape[1] != self.n_features_in_:
                raise InvalidParameterError(
                    f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input.")
            if not self._input_was_array:
                # an array for a model fitted on named columns: take them by position
                arr.columns = list(self.feature_names_in_)
            X = arr
        frame = to_pandas(X)
        M, _ = feature_matrix(frame, self.features_)
        return self.model_.preprocessor.transform_matrix(M)

    def predict(self, X: Any) -> np.ndarray:
        """Segment of each customer in ``X`` (nearest centroid after the fitted preprocessing)."""
        self._check_fitted()
        Z = self._input_matrix(X)
        best, _, _ = self.model_._nearest(Z)
        return self.model_.segment_ids[best]

    def transform(self, X: Any) -> np.ndarray:
        """Distance of each customer to every centroid, in scaled units."""
        self._check_fitted()
        Z = self._input_matrix(X)
        C = self.cluster_centers_
        d2 = (Z * Z).sum(1)[:, None] - 2 * Z @ C.T + (C * C).sum(1)
        return np.sqrt(np.maximum(d2, 0.0))

    def fit_predict(self, X: Any, y: None = None) -> np.ndarray:
        """Fit and return ``labels_``; equal to ``fit(X).predict(X)``."""
        return self.fit(X).labels_

    def fit_transform(self, X: Any, y: None = None) -> np.ndarray:
        return self.fit(X).transform(X)

    # ---------------------------------------------------------------------------------------
    def save(self, path) -> Any:
        """Write the fitted model as JSON (never pickle); load it with :func:`custseg.load_model`."""
        self._check_fitted()
        return self.model_.save(path)

    def align_to(self, previous: SegmentModel | str) -> Any:
        """Give segments the ids and names of the matching segments of a previous run.

        Segments are matched by optimal assignment (Hungarian algorithm) on centroid distance;
        a segment with no close match gets a fresh id and keeps its own name. Returns the
        :class:`custseg.track.Alignment` (matched, new and vanished segments).
        """
        from .model import load_model
        from .track import align_segments

        self._check_fitted()
        old = load_model(previous) if not isinstance(previous, SegmentModel) else previous
        alignment = align_segments(self.model_, old)
        mapping = alignment.new_to_old
        old_names = old.names
        taken = {old_names[o] for o in alignment.matched.values()}
        names = {}
        for seg in self.model_.segments:
            sid = int(seg["id"])
            if sid in alignment.matched:
                names[mapping[sid]] = old_names[alignment.matched[sid]]
            else:
                name = seg["name"]
                names[mapping[sid]] = name if name not in taken else f"{name} (new)"
        for seg in self.model_.segments:
            seg["id"] = mapping[int(seg["id"])]
            seg["name"] = names[seg["id"]]
        self.labels_ = np.array([mapping[int(v)] if v >= 0 else int(v) for v in self.labels_],
                                dtype=np.int64)
        self.profiles_["segment"] = self.profiles_["segment"].map(mapping)
        self.profiles_["segment_name"] = self.profiles_["segment"].map(names)
        self.model_.alignment = alignment.to_dict()
        return alignment

    def rename(self, names: dict[int, str]) -> Segmenter:
        """Rename segments, e.g. ``seg.rename({0: "Loyal big spenders"})``; stored in the model."""
        self._check_fitted()
        known = set(self.model_.segment_ids.tolist())
        for seg, name in names.items():
            if not isinstance(seg, numbers.Integral) or int(seg) not in known:
                raise InvalidParameterError(f"Segment {seg!r} does not exist; segments are "
                                            f"{sorted(known)}.")
            if not isinstance(name, str) or not name.strip():
                raise InvalidParameterError(f"The name of segment {seg} must be non-empty text.")
        merged = {**self.model_.names, **{int(s): n.strip() for s, n in names.items()}}
        if len(set(merged.values())) != len(merged):
            raise InvalidParameterError("Segment names must be unique within a segmentation.")
        for s in self.model_.segments:
            s["name"] = merged[int(s["id"])]
        self.profiles_["segment_name"] = self.profiles_["segment"].map(merged)
        return self


def _generated_names(frame: pd.DataFrame) -> bool:
    return list(frame.columns) == [f"x{i}" for i in range(frame.shape[1])]
