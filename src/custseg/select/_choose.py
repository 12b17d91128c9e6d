"""Choose the number of segments: many criteria, explicit guards, one recommendation with reasons."""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numba
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as _SkGaussianMixture
from threadpoolctl import threadpool_limits

from .._exceptions import InvalidParameterError, SchemaError
from .._validation import NONE, RANDOM_STATE, Interval, Options, Predicate, validate_params
from ..cluster._base import as_generator
from ..cluster._bisecting import Bisecting
from ..cluster._kernels import assign_labels, extend_centers, kmeans_best_of
from ..cluster._twostep import TwoStep
from ._gap import gap_choice, gap_statistic
from ._metrics import knee_index, partition_scores, silhouettes
from ._stability import bootstrap_stability

__all__ = ["Choice", "choose_k", "SAMPLE_SIZES"]

logger = logging.getLogger(__name__)

#: Rows (at most) behind each step; the whole data when it has fewer rows.
SAMPLE_SIZES = {
    "fit": 20_000,        # the clusterings at every k are fitted on this many rows
    "gap": 1_000,         # gap statistic: data and each uniform reference (a fixed size, so
                          # that its standard errors, and GAP_MARGIN, mean the same at any n)
    "bic": 5_000,         # Gaussian mixtures
    "stability": 2_000,   # rows labelled by every bootstrap fit
}
BIC_FULL_UP_TO = 10       # BIC mixtures: full covariances up to this many features, then diagonal
GAP_MARGIN = 5.0          # standard errors by which some Gap(k) must beat Gap(1)
GAP_REL_TOL = 0.1         # a further gap gain under 10 % of the gain so far is no new segment
GAP_REFERENCES = 10       # uniform reference sets of the gap statistic
N_INIT = 3                # k-means++ starts per k (plus one warm start from k - 1)
SCREEN_ITER = 10          # on samples over 5,000 rows only the best start after 10 iterations
                          # runs on to convergence
N_INIT_BOOTSTRAP = 2      # the same on each bootstrap resample
SILHOUETTE_WEAK = 0.25    # Kaufman & Rousseeuw: below this, "no substantial structure"
CRITERIA = ("silhouette", "calinski_harabasz", "davies_bouldin", "gap", "bic")
SEPARATION = ("silhouette", "calinski_harabasz", "davies_bouldin")
_BOXES = {"pca": "principal-axes box", "axes": "feature box"}
ALGORITHMS = ("kmeans", "minibatch", "bisecting", "twostep", "gmm")

_LABELS = {"silhouette": "silhouette", "calinski_harabasz": "Calinski–Harabasz",
           "davies_bouldin": "Davies–Bouldin", "gap": "gap statistic", "bic": "BIC"}


