"""Fit and apply a segmentation on Spark, with the local engine's definitions and model file.

:func:`fit_spark` learns the preprocessing with Spark aggregates (exact medians and quantiles,
population or sample standard deviation as :class:`custseg.prep.Preprocessor`), clusters with
``pyspark.ml`` (or with Lloyd iterations from given centres), numbers the segments with
:func:`custseg._segmenter.renumber`, profiles them with Spark aggregates and returns a
:class:`custseg.SegmentModel` that is interchangeable with one fitted locally.
:func:`assign_spark` applies any model (fitted by either engine) as Spark column expressions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .._exceptions import InvalidParameterError, SchemaError
from .._segmenter import renumber
from .._validation import (
    COLUMN_LIST,
    NONE,
    InstanceOf,
    Interval,
    Options,
    Predicate,
    validate_params,
)
from ..model import SegmentModel
from ..model._model import OOD_FACTOR
from ..prep import Preprocessor
from ..prep._preprocessor import SKEW_THRESHOLD
from ..profile import profile_indexes, segment_descriptions, segment_names
from ._spark import INTERNAL, coalesced, col, sql_ident
from ._spark_numeric import exact_medians, exact_quantiles, numeric_columns, sql_double

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

logger = logging.getLogger(__name__)

__all__ = ["SparkFit", "assign_spark", "fit_spark", "fit_spark_full", "preprocess_columns"]

SEG = "segment"
PROB = "probability"
_BISECT_SHIFT = 10.0
DIST = "distance"
_BEST = f"{INTERNAL}best"

_PARAMS = {
    "k": [Interval(int, 2, None), Options(frozenset({"auto"}))],
    "scale": [Options(frozenset({"standard", "sample", "robust", "minmax", None}))],
    "log_transform": [Options(frozenset({None, "all", "auto"})), COLUMN_LIST],
    "clip": [NONE, Predicate(lambda v: len(v) == 2 and 0 <= v[0] < v[1] <= 1,
                             "a pair of quantiles (low, high) with 0 <= low < high <= 1")],
    "impute": [Options(frozenset({"median", "mean"}))],
    "seed": [NONE, Interval(int, 0, 2**63 - 1)],
    "algorithm": [Options(frozenset({"kmeans", "bisecting", "gmm"}))],
    "n_init": [Interval(int, 1, None)],
    "max_iter": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None)],
    "init_centers": [NONE, InstanceOf((np.ndarray, list, tuple), "an array of k centres")],
}


@dataclass
class SparkFit:
    """Everything :func:`fit_spark_full` learned.

    Attributes
    ----------
    model : SegmentModel
        The fitted model (``engine="spark"``), interchangeable with a local one.
    assignments : pyspark.sql.DataFrame
        The kept columns of the input, ``segment`` and ``distance`` (scaled units) and the
        parsed feature values (``__cs_x0`` …, NULL = missing).
    inertia : float
        Sum of squared distances to the centroids, in scaled units.
    n_iter : int
        Iterations of the clustering run that was kept.
    metrics : dict
        ``inertia``, ``silhouette`` (sampled), ``calinski_harabasz``, ``davies_bouldin``.
    timings : dict
        Seconds per step.
    k_selection : custseg.select.Choice or None
        With ``k="auto"``: the choice of k (made on a sample).
    """

    model: SegmentModel
    assignments: DataFrame
    inertia: float
    n_iter: int
    metrics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    k_selection: Any = None


# ------------------------------------------------------------------------- preprocessing


def _xcol(j: int) -> str:
    return f"{INTERNAL}x{j}"


def _zcol(j: int) -> str:
    return f"{INTERNAL}z{j}"


def preprocess_sql(pre: Preprocessor, values: Sequence[str]) -> list[str]:
    """Spark SQL applying a fitted preprocessor to parsed feature expressions.

    Same steps and order as :meth:`Preprocessor.transform_matrix`: impute → ``log1p`` (of
    ``max(x, 0)``) → clip → centre and scale (a zero scale counts as 1).
    """
    out = []
    for j, v in enumerate(values):
        x = f"coalesce({v}, {sql_double(pre.impute_values_[j])})"
        if pre.log1p_[j]:
            x = f"log1p(greatest({x}, 0.0D))"
        if pre.clip_low_ is not None:
            x = (f"least(greatest({x}, {sql_double(pre.clip_low_[j])}), "
                 f"{sql_double(pre.clip_high_[j])})")
        scale = float(pre.scale_[j]) if pre.scale_[j] != 0 else 1.0
        out.append(f"(({x} - {sql_double(pre.center_[j])}) / {sql_double(scale)})")
    return out


def preprocess_columns(pre: Preprocessor, values: Sequence[str]) -> list[Column]:
    """:func:`preprocess_sql` as columns."""
    from pyspark.sql import functions as F

    return [F.expr(x) for x in preprocess_sql(pre, values)]


def _fit_preprocessor(X: DataFrame, features: list[str], n: int, present: np.ndarray, *,
                      impute: str, log_transform: Any, clip: tuple[float, float] | None,
                      scale: str | None) -> Preprocessor:
    """Learn a :class:`Preprocessor` from the double columns ``__cs_x<j>`` of ``X``.

    ``n`` is the number of rows and ``present`` the non-missing count of each feature.
    """
    from pyspark.sql import functions as F

    d = len(features)
    xs = [F.col(_xcol(j)) for j in range(d)]
    all_missing = [f for f, c in zip(features, present, strict=True) if c == 0]
    if all_missing:
        raise SchemaError(f"Feature column(s) {', '.join(map(repr, all_missing))} have no "
                          "values at all; leave them out of the features.")
    if impute == "median":
        impute_values = exact_medians(X, [_xcol(j) for j in range(d)],
                                      counts={_xcol(j): int(present[j]) for j in range(d)})
    else:
        r = X.agg(*[F.avg(x).alias(f"m{j}") for j, x in enumerate(xs)]).collect()[0]
        impute_values = np.array([float(r[f"m{j}"]) for j in range(d)])
    imputed = [F.coalesce(x, F.lit(float(impute_values[j]))) for j, x in enumerate(xs)]

    if log_transform is None:
        log1p = np.zeros(d, dtype=bool)
    elif isinstance(log_transform, list | tuple):
        unknown = [f for f in log_transform if f not in features]
        if unknown:
            raise InvalidParameterError(f"log_transform names {unknown!r}, which are not "
                                        f"features ({features!r}).")
        log1p = np.array([f in log_transform for f in features])
    else:
        aggs = [F.min(x).alias(f"lo{j}") for j, x in enumerate(imputed)]
        if log_transform == "auto":
            aggs += [F.skewness(x).alias(f"sk{j}") for j, x in enumerate(imputed)]
            aggs += [F.stddev_pop(x).alias(f"sd{j}") for j, x in enumerate(imputed)]
        r = X.agg(*aggs).collect()[0]
        nonneg = np.array([float(r[f"lo{j}"]) >= 0 for j in range(d)])
        if log_transform == "all":
            bad = [f for f, ok in zip(features, nonneg, strict=True) if not ok]
            if bad:
                raise SchemaError(
                    f"log_transform='all' needs non-negative values, but {', '.join(map(repr, bad))} "
                    "has negative ones. Use log_transform='auto' (skips such features) or None.")
            log1p = np.ones(d, dtype=bool)
        else:
            skew = np.array([
                0.0 if (n < 3 or not r[f"sd{j}"] or r[f"sk{j}"] is None
                        or not np.isfinite(r[f"sk{j}"])) else float(r[f"sk{j}"])
                for j in range(d)])
            log1p = nonneg & (skew > SKEW_THRESHOLD)
    logged = [F.log1p(F.greatest(x, F.lit(0.0))) if log1p[j] else x
              for j, x in enumerate(imputed)]

    names = [f"{INTERNAL}l{j}" for j in range(d)]
    clip_low = clip_high = None
    if clip is not None:
        q = exact_quantiles(X.select(*[x.alias(nm) for x, nm in zip(logged, names, strict=True)]),
                            names, [clip[0], clip[1]], counts={None: dict.fromkeys(names, n)})[None]
        clip_low = np.array([q[nm][0] for nm in names])
        clip_high = np.array([q[nm][1] for nm in names])
        logged = [F.least(F.greatest(x, F.lit(float(clip_low[j]))), F.lit(float(clip_high[j])))
                  for j, x in enumerate(logged)]
    L = X.select(*[x.alias(nm) for x, nm in zip(logged, names, strict=True)])
    ls = [F.col(nm) for nm in names]
    aggs = [F.min(x).alias(f"lo{j}") for j, x in enumerate(ls)]
    aggs += [F.max(x).alias(f"hi{j}") for j, x in enumerate(ls)]
    if scale in ("standard", "sample", "robust"):
        aggs += [F.avg(x).alias(f"m{j}") for j, x in enumerate(ls)]
        sd = F.stddev_samp if (scale == "sample" and n > 1) else F.stddev_pop
        aggs += [sd(x).alias(f"sd{j}") for j, x in enumerate(ls)]
    r = L.agg(*aggs).collect()[0]
    lo = np.array([float(r[f"lo{j}"]) for j in range(d)])
    hi = np.array([float(r[f"hi{j}"]) for j in range(d)])
    if scale is None:
        center, spread = np.zeros(d), np.ones(d)
    elif scale in ("standard", "sample"):
        center = np.array([float(r[f"m{j}"]) for j in range(d)])
        spread = np.array([float(r[f"sd{j}"]) for j in range(d)])
    elif scale == "robust":
        q = exact_quantiles(L, names, [0.25, 0.5, 0.75],
                            counts={None: dict.fromkeys(names, n)})[None]
        center = np.array([q[nm][1] for nm in names])
        iqr = np.array([q[nm][2] - q[nm][0] for nm in names])
        spread = np.where(iqr > 0, iqr, np.array([float(r[f"sd{j}"]) for j in range(d)]))
    else:
        center, spread = lo, hi - lo
    constant = [f for f, a, b in zip(features, lo, hi, strict=True) if b - a == 0]
    if constant:
        raise SchemaError(
            f"Feature column(s) {', '.join(map(repr, constant))} are constant (one distinct "
            "value after imputation), so they cannot separate segments. Remove them from the "
            "features.")
    method = log_transform if not isinstance(log_transform, list | tuple) else "listed"
    pre = Preprocessor.from_dict({
        "features": list(features),
        "impute": {"strategy": impute, "values": impute_values.tolist()},
        "transform": {"method": method, "log1p": log1p.tolist()},
        "clip": None if clip is None else {"quantiles": list(clip), "low": clip_low.tolist(),
                                           "high": clip_high.tolist()},
        "scale": {"method": scale, "center": center.tolist(), "scale": spread.tolist()},
    })
    pre.n_imputed_ = (n - present).astype(int)
    return pre


# ------------------------------------------------------------------------------ distances


def _sq_dist_sql(zs: Sequence[str], center: np.ndarray) -> str:
    return " + ".join(f"({z} - {sql_double(c)}) * ({z} - {sql_double(c)})"
                      for z, c in zip(zs, center, strict=True))


def nearest_sql(zs: Sequence[str], centers: np.ndarray) -> str:
    """SQL struct ``(d, j)``: squared distance to the nearest centre and its index (ties go to
    the lowest index, as ``np.argmin``). ``zs`` are SQL expressions (column names)."""
    parts = [f"named_struct('d', {_sq_dist_sql(zs, c)}, 'j', {i})"
             for i, c in enumerate(centers)]
    return parts[0] if len(parts) == 1 else f"least({', '.join(parts)})"


def nearest(zs: Sequence[str], centers: np.ndarray) -> Column:
    """:func:`nearest_sql` as a column."""
    from pyspark.sql import functions as F

    return F.expr(nearest_sql(zs, centers))


def _gmm_scores(zs: Sequence[str], centers: np.ndarray, params: dict[str, Any]) -> list[str]:
    """SQL of each component's log density plus log weight (``SegmentModel._gmm_log_resp``
    before normalisation): ``log w - log|L| - ||L⁻¹(z - μ)||² / 2 - d log(2π) / 2``."""
    weights = np.asarray(params["weights"], dtype=float)
    cov = np.asarray(params["covariances"], dtype=float)
    k, d = centers.shape
    out = []
    for j in range(k):
        c = cov[j] if cov.ndim == 3 else np.diag(cov[j])
        L = np.linalg.cholesky(c)
        Linv = np.linalg.inv(L)
        b = -Linv @ centers[j]
        terms = []
        for i in range(d):
            lin = " + ".join(f"{sql_double(Linv[i, m])} * {zs[m]}" for m in range(d)
                             if Linv[i, m] != 0)
            y = f"({lin} + {sql_double(b[i])})"
            terms.append(f"{y} * {y}")
        const = float(np.log(weights[j]) - np.log(np.diag(L)).sum() - 0.5 * d * np.log(2 * np.pi))
        out.append(f"({sql_double(const)} - 0.5D * ({' + '.join(terms)}))")
    return out


def assignment_sql(zs: Sequence[str], centers: np.ndarray, algo: dict[str, Any]) -> str:
    """SQL struct ``(d, j, p)``: the assigned centre ``j`` (nearest centroid; for a GMM the
    most probable component, as :class:`SegmentModel` assigns), the squared distance ``d`` to
    it and, for a GMM, the membership probability ``p`` (else NULL)."""
    if algo.get("name") != "gmm":
        near = nearest_sql(zs, centers)
        return f"named_struct('d', ({near}).d, 'j', ({near}).j, 'p', CAST(NULL AS DOUBLE))"
    scores = _gmm_scores(zs, centers, algo["params"])
    best = "greatest(" + ", ".join(f"named_struct('s', {sc}, 'nj', {-j})"
                                   for j, sc in enumerate(scores)) + ")"
    j = f"(-({best}).nj)"
    dists = "array(" + ", ".join(_sq_dist_sql(zs, c) for c in centers) + ")"
    norm = " + ".join(f"exp({sc} - ({best}).s)" for sc in scores)
    return f"named_struct('d', element_at({dists}, {j} + 1), 'j', {j}, 'p', 1.0D / ({norm}))"


# ------------------------------------------------------------------------------ clustering


def _lloyd(Z: DataFrame, zs: list[str], init: np.ndarray, *, max_iter: int, tol: float,
           variance: np.ndarray) -> tuple[np.ndarray, int]:
    """Lloyd iterations from ``init`` with scikit-learn's stopping rule.

    Stops when the squared centre shift summed over centres is at most
    ``tol * mean(per-feature variance)`` or after ``max_iter`` iterations. An empty cluster
    keeps its centre (scikit-learn moves it to a far point instead).
    """
    from pyspark.sql import functions as F

    C = np.array(init, dtype=np.float64)
    k, d = C.shape
    tol_abs = float(np.mean(variance)) * tol
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is returned
        lab = Z.select(F.expr(nearest_sql(zs, C) + ".j").alias("j"), *[F.expr(z) for z in zs])
        rows = lab.groupBy("j").agg(*[F.avg(F.expr(z)).alias(f"m{i}")
                                      for i, z in enumerate(zs)]).collect()
        new = C.copy()
        for r in rows:
            new[int(r["j"])] = [float(r[f"m{i}"]) for i in range(d)]
        shift = float(((new - C) ** 2).sum())
        C = new
        if shift <= tol_abs:
            break
    return C, n_iter


def _cluster(spark: SparkSession, Z: DataFrame, zcols: list[str], k: int, *, algorithm: str,
             seed: int | None, init_centers: np.ndarray | None, n_init: int, max_iter: int,
             tol: float, variance: np.ndarray) -> tuple[np.ndarray, int, dict[str, Any]]:
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import functions as F

    zs = [sql_ident(z) for z in zcols]
    if algorithm == "kmeans" and init_centers is not None:
        C, n_iter = _lloyd(Z, zs, init_centers, max_iter=max_iter, tol=tol, variance=variance)
        return C, n_iter, {"name": "kmeans", "params": {
            "method": "lloyd (Spark DataFrame aggregates)", "init": "given centres",
            "max_iter": max_iter, "tol": tol, "tol_rule": "scikit-learn (relative to variance)",
            "n_init": 1}}
    vec = f"{INTERNAL}vec"
    data = VectorAssembler(inputCols=zcols, outputCol=vec, handleInvalid="error").transform(Z)
    data = data.select(vec)
    if algorithm == "gmm":
        from pyspark.ml.clustering import GaussianMixture

        gm = GaussianMixture(k=k, featuresCol=vec, maxIter=max_iter, tol=tol,
                             seed=seed if seed is not None else 0).fit(data)
        rows = gm.gaussiansDF.collect()
        C = np.array([row["mean"].toArray() for row in rows])
        cov = np.array([row["cov"].toArray() for row in rows])
        return C, int(gm.summary.numIter), {"name": "gmm", "params": {
            "method": "pyspark.ml.clustering.GaussianMixture", "covariance_type": "full",
            "weights": [float(w) for w in gm.weights], "covariances": cov.tolist(),
            "max_iter": max_iter, "tol": tol, "seed": seed,
            "log_likelihood": float(gm.summary.logLikelihood)}}
    if algorithm == "bisecting":
        from pyspark.ml.clustering import BisectingKMeans

        # Spark splits a cluster by nudging its centre by 1e-4 × its norm: a centre at the
        # origin (standardised data) never splits. Distances do not change under a shift, so
        # cluster the data moved by +SHIFT in every feature, and move the centres back.
        shifted = VectorAssembler(inputCols=[f"{INTERNAL}s{j}" for j in range(len(zcols))],
                                  outputCol=vec).transform(Z.select(*[
                                      (F.col(z) + F.lit(_BISECT_SHIFT)).alias(f"{INTERNAL}s{j}")
                                      for j, z in enumerate(zcols)])).select(vec)
        bk = BisectingKMeans(k=k, featuresCol=vec, maxIter=max_iter,
                             seed=seed if seed is not None else 0).fit(shifted)
        C = np.array([c for c in bk.clusterCenters()]) - _BISECT_SHIFT
        return C, int(bk.summary.numIter), {"name": "bisecting", "params": {
            "method": "pyspark.ml.clustering.BisectingKMeans", "max_iter": max_iter,
            "seed": seed, "labels": "nearest leaf centre"}}
    from pyspark.ml.clustering import KMeans

    data = data.cache()
    # scikit-learn stops when the squared centre shifts sum to at most tol × mean variance;
    # Spark when every centre moves less than its tol: give Spark the distance that bound
    # allows one centre to move.
    spark_tol = float(np.sqrt(tol * float(np.mean(variance)))) if tol > 0 else 0.0
    best = None
    for i in range(n_init):
        s = (seed if seed is not None else 0) + i
        km = KMeans(k=k, featuresCol=vec, maxIter=max_iter, tol=spark_tol, seed=s,
                    initMode="k-means||").fit(data)
        cost = float(km.summary.trainingCost)
        if best is None or cost < best[0]:
            best = (cost, np.array(km.clusterCenters()), int(km.summary.numIter))
    data.unpersist()
    assert best is not None
    return best[1], best[2], {"name": "kmeans", "params": {
        "method": "pyspark.ml.clustering.KMeans (Lloyd)", "init": "k-means||",
        "n_init": n_init, "max_iter": max_iter, "tol": tol, "spark_tol": spark_tol,
        "tol_rule": "every centre moves less than spark_tol = sqrt(tol * mean variance)",
        "seed": seed}}


# ----------------------------------------------------------------------------------- fit


#: Rows of customers per partition of the persisted tables the clustering passes over (Online
#: Retail's 4,372 customers took 100 s to cluster on ``local[2]`` in 200 shuffle partitions,
#: 3 s in 2).
ROWS_PER_PARTITION = 200_000


def scaled_frame(df: DataFrame, features: list[str], *, keep: Sequence[str] = (),
                 decimals: dict[str, str] | None = None,
                 known: tuple[int, dict[str, int]] | None = None, impute: str = "median",
                 log_transform: Any = None, clip: tuple[float, float] | None = None,
                 scale: str | None = "standard") -> tuple[DataFrame, Preprocessor, int]:
    """Learn the preprocessing on Spark and return the persisted table of ``keep`` columns,
    parsed features ``__cs_x<j>`` and preprocessed features ``__cs_z<j>``, the
    :class:`Preprocessor` and the number of rows."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    d = len(features)
    parsed = numeric_columns(df, features, decimals)
    if known is not None:
        df = coalesced(df, int(known[0]), ROWS_PER_PARTITION)
    X = df.select(*[col(c) for c in keep],
                  *[p.value.alias(_xcol(j)) for j, p in enumerate(parsed.values())],
                  F.expr("(" + " OR ".join(p.invalid_sql for p in parsed.values()) + ")")
                  .alias(f"{INTERNAL}bad")).persist(StorageLevel.MEMORY_AND_DISK)
    if known is None:
        row = X.agg(F.count(F.lit(1)).alias("n"),
                    F.max(F.col(f"{INTERNAL}bad").cast("int")).alias("bad"),
                    *[F.count(_xcol(j)).alias(f"c{j}") for j in range(d)]).collect()[0]
        if row["bad"]:
            X.unpersist()
            raise SchemaError("A feature cell holds text that is not a number. The command-line "
                              "job (run_segment_spark) writes such rows to rejects.csv; here, "
                              "fix or blank those cells.")
        n_rows = int(row["n"])
        present = np.array([int(row[f"c{j}"]) for j in range(d)])
    else:
        n_rows = int(known[0])
        present = np.array([int(known[1][f]) for f in features])
    if n_rows < 2:
        X.unpersist()
        raise SchemaError(f"n_samples = {n_rows}: segmentation needs at least 2 customers.")
    cached, X = X, coalesced(X, n_rows, ROWS_PER_PARTITION)  # merges cached partitions
    try:
        pre = _fit_preprocessor(X, features, n_rows, present, impute=impute,
                                log_transform=log_transform, clip=clip, scale=scale)
    except Exception:
        cached.unpersist()
        raise
    xcols = [_xcol(j) for j in range(d)]
    Z = X.select(*[col(c) for c in keep], *xcols, *[z.alias(_zcol(j)) for j, z in enumerate(
        preprocess_columns(pre, [sql_ident(x) for x in xcols]))])
    Z = Z.persist(StorageLevel.MEMORY_AND_DISK)  # (in X's partitions)
    Z.count()  # materialise before X goes
    cached.unpersist()
    return Z, pre, n_rows


