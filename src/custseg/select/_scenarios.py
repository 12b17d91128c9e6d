"""Generated data sets with a known number of segments, to measure how well k is chosen.

Used by ``benchmarks/bench_quality.py`` and the quality tests. Every structured scenario is
made so that its true k is recoverable by k-means (clusters separated by several standard
deviations); the no-structure scenarios (uniform, one Gaussian) have no true k. Most segments
are Gaussian (the model behind the BIC); the heavy-tailed ones are not. Features are
returned as the pipeline would give them to :func:`~custseg.select.choose_k`: standardised,
after ``log1p`` for the heavy-tailed spend columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ._metrics import adjusted_rand

__all__ = ["Scenario", "make_scenarios", "recoverable"]


@dataclass(frozen=True)
class Scenario:
    """One generated data set: ``k`` is the true number of segments (None: no structure)."""

    name: str
    X: np.ndarray
    k: int | None
    labels: np.ndarray | None


def _standardise(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _centres(k: int, d: int, sep: float, rng: np.random.Generator) -> np.ndarray:
    """``k`` random centres in ``d`` dimensions, pairwise at least ``sep`` apart."""
    side = sep * max(1.5, 1.2 * k ** (1.0 / d))
    for _ in range(10_000):
        C = rng.uniform(0.0, side, size=(k, d))
        diff = C[:, None, :] - C[None, :, :]
        dist = np.sqrt((diff ** 2).sum(axis=2)) + np.eye(k) * 1e9
        if dist.min() >= sep:
            return C
        side *= 1.01
    raise RuntimeError("could not place the centres")  # pragma: no cover


def _sizes(n: int, shares: np.ndarray) -> np.ndarray:
    sizes = np.floor(shares * n).astype(int)
    sizes[0] += n - sizes.sum()
    return sizes


def _mixture(C: np.ndarray, sizes: np.ndarray, scale: float | list[np.ndarray],
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    parts, labels = [], []
    for j, (c, m) in enumerate(zip(C, sizes, strict=True)):
        Z = rng.normal(size=(m, C.shape[1]))
        Z = Z * scale if np.isscalar(scale) else Z @ scale[j].T
        parts.append(c + Z)
        labels.append(np.full(m, j))
    perm = rng.permutation(int(sizes.sum()))
    return np.concatenate(parts)[perm], np.concatenate(labels)[perm]


def blobs(k: int, n: int, rng: np.random.Generator, d: int = 5, sep: float = 6.0) -> Scenario:
    """Equal, spherical, well-separated Gaussian segments."""
    X, y = _mixture(_centres(k, d, sep, rng), _sizes(n, np.full(k, 1.0 / k)), 1.0, rng)
    return Scenario(f"blobs k={k}", _standardise(X), k, y)


def unequal(n: int, rng: np.random.Generator) -> Scenario:
    """Three segments holding 60 %, 30 % and 10 % of the customers."""
    X, y = _mixture(_centres(3, 4, 6.0, rng), _sizes(n, np.array([0.6, 0.3, 0.1])), 1.0, rng)
    return Scenario("unequal 60/30/10", _standardise(X), 3, y)


def anisotropic(n: int, rng: np.random.Generator, k: int = 4, d: int = 3) -> Scenario:
    """Elongated segments: each a randomly rotated Gaussian with axis ratio 3 : 1."""
    transforms = []
    for _ in range(k):
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        transforms.append(Q @ np.diag(np.r_[1.8, np.full(d - 1, 0.6)]))
    X, y = _mixture(_centres(k, d, 8.0, rng), _sizes(n, np.full(k, 1.0 / k)), transforms, rng)
    return Scenario(f"anisotropic k={k}", _standardise(X), k, y)


def noise_features(n: int, rng: np.random.Generator, k: int = 4) -> Scenario:
    """Segments in 4 informative features plus 3 pure-noise features of the same scale."""
    X, y = _mixture(_centres(k, 4, 6.0, rng), _sizes(n, np.full(k, 1.0 / k)), 1.0, rng)
    return Scenario(f"noise features k={k}", _standardise(np.c_[X, rng.normal(size=(n, 3))]),
                    k, y)


def lognormal_spend(n: int, rng: np.random.Generator, k: int = 4) -> Scenario:
    """Customer-like recency, frequency, spend and basket size, log-normal per segment.

    Segments differ in the log-means; the raw columns are heavy-tailed. The features are
    ``log1p``-transformed and standardised, as the default preprocessing does.
    """
    d = 4
    log_means = _centres(k, d, 3.0, rng) + np.array([2.0, 1.0, 4.0, 3.0])
    shares = rng.dirichlet(np.full(k, 8.0))
    sizes = _sizes(n, shares)
    Z, y = _mixture(log_means, sizes, 0.5, rng)
    raw = np.exp(Z)
    return Scenario(f"log-normal spend k={k}", _standardise(np.log1p(raw)), k, y)


def heavy_tailed(n: int, rng: np.random.Generator, k: int = 4, d: int = 4) -> Scenario:
    """Segments with heavy tails (Student's t, 4 degrees of freedom) even after any transform:
    outlying customers around every segment, as real data have."""
    C = _centres(k, d, 8.0, rng)
    parts, labels = [], []
    for j, (c, m) in enumerate(zip(C, _sizes(n, np.full(k, 1.0 / k)), strict=True)):
        parts.append(c + rng.standard_t(4, size=(m, d)))
        labels.append(np.full(m, j))
    perm = rng.permutation(n)
    X, y = np.concatenate(parts)[perm], np.concatenate(labels)[perm]
    return Scenario(f"heavy-tailed (t4) k={k}", _standardise(X), k, y)


def uniform(n: int, rng: np.random.Generator, d: int = 3) -> Scenario:
    """No structure: uniform in a box."""
    return Scenario(f"uniform d={d}", _standardise(rng.uniform(size=(n, d))), None, None)


def one_gaussian(n: int, rng: np.random.Generator, d: int = 5) -> Scenario:
    """No structure: one correlated Gaussian cloud."""
    A = rng.normal(size=(d, d))
    return Scenario(f"one Gaussian d={d}", _standardise(rng.normal(size=(n, d)) @ A.T), None,
                    None)


def recoverable(sc: Scenario, threshold: float = 0.95) -> bool:
    """Whether the truth is well defined: giving every row to the nearest true segment mean
    reproduces the true segments (adjusted Rand index >= ``threshold``)."""
    if sc.k is None:
        return True
    means = np.array([sc.X[sc.labels == j].mean(axis=0) for j in range(sc.k)])
    nearest = np.argmin(((sc.X[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
    return float(adjusted_rand(sc.labels, nearest, sc.k, sc.k)) >= threshold


def _draw(make: Callable[[], Scenario]) -> Scenario:
    for _ in range(100):
        sc = make()
        if recoverable(sc):
            return sc
    raise RuntimeError("no recoverable draw")  # pragma: no cover


def make_scenarios(n: int = 1000, seed: int = 0, *, repeats: int = 1) -> list[Scenario]:
    """The benchmark's scenarios: blobs with k = 2..9, then unequal sizes, anisotropic, noise
    features, log-normal spend and heavy-tailed segments (two of each), and three without
    structure (21 scenarios per repeat).

    Structured draws whose truth is not :func:`recoverable` are redrawn.
    """
    rng = np.random.default_rng(seed)
    out: list[Scenario] = []
    for _ in range(repeats):
        makers: list[Callable[[], Scenario]] = [
            *(partial(blobs, k, n, rng, d=4 + k % 3) for k in range(2, 10)),
            partial(unequal, n, rng), partial(unequal, n, rng),
            partial(anisotropic, n, rng, k=3), partial(anisotropic, n, rng, k=5),
            partial(noise_features, n, rng, k=3), partial(noise_features, n, rng, k=5),
            partial(lognormal_spend, n, rng, k=3), partial(lognormal_spend, n, rng, k=6),
            partial(heavy_tailed, n, rng, k=3), partial(heavy_tailed, n, rng, k=5),
        ]
        out += [_draw(m) for m in makers]
        out += [uniform(n, rng, d=2), uniform(n, rng, d=4), one_gaussian(n, rng, d=5)]
    return out