@dataclass
class Choice:
    """The recommended number of segments and the evidence behind it.

    Attributes
    ----------
    k : int
        Recommended number of segments (returned even when ``clear_segmentation`` is False).
    table : pandas.DataFrame
        One row per candidate k: ``k``, ``inertia``, ``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin``, ``gap``, ``gap_se``, ``bic``, ``stability``, ``min_share``,
        ``knee`` (the elbow of the inertia curve), ``admissible`` (smallest segment large
        enough), ``stable``, ``votes`` (criteria preferring this k) and ``chosen``.
    reasons : list of str
        Short sentences explaining the recommendation, for people and for ``summary.json``.
    clear_segmentation : bool
        False when the data show no convincing segments (see :func:`choose_k`).
    sample_size : int
        Rows in the silhouette sample.
    n_samples : int
        Rows in the data.
    algorithm : str
        Clustering algorithm the candidates were fitted with.
    sample_sizes : dict
        Rows behind each step (``fit``, ``silhouette``, ``gap``, ``bic``, ``stability``).
    votes : dict
        Criterion → the k it prefers among the eligible candidates, the three family votes
        (``family_separation``, ``family_gap``, ``family_bic``), and ``gap_k1``: whether the
        gap statistic finds no more structure than in one group (``gap_k1_pca`` and
        ``gap_k1_axes`` per reference box; the feature box is skipped, None, when it cannot
        change the verdict).
    timings : dict
        Seconds spent in each step.
    bic_covariance : str
        Covariance type of the mixtures behind the ``bic`` column (``"full"`` or ``"diag"``).
    """

    k: int
    table: pd.DataFrame
    reasons: list[str]
    clear_segmentation: bool
    sample_size: int
    n_samples: int
    algorithm: str
    sample_sizes: dict[str, int] = field(default_factory=dict)
    votes: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    bic_covariance: str = "full"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (NaN becomes None), for ``summary.json``."""
        def clean(v: Any) -> Any:
            if isinstance(v, dict):
                return {str(a): clean(b) for a, b in v.items()}
            if isinstance(v, list | tuple):
                return [clean(b) for b in v]
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return clean({
            "k": int(self.k),
            "clear_segmentation": bool(self.clear_segmentation),
            "reasons": list(self.reasons),
            "algorithm": self.algorithm,
            "n_samples": int(self.n_samples),
            "sample_size": int(self.sample_size),
            "sample_sizes": dict(self.sample_sizes),
            "votes": dict(self.votes),
            "timings": dict(self.timings),
            "bic_covariance": self.bic_covariance,
            "table": self.table.to_dict(orient="records"),
        })


@contextlib.contextmanager
def _threads(n_jobs: int | None) -> Iterator[None]:
    if n_jobs is None:
        yield
        return
    before = numba.get_num_threads()
    limit = numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(limit if n_jobs < 0 else min(n_jobs, limit))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _subsample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size, replace=False))


# -- the clusterings at every k ------------------------------------------------------------------
Predict = Callable[[np.ndarray, int], np.ndarray]


def _nearest(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    labels = np.empty(X.shape[0], dtype=np.int64)
    assign_labels(X, np.ascontiguousarray(C), labels, np.empty(X.shape[0]))
    return labels


def _fit_path(algorithm: str, X: np.ndarray, ks: list[int], rng: np.random.Generator,
              n_init: int) -> tuple[dict[int, np.ndarray], Predict]:
    """Fit ``algorithm`` at every k on ``X``: (centres per k, ``predict(rows, k)``)."""
    if algorithm in ("kmeans", "minibatch"):
        centers: dict[int, np.ndarray] = {}
        prev = None
        for k in ks:
            warm = [extend_centers(X, prev, k, rng)] if prev is not None else []
            C, _, _, _ = kmeans_best_of(X, k, rng, n_init=n_init, warm=warm,
                                        screen_iter=SCREEN_ITER if len(X) > 5_000 else None)
            centers[k] = prev = C
        return centers, lambda rows, k: _nearest(rows, centers[k])
    if algorithm in ("bisecting", "twostep"):
        cls = Bisecting if algorithm == "bisecting" else TwoStep
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = cls(n_clusters=max(ks), random_state=_seed(rng)).fit(X)
        if algorithm == "bisecting":
            centers = {k: model.tree_.centers_at(k) for k in ks if k <= model.n_clusters_}
        else:
            centers = {k: model.centers_at(k) for k in ks if k <= model.n_clusters_}
        return centers, lambda rows, k: model.predict_at(rows, k)
    models = {}
    prev = None
    for k in ks:  # gmm: full covariances, EM started from a k-means partition
        warm = [extend_centers(X, prev, k, rng)] if prev is not None else []
        C, _, _, _ = kmeans_best_of(X, k, rng, n_init=n_init, warm=warm)
        prev = C
        models[k] = _mixture(X, C, "full", _seed(rng))
    centers = {k: m.means_ for k, m in models.items()}
    return centers, lambda rows, k: models[k].predict(rows).astype(np.int64)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Renumber labels to 0 .. (number of distinct labels) - 1."""
    _, inv = np.unique(labels, return_inverse=True)
    return inv.astype(np.int64).reshape(-1)