def fit_spark(spark: SparkSession, df: DataFrame, features: Sequence[str], *, k: int | str,
              scale: Literal["standard", "sample", "robust", "minmax"] | None = "standard",
              log_transform: Literal["all", "auto"] | list[str] | None = None,
              clip: tuple[float, float] | None = None,
              impute: Literal["median", "mean"] = "median", seed: int | None = 0,
              init_centers: np.ndarray | None = None,
              algorithm: Literal["kmeans", "bisecting", "gmm"] = "kmeans", n_init: int = 1,
              max_iter: int = 300, tol: float = 1e-4, id_column: str | None = None
              ) -> SegmentModel:
    """Fit a segmentation on Spark and return the model (``engine="spark"``).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    df : pyspark.sql.DataFrame
        One row per customer. Feature columns may be numbers or text holding numbers (parsed
        as the local engine does; a cell that is not a number raises :class:`SchemaError` —
        the ``run_segment_spark`` job rejects such rows instead).
    features : list of str
        Columns to segment on.
    k : int or "auto"
        Number of segments (>= 2), or ``"auto"``: :func:`custseg.select.choose_k` on a sample
        of at most 100,000 preprocessed rows picks it in ``k_range`` (2 to 10).
    scale : {"standard", "sample", "robust", "minmax", None}, default="standard"
        As :class:`custseg.Segmenter`: population sd (``standard``), sample sd (``sample``),
        median/IQR, min–max, or none.
    log_transform : {None, "all", "auto"} or list of str, default=None
    clip : tuple of float, default=None
        Winsorizing quantiles, computed exactly (numpy's linear interpolation).
    impute : {"median", "mean"}, default="median"
        The median is exact (equal to ``np.nanmedian``), not ``percentile_approx``.
    seed : int or None, default=0
        Seed of Spark's initialisation (k-means||, bisecting, GMM).
    init_centers : array of shape (k, n_features), default=None
        Start k-means from these centres (scaled units): ``pyspark.ml.clustering.KMeans`` has
        no initial-model parameter in Python, so Lloyd iterations run as Spark DataFrame
        aggregates, with scikit-learn's stopping rule. Ignored for the other algorithms.
    algorithm : {"kmeans", "bisecting", "gmm"}, default="kmeans"
        ``pyspark.ml`` ``KMeans`` (k-means||), ``BisectingKMeans`` or ``GaussianMixture``.
        For all three a customer's segment is its nearest centroid (component mean, leaf
        centre), which is how a model file assigns on either engine.
    n_init : int, default=1
        k-means runs (seeds ``seed``, ``seed + 1``, …); the lowest cost is kept.
    max_iter : int, default=300
    tol : float, default=1e-4
    id_column : str, default=None
        Recorded in the model as its ID column.

    Returns
    -------
    SegmentModel

    Raises
    ------
    SchemaError
        A feature is empty or constant, a cell is not a number, or ``k`` exceeds the number of
        distinct customers.
    """
    return fit_spark_full(spark, df, features, k=k, scale=scale, log_transform=log_transform,
                          clip=clip, impute=impute, seed=seed, init_centers=init_centers,
                          algorithm=algorithm, n_init=n_init, max_iter=max_iter, tol=tol,
                          id_column=id_column, metrics=False).model


