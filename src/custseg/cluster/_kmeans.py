"""K-means with three methods: Lloyd and Elkan (custseg's fused numba kernels, scikit-learn's
partitions) and Hartigan–Wong (AS 136)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.exceptions import ConvergenceWarning

from .._exceptions import InvalidParameterError, SchemaError
from .._validation import RANDOM_STATE, Interval, Options, Predicate, validate_params
from ._base import CentroidMixin, as_generator, check_n_samples, check_X, sklearn_seed
from ._hartigan_wong import HW_EMPTY, HW_MAX_ITER, HW_QTRAN_LIMIT, hartigan_wong
from ._kernels import kmeans_plusplus
from ._lloyd import _init_rows, kmeans_fit

__all__ = ["KMeans"]

_INIT = [Options(frozenset({"k-means++"})),
         Predicate(lambda v: isinstance(v, np.ndarray) and v.ndim == 2,
                   'an array of initial centres of shape (n_clusters, n_features)')]


class KMeans(CentroidMixin, ClusterMixin, BaseEstimator):
    """K-means clustering: Lloyd, Elkan or Hartigan–Wong.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (>= 1).
    method : {"lloyd", "elkan", "hartigan-wong"}, default="lloyd"
        ``"lloyd"`` runs Lloyd's algorithm with custseg's fused numba kernel
        (:func:`custseg.cluster._lloyd.kmeans_fit`): one multithreaded pass over ``X`` per
        iteration assigns the rows and accumulates the new centres. For many clusters times
        features on large data (``n_clusters * n_features >= 256``, or 1024 with at most 8
        features, see :func:`custseg.cluster._lloyd.select_algorithm`) it switches to the
        bounds-based Hamerly kernel, which visits the same partitions. From an int
        ``random_state`` it makes scikit-learn's k-means++ draws, so it returns the partition
        of ``sklearn.cluster.KMeans(algorithm="lloyd")`` with the same seed. The result does
        not depend on the number of threads (partial sums are added in a fixed block order).
        ``"elkan"`` always runs the bounds-based kernel (Hamerly's bounds, a lighter form of
        Elkan's): the same partitions as ``"lloyd"`` and as scikit-learn's Elkan, fewer
        distances on well-separated data. ``"hartigan-wong"`` runs Algorithm AS 136 (optimal-
        and quick-transfer stages with live sets), as R's ``kmeans()`` does by default: from
        the same initial centres it returns R's partition. It moves single points whenever that
        lowers the within-cluster sum of squares, so it usually ends lower than Lloyd from the
        same start.
    init : "k-means++" or ndarray of shape (n_clusters, n_features), default="k-means++"
        Initial centres: greedy k-means++ seeding, or the given centres (then one run only,
        ``n_init`` is not used).
    n_init : int, default=10
        Number of k-means++ starts; the run with the lowest inertia is kept.
    init_size : int, "auto" or None, default="auto"
        Lloyd/Elkan only: rows the ``n_init`` starts run on. Each start is seeded and iterated
        to convergence on a uniform sample of that many rows; the one whose centres have the
        lowest inertia on all rows then starts the Lloyd iterations on all rows (the
        initialisation of scikit-learn's ``MiniBatchKMeans``, followed by full Lloyd). ``"auto"``
        samples ``max(100_000, 100 * n_clusters)`` rows when ``n_init > 1`` and there are at
        least four times as many rows, and uses all rows otherwise; ``None`` always uses all
        rows, as scikit-learn does (and then returns its partition from the same seed). On a
        million customers this makes ten starts cost about what one start on all rows costs.
    max_iter : int, default=300
        Maximum number of iterations of one run (for Hartigan–Wong: optimal-transfer passes,
        R's ``iter.max``).
    tol : float, default=1e-4
        Lloyd/Elkan only: relative tolerance on the centre shift (scikit-learn's meaning).
        Hartigan–Wong stops when a full pass moves no point, as AS 136 does.
    random_state : int, numpy random generator or None, default=None
        Seed of the k-means++ draws.
    dtype : {None, "float64", "float32"}, default=None
        Lloyd/Elkan only: the precision ``X`` is held in during the fit. ``None`` and
        ``"float64"`` convert the data to float64; ``"float32"`` keeps (or converts) it in
        float32, which halves the bytes each iteration reads. The assignment is still decided
        as in float64 (rows whose two nearest centres are within float32 rounding are re-decided
        in float64) and the centres, sums and inertia are float64, so the partition of the
        float32 values is unaffected; the values themselves are rounded to 24 bits.
        Hartigan–Wong always runs in float64.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres (means of their clusters).
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row.
    inertia_ : float
        Within-cluster sum of squared distances to the centres.
    n_iter_ : int
        Iterations of the kept run.
    init_rows_ : int
        Lloyd/Elkan only: rows the ``n_init`` starts ran on (``n_samples`` unless
        ``init_size`` sampled).
    n_clusters_ : int
        Number of clusters found (equals ``n_clusters``).
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster import KMeans
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> km = KMeans(n_clusters=2, method="hartigan-wong", random_state=0).fit(X)
    >>> sorted(np.bincount(km.labels_).tolist())
    [2, 2]
    >>> float(km.inertia_)
    1.0
    """

    _parameter_constraints = {
        "n_clusters": [Interval(int, 1, None)],
        "method": [Options(frozenset({"lloyd", "elkan", "hartigan-wong"}))],
        "init": _INIT,
        "n_init": [Interval(int, 1, None)],
        "max_iter": [Interval(int, 1, None)],
        "tol": [Interval(float, 0, None)],
        "random_state": RANDOM_STATE,
        "dtype": [Options(frozenset({None, "float64", "float32"}))],
        "init_size": [Options(frozenset({None, "auto"})), Interval(int, 1, None)],
    }

    def __init__(self, n_clusters: int = 8, *,
                 method: Literal["lloyd", "elkan", "hartigan-wong"] = "lloyd",
                 init: str | np.ndarray = "k-means++", n_init: int = 10, max_iter: int = 300,
                 tol: float = 1e-4, random_state: Any = None,
                 dtype: Literal["float64", "float32"] | None = None,
                 init_size: int | Literal["auto"] | None = "auto"):
        self.n_clusters = n_clusters
        self.method = method
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.dtype = dtype
        self.init_size = init_size

    def fit(self, X: Any, y: Any = None) -> KMeans:
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Preprocessed (scaled) feature matrix.
        y : ignored

        Returns
        -------
        self : KMeans

        Raises
        ------
        InvalidParameterError
            If a parameter is out of range, or ``init`` has the wrong shape.
        SchemaError
            If Hartigan–Wong cannot start (an initial centre has no nearest point).
        """
        validate_params(type(self).__name__, self._parameter_constraints, self.get_params())
        single = self.dtype == "float32" and self.method != "hartigan-wong"
        X = check_X(self, X, reset=True, dtype=np.float32 if single else np.float64)
        n, d = X.shape
        k = int(self.n_clusters)
        check_n_samples(n, k)
        given = isinstance(self.init, np.ndarray)
        if given and self.init.shape != (k, d):
            raise InvalidParameterError(
                f"The 'init' parameter of KMeans must have shape (n_clusters, n_features) = "
                f"({k}, {d}). Got {self.init.shape} instead.")
        if self.method == "hartigan-wong":
            self._fit_hartigan_wong(X, k, given)
        else:
            # "lloyd": the fused kernel, Hamerly where it wins; "elkan": always the bounds
            init = np.asarray(self.init, dtype=np.float64) if given else "k-means++"
            # the rows the starts run on, decided once: kmeans_fit takes such a size as it is
            rows = None if given else _init_rows(self.init_size, n, k, int(self.n_init))
            C, labels, inertia, n_iter = kmeans_fit(
                X, k, n_init=1 if given else int(self.n_init), init=init,
                random_state=sklearn_seed(self.random_state), max_iter=int(self.max_iter),
                tol=float(self.tol), algorithm="hamerly" if self.method == "elkan" else "auto",
                init_size=rows)
            self.init_rows_ = rows or n
            self.cluster_centers_ = C
            self.labels_ = labels.astype(np.int64)
            self.inertia_ = float(inertia)
            self.n_iter_ = int(n_iter)
        self.n_clusters_ = k
        return self

    def _fit_hartigan_wong(self, X: np.ndarray, k: int, given: bool) -> None:
        n = X.shape[0]
        if k == 1 or k == n:
            # AS 136 needs 2 <= k < m; both ends have one answer (R does the same for k = 1)
            labels = np.zeros(n, dtype=np.int64) if k == 1 else np.arange(n, dtype=np.int64)
            centers = X.mean(axis=0, keepdims=True) if k == 1 else X.copy()
            self.cluster_centers_, self.labels_, self.n_iter_ = centers, labels, 1
            self.inertia_ = float(((X - centers[labels]) ** 2).sum())
            return
        rng = as_generator(self.random_state)
        max_qtran = min(np.iinfo(np.int32).max, 50 * n)
        best = None
        faults = []
        n_runs = 1 if given else int(self.n_init)
        for _ in range(n_runs):
            C0 = (np.ascontiguousarray(self.init, dtype=np.float64) if given
                  else kmeans_plusplus(X, k, rng))
            C, labels, wss, n_iter, ifault = hartigan_wong(X, C0, int(self.max_iter), max_qtran)
            if ifault == HW_EMPTY:
                faults.append(ifault)
                continue
            if ifault in (HW_MAX_ITER, HW_QTRAN_LIMIT):
                faults.append(ifault)
            inertia = float(wss.sum())
            if best is None or inertia < best[2]:
                best = (C, labels, inertia, n_iter)
        if best is None:
            if given:
                raise InvalidParameterError(
                    "Hartigan-Wong cannot start: an initial centre in 'init' is the nearest "
                    "centre of no row (empty cluster). Pass distinct centres that lie among the "
                    "data, e.g. k rows of X.")
            raise SchemaError(
                f"Hartigan-Wong found fewer than n_clusters={k} distinct groups: X has too few "
                "distinct rows. Ask for fewer clusters.")
        if HW_MAX_ITER in faults:
            warnings.warn(f"Hartigan-Wong did not converge in max_iter={self.max_iter} "
                          "iterations; increase max_iter.", ConvergenceWarning, stacklevel=3)
        if HW_QTRAN_LIMIT in faults:
            warnings.warn(f"Hartigan-Wong stopped: quick-transfer steps exceeded the maximum "
                          f"(= {max_qtran}), as R warns; the result is the partition reached.",
                          ConvergenceWarning, stacklevel=3)
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the inertia of ``X`` on the fitted centres (higher is better)."""
        labels = self.predict(X)
        X = check_X(self, X, reset=False)
        return -float(((X - self.cluster_centers_[labels]) ** 2).sum())