# -- the recommendation --------------------------------------------------------------------------
def _votes(table: pd.DataFrame, eligible: list[int], gap: dict[int, float],
           gap_se: dict[int, float]) -> dict[str, int | None]:
    """The k each criterion prefers among the eligible candidates."""
    t = table.set_index("k").loc[eligible]
    votes: dict[str, int | None] = {}
    for name, best in (("silhouette", "max"), ("calinski_harabasz", "max"),
                       ("davies_bouldin", "min"), ("bic", "min")):
        col = t[name].dropna()
        votes[name] = None if col.empty else int(col.idxmax() if best == "max" else col.idxmin())
    # no k passing Tibshirani's rule means the gap is still rising at the largest k (as it
    # does for elongated segments): the gap statistic abstains rather than vote for that k
    votes["gap"] = gap_choice(gap, gap_se, eligible, rel_tol=GAP_REL_TOL)
    return votes


def _family_votes(votes: dict[str, int | None]) -> dict[str, int | None]:
    """One vote per family: separation (majority of its three indices, else the silhouette's),
    reference (gap) and likelihood (BIC)."""
    sep = [votes[c] for c in SEPARATION if votes[c] is not None]
    if sep:
        counts = {k: sep.count(k) for k in sep}
        top = max(counts.values())
        sep_k = (max(counts, key=counts.get) if top >= 2
                 else votes["silhouette"] if votes["silhouette"] is not None else sep[0])
    else:
        sep_k = None
    return {"separation": sep_k, "gap": votes["gap"], "bic": votes["bic"]}


def _fmt_ks(ks: Iterable[int]) -> str:
    return ", ".join(str(k) for k in ks)


def _recommend(table: pd.DataFrame, gaps: dict[str, tuple[dict[int, float], dict[int, float]]],
               min_share: float, stability_threshold: float, n_bootstrap: int
               ) -> tuple[int, bool, list[str], dict[str, Any], pd.DataFrame]:
    gap, gap_se = gaps["pca"]
    ks = table["k"].tolist()
    table = table.copy()
    table["admissible"] = table["min_share"] >= min_share
    if n_bootstrap >= 2:
        table["stable"] = table["stability"] >= stability_threshold
    else:
        table["stable"] = True
    reasons: list[str] = []
    admissible = table.loc[table["admissible"], "k"].tolist()
    small = [k for k in ks if k not in admissible]
    if small:
        reasons.append(f"k = {_fmt_ks(small)} left out: a segment would hold less than "
                       f"{min_share:.1%} of the customers.")
    if not admissible:
        admissible = ks
        reasons.append("Every candidate k has a segment below the minimum share; all were kept.")
    t = table.set_index("k")
    stable = [k for k in admissible if bool(t.loc[k, "stable"])]
    unstable = [k for k in admissible if k not in stable]
    if stable and unstable and n_bootstrap >= 2:
        reasons.append(f"k = {_fmt_ks(unstable)} left out as unstable: bootstrap refits agree "
                       f"less than ARI {stability_threshold:.2f}.")
    eligible = stable or admissible
    if not stable and n_bootstrap >= 2:
        reasons.append(f"No admissible k is stable under resampling (ARI >= "
                       f"{stability_threshold:.2f}); choosing among all admissible k.")
    votes = _votes(table, eligible, gap, gap_se)
    family = _family_votes(votes)
    counts = {k: sum(1 for v in family.values() if v == k) for k in eligible}

    def rank(k: int) -> tuple:
        stab = t.loc[k, "stability"]
        sil = t.loc[k, "silhouette"]
        return (counts[k], -1.0 if np.isnan(stab) else stab,
                -1.0 if np.isnan(sil) else sil, -k)

    named = [v for v in family.values() if v is not None]
    if len(named) == 3 and len(set(named)) == 3:
        # complete disagreement: the middle k, bracketed by the other two
        k_best = int(np.median(named))
    else:
        k_best = max(eligible, key=rank)
    table["votes"] = [counts.get(k, 0) for k in ks]
    table["chosen"] = table["k"] == k_best
    reasons.insert(0, _vote_sentence(k_best, votes, family))

    # -- is there a segmentation at all? -----------------------------------------------------
    one_group = {box: _gap_prefers_one(*g) for box, g in gaps.items()}
    gap_k1 = any(one_group.values())
    sil = float(t.loc[k_best, "silhouette"])
    stab = float(t.loc[k_best, "stability"])
    share = float(t.loc[k_best, "min_share"])
    reasons.append(f"Silhouette at k = {k_best} is {sil:.2f} "
                   f"({_silhouette_word(sil)} structure, Kaufman & Rousseeuw).")
    if n_bootstrap >= 2:
        reasons.append(f"Stability at k = {k_best}: mean ARI {stab:.2f} over {n_bootstrap} "
                       "bootstrap refits.")
    reasons.append(f"Smallest segment at k = {k_best} holds {share:.1%} of the customers.")
    problems = []
    if gap_k1:
        boxes = " and ".join(_BOXES[b] for b, flat in one_group.items() if flat)
        problems.append("the gap statistic finds no more structure than in uniform noise "
                        f"over the data's {boxes} (it prefers a single group, k = 1)")
    if not sil >= SILHOUETTE_WEAK:
        problems.append(f"the silhouette is below {SILHOUETTE_WEAK}")
    if n_bootstrap >= 2 and not stab >= stability_threshold:
        problems.append("the partition is not stable under resampling")
    if not share >= min_share:
        problems.append("a segment is below the minimum share")
    clear = not problems
    if clear:
        reasons.append("The data show a clear segmentation.")
    else:
        reasons.append("No clear segmentation: " + "; ".join(problems) + f". k = {k_best} is "
                       "the best available split, not a natural grouping.")
    info = {**votes, **{f"family_{a}": b for a, b in family.items()}, "gap_k1": bool(gap_k1),
            **{f"gap_k1_{b}": (bool(one_group[b]) if b in one_group else None)
               for b in _BOXES}, "gap_1": gap.get(1)}
    return k_best, clear, reasons, info, table