def fit_spark_full(spark: SparkSession, df: DataFrame, features: Sequence[str], *,
                   k: int | str, scale: str | None = "standard", log_transform: Any = None,
                   clip: tuple[float, float] | None = None, impute: str = "median",
                   seed: int | None = 0, init_centers: np.ndarray | None = None,
                   algorithm: str = "kmeans", n_init: int = 1, max_iter: int = 300,
                   tol: float = 1e-4, id_column: str | None = None,
                   keep: Sequence[str] = (), metrics: bool = True,
                   decimals: dict[str, str] | None = None,
                   known: tuple[int, dict[str, int]] | None = None,
                   k_range: tuple[int, int] = (2, 10), min_segment_share: float = 0.02,
                   k_sample: int = 100_000) -> SparkFit:
    """:func:`fit_spark`, also returning the assignments, inertia, metrics and timings.

    ``k="auto"`` chooses k in ``k_range`` with :func:`custseg.select.choose_k` on a uniform
    sample of at most ``k_sample`` preprocessed rows (its own sub-sampling rules apply inside),
    then fits on every row; the :class:`~custseg.select.Choice` is in
    :attr:`SparkFit.k_selection`.

    ``keep`` names columns of ``df`` carried into :attr:`SparkFit.assignments`; ``decimals``
    gives the decimal mark of text features (detected otherwise); ``known`` = (rows,
    {feature: non-missing cells}) of a table already checked for invalid cells (the job's row
    accounting), which saves a pass.
    """
    from pyspark.sql import functions as F

    features = [str(f) for f in features]
    validate_params("fit_spark", _PARAMS, {
        "k": k, "scale": scale, "log_transform": log_transform, "clip": clip, "impute": impute,
        "seed": seed, "algorithm": algorithm, "n_init": n_init, "max_iter": max_iter,
        "tol": float(tol) if isinstance(tol, int) and not isinstance(tol, bool) else tol,
        "init_centers": init_centers})
    missing = [f for f in [*features, *keep] if f not in df.columns]
    if missing:
        from .._exceptions import ColumnNotFoundError

        raise ColumnNotFoundError(missing[0], df.columns, what="column")
    d = len(features)
    if init_centers is not None:
        init_centers = np.asarray(init_centers, dtype=np.float64)
        if k == "auto" or init_centers.shape != (k, d):
            raise InvalidParameterError(f"init_centers must have shape ({k}, {d}); got "
                                        f"{init_centers.shape}.")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    Z, pre, n_rows = scaled_frame(df, features, keep=keep, decimals=decimals, known=known,
                                  impute=impute, log_transform=log_transform, clip=clip,
                                  scale=scale)
    timings["preprocess"] = time.perf_counter() - t
    t = time.perf_counter()
    zcols = [_zcol(j) for j in range(d)]
    xcols = [_xcol(j) for j in range(d)]
    variance = np.ones(d)
    if algorithm == "kmeans":  # scikit-learn's tolerance is relative to the variance
        r = Z.agg(*[F.var_pop(F.col(z)).alias(z) for z in zcols]).collect()[0]
        variance = np.array([float(r[z] or 0.0) for z in zcols])
    choice = None
    if k == "auto":
        choice = _choose_k_spark(Z, zcols, n_rows, k_range, algorithm=algorithm, seed=seed,
                                 min_share=min_segment_share, sample=k_sample)
        k = int(choice.k)
        timings["choose_k"] = time.perf_counter() - t
    centers, n_iter, algo = _cluster(spark, Z, zcols, k, algorithm=algorithm, seed=seed,
                                     init_centers=init_centers, n_init=n_init,
                                     max_iter=max_iter, tol=float(tol), variance=variance)
    timings["cluster"] = time.perf_counter() - t

    t = time.perf_counter()
    model, assigned, stats = _finish(Z, keep, features, pre, centers, algo, id_column, n_rows,
                                     k)
    Z.unpersist()
    model.algorithm["params"]["n_iter"] = n_iter
    inertia = stats["inertia"]
    timings["profile"] = time.perf_counter() - t
    out_metrics: dict[str, Any] = {"inertia": inertia}
    if metrics:
        t = time.perf_counter()
        out_metrics = quality_metrics_spark(assigned, zcols, stats, inertia, seed)
        timings["metrics"] = time.perf_counter() - t
    model.metrics = out_metrics
    result = assigned.select(*[col(c) for c in keep], SEG, DIST, PROB, *zcols, *xcols)
    return SparkFit(model, result, inertia, n_iter, out_metrics, timings, choice)


