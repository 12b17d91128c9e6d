"""The :class:`Segmenter` estimator: prepare → cluster → profile → name, in one ``fit``."""

from __future__ import annotations

import logging
import numbers
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
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
from .prep import CategoricalEncoder, Preprocessor, resolve_columns
from .profile import (
    categorical_profiles,
    distinguishing_features,
    profile_indexes,
    segment_descriptions,
    segment_names,
    segment_profiles,
)
from .profile._profiles import group_rows

logger = logging.getLogger(__name__)


class ClusteringWarning(UserWarning):
    """The data show no clear segment structure; the result is still written."""


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
    """Segment customers: choose the features, clean and scale them, choose k, cluster, profile
    and name.

    Parameters
    ----------
    features : list of str or None, default=None
        Columns to segment on. ``None`` takes every numeric column except the ID column; text
        columns are left out and listed in ``excluded_columns_``. A listed text column is used
        as a categorical feature.
    id_column : str, None or False, default=None
        The customer ID column. ``None`` detects it by name (``CustomerID``, ``customer_id``,
        ``CUST_ID``, ``ID``, …) and reports it in ``id_column_``; ``False``: the table has none.
    categorical : list of str or None, default=None
        Columns to use as categorical features even if they hold numbers (e.g. region codes).
        One-hot encoded for centroid methods (each indicator worth ``1/sqrt(2)`` so a category
        weighs like one standard deviation), native for ``algorithm="kprototypes"``.
    k : int or "auto", default="auto"
        Number of segments. ``"auto"`` evaluates ``k_range`` with several criteria and explicit
        guards (see :func:`custseg.select.choose_k`); the choice and its reasons are in
        ``k_selection_``. Ignored by ``algorithm="hdbscan"``, which finds k itself.
    k_range : tuple of int, default=(2, 10)
        Smallest and largest k tried when ``k="auto"``.
    min_segment_share : float, default=0.02
        With ``k="auto"``, a k whose smallest segment holds less than this share is not
        recommended. With ``algorithm="hdbscan"``: the minimum cluster size as a share of rows.
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
    algorithm : {"kmeans", "minibatch", "bisecting", "twostep", "gmm", "kprototypes", \
"hdbscan"}, default="kmeans"
        See :mod:`custseg.cluster`. ``gmm`` adds membership probabilities (``probabilities_``);
        ``hdbscan`` labels noise ``-1`` (profiled and counted, never dropped).
    method : {"lloyd", "elkan", "hartigan-wong"}, default="lloyd"
        The k-means variant (``algorithm="kmeans"`` only). Hartigan–Wong is R's default.
    n_init : int, default=10
        Number of starts; the run with the lowest cost is kept.
    max_iter : int, default=300
    tol : float, default=1e-4
        Relative tolerance on centre movement (scikit-learn's definition).
    random_state : int, numpy Generator/RandomState or None, default=None
    dtype : {"float64", "float32"}, default="float64"
        Precision of the k-means passes (``algorithm="kmeans"``, Lloyd or Elkan): float32
        halves the bytes read per iteration; rows whose two nearest centres are too close to
        tell apart in float32 are decided in float64, and the inertia is computed in float64.
    init_size : int, "auto" or None, default="auto"
        Rows the ``n_init`` k-means starts run on (``algorithm="kmeans"``, Lloyd or Elkan; see
        :class:`custseg.cluster.KMeans`): ``"auto"`` samples 100,000 rows (at least 100 per
        segment) from four times as many, judges each start by its inertia on all rows and
        iterates the best on all rows; ``None`` runs every start on all rows, as scikit-learn
        does; an int samples that many rows.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Segment of each customer, numbered by size (0 = largest; -1 = HDBSCAN noise).
    n_clusters_ : int
        Number of segments found (noise not counted).
    cluster_centers_ : ndarray of shape (n_clusters_, n_scaled_features)
        Centroids in scaled units (numeric features, then one-hot columns).
    inertia_ : float
        Sum of squared distances to the centroids, in scaled units (noise excluded).
    k_selection_ : custseg.select.Choice or None
        With ``k="auto"``: the table of criteria per k, the choice and its reasons.
    clear_segmentation_ : bool
        False when ``k="auto"`` found no convincing segment structure (a warning is issued and
        the best k is still fitted, so nothing downstream breaks).
    probabilities_ : ndarray or None
        ``algorithm="gmm"``: membership probability of each customer in each segment.
    profiles_ : pandas.DataFrame
        One row per segment: name, size, share, per-feature mean/median/quartiles/index, and
        per categorical level its share and lift.
    model_ : SegmentModel
        Everything needed to assign new customers; ``save`` writes it as JSON.
    features_ : list of str
        The numeric feature columns used.
    categorical_ : list of str
        The categorical feature columns used.
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
        "categorical": [NONE, COLUMN_LIST],
        "k": [Interval(int, 2, None), Options(frozenset({"auto"}))],
        "k_range": [Predicate(lambda v: len(v) == 2 and all(isinstance(x, numbers.Integral)
                                                             for x in v) and 2 <= v[0] <= v[1],
                              "a pair (low, high) of ints with 2 <= low <= high")],
        "min_segment_share": [Interval(float, 0, 0.5)],
        "scale": [Options(frozenset({"standard", "sample", "robust", "minmax", None}))],
        "log_transform": [Options(frozenset({None, "all", "auto"})), COLUMN_LIST],
        "clip": [NONE, Predicate(lambda v: len(v) == 2 and 0 <= v[0] < v[1] <= 1,
                                 "a pair of quantiles (low, high) with 0 <= low < high <= 1")],
        "missing": [Options(frozenset({"impute", "error"}))],
        "impute": [Options(frozenset({"median", "mean"}))],
        "algorithm": [Options(frozenset({"kmeans", "minibatch", "bisecting", "twostep", "gmm",
                                         "kprototypes", "hdbscan"}))],
        "method": [Options(frozenset({"lloyd", "elkan", "hartigan-wong"}))],
        "n_init": [Interval(int, 1, None)],
        "dtype": [Options(frozenset({"float64", "float32"}))],
        "init_size": [Options(frozenset({None, "auto"})), Interval(int, 1, None)],
        "max_iter": [Interval(int, 1, None)],
        "tol": [Interval(float, 0, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(self, features: list[str] | None = None, id_column: str | None = None,
                 categorical: list[str] | None = None, k: int | Literal["auto"] = "auto",
                 k_range: tuple[int, int] = (2, 10), min_segment_share: float = 0.02,
                 scale: Literal["standard", "sample", "robust", "minmax"] | None = "standard",
                 log_transform: Literal["all", "auto"] | list[str] | None = None,
                 clip: tuple[float, float] | None = None,
                 missing: Literal["impute", "error"] = "impute",
                 impute: Literal["median", "mean"] = "median", algorithm: str = "kmeans",
                 method: Literal["lloyd", "elkan", "hartigan-wong"] = "lloyd",
                 n_init: int = 10, max_iter: int = 300, tol: float = 1e-4,
                 random_state: int | None = None,
                 dtype: Literal["float64", "float32"] = "float64",
                 init_size: int | Literal["auto"] | None = "auto"):
        self.features = features
        self.id_column = id_column
        self.categorical = categorical
        self.k = k
        self.k_range = k_range
        self.min_segment_share = min_segment_share
        self.scale = scale
        self.log_transform = log_transform
        self.clip = clip
        self.missing = missing
        self.impute = impute
        self.algorithm = algorithm
        self.method = method
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.dtype = dtype
        self.init_size = init_size

    # ---------------------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are imputed (missing="impute")
        return tags

    def _prepare(self, X: Any):
        frame = to_pandas(X, owner=type(self).__name__)
        if frame.shape[0] < 2:
            raise SchemaError(f"n_samples = {frame.shape[0]}: segmentation needs at least 2 "
                              "customers (1 sample given).")
        if frame.shape[1] == 0:
            raise SchemaError(f"Found array with 0 feature(s) (shape={frame.shape}) while a "
                              "minimum of 1 is required: the table has no columns.")
        plan = resolve_columns(frame, self.features, self.id_column,
                               categorical=self.categorical)
        if not plan.features:
            raise SchemaError("At least one numeric feature is needed; only categorical "
                              f"columns were given ({', '.join(map(repr, plan.categorical))}).")
        M, _ = feature_matrix(frame, plan.features)
        return frame, plan, M

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
        frame, plan, M = self._prepare(X)
        if self.missing == "error" and np.isnan(M).any():
            i, j = np.argwhere(np.isnan(M))[0]
            raise SchemaError(f"Row {i + 1}, column {plan.features[j]!r} is missing and "
                              "missing='error'. Use missing='impute' or fill the value.")
        pre = Preprocessor(impute=self.impute, log_transform=self.log_transform, clip=self.clip,
                           scale=self.scale)
        Z = pre.fit_transform_matrix(M, plan.features)  # = .fit(M, ...).transform_matrix(M)
        encoder, codes = None, None
        if plan.categorical:
            encoder = CategoricalEncoder().fit(frame, plan.categorical)
            codes, _ = encoder.codes(frame)
        needed = [int(self.k)] if isinstance(self.k, numbers.Integral) else []
        needed += [int(self.k_range[1])] if self.k_range is not None else []
        n_distinct = _count_distinct_rows(Z if codes is None else np.hstack([Z, codes]),
                                          enough=max([1000, *needed]) + 1)
        rng = check_random_state(self.random_state)

        self.k_selection_ = None
        self.clear_segmentation_ = True
        if self.algorithm == "hdbscan":
            k = None
        elif self.k == "auto":
            k = self._choose_k(Z if encoder is None else np.hstack(
                [Z, encoder.one_hot_codes(codes)]), n_distinct, rng)
        else:
            k = int(self.k)
            if k > n_distinct:
                raise SchemaError(
                    f"k={k} is larger than the number of distinct customers ({n_distinct} of "
                    f"{len(Z)} rows after preprocessing). Use k <= {n_distinct}.")

        fitted = self._cluster(Z, k, encoder, codes, rng)
        labels, centers, order = renumber(fitted["labels"], fitted["centers"])
        if fitted.get("probabilities") is not None:
            fitted["probabilities"] = fitted["probabilities"][:, order]
        if fitted["algo"]["name"] == "gmm":
            p = fitted["algo"]["params"]
            p["weights"] = [p["weights"][i] for i in order]
            p["covariances"] = [p["covariances"][i] for i in order]
        self._set_fitted(frame, plan, pre, encoder, codes, M, labels, centers, fitted)
        if getattr(self, "_keep_scaled", False) and encoder is None:
            # for custseg's own pipeline only (it asks before fitting, then takes it): the
            # matrix model_.scaled(X) would compute again, here the very same numbers
            self._scaled = Z
        return self

    def _choose_k(self, Zfull: np.ndarray, n_distinct: int, rng) -> int:
        from .select import choose_k

        lo, hi = self.k_range
        hi = min(hi, n_distinct - 1, len(Zfull) - 1)
        if hi < lo:
            raise SchemaError(f"k='auto' needs more distinct customers than k_range's lower "
                              f"bound {lo} (there are {n_distinct}); set k explicitly.")
        algo = self.algorithm if self.algorithm in ("kmeans", "minibatch", "bisecting",
                                                    "twostep", "gmm") else "kmeans"
        choice = choose_k(Zfull, range(lo, hi + 1), algorithm=algo,
                          random_state=int(rng.randint(0, 2**31 - 1)),
                          min_share=self.min_segment_share)
        self.k_selection_ = choice
        self.clear_segmentation_ = bool(choice.clear_segmentation)
        if not choice.clear_segmentation:
            why = next((r for r in choice.reasons if r.startswith("No clear")), "")
            warnings.warn(
                f"No clear segment structure was found (k={choice.k} is the best of "
                f"{lo}–{hi}). {why}", ClusteringWarning, stacklevel=3)
        return int(choice.k)

    def _cluster(self, Z: np.ndarray, k: int | None, encoder, codes, rng) -> dict[str, Any]:
        """Run the chosen algorithm; return labels and centres in the scaled (one-hot) space."""
        from . import cluster

        seed = int(rng.randint(0, 2**31 - 1)) if not isinstance(self.random_state, int) \
            else self.random_state
        name = self.algorithm
        one_hot = encoder.one_hot_codes(codes) if encoder is not None else None
        X = Z if one_hot is None else np.hstack([Z, one_hot])
        params: dict[str, Any] = {}
        out: dict[str, Any] = {"probabilities": None}
        if name == "kmeans":
            est = cluster.KMeans(n_clusters=k, method=self.method, n_init=self.n_init,
                                 max_iter=self.max_iter, tol=self.tol, random_state=seed,
                                 dtype=self.dtype, init_size=self.init_size).fit(X)
            params = {"method": self.method, "n_init": self.n_init, "max_iter": self.max_iter,
                      "tol": self.tol, "init": "k-means++", "dtype": self.dtype,
                      "init_rows": int(getattr(est, "init_rows_", X.shape[0]))}
        elif name == "minibatch":
            est = cluster.MiniBatch(n_clusters=k, n_init=min(self.n_init, 3),
                                    random_state=seed).fit(X)
        elif name == "bisecting":
            est = cluster.Bisecting(n_clusters=k, max_iter=self.max_iter, tol=self.tol,
                                    random_state=seed).fit(X)
        elif name == "twostep":
            est = cluster.TwoStep(n_clusters=k, random_state=seed).fit(X)
            params = {"n_micro": int(est.n_micro_), "linkage": est.linkage_.tolist(),
                      "micro_to_cluster": est.micro_to_cluster_.tolist()}
        elif name == "gmm":
            est = cluster.GaussianMixture(n_clusters=k, n_init=max(1, min(self.n_init, 3)),
                                          random_state=seed).fit(X)
            out["probabilities"] = est.predict_proba(X)
            params = {"covariance_type": "full", "weights": est.weights_.tolist(),
                      "covariances": np.asarray(est.covariances_).tolist(), "bic": est.bic_}
        elif name == "kprototypes":
            if encoder is None:
                raise SchemaError("algorithm='kprototypes' needs categorical features: name "
                                  "them with categorical=[...] or list text columns in features.")
            Xk = np.hstack([Z, codes.astype(np.float64)])
            cat_idx = list(range(Z.shape[1], Xk.shape[1]))
            est = cluster.KPrototypes(n_clusters=k, n_init=self.n_init, max_iter=self.max_iter,
                                      random_state=seed).fit(Xk, categorical=cat_idx)
            gamma = float(est.gamma_)
            # nearest centroid in [numeric, one-hot * sqrt(gamma/2)] space == Huang's cost
            encoder.weight = float(np.sqrt(gamma / 2))
            one_hot = encoder.one_hot_codes(codes)
            X = np.hstack([Z, one_hot])
            modes = np.asarray(est.cluster_centers_[:, cat_idx], dtype=np.int64)
            centers = np.hstack([est.cluster_centers_[:, :Z.shape[1]],
                                 encoder.one_hot_codes(modes)])
            params = {"gamma": gamma, "n_init": self.n_init}
            out.update(labels=est.labels_.astype(np.int64), centers=centers)
        elif name == "hdbscan":
            min_size = max(5, int(np.ceil(self.min_segment_share * len(X))))
            est = cluster.HDBSCAN(min_cluster_size=min_size).fit(X)
            params = {"min_cluster_size": min_size}
            if est.n_clusters_ == 0:
                raise SchemaError("HDBSCAN found no dense segment (every customer is noise). "
                                  "Lower min_segment_share or use algorithm='kmeans'.")
        else:  # pragma: no cover - validated above
            raise InvalidParameterError(f"unknown algorithm {name!r}")
        labels = out.get("labels", np.asarray(est.labels_, dtype=np.int64))
        centers = out.get("centers", np.asarray(est.cluster_centers_, dtype=np.float64))
        out.update(labels=labels, centers=centers, X=X,
                   n_iter=int(getattr(est, "n_iter_", 0) or 0),
                   algo={"name": name, "params": {**params, "random_state": seed}})
        return out

    def _set_fitted(self, frame, plan, pre, encoder, codes, M, labels, centers, fitted) -> None:
        features = plan.features
        X = fitted["X"]
        values = pd.DataFrame(M, columns=features)
        scaled_names = list(features) + (encoder.output_names() if encoder is not None else [])
        distinct = distinguishing_features(X, labels, scaled_names)
        profiles = segment_profiles(values, labels)
        names = segment_names(distinct, indexes=profile_indexes(profiles))
        if (labels < 0).any():
            names[-1] = "Unclustered (noise)"
        profiles["segment_name"] = profiles["segment"].map(names)
        if encoder is not None:
            cat = categorical_profiles(codes, encoder.levels_, labels)
            profiles = profiles.merge(cat, on="segment", how="left")
        descriptions = segment_descriptions(profiles, features, distinct)
        real = profiles["segment"].to_numpy() >= 0
        centroids_orig = pre.inverse_transform_matrix(centers[:, :len(features)])
        # every row's squared distance to its centre (noise rows: to segment 0's, as shown in
        # segments.csv); the inertia is their sum over the clustered rows
        sq_dist = _squared_distances(X, centers, np.maximum(labels, 0))
        inertia = float(sq_dist[labels >= 0].sum())
        dist = np.sqrt(sq_dist)
        groups = _row_groups(labels)
        segments = []
        for s, row in profiles[real].reset_index(drop=True).iterrows():
            seg = int(row["segment"])
            d = dist[groups.get(seg, np.zeros(0, dtype=np.int64))]  # = dist[labels == seg]
            segments.append({
                "id": seg, "name": names[seg], "description": descriptions[seg],
                "size": int(row["size"]), "share": float(row["share"]),
                "centroid": centroids_orig[s].tolist(),
                "distance_q99": float(np.quantile(d, 0.99)) if d.size else 0.0,
                "distinguishing": [{"feature": f, "std_diff": v} for f, v in distinct[seg][:5]],
                "profile": {c: row[c] for c in profiles.columns
                            if c not in ("segment", "segment_name", "size", "share")},
            })
        noise = int((labels < 0).sum())
        metrics: dict[str, Any] = {"inertia": inertia}
        if noise:
            metrics["noise"] = noise
        self.model_ = SegmentModel(id_column=plan.id_column, preprocessor=pre,
                                   centroids_scaled=centers, segments=segments,
                                   algorithm=fitted["algo"], metrics=metrics, encoder=encoder)
        self.labels_ = labels
        self.n_clusters_ = int(centers.shape[0])
        self.cluster_centers_ = centers
        self.inertia_ = inertia
        self.n_iter_ = fitted["n_iter"]
        self.probabilities_ = fitted["probabilities"]
        self.n_noise_ = noise
        self.profiles_ = profiles
        self.features_ = list(features)
        self.categorical_ = list(plan.categorical)
        self.id_column_ = plan.id_column
        self.id_detected_ = plan.id_detected
        self.excluded_columns_ = dict(plan.excluded)
        self.n_imputed_ = {f: int(c) for f, c in zip(features, pre.n_imputed_, strict=True)}
        self.distances_ = dist
        self.n_features_in_ = frame.shape[1]
        if all(isinstance(c, str) for c in frame.columns) and not _generated_names(frame):
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
        return self.model_.scaled(to_pandas(X))

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
    def _repr_html_(self) -> str:
        """Compact HTML summary for Jupyter (see :func:`custseg.report.segmenter_html`)."""
        from .report import segmenter_html

        return segmenter_html(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        # scikit-learn's BaseEstimator defines this too, and Jupyter prefers it to _repr_html_
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

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


def _squared_distances(X: np.ndarray, centers: np.ndarray, labels: np.ndarray,
                       rows: int = 65_536) -> np.ndarray:
    """``((X - centers[labels]) ** 2).sum(axis=1)``, a block of rows at a time: the same
    values, without two temporary copies of ``X``."""
    out = np.empty(len(X))
    for i in range(0, len(X), rows):
        diff = X[i:i + rows] - centers[labels[i:i + rows]]
        np.square(diff, out=diff)
        out[i:i + rows] = diff.sum(axis=1)
    return out


def _row_groups(labels: np.ndarray) -> dict[int, np.ndarray]:
    """Rows of each label, in order: ``{s: np.flatnonzero(labels == s)}``, from one stable
    sort instead of a pass over all rows per segment."""
    return {int(s): rows for s, rows in zip(*group_rows(labels), strict=True)}


def _generated_names(frame: pd.DataFrame) -> bool:
    return list(frame.columns) == [f"x{i}" for i in range(frame.shape[1])]


def _count_distinct_rows(A: np.ndarray, enough: int) -> int:
    """Distinct rows of ``A``: exact when fewer than ``enough``, else some count >= ``enough``.

    Only small counts matter (k must not exceed them), and sorting a million rows to count
    them costs seconds, so the first rows are counted first.
    """
    head = A[: max(4 * enough, 4096)]
    n = len(np.unique(head, axis=0))
    if n >= enough or len(head) == len(A):
        return n
    return len(np.unique(A, axis=0))