def _gap_prefers_one(gap: dict[int, float], gap_se: dict[int, float]) -> bool:
    """True when no k has a gap more than ``GAP_MARGIN`` standard errors above Gap(1).

    Tibshirani's own test (``Gap(1) >= Gap(2) - s_2``) misses data whose best two-way split
    is no better than the reference's although six segments are obvious; comparing every k
    with k = 1 does not. The margin is wide because on uniform data in a square the PCA box
    reference is itself a little off (differences up to about 3 standard errors were seen),
    while real segments give tens of standard errors.
    """
    if 1 not in gap:
        return False
    return all(gap[k] - gap[1] < GAP_MARGIN * gap_se[k] for k in gap if k > 1)


def _needs_second_box(gap: dict[int, float], gap_se: dict[int, float]) -> bool:
    """Whether the feature-box reference can change the no-structure verdict.

    Not when the principal-axes box already finds no structure (one test suffices), nor when
    it finds far more than the margin asks (``4 * GAP_MARGIN`` standard errors): segments
    that stand out that much from the principal-axes box stand out more from the feature box,
    which contains it with room to spare.
    """
    if 1 not in gap or _gap_prefers_one(gap, gap_se):
        return False
    best = max(((gap[k] - gap[1]) / gap_se[k] for k in gap if k > 1 and gap_se[k] > 0),
               default=0.0)
    return best < 4 * GAP_MARGIN


def _vote_sentence(k_best: int, votes: dict[str, int | None],
                   family: dict[str, int | None]) -> str:
    names = {"separation": "the separation indices", "gap": "the gap statistic",
             "bic": "the BIC"}
    sep = ", ".join(f"{_LABELS[c]} {votes[c]}" for c in SEPARATION if votes[c] is not None)
    pro = [names[f] for f, v in family.items() if v == k_best]
    con = [f"{names[f]} point{'' if names[f].endswith('indices') else 's'} to k = {v}"
           for f, v in family.items() if v is not None and v != k_best]
    n_voting = sum(v is not None for v in family.values())
    text = (f"k = {k_best} is recommended by {len(pro)} of {n_voting} kinds of evidence "
            f"({', '.join(pro) or 'tie-break'})")
    if con:
        text += f"; {'; '.join(con)}"
    named = [v for v in family.values() if v is not None]
    if len(named) == 3 and len(set(named)) == 3:
        text += "; with three different answers the middle one is taken"
    return text + f"; separation indices: {sep}."