def _choose_k_spark(Z: DataFrame, zcols: list[str], n: int, k_range: tuple[int, int], *,
                    algorithm: str, seed: int | None, min_share: float, sample: int) -> Any:
    """:func:`custseg.select.choose_k` on a uniform sample of the preprocessed rows."""
    import warnings

    from ..select import choose_k

    fraction = min(1.0, 1.1 * sample / max(n, 1))
    rows = (Z.sample(False, fraction, seed=seed if seed is not None else 0)
            .select(*zcols).limit(sample).collect())
    M = np.array([[float(r[z]) for z in zcols] for r in rows], dtype=np.float64)
    n_distinct = len(np.unique(M, axis=0))
    lo, hi = k_range
    hi = min(hi, n_distinct - 1, len(M) - 1)
    if hi < lo:
        raise SchemaError(f"k='auto' needs more distinct customers than k_range's lower bound "
                          f"{lo} (there are {n_distinct} in the sample); set k explicitly.")
    choice = choose_k(M, range(lo, hi + 1), algorithm=algorithm if algorithm in (
        "kmeans", "bisecting", "gmm") else "kmeans", random_state=seed, min_share=min_share)
    if not choice.clear_segmentation:
        from .._segmenter import ClusteringWarning

        why = next((r for r in choice.reasons if r.startswith("No clear")), "")
        warnings.warn(f"No clear segment structure was found (k={choice.k} is the best of "
                      f"{lo}–{hi}). {why}", ClusteringWarning, stacklevel=3)
    return choice


