"""The register-blocked distance kernels (custseg.cluster._tiles) and how the Lloyd pass picks
them: same bits as the generic kernel, whichever kernel runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from custseg.cluster import _lloyd
from custseg.cluster import _tiles as tiles_module
from custseg.cluster._lloyd import _TILE, _tile_kernel, _tile_nearest, kmeans_fit, lloyd

GENERATOR = Path(__file__).resolve().parents[2] / "scripts" / "gen_tile_kernels.py"
KERNELS = {code: (g, h, getattr(tiles_module, f"_tile_g{g}h{h}"))
           for code, g, h in _lloyd._TILE_KERNELS}


def test_module_is_the_generators_output():
    spec = importlib.util.spec_from_file_location("gen_tile_kernels", GENERATOR)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert Path(tiles_module.__file__).read_text(encoding="utf-8") == gen.render(), (
        "src/custseg/cluster/_tiles.py was edited by hand: run scripts/gen_tile_kernels.py")


@pytest.mark.parametrize(("k", "d", "code"), [
    (8, 8, 3), (16, 8, 3), (7, 8, 3), (6, 8, 3),  # 8 centres x 8 features, padded
    (4, 8, 2), (3, 8, 2), (12, 8, 2),
    (8, 3, 1), (8, 4, 1), (4, 4, 1), (4, 3, 1), (12, 4, 1), (3, 4, 1),
    (6, 5, 0), (5, 4, 0), (2, 3, 0), (10, 10, 0), (1, 3, 0), (17, 12, 0), (6, 3, 0),
])
def test_kernel_choice(k, d, code):
    """Register kernels where the padded work is at most 4/3 of the real one, else generic."""
    got, kp, dp = _tile_kernel(k, d)
    assert got == code
    if code == 0:
        assert (kp, dp) == (k, d)
    else:
        g, h, _ = KERNELS[code]
        assert kp % g == 0 and k <= kp < k + g and dp == h and d <= h
        assert kp * dp <= 4 / 3 * k * d + 1e-9


def _tile_inputs(k, d, rng, m=_TILE, ties=False):
    xt = rng.standard_normal((d, _TILE)).astype(np.float32)
    C = rng.standard_normal((k, d)).astype(np.float32)
    if ties:  # duplicate centres and rows on them: exact ties go to the lower index
        C[k - 1] = C[0]
        xt[:, : m // 4] = C[0][:, None]
    W = (-2.0 * C).astype(np.float32)
    cst = np.einsum("ij,ij->i", C, C).astype(np.float32)
    return xt, W, cst


@pytest.mark.parametrize("code", sorted(KERNELS))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("m", [_TILE, 37])
def test_same_bits_as_generic_kernel(code, ties, m):
    g, h, kernel = KERNELS[code]
    rng = np.random.default_rng(code * 10 + m)
    for k in range(2, 2 * g + 2):
        for d in range(1, h + 1):
            xt, W, cst = _tile_inputs(k, d, rng, m, ties)
            ref = [np.empty(_TILE, np.float32), np.empty(_TILE, np.float32),
                   np.empty(_TILE, np.int32)]
            _tile_nearest(xt, m, W, cst, np.empty(_TILE, np.float32), *ref)
            kp = -(-k // g) * g
            Wp = np.zeros((kp, h), np.float32)
            Wp[:k, :d] = W
            cp = np.full(kp, np.inf, np.float32)
            cp[:k] = cst
            xp = np.zeros((h, _TILE), np.float32)
            xp[:d] = xt
            out = [np.full(_TILE, -1, np.float32), np.full(_TILE, -1, np.float32),
                   np.full(_TILE, -1, np.int32)]
            kernel(xp, m, Wp, cp, *out)
            for name, a, b in zip(("best", "second", "label"), ref, out, strict=True):
                np.testing.assert_array_equal(a[:m], b[:m], err_msg=f"{name}, k={k} d={d}")
            if ties:
                assert (out[2][: m // 4] == 0).all()


@pytest.fixture
def generic_only(monkeypatch):
    """Make every Lloyd pass use the generic kernel (code 0, no padding)."""
    monkeypatch.setattr(_lloyd, "_tile_kernel", lambda k, d: (0, k, d))


@pytest.mark.parametrize(("k", "d"), [(8, 8), (8, 3), (4, 3), (4, 7), (12, 4)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_lloyd_identical_with_either_kernel(k, d, dtype, weighted, monkeypatch):
    """Whole runs (packed float64 tiles, transposed-on-the-fly float32 ones, weights): the
    same centres, labels, inertia and iterations, bit for bit."""
    assert _tile_kernel(k, d)[0] != 0
    rng = np.random.default_rng(k * 100 + d)
    centres = rng.standard_normal((k, d)) * 3
    X = (centres[rng.integers(0, k, 3000)] + rng.standard_normal((3000, d))).astype(dtype)
    sw = rng.uniform(0.5, 2.0, len(X)) if weighted else None
    C0 = X[rng.choice(len(X), k, replace=False)].astype(np.float64)
    fast = lloyd(X, C0, max_iter=30, tol=0.0, sample_weight=sw, algorithm="lloyd")
    monkeypatch.setattr(_lloyd, "_tile_kernel", lambda k, d: (0, k, d))
    generic = lloyd(X, C0, max_iter=30, tol=0.0, sample_weight=sw, algorithm="lloyd")
    for a, b in zip(fast, generic, strict=True):
        np.testing.assert_array_equal(a, b)


def test_kmeans_fit_identical_with_either_kernel(monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((5000, 3)) * [1.0, 3.0, 0.5]
    fast = kmeans_fit(X, 8, n_init=3, random_state=0, algorithm="lloyd")
    monkeypatch.setattr(_lloyd, "_tile_kernel", lambda k, d: (0, k, d))
    generic = kmeans_fit(X, 8, n_init=3, random_state=0, algorithm="lloyd")
    for a, b in zip(fast, generic, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("k", "d"), [(8, 8), (12, 3), (32, 8)])
def test_hamerly_identical_with_either_kernel(k, d, monkeypatch):
    """Hamerly's gathered tiles go through the same kernels: the same run, bit for bit, and
    the partitions Lloyd visits."""
    assert _tile_kernel(k, d)[0] != 0
    rng = np.random.default_rng(k + d)
    centres = rng.standard_normal((k, d)) * 3
    X = centres[rng.integers(0, k, 4000)] + rng.standard_normal((4000, d))
    C0 = X[rng.choice(len(X), k, replace=False)]
    fast = lloyd(X, C0, max_iter=30, tol=0.0, algorithm="hamerly")
    monkeypatch.setattr(_lloyd, "_tile_kernel", lambda k, d: (0, k, d))
    generic = lloyd(X, C0, max_iter=30, tol=0.0, algorithm="hamerly")
    for a, b in zip(fast, generic, strict=True):
        np.testing.assert_array_equal(a, b)
    by_lloyd = lloyd(X, C0, max_iter=30, tol=0.0, algorithm="lloyd")
    np.testing.assert_array_equal(fast[1], by_lloyd[1])