def _silhouette_word(s: float) -> str:
    if not s >= 0.25:
        return "no substantial"
    if s < 0.5:
        return "weak"
    if s < 0.7:
        return "reasonable"
    return "strong"


# -- the public function -------------------------------------------------------------------------
_CONSTRAINTS = {
    "k_range": [Predicate(
        lambda v: not isinstance(v, str | bytes) and len(list(v)) > 0
        and all(isinstance(k, int | np.integer) and not isinstance(k, bool) and k >= 2
                for k in v),
        "a non-empty collection of ints >= 2")],
    "algorithm": [Options(frozenset(ALGORITHMS))],
    "random_state": RANDOM_STATE,
    "silhouette_sample": [Interval(int, 2, None)],
    "n_bootstrap": [Interval(int, 0, None)],
    "min_share": [Interval(float, 0, 1, closed="left")],
    "stability_threshold": [Interval(float, -1, 1)],
    "n_jobs": [NONE, Interval(int, -1, None)],
}


def choose_k(X: Any, k_range: Iterable[int] = range(2, 11), *,
             algorithm: Literal["kmeans", "minibatch", "bisecting", "twostep", "gmm"] = "kmeans",
             random_state: Any = None, silhouette_sample: int = 10_000, n_bootstrap: int = 10,
             min_share: float = 0.02, stability_threshold: float = 0.75,
             n_jobs: int | None = None) -> Choice:
    """Recommend a number of segments, with the table of evidence and the reasons.

    Every candidate k is fitted once, on a sample of at most 20,000 rows (k-means: the best
    of three k-means++ starts and a warm start from the k - 1 solution; on large samples only
    the start that leads after 10 iterations is run to convergence). Every row of ``X`` is
    then assigned, and these metrics are computed:

    ==================  =======================================  ==========================
    column              meaning                                  rows used
    ==================  =======================================  ==========================
    inertia             within-segment sum of squares            all
    calinski_harabasz   between/within dispersion ratio (max)    all
    davies_bouldin      mean worst-neighbour similarity (min)    all
    min_share           share of the smallest segment            all
    silhouette          mean silhouette (max)                    ``silhouette_sample``,
                                                                 one fixed sample for all k
    gap, gap_se         gap statistic and its standard error     1,000; 10 uniform references
                        (Tibshirani et al. 2001; k-means WSS,    in the box of the principal
                        reference in the PCA-aligned box)        axes (10 more in the feature
                                                                 box for the no-structure
                                                                 test)
    bic                 Gaussian mixture BIC (min; full          5,000
                        covariances up to 10 features, then
                        diagonal)
    stability           mean ARI between fits on bootstrap       2,000
                        resamples (all pairs)
    knee                the elbow of the inertia curve           (kneedle)
    ==================  =======================================  ==========================

    **Combination rule.**

    1. *Guards.* A k is *admissible* when its smallest segment holds at least ``min_share``
       of the rows, and *stable* when its stability is at least ``stability_threshold``. The
       eligible candidates are the admissible stable ones; if there are none, the admissible
       ones; if none, all.
    2. *Three kinds of evidence, one vote each*, among the eligible candidates:

       * *separation*: the k preferred by at least two of silhouette (max),
         Calinski–Harabasz (max) and Davies–Bouldin (min); if all three differ, the
         silhouette's. The three indices measure the same thing (compact, well separated
         groups) and fail together — they merge nearby segments and lose sight of segments
         when noise features are present — so together they count once;
       * *gap*: the smallest k after which the gap statistic stops growing — by
         Tibshirani's rule (``Gap(k) >= Gap(k+1) - s_{k+1}``) or because the next gain is
         below 10 % of the gain already made (the standard errors shrink with n, so at large n
         Tibshirani's rule alone counts tiny gains, such as splitting elongated segments, as
         new structure). If no eligible k qualifies, the gap is still rising at the largest k
         and the gap statistic abstains;
       * *likelihood*: the lowest BIC of Gaussian mixtures (full covariances up to 10
         features, diagonal beyond, where a full matrix per segment has too many parameters).
         It finds segments that noise features hide from the separation indices; with
         diagonal covariances it would split every elongated segment.

    3. *Recommendation.* The k with the most votes. If the three name three different k,
       the middle one (each of the others is contradicted by a vote on its far side); other
       ties go to the more stable k, then the higher silhouette, then the smaller k. The
       elbow (``knee``) is reported, not voted: on its own it is the least reliable
       criterion.
    4. *Is there a segmentation at all?* ``clear_segmentation`` is False when any of these
       holds: no k has a gap statistic more than 5 standard errors above ``Gap(1)`` — no
       more structure than uniform noise spread over the data's principal-axes box, or over
       its feature box (the first catches elongated clouds, the second squares and cubes,
       whose principal axes are arbitrary); the gap uses a fixed 1,000-row sample so this
       test means the same at any n; the silhouette at the chosen k is below 0.25 ("no
       substantial structure", Kaufman & Rousseeuw); the chosen k is not stable; or its
       smallest segment is below ``min_share``. The best k is still returned, and the
       reasons say which test failed.

    On generated data with known segments (``benchmarks/bench_quality.py``) this rule finds
    the true k more often than any single criterion, the silhouette or the elbow alone.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Preprocessed (scaled) features.
    k_range : iterable of int, default=range(2, 11)
        Candidate numbers of segments (each >= 2 and < n_samples).
    algorithm : {"kmeans", "minibatch", "bisecting", "twostep", "gmm"}, default="kmeans"
        Clustering of the candidates. ``"minibatch"`` uses k-means on the fit sample (which is
        small enough); ``"bisecting"`` and ``"twostep"`` are fitted once and cut at every k;
        ``"gmm"`` fits a full-covariance mixture per k (EM started from k-means). The gap
        statistic always uses k-means.
    random_state : int, numpy random generator or None, default=None
        Seed of every sample, start and resample.
    silhouette_sample : int, default=10_000
        Rows of the fixed silhouette sample (exact silhouette on that sample).
    n_bootstrap : int, default=10
        Bootstrap resamples for the stability column (0 or 1 switches it off).
    min_share : float, default=0.02
        Smallest admissible segment, as a share of the rows.
    stability_threshold : float, default=0.75
        Mean ARI from which a k counts as stable.
    n_jobs : int or None, default=None
        Threads for the numba kernels (``None``: numba's default, all cores; -1: all cores).

    Returns
    -------
    Choice

    Raises
    ------
    InvalidParameterError
        If a parameter is invalid or ``k_range`` reaches ``n_samples``.
    SchemaError
        If ``X`` is not a finite 2-D numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.select import choose_k
    >>> rng = np.random.default_rng(0)
    >>> centres = np.array([[0, 0], [8, 0], [0, 8]])
    >>> X = np.concatenate([c + rng.normal(size=(200, 2)) for c in centres])
    >>> choice = choose_k(X, range(2, 7), random_state=0)
    >>> choice.k, choice.clear_segmentation
    (3, True)
    """
    params = {"k_range": k_range, "algorithm": algorithm, "random_state": random_state,
              "silhouette_sample": silhouette_sample, "n_bootstrap": n_bootstrap,
              "min_share": min_share, "stability_threshold": stability_threshold,
              "n_jobs": n_jobs}
    if isinstance(k_range, Iterator):
        params["k_range"] = k_range = list(k_range)
    validate_params("choose_k", _CONSTRAINTS, params)
    X = _check_matrix(X)
    n = X.shape[0]
    ks = sorted({int(k) for k in k_range})
    if ks[-1] >= n:
        raise InvalidParameterError(
            f"The 'k_range' parameter of choose_k must stay below the number of rows ({n}). "
            f"Got a largest k of {ks[-1]} instead.")
    rng = as_generator(random_state)
    with _threads(n_jobs):
        return _choose(X, ks, algorithm, rng, int(silhouette_sample), int(n_bootstrap),
                       float(min_share), float(stability_threshold))