def _finish(Z: DataFrame, keep: Sequence[str], features: list[str], pre: Preprocessor,
            centers: np.ndarray, algo: dict[str, Any], id_column: str | None, n: int, k: int
            ) -> tuple[SegmentModel, DataFrame, dict[str, Any]]:
    """Assign to the centres, number the segments, profile them and build the model.

    One ``rollup`` gives the per-cluster and overall aggregates; one more pass the exact
    per-segment quartiles and 99th-percentile distances.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    d = len(features)
    xs = [F.col(_xcol(j)) for j in range(d)]
    zs = [F.col(_zcol(j)) for j in range(d)]
    old = f"{INTERNAL}old"
    sq = f"{INTERNAL}sq"
    prob = f"{INTERNAL}p"
    best = F.expr(assignment_sql([sql_ident(_zcol(j)) for j in range(d)], centers, algo))
    staged = Z.select("*", best.alias(_BEST)).select(
        *[col(c) for c in Z.columns], F.col(f"{_BEST}.j").alias(old),
        F.col(f"{_BEST}.d").alias(sq), F.col(f"{_BEST}.p").alias(prob)
    ).persist(StorageLevel.MEMORY_AND_DISK)
    rows = staged.rollup(old).agg(
        F.count(F.lit(1)).alias("n"),
        *[F.count(x).alias(f"c{j}") for j, x in enumerate(xs)],
        *[F.avg(x).alias(f"m{j}") for j, x in enumerate(xs)],
        *[F.avg(z).alias(f"zm{j}") for j, z in enumerate(zs)],
        *[F.stddev_pop(z).alias(f"zs{j}") for j, z in enumerate(zs)],
        F.sum(sq).alias("inertia")).collect()
    overall = next(r for r in rows if r[old] is None)
    per_old = {int(r[old]): r for r in rows if r[old] is not None}
    sizes = np.array([int(per_old[j]["n"]) if j in per_old else 0 for j in range(len(centers))])
    if (sizes == 0).any():
        staged.unpersist()
        distinct = Z.select(*[_zcol(j) for j in range(d)]).distinct().count()
        if distinct < k:
            raise SchemaError(
                f"k={k} is larger than the number of distinct customers ({distinct} of "
                f"{n} rows after preprocessing). Use k <= {distinct}.")
        logger.warning("%d of %d clusters are empty; they are dropped.",
                       int((sizes == 0).sum()), len(centers))
        if algo.get("name") == "gmm":
            p = algo["params"]
            p["weights"] = [w for w, n_j in zip(p["weights"], sizes, strict=True) if n_j]
            p["covariances"] = [c for c, n_j in zip(p["covariances"], sizes, strict=True) if n_j]
        return _finish(Z, keep, features, pre, centers[sizes > 0], algo, id_column, n, k)
    stub = np.repeat(np.arange(len(centers), dtype=np.int64), sizes)
    _, centers, order = renumber(stub, centers)
    del stub
    if algo.get("name") == "gmm":
        p = algo["params"]
        p["weights"] = [p["weights"][i] for i in order]
        p["covariances"] = [p["covariances"][i] for i in order]
    new_of_old = np.empty(len(centers), dtype=np.int64)
    new_of_old[order] = np.arange(len(centers))
    mapping = F.array(*[F.lit(int(v)) for v in new_of_old])
    assigned = staged.select(*[col(c) for c in Z.columns],
                             mapping[F.col(old)].cast("long").alias(SEG),
                             F.sqrt(F.col(sq)).alias(DIST), F.col(prob).alias(PROB))
    per = {int(new_of_old[j]): r for j, r in per_old.items()}
    names_x = [_xcol(j) for j in range(d)]
    counts = {s: {**{names_x[j]: int(r[f"c{j}"]) for j in range(d)}, DIST: int(r["n"])}
              for s, r in per.items()}
    quant = exact_quantiles(assigned, [*names_x, DIST], [0.25, 0.5, 0.75, 0.99], group=SEG,
                            counts=counts)

    zmean = np.array([float(overall[f"zm{j}"]) for j in range(d)])
    zsd = np.array([float(overall[f"zs{j}"] or 0.0) for j in range(d)])
    zsd = np.where(zsd > 0, zsd, 1.0)
    distinct_feats: dict[int, list[tuple[str, float]]] = {}
    prof_rows = []
    for s in sorted(per):
        r = per[s]
        diff = (np.array([float(r[f"zm{j}"]) for j in range(d)]) - zmean) / zsd
        order_f = np.argsort(-np.abs(diff), kind="stable")
        distinct_feats[s] = [(features[j], float(diff[j])) for j in order_f]
        row: dict[str, Any] = {"segment": s, "segment_name": f"Segment {s}",
                               "size": int(r["n"]), "share": int(r["n"]) / n}
        for j, f in enumerate(features):
            mean = float(r[f"m{j}"]) if r[f"m{j}"] is not None else np.nan
            qs = quant[s][names_x[j]]
            om = overall[f"m{j}"]
            row[f"{f}_mean"] = mean
            row[f"{f}_median"] = float(qs[1])
            row[f"{f}_q25"] = float(qs[0])
            row[f"{f}_q75"] = float(qs[2])
            row[f"{f}_index"] = (100.0 * mean / float(om)
                                 if om not in (None, 0, 0.0) and np.isfinite(om) else np.nan)
        prof_rows.append(row)
    profiles = pd.DataFrame(prof_rows)
    names = segment_names(distinct_feats, indexes=profile_indexes(profiles))
    profiles["segment_name"] = profiles["segment"].map(names)
    descriptions = segment_descriptions(profiles, features, distinct_feats)
    centroids_orig = pre.inverse_transform_matrix(centers)
    segments = []
    for _, row in profiles.iterrows():
        s = int(row["segment"])
        segments.append({
            "id": s, "name": names[s], "description": descriptions[s],
            "size": int(row["size"]), "share": float(row["share"]),
            "centroid": centroids_orig[s].tolist(),
            "distance_q99": float(quant[s][DIST][3]),
            "distinguishing": [{"feature": f, "std_diff": v} for f, v in distinct_feats[s][:5]],
            "profile": {c: row[c] for c in profiles.columns
                        if c not in ("segment", "segment_name", "size", "share")},
        })
    inertia = float(overall["inertia"])
    model = SegmentModel(id_column=id_column, preprocessor=pre, centroids_scaled=centers,
                         segments=segments, algorithm=algo, engine="spark",
                         metrics={"inertia": inertia})
    model.profiles_ = profiles  # type: ignore[attr-defined]
    stats = {"inertia": inertia, "n": n,
             "sizes": {s: int(r["n"]) for s, r in per.items()},
             "zmeans": {s: np.array([float(r[f"zm{j}"]) for j in range(d)])
                        for s, r in per.items()}}
    return model, assigned, stats


# -------------------------------------------------------------------------------- metrics


def quality_metrics_spark(assigned: DataFrame, zcols: list[str], stats: dict[str, Any],
                          inertia: float, seed: int | None, sample: int = 10_000
                          ) -> dict[str, Any]:
    """Inertia, silhouette (on a random sample of ``sample`` rows), Calinski–Harabasz and
    Davies–Bouldin (on every row), with scikit-learn's definitions.

    ``stats`` holds the per-segment sizes and means of the scaled features (from the profile
    pass), so one more pass computes the within-segment dispersions.
    """
    from pyspark.sql import functions as F
    from sklearn.metrics import silhouette_score

    out: dict[str, Any] = {"inertia": inertia}
    zs = [sql_ident(z) for z in zcols]
    counts, means = stats["sizes"], stats["zmeans"]
    labels = sorted(counts)
    if len(labels) < 2:
        return out
    n = sum(counts.values())
    mean_all = sum(counts[s] * means[s] for s in labels) / n
    # distances to the segment means (not the model's centres), as scikit-learn
    m_expr = F.expr("CASE " + " ".join(f"WHEN {SEG} = {s} THEN sqrt({_sq_dist_sql(zs, means[s])})"
                                       for s in labels) + " END")
    within = assigned.select(SEG, m_expr.alias("dist")).groupBy(SEG).agg(
        F.sum(F.col("dist") * F.col("dist")).alias("w"), F.avg("dist").alias("s")).collect()
    W = sum(float(r["w"]) for r in within)
    intra = {int(r[SEG]): float(r["s"]) for r in within}
    B = sum(counts[s] * float(((means[s] - mean_all) ** 2).sum()) for s in labels)
    kk = len(labels)
    out["calinski_harabasz"] = float(1.0 if W == 0 else B * (n - kk) / (W * (kk - 1.0)))
    M = np.array([means[s] for s in labels])
    s_arr = np.array([intra[s] for s in labels])
    cd = np.sqrt(((M[:, None, :] - M[None, :, :]) ** 2).sum(-1))
    if np.allclose(s_arr, 0) or np.allclose(cd, 0):
        out["davies_bouldin"] = 0.0
    else:
        cd[cd == 0] = np.inf
        out["davies_bouldin"] = float(np.mean(np.max((s_arr[:, None] + s_arr) / cd, axis=1)))
    fraction = min(1.0, 1.2 * sample / max(n, 1))
    rows = (assigned.sample(withReplacement=False, fraction=fraction,
                            seed=seed if seed is not None else 0)
            .select(SEG, *zcols).limit(sample).collect())
    if rows:
        lab = np.array([int(r[SEG]) for r in rows])
        Zs = np.array([[float(r[z]) for z in zcols] for r in rows])
        if len(np.unique(lab)) >= 2 and len(lab) >= 3:
            out["silhouette"] = float(silhouette_score(Zs, lab))
        out["silhouette_sample_size"] = int(len(lab))
    return out


# --------------------------------------------------------------------------------- assign


def assign_spark(spark: SparkSession, model: SegmentModel, df: DataFrame, *,
                 keep: Sequence[str] = ()) -> DataFrame:
    """Assign the customers of a Spark DataFrame with a model fitted by either engine.

    The stored preprocessing (impute → log1p → clip → scale) and the nearest-centroid rule are
    Spark column expressions; no data goes through Python.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    model : SegmentModel
        E.g. ``custseg.load_model("out/model.json")``.
    df : pyspark.sql.DataFrame
        Holds the model's feature columns (numbers or text holding numbers) and, when the model
        has one, its ID column.
    keep : list of str, default=()
        Further columns of ``df`` to carry through, first.

    Returns
    -------
    pyspark.sql.DataFrame
        ``keep`` columns, the ID column (when the model has one and ``df`` holds it),
        ``segment``, ``segment_name``, ``distance`` (scaled units), ``margin`` (distance to the
        second-nearest centroid minus ``distance``), ``out_of_distribution`` (distance above
        1.5 × the segment's 99th-percentile training distance), and ``reason``: NULL for an
        assigned row, else ``invalid_value`` (a feature cell is not a number) or
        ``all_features_missing``, with NULL segment columns. Rows are never dropped.

    Raises
    ------
    SchemaError
        ``df`` lacks a feature column of the model.
    """
    from pyspark.sql import functions as F

    feats = model.features
    absent = [f for f in feats if f not in df.columns]
    if absent:
        raise SchemaError(
            f"The input lacks the model's feature column(s) {', '.join(map(repr, absent))}; "
            f"the model needs {', '.join(map(repr, feats))}. Rename the columns to match.")
    parsed = numeric_columns(df, feats)
    pre = model.preprocessor
    zsql = preprocess_sql(pre, [p.value_sql for p in parsed.values()])
    C = model.centroids_scaled
    ids = [int(i) for i in model.segment_ids]
    names = model.names
    q99 = [float(s.get("distance_q99", float("inf"))) for s in model.segments]
    invalid = " OR ".join(p.invalid_sql for p in parsed.values())
    all_missing = " AND ".join(p.missing_sql for p in parsed.values())
    reason = F.expr(f"CASE WHEN {invalid} THEN 'invalid_value' "
                    f"WHEN {all_missing} THEN 'all_features_missing' END")
    out_cols = [col(c) for c in keep]
    if model.id_column is not None and model.id_column in df.columns \
            and model.id_column not in keep:
        out_cols.append(col(model.id_column))
    zc = [f"{INTERNAL}z{j}" for j in range(len(feats))]
    scaled = df.select(*out_cols, reason.alias(f"{INTERNAL}reason"),
                       *[F.expr(z).alias(n) for z, n in zip(zsql, zc, strict=True)])
    zs = [sql_ident(n) for n in zc]
    best, second = f"{INTERNAL}best", f"{INTERNAL}second"
    keep_cols = [col(c) for c in scaled.columns if c not in zc]
    if model.algorithm.get("name") == "gmm" or len(C) == 1:
        staged = scaled.select(*keep_cols, *[col(c) for c in zc],
                               F.expr(assignment_sql(zs, C, model.algorithm)).alias(best))
        others = ", ".join(f"CASE WHEN {best}.j = {i} THEN CAST('Infinity' AS DOUBLE) "
                           f"ELSE {_sq_dist_sql(zs, c)} END" for i, c in enumerate(C))
        second_sq = f"least({others}, CAST('Infinity' AS DOUBLE))"
        staged = staged.select(*keep_cols, best, F.expr(second_sq).alias(second))
    else:
        parts = ", ".join(f"named_struct('d', {_sq_dist_sql(zs, c)}, 'j', {i})"
                          for i, c in enumerate(C))
        ranked = f"{INTERNAL}ranked"
        staged = scaled.select(*keep_cols, F.expr(f"array_sort(array({parts}))").alias(ranked))
        staged = staged.select(
            *keep_cols,
            F.expr(f"named_struct('d', {ranked}[0].d, 'j', {ranked}[0].j, "
                   "'p', CAST(NULL AS DOUBLE))").alias(best),
            F.expr(f"{ranked}[1].d").alias(second))
    j = F.col(f"{best}.j")
    dist = F.sqrt(F.col(f"{best}.d"))
    seg_ids = F.array(*[F.lit(i).cast("long") for i in ids])
    seg_names = F.array(*[F.lit(names[i]) for i in ids])
    limits = F.array(*[F.lit(OOD_FACTOR * q) for q in q99])
    rcol = F.col(f"{INTERNAL}reason")
    ok = rcol.isNull()
    extra = [F.when(ok, F.col(f"{best}.p")).alias("probability")] \
        if model.algorithm.get("name") == "gmm" else []
    return staged.select(
        *[col(c) for c in staged.columns if c not in (best, second, f"{INTERNAL}reason")],
        F.when(ok, seg_ids[j]).alias("segment"),
        F.when(ok, seg_names[j]).alias("segment_name"),
        F.when(ok, dist).alias("distance"),
        F.when(ok, F.sqrt(F.col(second)) - dist).alias("margin"),
        F.when(ok, dist > limits[j]).alias("out_of_distribution"),
        *extra, rcol.alias("reason"))