def _check_matrix(X: Any) -> np.ndarray:
    try:
        X = np.ascontiguousarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"choose_k needs a numeric matrix; converting X failed: {exc}") from exc
    if X.ndim != 2 or X.shape[0] < 3 or X.shape[1] < 1:
        raise SchemaError(f"choose_k needs a 2-D matrix with at least 3 rows and 1 column; got "
                          f"shape {X.shape}.")
    if not X.flags.writeable:  # numba kernels are compiled for writeable arrays
        X = X.copy()
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise SchemaError(f"choose_k needs finite values; X[{bad[0]}, {bad[1]}] is "
                          f"{X[bad[0], bad[1]]}. Impute or drop missing values first.")
    return X


def _choose(X: np.ndarray, ks: list[int], algorithm: str, rng: np.random.Generator,
            silhouette_sample: int, n_bootstrap: int, min_share: float,
            stability_threshold: float) -> Choice:
    n = X.shape[0]
    timings: dict[str, float] = {}
    tick = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal tick
        now = time.perf_counter()
        timings[step] = round(now - tick, 4)
        tick = now

    fit_idx = _subsample(n, SAMPLE_SIZES["fit"], rng)
    Xf = np.ascontiguousarray(X[fit_idx])
    centers, predict = _fit_path(algorithm, Xf, ks, rng, N_INIT)
    ks_fit = [k for k in ks if k in centers]
    if len(ks_fit) < len(ks):
        logger.warning("choose_k: %s could form only up to k = %d clusters.", algorithm,
                       max(ks_fit))
    ks = ks_fit
    lap("fit")

    # every row assigned at every k; inertia, CH, DB, segment shares on all rows
    labels = np.empty((len(ks), n), dtype=np.int64)
    rows = []
    for q, k in enumerate(ks):
        labels[q] = predict(X, k)
        sc = partition_scores(X, labels[q], k)
        sizes = np.bincount(labels[q], minlength=k)
        rows.append({"k": k, "inertia": sc["inertia"], "calinski_harabasz":
                     sc["calinski_harabasz"], "davies_bouldin": sc["davies_bouldin"],
                     "min_share": float(sizes.min() / n)})
    table = pd.DataFrame(rows)
    lap("assign_and_scores")

    # silhouette on one fixed sample, all k in one pass
    sil_idx = _subsample(n, silhouette_sample, rng)
    compact = np.array([_compact(lab) for lab in labels[:, sil_idx]])
    table["silhouette"] = silhouettes(X[sil_idx], compact)
    lap("silhouette")

    # gap statistic (k-means) on a sub-sample of the fit sample, k = 1 .. max + 1
    gap_idx = _subsample(len(fit_idx), SAMPLE_SIZES["gap"], rng)
    Xg = np.ascontiguousarray(Xf[gap_idx])
    ks_gap = [k for k in range(1, ks[-1] + 2) if k < len(gap_idx)]
    gap, gap_se, logw = gap_statistic(Xg, ks_gap, rng, n_references=GAP_REFERENCES)
    gaps = {"pca": (gap, gap_se)}
    if _needs_second_box(gap, gap_se):
        g2, s2, _ = gap_statistic(Xg, ks_gap, rng, n_references=GAP_REFERENCES, box="axes",
                                  data=logw)
        gaps["axes"] = (g2, s2)
    table["gap"] = [gap.get(k, np.nan) for k in ks]
    table["gap_se"] = [gap_se.get(k, np.nan) for k in ks]
    lap("gap")

    # BIC of Gaussian mixtures started from the clusters' means
    bic_idx = _subsample(len(fit_idx), SAMPLE_SIZES["bic"], rng)
    Xb = Xf[bic_idx]
    table["bic"] = [_bic(Xb, centers[k], _seed(rng)) for k in ks]
    lap("bic")

    # bootstrap stability on a sub-sample of the fit sample
    st_idx = _subsample(len(fit_idx), SAMPLE_SIZES["stability"], rng)
    Xs = np.ascontiguousarray(Xf[st_idx])

    def fit_path(Xboot: np.ndarray, Xref: np.ndarray, r: np.random.Generator):
        fitted, pred = _fit_path(algorithm, Xboot, ks, r, N_INIT_BOOTSTRAP)
        # a hierarchy grown on a resample with few distinct rows may stop early: one group
        return {k: _compact(pred(Xref, k)) if k in fitted
                else np.zeros(len(Xref), dtype=np.int64) for k in ks}

    stab = bootstrap_stability(Xs, ks, fit_path, rng, n_bootstrap)
    table["stability"] = [stab[k] for k in ks]
    lap("stability")

    knee = knee_index(np.array(ks), table["inertia"].to_numpy())
    table["knee"] = [i == knee for i in range(len(ks))]

    k_best, clear, reasons, votes, table = _recommend(table, gaps, min_share,
                                                      stability_threshold, n_bootstrap)
    if knee is not None:
        reasons.append(f"The elbow of the inertia curve is at k = {ks[knee]} (reported only).")
    columns = ["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "gap",
               "gap_se", "bic", "stability", "min_share", "knee", "admissible", "stable",
               "votes", "chosen"]
    sizes = {"fit": len(fit_idx), "silhouette": len(sil_idx), "gap": len(gap_idx),
             "bic": len(bic_idx), "stability": len(st_idx) if n_bootstrap else 0}
    return Choice(k=int(k_best), table=table[columns], reasons=reasons,
                  clear_segmentation=bool(clear), sample_size=len(sil_idx), n_samples=n,
                  algorithm=algorithm, sample_sizes=sizes, votes=votes, timings=timings,
                  bic_covariance=_bic_covariance(X.shape[1]))


def _mixture(X: np.ndarray, means: np.ndarray, covariance_type: str,
             seed: int) -> _SkGaussianMixture:
    """A Gaussian mixture whose EM starts from the nearest-mean partition of ``X``.

    All three starting values are given, so scikit-learn's own k-means initialisation is
    skipped (``init_params="random"`` is then never used).
    """
    k, d = means.shape
    labels = _nearest(X, means)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    overall = X.var(axis=0)
    mu = np.array([X[labels == j].mean(axis=0) if counts[j] else means[j] for j in range(k)])
    if covariance_type == "full":
        cov = np.array([np.cov(X[labels == j].T, bias=True).reshape(d, d) if counts[j] > d
                        else np.diag(overall) for j in range(k)]) + 1e-6 * np.eye(d)
        prec = np.linalg.inv(cov)
    else:
        var = np.array([X[labels == j].var(axis=0) if counts[j] >= 2 else overall
                        for j in range(k)]) + 1e-6
        prec = 1.0 / var
    weights = np.maximum(counts, 1.0)
    # the matrices are tiny (d x d): BLAS threads only cost time, badly so on a busy machine
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _SkGaussianMixture(n_components=k, covariance_type=covariance_type,
                                  init_params="random", weights_init=weights / weights.sum(),
                                  means_init=mu, precisions_init=prec, max_iter=100,
                                  reg_covar=1e-6, random_state=seed).fit(X)


def _bic_covariance(n_features: int) -> str:
    return "full" if n_features <= BIC_FULL_UP_TO else "diag"


def _bic(X: np.ndarray, means: np.ndarray, seed: int) -> float:
    """BIC of a Gaussian mixture whose EM starts from the nearest-mean partition."""
    if means.shape[0] >= X.shape[0]:
        return float("nan")
    return float(_mixture(X, means, _bic_covariance(X.shape[1]), seed).bic(X))
