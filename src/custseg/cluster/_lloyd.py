"""Large-data k-means: fused Lloyd and Hamerly kernels, k-means++ seeding, an ``n_init`` driver.

The kernels aim at the physical floor of one k-means iteration, reading the feature matrix once
(DESIGN.md §6), and give the partition scikit-learn's ``KMeans(algorithm="lloyd")`` gives from
the same start. Public entry points: :func:`lloyd` (from given centres), :func:`kmeans_plusplus`
(scikit-learn's seeding, same draws), :func:`kmeans_fit` (``n_init`` starts, best kept) and
:func:`select_algorithm` (the ``algorithm="auto"`` rule).

How a Lloyd iteration is laid out
---------------------------------
One parallel pass over ``X`` per iteration does the assignment and the centre update together.
Rows are cut into fixed blocks of ``_BLOCK`` rows (the parallel work items). Each block copies
``_TILE`` rows (``_PASS_TILE`` with a register kernel) at a time into a small transposed
float32 tile, centred on the column means, so
the inner loops run over rows and LLVM's loop vectoriser turns them into 8-lane SIMD code
(numba's SLP vectoriser is off, numba issue #8705, which rules out vectorising over the handful
of features or centres). With at most eight features, the generated kernels of
:mod:`._tiles` hold a group of 4 or 8 centres and all the features in registers
(:func:`_tile_kernel` picks one, padding with zero features and ``+inf`` centres when that
costs little); otherwise :func:`_tile_nearest` goes through the centres one at a time. The
per-row work around the kernel (labels, sums, near ties) is in small functions over slices of
the tile: the same loops written in the parallel loop's body compiled to much slower code.
Distances use the expansion ``|c'|^2 - 2 x'.c'`` on centred data
(``x' = x - mean``), as scikit-learn does, so the cancellation error is that of the spread of
the data, not of its offset. The kernel keeps the two smallest values per row; a row whose two
nearest centres are closer than a bound on the float32 rounding error is re-decided in float64
by direct differences. The assignment is therefore the float64 one, for float64 and float32
data alike, at the speed of float32 lanes. ``fastmath`` stays off (no reassociation, IEEE
semantics) except for fused multiply-adds in the float32 distance loop: one rounding instead
of two per term, so the error bound behind the re-decision still holds, and the pass is ~7 %
faster.

Each block writes its partial sums and counts to its own slot; the slots are added in block
order after the parallel loop, so a result does not depend on the number of threads. Sums are
float64. They are recomputed from scratch on the first iteration and every ``_REFRESH``
iterations; in between, only rows that changed cluster are added to their new cluster and taken
from the old one (exact in exact arithmetic; with sample weights every pass recomputes them, so
an emptied cluster is exactly empty).

Hamerly's algorithm (``algorithm="hamerly"``) keeps per row an upper bound on the distance to
its centre and a lower bound on the distance to any other centre, in float32 rounded outwards,
stored relative to the cumulative drift of the centres so that rows whose bounds still prove
their assignment are neither read nor written. The other rows are gathered into tiles and
assigned as above. It visits the same sequence of partitions as Lloyd and pays when distances
dominate (many clusters or features); :func:`select_algorithm` documents the rule.

The numerics follow scikit-learn's ``_kmeans_single_lloyd``: the same convergence rule (labels
unchanged, or squared centre shift at most ``tol`` times the mean feature variance), the same
relocation of empty clusters (to the rows farthest from their centres, made deterministic), the
centres as sums times the reciprocal weight, and a final assignment so that the labels are
those of the returned centres, with the inertia computed directly in float64.
"""

from __future__ import annotations

import logging
import math
from numbers import Integral
from typing import Any, Literal

import numpy as np
from numba import njit, prange

from .._exceptions import InvalidParameterError
from .._numba_threads import NumbaThreads
from ._tiles import _tile_g4h4, _tile_g4h8, _tile_g8h8

__all__ = ["kmeans_fit", "kmeans_plusplus", "lloyd", "select_algorithm"]

logger = logging.getLogger(__name__)

_BLOCK = 8192  # rows per parallel work item; partial results are reduced in block order
_TILE = 256  # rows transposed together so that the inner loops run over rows
# Rows of a Lloyd pass's tile when a register kernel reads the packed copy (at most 8
# features, 32 KB of float32): four times fewer tiles than _TILE rows spend less on each
# tile's calls and set-up — 1M x 8, k = 8: 306 -> 233 ms for 50 iterations; 1M x 3: 0.77x;
# weighted: 0.84x; the same partitions. The generic kernel keeps _TILE rows (d = 16: equal;
# d = 32: 3 % slower with the larger tile).
_PASS_TILE = 1024
_REFRESH = 32  # recompute the centre sums from scratch at least this often (iterations)
_FULL, _DELTA, _FINAL = 0, 1, 2  # modes of the Lloyd pass
#: The register-blocked kernels of ``._tiles``: (code passed to ``_lloyd_pass``, centres per
#: group, features), in the order a tie in padded size is broken (more centres per group first).
_TILE_KERNELS = ((3, 8, 8), (2, 4, 8), (1, 4, 4))
_TILE_WASTE = 4.0 / 3.0  # largest padded / real work for which a register kernel pays


# --------------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _transpose_tile(X, mu, xt):  # pragma: no cover - numba
    """``xt[f, t] = X[t, f] - mu[f]`` for the rows of one tile ``X`` (a slice; in the dtype of
    xt).

    Eight (then four, then one) features per sweep over the rows: that many loads from each row
    and as many contiguous stores. (The callers pass the tile's rows as a slice: loops from row
    0 of an array are compiled tighter than loops from an offset.)
    """
    m, d = X.shape
    f = 0
    while f + 8 <= d:
        m0 = mu[f]
        m1 = mu[f + 1]
        m2 = mu[f + 2]
        m3 = mu[f + 3]
        m4 = mu[f + 4]
        m5 = mu[f + 5]
        m6 = mu[f + 6]
        m7 = mu[f + 7]
        y0 = xt[f]
        y1 = xt[f + 1]
        y2 = xt[f + 2]
        y3 = xt[f + 3]
        y4 = xt[f + 4]
        y5 = xt[f + 5]
        y6 = xt[f + 6]
        y7 = xt[f + 7]
        for t in range(m):
            y0[t] = X[t, f] - m0
            y1[t] = X[t, f + 1] - m1
            y2[t] = X[t, f + 2] - m2
            y3[t] = X[t, f + 3] - m3
            y4[t] = X[t, f + 4] - m4
            y5[t] = X[t, f + 5] - m5
            y6[t] = X[t, f + 6] - m6
            y7[t] = X[t, f + 7] - m7
        f += 8
    while f + 4 <= d:
        m0 = mu[f]
        m1 = mu[f + 1]
        m2 = mu[f + 2]
        m3 = mu[f + 3]
        y0 = xt[f]
        y1 = xt[f + 1]
        y2 = xt[f + 2]
        y3 = xt[f + 3]
        for t in range(m):
            y0[t] = X[t, f] - m0
            y1[t] = X[t, f + 1] - m1
            y2[t] = X[t, f + 2] - m2
            y3[t] = X[t, f + 3] - m3
        f += 4
    while f < d:
        m0 = mu[f]
        y0 = xt[f]
        for t in range(m):
            y0[t] = X[t, f] - m0
        f += 1


@njit(cache=True, fastmath={"contract"})
def _tile_nearest(xt, m, W, cst, acc, best, second, lab):  # pragma: no cover - numba
    """Nearest and second-nearest centre values of each row of a transposed float32 tile.

    ``W = -2 c'`` and ``cst = |c'|^2`` for centred centres ``c' = c - mean``, so
    ``acc = cst + x'.W`` is the squared distance minus ``|x'|^2``. The inner loops run over the
    ``m`` rows of the tile (eight float32 SIMD lanes); four features are folded per sweep. Ties
    go to the lower index. ``best``/``second`` let the caller re-decide, in float64, the rows
    whose two nearest centres are closer than the float32 rounding can separate.
    """
    k, d = W.shape
    for t in range(m):
        best[t] = np.inf
        second[t] = np.inf
        lab[t] = 0
    for j in range(k):
        c = cst[j]
        f = 0
        if d >= 4:
            w0 = W[j, 0]
            w1 = W[j, 1]
            w2 = W[j, 2]
            w3 = W[j, 3]
            x0 = xt[0]
            x1 = xt[1]
            x2 = xt[2]
            x3 = xt[3]
            for t in range(m):
                acc[t] = c + x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3
            f = 4
        else:
            for t in range(m):
                acc[t] = c
        while f + 4 <= d:
            w0 = W[j, f]
            w1 = W[j, f + 1]
            w2 = W[j, f + 2]
            w3 = W[j, f + 3]
            x0 = xt[f]
            x1 = xt[f + 1]
            x2 = xt[f + 2]
            x3 = xt[f + 3]
            for t in range(m):
                acc[t] = acc[t] + x0[t] * w0 + x1[t] * w1 + x2[t] * w2 + x3[t] * w3
            f += 4
        while f < d:
            w0 = W[j, f]
            x0 = xt[f]
            for t in range(m):
                acc[t] = acc[t] + x0[t] * w0
            f += 1
        for t in range(m):
            a = acc[t]
            b = best[t]
            # (best <= second always, so the new second is min(second, max(a, b)); min/max
            # and one select vectorise with plain stores, ~5 % faster than three selects)
            second[t] = min(second[t], max(a, b))
            best[t] = min(a, b)
            lab[t] = np.int32(j) if a < b else lab[t]


@njit(cache=True, inline="always")  # (a call of its own cost the Lloyd pass ~4 %)
def _nearest(tiles, xt, m, W, cst, acc, best, second, lab):  # pragma: no cover - numba
    """The distance kernel ``tiles`` (:func:`_tile_kernel`) on one tile: 0 is
    :func:`_tile_nearest`, else a register-blocked kernel of :mod:`._tiles` (then ``W``/``cst``
    are padded, :meth:`_Workspace.padded`, and ``xt`` has ``W.shape[1]`` rows)."""
    if tiles == 1:
        _tile_g4h4(xt, m, W, cst, best, second, lab)
    elif tiles == 2:
        _tile_g4h8(xt, m, W, cst, best, second, lab)
    elif tiles == 3:
        _tile_g8h8(xt, m, W, cst, best, second, lab)
    else:
        _tile_nearest(xt, m, W, cst, acc, best, second, lab)


@njit(cache=True)
def _exact_nearest(X, i, C):  # pragma: no cover - numba
    """Nearest centre of row ``i`` in float64 by direct differences (ties: lower index)."""
    k, d = C.shape
    best = np.inf
    bj = 0
    for j in range(k):
        s = 0.0
        for f in range(d):
            u = np.float64(X[i, f]) - C[j, f]
            s += u * u
        if s < best:
            best = s
            bj = j
    return bj


@njit(cache=True)
def _tile_delta(Xs, ls, ws, lab, best, second, margin, C, ps, pc,
                flags):  # pragma: no cover - numba
    """``_DELTA`` for one tile of rows ``Xs`` with labels ``ls`` (weights ``ws`` or empty):
    re-decide the near ties, and move the rows that changed cluster between the sums.
    Returns ``(changed, rechecked)``.

    Few rows of a tile need either, so a vectorised loop flags them in ``flags`` (bytes, as
    many as the tile has rows rounded up to 8), and only the 8-row words with a flag are
    looked at row by row: a plain loop over every row cost ~7 cycles a row.
    """
    m, d = Xs.shape
    for t in range(m):
        flags[t] = np.uint8((second[t] - best[t] <= margin) | (ls[t] != lab[t]))
    for t in range(m, flags.shape[0]):
        flags[t] = 0
    words = flags.view(np.uint64)
    weighted = ws.shape[0] > 0
    changed = 0
    rechecked = 0
    for q in range(words.shape[0]):
        if words[q] == 0:
            continue
        for t in range(8 * q, min(8 * q + 8, m)):
            if flags[t] == 0:
                continue
            new = lab[t]
            if second[t] - best[t] <= margin:
                new = _exact_nearest(Xs, t, C)
                rechecked += 1
            old = ls[t]
            if old != new:
                changed += 1
                ls[t] = new
                w = ws[t] if weighted else 1.0
                pc[new] += w
                pc[old] -= w
                for f in range(d):
                    v = w * Xs[t, f]
                    ps[new, f] += v
                    ps[old, f] -= v
    return changed, rechecked


@njit(cache=True)
def _tile_all(Xs, ls, ws, lab, best, second, margin, C, ps, pc, final,
              inertia):  # pragma: no cover - numba
    """``_FULL`` or ``_FINAL`` (``final``) for one tile: re-decide the near ties, set every
    row's label, and add every row to its cluster's sums (``_FULL``) or its float64 squared
    distance to its centre to ``inertia``, in row order (``_FINAL``). Returns
    ``(changed, rechecked, inertia)``."""
    m, d = Xs.shape
    rechecked = 0
    for t in range(m):
        if second[t] - best[t] <= margin:
            lab[t] = _exact_nearest(Xs, t, C)
            rechecked += 1
    weighted = ws.shape[0] > 0
    changed = 0
    for t in range(m):
        new = lab[t]
        if ls[t] != new:
            changed += 1
            ls[t] = new
        w = ws[t] if weighted else 1.0
        if final:
            s = 0.0
            for f in range(d):
                u = np.float64(Xs[t, f]) - C[new, f]
                s += u * u
            inertia += (w * s) if weighted else s
        else:
            pc[new] += w
            for f in range(d):
                ps[new, f] += w * Xs[t, f]
    return changed, rechecked, inertia


@njit(parallel=True, fastmath=False, cache=True)
def _lloyd_pass(X, P, mu, W, cst, margin, C, sw, labels, psum, pcnt, pch, pin, prc,
                mode, tiles, rows):  # pragma: no cover - numba
    """One fused pass: assign every row, and accumulate the centre sums per block.

    Distances are computed in float32 SIMD lanes (``W``, ``cst`` float32, see
    :func:`_tile_nearest`); a row whose two nearest values differ by at most ``margin`` (a bound
    on the float32 error) is re-decided in float64 against ``C``, so the assignment is the
    float64 one whatever the dtype of ``X``.

    ``mode`` is ``_FULL`` (sums from scratch), ``_DELTA`` (only the rows that changed cluster,
    added to the new and taken from the old one) or ``_FINAL`` (labels and exact inertia against
    the float64 centres ``C``; no sums). ``sw`` is empty when unweighted. Per block ``b``:
    ``psum[b]`` (k, d) sums, ``pcnt[b]`` (k,) weights, ``pch[b]`` changed labels, ``pin[b]``
    inertia (``_FINAL`` only), ``prc[b]`` rows re-decided in float64.

    ``P`` is the packed copy of :func:`_pack` (then the tiles are read from it, not built), or
    an empty array. ``tiles`` picks the distance kernel (:func:`_tile_kernel`): 0 is
    :func:`_tile_nearest`; otherwise a register-blocked kernel of :mod:`._tiles`, for which
    ``W``/``cst`` are padded (:meth:`_Workspace.padded`) and the tiles have ``W.shape[1]``
    rows, the rows past ``d`` zero. A tile holds ``rows`` rows (a divisor of ``_BLOCK``; the
    tiles of ``P`` have as many).
    """
    n, d = X.shape
    k = C.shape[0]
    dp = W.shape[1]
    nb = psum.shape[0]
    weighted = sw.shape[0] > 0
    packed = P.shape[0] > 0
    for b in prange(nb):
        ps = psum[b]
        pc = pcnt[b]
        for j in range(k):
            pc[j] = 0.0
            for f in range(d):
                ps[j, f] = 0.0
        buf = np.zeros((dp, rows), dtype=np.float32)  # (rows past d stay zero)
        acc = np.empty(rows, dtype=np.float32)
        best = np.empty(rows, dtype=np.float32)
        second = np.empty(rows, dtype=np.float32)
        lab = np.empty(rows, dtype=np.int32)
        flags = np.empty(rows, dtype=np.uint8)  # (rows is a multiple of 8)
        changed = 0
        rechecked = 0
        inertia = 0.0
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        for s0 in range(i0, i1, rows):
            m = min(rows, i1 - s0)
            if packed:
                xt = P[s0 // rows]
            else:
                _transpose_tile(X[s0:s0 + m], mu, buf)
                xt = buf
            _nearest(tiles, xt, m, W, cst, acc, best, second, lab)
            # the per-row work of the mode, in functions of their own: their loops run over
            # the tile from 0 (slices), which LLVM compiles as plain loops; written here, in
            # the parallel loop's body, they ran several times slower
            Xs = X[s0:s0 + m]
            ls = labels[s0:s0 + m]
            ws = sw[s0:s0 + m] if weighted else sw
            if mode == _DELTA:
                ch, rc = _tile_delta(Xs, ls, ws, lab, best, second, margin, C, ps, pc,
                                     flags)
            else:
                ch, rc, inertia = _tile_all(Xs, ls, ws, lab, best, second, margin, C, ps, pc,
                                            mode == _FINAL, inertia)
            changed += ch
            rechecked += rc
        pch[b] = changed
        pin[b] = inertia
        prc[b] = rechecked


@njit(parallel=True, cache=True)
def _pack(X, mu, P):  # pragma: no cover - numba
    """``P[q] = `` the centred float32 transposed tile of rows ``q*T ... q*T + T - 1``,
    ``T = P.shape[2]`` (see :func:`_transpose_tile`); the tail of the last tile, and the rows
    past ``d`` when ``P`` has more, are zero."""
    n = X.shape[0]
    rows = P.shape[2]
    for q in prange(P.shape[0]):
        s0 = q * rows
        m = min(rows, n - s0)
        tile = P[q]
        tile[:, :] = 0.0
        _transpose_tile(X[s0:s0 + m], mu, tile)


@njit(cache=True)
def _reduce_blocks(psum, pcnt, pch, pin, sums, counts, delta):  # pragma: no cover - numba
    """Add the block partials in block order into ``sums``/``counts`` (zeroed unless ``delta``).

    Returns ``(changed, inertia)``.
    """
    nb, k, d = psum.shape
    if not delta:
        for j in range(k):
            counts[j] = 0.0
            for f in range(d):
                sums[j, f] = 0.0
    changed = 0
    inertia = 0.0
    for b in range(nb):
        changed += pch[b]
        inertia += pin[b]
        for j in range(k):
            counts[j] += pcnt[b, j]
            for f in range(d):
                sums[j, f] += psum[b, j, f]
    return changed, inertia


@njit(parallel=True, cache=True)
def _moments(X):  # pragma: no cover - numba
    """Column means, population variances and the largest centred row norm, without a copy.

    Float64, blockwise. scikit-learn centres the data on the unweighted mean and scales ``tol``
    by the unweighted variance; so does this. The largest norm of ``x - mean`` bounds the
    float32 rounding error of the distance kernel.
    """
    n, d = X.shape
    nb = (n + _BLOCK - 1) // _BLOCK
    part = np.zeros((nb, d))
    for b in prange(nb):
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        for i in range(i0, i1):
            for f in range(d):
                part[b, f] += X[i, f]
    mean = np.zeros(d)
    for b in range(nb):
        for f in range(d):
            mean[f] += part[b, f]
    for f in range(d):
        mean[f] /= n
    pmax = np.zeros(nb)
    for b in prange(nb):
        for f in range(d):
            part[b, f] = 0.0
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        for i in range(i0, i1):
            r = 0.0
            for f in range(d):
                u = X[i, f] - mean[f]
                part[b, f] += u * u
                r += u * u
            pmax[b] = max(pmax[b], r)
    var = np.zeros(d)
    for b in range(nb):
        for f in range(d):
            var[f] += part[b, f]
    for f in range(d):
        var[f] /= n
    return mean, var, math.sqrt(pmax.max())


@njit(parallel=True, cache=True)
def _farthest_rows(X, C, labels, m):  # pragma: no cover - numba
    """The ``m`` rows farthest from their assigned centre, farthest first (ties: lower row).

    Blockwise top-``m`` lists merged in block order, so no (n,) array is allocated. Returns
    ``(rows, squared_distances)``.
    """
    n, d = X.shape
    nb = (n + _BLOCK - 1) // _BLOCK
    topd = np.full((nb, m), -1.0)
    topi = np.full((nb, m), -1, dtype=np.int64)
    for b in prange(nb):
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        for i in range(i0, i1):
            j = labels[i]
            s = 0.0
            for f in range(d):
                u = X[i, f] - C[j, f]
                s += u * u
            if s > topd[b, m - 1]:
                p = m - 1
                while p > 0 and s > topd[b, p - 1]:
                    topd[b, p] = topd[b, p - 1]
                    topi[b, p] = topi[b, p - 1]
                    p -= 1
                topd[b, p] = s
                topi[b, p] = i
    rows = np.full(m, -1, dtype=np.int64)
    dist = np.full(m, -1.0)
    for b in range(nb):
        for q in range(m):
            s = topd[b, q]
            i = topi[b, q]
            if i < 0:
                break
            if s > dist[m - 1]:
                p = m - 1
                while p > 0 and s > dist[p - 1]:
                    dist[p] = dist[p - 1]
                    rows[p] = rows[p - 1]
                    p -= 1
                dist[p] = s
                rows[p] = i
    return rows, dist


@njit(cache=True)
def _first_center(w, wsum, n, u):  # pragma: no cover - numba
    """Index ``RandomState.choice(n, p=w / wsum)`` returns for its uniform draw ``u``.

    NumPy builds ``cdf = p.cumsum(); cdf /= cdf[-1]`` in float64 and returns
    ``cdf.searchsorted(u, side="right")``; this replays it without the two (n,) arrays. ``p`` is
    divided in the dtype of ``w``, as scikit-learn's weights have the dtype of ``X``; a ``w`` of
    length 1 stands for equal weights.
    """
    uniform = w.shape[0] == 1
    total = 0.0
    for i in range(n):
        total += np.float64(w[0] / wsum if uniform else w[i] / wsum)
    acc = 0.0
    for i in range(n):
        acc += np.float64(w[0] / wsum if uniform else w[i] / wsum)
        if acc / total > u:
            return i
    return n - 1


@njit(cache=True)
def _tile_sq_dist(xt, m, c, acc):  # pragma: no cover - numba
    """``acc[t] = |x_t - c|^2`` for the ``m`` rows of a transposed tile, direct differences
    added feature by feature, in the dtype of the tile."""
    for t in range(m):
        acc[t] = 0.0
    for f in range(xt.shape[0]):
        cf = c[f]
        x0 = xt[f]
        for t in range(m):
            u = x0[t] - cf
            acc[t] = acc[t] + u * u


@njit(cache=True)
def _pp_tile(xt, m, closest, has_pending, pending, cands, lane, ws, acc,
             cl):  # pragma: no cover - numba
    """The work of :func:`_pp_pass` on one transposed tile (``closest``/``ws``: its rows)."""
    weighted = ws.shape[0] > 0
    for t in range(m):
        cl[t] = closest[t]
    if has_pending:
        _tile_sq_dist(xt, m, pending, acc)
        for t in range(m):
            a = acc[t]
            cl[t] = a if a < cl[t] else cl[t]
            closest[t] = cl[t]
    for q in range(cands.shape[0]):
        _tile_sq_dist(xt, m, cands[q], acc)
        lq = lane[q]
        if weighted:
            for t in range(m):
                a = acc[t] if acc[t] < cl[t] else cl[t]
                lq[t] += ws[t] * a
        else:
            for t in range(m):
                a = acc[t] if acc[t] < cl[t] else cl[t]
                lq[t] += a


@njit(parallel=True, fastmath=False, cache=True)
def _pp_pass(X, mu, cands, has_pending, pending, closest, sw, pbs):  # pragma: no cover - numba
    """One k-means++ pass over ``X``.

    If ``has_pending``, first lower ``closest`` to the distance to the centre chosen last
    (``pending``, centred). Then, for each centred candidate row of ``cands``, write per block
    ``pbs[b, t] = sum_i w_i * min(closest_i, |x_i - cand_t|^2)``. Distances are direct
    differences in the dtype of ``X``; the sums are float64, accumulated per SIMD lane of a tile
    and then in lane order, so they do not depend on the number of threads.
    """
    n, d = X.shape
    nt = cands.shape[0]
    nb = pbs.shape[0]
    weighted = sw.shape[0] > 0
    for b in prange(nb):
        xt = np.empty((d, _TILE), dtype=X.dtype)
        acc = np.empty(_TILE, dtype=X.dtype)
        cl = np.empty(_TILE, dtype=X.dtype)
        lane = np.zeros((nt, _TILE))
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        for s0 in range(i0, i1, _TILE):
            m = min(_TILE, i1 - s0)
            _transpose_tile(X[s0:s0 + m], mu, xt)
            _pp_tile(xt, m, closest[s0:s0 + m], has_pending, pending, cands, lane,
                     sw[s0:s0 + m] if weighted else sw, acc, cl)
        for q in range(nt):
            s = 0.0
            for t in range(_TILE):
                s += lane[q, t]
            pbs[b, q] = s


@njit(cache=True)
def _pp_pick(X, mu, has_pending, pending, closest, sw, block_pot, r):  # pragma: no cover
    """Row index of ``searchsorted(cumsum(w * closest), r)`` for each draw in ``r``.

    The block totals ``block_pot`` locate the block; the block is then scanned in order, with
    ``closest`` lowered on the fly to the distance to the ``pending`` centre when the last
    pass did not apply it yet. Out-of-range draws (rounding) give the last row, as in
    scikit-learn.
    """
    n, d = X.shape
    nb = block_pot.shape[0]
    weighted = sw.shape[0] > 0
    out = np.empty(r.shape[0], dtype=np.int64)
    for q in range(r.shape[0]):
        target = r[q]
        prefix = 0.0
        b = 0
        while b < nb - 1 and prefix + block_pot[b] < target:
            prefix += block_pot[b]
            b += 1
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        idx = i1 - 1
        acc = prefix
        for i in range(i0, i1):
            v = np.float64(closest[i])
            if has_pending:
                s = X[i, 0] - X[i, 0]  # a zero of the dtype of X
                for f in range(d):
                    u = (X[i, f] - mu[f]) - pending[f]
                    s = s + u * u
                v = min(v, np.float64(s))
            acc += (sw[i] * v) if weighted else v
            if acc >= target:
                idx = i
                break
        out[q] = idx
    return out


@njit(parallel=True, fastmath=False, cache=True)
def _pp_first(X, mu, c0, closest, sw, pbs):  # pragma: no cover - numba
    """``closest = |x - c0|^2`` (direct, dtype of X) and its weighted block totals."""
    n, d = X.shape
    nb = pbs.shape[0]
    weighted = sw.shape[0] > 0
    for b in prange(nb):
        xt = np.empty((d, _TILE), dtype=X.dtype)
        acc = np.empty(_TILE, dtype=X.dtype)
        lane = np.zeros(_TILE)
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        for s0 in range(i0, i1, _TILE):
            m = min(_TILE, i1 - s0)
            _transpose_tile(X[s0:s0 + m], mu, xt)
            _tile_sq_dist(xt, m, c0, acc)
            for t in range(m):
                closest[s0 + t] = acc[t]
                lane[t] += (sw[s0 + t] * acc[t]) if weighted else acc[t]
        s = 0.0
        for t in range(_TILE):
            s += lane[t]
        pbs[b] = s


@njit(cache=True, inline="always")
def _f32_up(x):  # pragma: no cover - numba
    """A float32 >= ``x`` (within 2^-21 relative): rounding to nearest moves by <= 2^-24."""
    return np.float32(x + abs(x) * 2.384185791015625e-07 + 1e-37)


@njit(cache=True, inline="always")
def _f32_down(x):  # pragma: no cover - numba
    """A float32 <= ``x`` (within 2^-21 relative)."""
    return np.float32(x - abs(x) * 2.384185791015625e-07 - 1e-37)


@njit(cache=True)
def _gather_tile(X, idx, q0, m, mu, xt, nrm):  # pragma: no cover - numba
    """Transposed, centred float32 tile of the rows ``idx[q0:q0 + m]``, and their ``|x'|^2``."""
    d = X.shape[1]
    for t in range(m):
        r = idx[q0 + t]
        for f in range(d):
            xt[f, t] = X[r, f] - mu[f]
    for t in range(m):
        nrm[t] = 0.0
    for f in range(d):
        x0 = xt[f]
        for t in range(m):
            nrm[t] = nrm[t] + x0[t] * x0[t]


@njit(cache=True)
def _exact_two(X, i, C):  # pragma: no cover - numba
    """Nearest centre of row ``i`` and the two smallest squared distances, float64, direct."""
    k, d = C.shape
    best = np.inf
    second = np.inf
    bj = 0
    for j in range(k):
        s = 0.0
        for f in range(d):
            u = np.float64(X[i, f]) - C[j, f]
            s += u * u
        if s < best:
            second = best
            best = s
            bj = j
        elif s < second:
            second = s
    return bj, best, second


@njit(cache=True)
def _hamerly_update(X, rows, lab, best, second, nrm, margin, err, C, labels, ub, lb, cum_u,
                    cum_l, init, ps, pc):  # pragma: no cover - numba
    """Labels, new bounds and sums of the gathered ``rows`` of one tile (near ties re-decided
    in float64); returns how many changed cluster."""
    d = X.shape[1]
    changed = 0
    for t in range(rows.shape[0]):
        i = rows[t]
        if second[t] - best[t] <= margin:
            new, d1, d2 = _exact_two(X, i, C)
            up = math.sqrt(d1)
            low = math.sqrt(d2)
        else:
            new = lab[t]
            x2 = np.float64(nrm[t])
            up = math.sqrt(max(np.float64(best[t]) + x2 + err, 0.0))
            low = math.sqrt(max(np.float64(second[t]) + x2 - err, 0.0))
        ub[i] = _f32_up(up * (1.0 + 1e-12) - cum_u[new])
        lb[i] = _f32_down(low * (1.0 - 1e-12) + cum_l[new])
        old = labels[i]
        if init:
            if old != new:
                changed += 1
                labels[i] = new
            pc[new] += 1.0
            for f in range(d):
                ps[new, f] += X[i, f]
        elif old != new:
            changed += 1
            labels[i] = new
            pc[new] += 1.0
            pc[old] -= 1.0
            for f in range(d):
                v = np.float64(X[i, f])
                ps[new, f] += v
                ps[old, f] -= v
    return changed


@njit(cache=True)
def _hamerly_rows(ls, ubs, lbs, cum_u, cum_l, half_sep, init, i0,
                  idx):  # pragma: no cover - numba
    """Write to ``idx`` the rows (``i0 +`` their index in the slices) whose bounds do not
    prove their assignment (every row when ``init``); return how many."""
    nv = 0
    for t in range(ls.shape[0]):
        a = ls[t]
        if init or (np.float64(ubs[t]) + cum_u[a]
                    > max(np.float64(lbs[t]) - cum_l[a], half_sep[a])):
            idx[nv] = i0 + t
            nv += 1
    return nv


@njit(parallel=True, fastmath=False, cache=True)
def _hamerly_pass(X, mu, W, cst, margin, err, C, labels, ub, lb, cum_u, cum_l, half_sep, init,
                  psum, pcnt, pch, pvis, tiles):  # pragma: no cover - numba
    """One Hamerly iteration over all rows (``init``: every row, sums from scratch).

    A row is skipped, its features unread, when its bounds prove its assignment:
    ``ub + cum_u[a] <= max(lb - cum_l[a], half_sep[a])`` (bounds are Euclidean distances stored
    in float32, rounded outwards, relative to the cumulative centre drifts ``cum_u`` (per
    centre) and ``cum_l`` (largest drift of the other centres)). The other rows of a block are
    gathered into transposed tiles and assigned as in :func:`_lloyd_pass` (float32 lanes,
    float64 re-decision within ``margin``); their new bounds are widened by ``err``, the bound
    on the float32 error of a squared distance. Rows that change cluster move their features
    between the sums (``init``: every row is added to its cluster). ``tiles``, ``W`` and
    ``cst`` as in :func:`_lloyd_pass`.
    """
    n, d = X.shape
    k = C.shape[0]
    nb = psum.shape[0]
    for b in prange(nb):
        ps = psum[b]
        pc = pcnt[b]
        for j in range(k):
            pc[j] = 0.0
            for f in range(d):
                ps[j, f] = 0.0
        i0 = b * _BLOCK
        i1 = min(n, i0 + _BLOCK)
        idx = np.empty(i1 - i0, dtype=np.int64)
        nv = _hamerly_rows(labels[i0:i1], ub[i0:i1], lb[i0:i1], cum_u, cum_l, half_sep, init,
                           i0, idx)
        xt = np.zeros((W.shape[1], _TILE), dtype=np.float32)  # (rows past d stay zero)
        acc = np.empty(_TILE, dtype=np.float32)
        best = np.empty(_TILE, dtype=np.float32)
        second = np.empty(_TILE, dtype=np.float32)
        nrm = np.empty(_TILE, dtype=np.float32)
        lab = np.empty(_TILE, dtype=np.int32)
        changed = 0
        for q0 in range(0, nv, _TILE):
            m = min(_TILE, nv - q0)
            _gather_tile(X, idx, q0, m, mu, xt, nrm)
            _nearest(tiles, xt, m, W, cst, acc, best, second, lab)
            changed += _hamerly_update(X, idx[q0:q0 + m], lab, best, second, nrm, margin, err,
                                       C, labels, ub, lb, cum_u, cum_l, init, ps, pc)
        pch[b] = changed
        pvis[b] = nv


# --------------------------------------------------------------------------------------------
# Python drivers
# --------------------------------------------------------------------------------------------

Algorithm = Literal["auto", "lloyd", "hamerly"]


def _tile_kernel(k: int, d: int) -> tuple[int, int, int]:
    """The distance kernel of a Lloyd pass for ``k`` centres and ``d`` features:
    ``(code, kp, dp)``, the padded numbers of centres and features.

    The register-blocked kernels of :mod:`._tiles` compute ``kp x dp`` products per row, the
    padding included, but keep them in SIMD registers, where :func:`_tile_nearest` computes
    ``k x d`` and stores and reloads a partial sum per centre and four features. Measured on
    1M rows (2 threads, AVX2), the right kernel takes 0.69x (d = 8, k = 8), 0.75x (d = 3,
    k = 8) and 0.73x (d = 3, k = 4) the generic kernel's time, and padding beyond about 4/3 of
    the real work loses (d = 6 with k = 5: 1.3x). So a register kernel is used when ``d <= 8``
    and the padded work is at most 4/3 of the real one; otherwise code 0, the generic kernel,
    and ``(k, d)`` unpadded.
    """
    best = (0, k, d)
    if d <= 8:
        for code, g, h in _TILE_KERNELS:
            kp = -(-k // g) * g
            if d <= h and kp * h <= _TILE_WASTE * k * d + 1e-9 and (
                    best[0] == 0 or kp * h < best[1] * best[2]):
                best = (code, kp, h)
    return best


def _check_data(X: Any) -> np.ndarray:
    """A 2-D C-contiguous float32/float64 view of ``X`` (copied only when it must be)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise InvalidParameterError(
            f"X must be a 2-D array of shape (n_samples, n_features). Got {X.ndim} dimension(s) "
            "instead.")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InvalidParameterError(f"X must have at least one row and one column. Got shape "
                                    f"{X.shape} instead.")
    return np.ascontiguousarray(X)


def _check_weights(sample_weight: Any, n: int) -> np.ndarray:
    """Float64 weights of length ``n``, or an empty array for "all equal"."""
    if sample_weight is None:
        return np.empty(0)
    sw = np.ascontiguousarray(sample_weight, dtype=np.float64)
    if sw.ndim == 0:
        sw = np.full(n, float(sw))
    if sw.shape != (n,):
        raise InvalidParameterError(
            f"sample_weight must have shape ({n},) like the rows of X. Got {sw.shape} instead.")
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise InvalidParameterError("sample_weight must be finite and non-negative.")
    return sw


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise InvalidParameterError(
            f"The {name!r} parameter must be an int >= {low}. Got {value!r} instead.")
    return int(value)


def _check_random_state(random_state: Any) -> np.random.RandomState | np.random.Generator:
    """``None``/int → ``RandomState`` (scikit-learn's rule); instances are used as they are."""
    if isinstance(random_state, np.random.RandomState | np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return np.random.RandomState(int(random_state))
    raise InvalidParameterError(
        f"The 'random_state' parameter must be None, an int, a numpy RandomState or Generator. "
        f"Got {random_state!r} instead.")


class _Workspace:
    """Buffers shared by the runs on one ``X``: block partials, moments, labels."""

    def __init__(self, X: np.ndarray, k: int, sw: np.ndarray, pack: bool | None = None):
        n, d = X.shape
        self.X = X
        self.sw = sw
        self.k = k
        nb = (n + _BLOCK - 1) // _BLOCK
        self.nb = nb
        self.psum = np.empty((nb, k, d))
        self.pcnt = np.empty((nb, k))
        self.pch = np.empty(nb, dtype=np.int64)
        self.pin = np.empty(nb)
        self.prc = np.empty(nb, dtype=np.int64)
        mean, var, radius = _moments(X)
        self.mean = mean
        self.var = var
        self.mu = mean.astype(X.dtype)  # centring used by the distance kernels
        self.mu64 = self.mu.astype(np.float64)
        # largest |x - mu|, with room for the rounding of mu to the dtype of X
        self.radius = radius + float(np.sqrt(((mean - self.mu64) ** 2).sum()))
        self.labels = np.empty(n, dtype=np.int32)
        self.rechecked = 0
        self.visited = 0.0
        # float64 data: a packed float32 copy of the centred, transposed tiles (half the size of
        # X) spares every pass the transposition and halves what it reads; float32 data is
        # transposed on the fly so the memory stays at X plus O(n) labels
        if pack is None:
            pack = X.dtype == np.float64
        self._pack = bool(pack)
        self.tiles, self.kp, self.dp = _tile_kernel(k, d)
        # rows of a Lloyd pass's tile: _PASS_TILE for packed tiles read by a register kernel;
        # a tile transposed on the fly stays at _TILE rows (8 KB, in L1: 1024 rows made a
        # float32 pass 1.22x slower)
        self.rows = _PASS_TILE if self.tiles and self._pack else _TILE
        self.P = np.empty((0, self.dp, self.rows), dtype=np.float32)

    def packed(self) -> np.ndarray:
        """The packed tiles, built on first use (kept for the other starts of kmeans_fit)."""
        if self._pack and self.P.shape[0] == 0:
            n = self.X.shape[0]
            rows = self.rows
            self.P = np.empty(((n + rows - 1) // rows, self.dp, rows), dtype=np.float32)
            _pack(self.X, self.mu, self.P)
        return self.P

    def padded(self, W: np.ndarray, cst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``W``/``cst`` of :meth:`params` in the shape of the Lloyd pass's kernel: zero
        weights for the padding features, ``+inf`` constants for the padding centres."""
        k, d = W.shape
        if (self.kp, self.dp) == (k, d):
            return W, cst
        Wp = np.zeros((self.kp, self.dp), dtype=np.float32)
        Wp[:k, :d] = W
        cp = np.full(self.kp, np.inf, dtype=np.float32)
        cp[:k] = cst
        return Wp, cp

    def tol_abs(self, tol: float) -> float:
        """scikit-learn's ``_tolerance``: ``tol`` times the mean feature variance."""
        return 0.0 if tol == 0 else float(np.mean(self.var) * tol)

    def params(self, C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.float32]:
        """Float32 ``W = -2 c'``, ``cst = |c'|^2`` (centred centres) and the re-decision margin.

        The float32 value ``cst + x'.W`` of a row differs from the exact one by at most
        ``(d + 4) eps32 (|c'|^2 + 2 |x'| |c'|)`` (rounding of ``x'``, ``W``, ``cst`` and of the
        ``d + 1`` additions); two values closer than twice that, times a safety factor of 2,
        are re-decided in float64.
        """
        Cc = C - self.mu64
        W = np.ascontiguousarray(-2.0 * Cc, dtype=np.float32)
        cst = np.einsum("ij,ij->i", Cc, Cc)
        c1 = float(np.sqrt(cst.max()))
        d = C.shape[1]
        eps = float(np.finfo(np.float32).eps)
        margin = 4.0 * (d + 4) * eps * (c1 * c1 + 2.0 * self.radius * c1) + 1e-30
        return W, cst.astype(np.float32), np.float32(margin)

    def lloyd_pass(self, C: np.ndarray, mode: int, sums: np.ndarray,
                   counts: np.ndarray) -> tuple[int, float]:
        """One fused pass with the centres ``C``; returns ``(changed, inertia)``.

        ``sums``/``counts`` receive the cluster sums (``_FULL``) or are updated by the changes
        (``_DELTA``); the inertia is computed only in ``_FINAL`` mode.
        """
        W, cst, margin = self.params(C)
        W, cst = self.padded(W, cst)
        _lloyd_pass(self.X, self.packed(), self.mu, W, cst, margin, C, self.sw, self.labels,
                    self.psum, self.pcnt, self.pch, self.pin, self.prc, mode, self.tiles,
                    self.rows)
        self.rechecked += int(self.prc.sum())
        if mode == _FINAL:
            return int(self.pch.sum()), float(self.pin.sum())
        return _reduce_blocks(self.psum, self.pcnt, self.pch, self.pin, sums, counts,
                              mode == _DELTA)

    def final_pass(self, C: np.ndarray) -> tuple[int, float]:
        """Labels of the centres ``C`` and the exact inertia (float64, direct differences)."""
        return self.lloyd_pass(C, _FINAL, self.psum[0], self.pcnt[0])


def _relocate_empty(ws: _Workspace, C_old: np.ndarray, sums: np.ndarray,
                    counts: np.ndarray) -> bool:
    """scikit-learn's ``_relocate_empty_clusters_dense``, made deterministic.

    Each empty cluster takes the row farthest from its (old) centre, farthest first, ties to the
    lower row; that row's weight leaves its own cluster's sums. Returns whether anything moved
    (then the sums no longer match the labels and the next pass recomputes them).
    """
    empty = np.flatnonzero(counts == 0)
    if empty.size == 0:
        return False
    rows, dist = _farthest_rows(ws.X, C_old, ws.labels, int(empty.size))
    if dist[0] <= 0:  # fewer distinct rows than clusters: nothing to move
        return False
    for j, i in zip(empty, rows, strict=True):
        if i < 0:
            break
        w = ws.sw[i] if ws.sw.size else 1.0
        old = ws.labels[i]
        x = ws.X[i].astype(np.float64) * w
        sums[old] -= x
        sums[j] = x
        counts[j] = w
        counts[old] -= w
    logger.debug("relocated %d empty cluster(s)", empty.size)
    return True


def _average(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """scikit-learn's ``_average_centers``: multiply by the reciprocal; an empty cluster sits on
    the centre of the heaviest one."""
    C = np.empty_like(sums)
    heavy = int(np.argmax(counts))
    for j in range(sums.shape[0]):
        if counts[j] > 0:
            C[j] = sums[j] * (1.0 / counts[j])
    for j in range(sums.shape[0]):
        if not counts[j] > 0:
            C[j] = C[heavy] if counts[heavy] > 0 else sums[heavy]
    return C


def _run_lloyd(ws: _Workspace, C0: np.ndarray, max_iter: int,
               tol_abs: float) -> tuple[np.ndarray, float, int]:
    """Lloyd iterations from ``C0``; returns ``(centers, inertia, n_iter)``, labels in ``ws``."""
    k, d = C0.shape
    C = np.array(C0, dtype=np.float64)
    ws.labels.fill(-1)
    sums = np.zeros((k, d))
    counts = np.zeros(k)
    mode = _FULL
    strict = False
    it = 0
    for it in range(max_iter):  # noqa: B007 - n_iter is it + 1, as in scikit-learn
        changed, _ = ws.lloyd_pass(C, mode, sums, counts)
        relocated = _relocate_empty(ws, C, sums, counts)
        C_new = _average(sums, counts)
        shift = float(((C_new - C) ** 2).sum())
        C = C_new
        if changed == 0:
            strict = True
            break
        if shift <= tol_abs:
            break
        # incremental sums only for equal weights: counts then stay exact integers, so an
        # emptied cluster is exactly 0
        mode = (_FULL if relocated or ws.sw.size or (it + 1) % _REFRESH == 0 else _DELTA)
    del strict  # the final pass runs either way: it also gives the exact inertia
    _, inertia = ws.final_pass(C)
    return C, inertia, it + 1


def _run_hamerly(ws: _Workspace, C0: np.ndarray, max_iter: int,
                 tol_abs: float) -> tuple[np.ndarray, float, int]:
    """Hamerly iterations from ``C0``: the partitions of :func:`_run_lloyd`, fewer distances."""
    X = ws.X
    n, d = X.shape
    k = C0.shape[0]
    C = np.array(C0, dtype=np.float64)
    labels = ws.labels
    labels.fill(-1)
    ub = np.empty(n, dtype=np.float32)
    lb = np.empty(n, dtype=np.float32)
    pvis = np.zeros(ws.nb, dtype=np.int64)
    cum_u = np.zeros(k)
    cum_l = np.zeros(k)
    sums = np.zeros((k, d))
    counts = np.zeros(k)
    eps32 = float(np.finfo(np.float32).eps)
    init = True
    it = 0
    visited = 0
    for it in range(max_iter):  # noqa: B007 - n_iter is it + 1, as in scikit-learn
        W, cst, margin = ws.params(C)
        # error of a float32 squared distance: that of cst + x'.W plus that of |x'|^2
        err = float(margin) / 2.0 + 2.0 * (d + 2) * eps32 * ws.radius ** 2
        gaps = _center_gaps(C) * (1.0 - 1e-12)
        W, cst = ws.padded(W, cst)
        _hamerly_pass(X, ws.mu, W, cst, margin, err, C, labels, ub, lb, cum_u, cum_l,
                      0.5 * gaps, init, ws.psum, ws.pcnt, ws.pch, pvis, ws.tiles)
        visited += int(pvis.sum())
        ws.pin.fill(0.0)
        changed, _ = _reduce_blocks(ws.psum, ws.pcnt, ws.pch, ws.pin, sums, counts, not init)
        init = _relocate_empty(ws, C, sums, counts)
        C_new = _average(sums, counts)
        drift = np.sqrt(((C_new - C) ** 2).sum(axis=1)) * (1.0 + 1e-12)
        shift = float((drift ** 2).sum())
        cum_u += drift
        if k > 1:
            order = np.argsort(drift)
            top, runner_up = drift[order[-1]], drift[order[-2]]
            cum_l += np.where(np.arange(k) == order[-1], runner_up, top)
        C = C_new
        if changed == 0:
            break
        if shift <= tol_abs:
            break
    ws.visited = visited / max(n, 1)
    logger.debug("hamerly: %d iterations assigned %.2f rows per row", it + 1, ws.visited)
    _, inertia = ws.final_pass(C)
    return C, inertia, it + 1


def _center_gaps(C: np.ndarray) -> np.ndarray:
    """Distance from each centre to its nearest other centre (``inf`` when k = 1)."""
    k = C.shape[0]
    if k == 1:
        return np.full(1, np.inf)
    D2 = ((C[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(D2, np.inf)
    return np.sqrt(D2.min(axis=1))


@njit(cache=True)
def _same_clustering(a, b, k):  # pragma: no cover - numba
    """Whether two labelings are the same partition up to renaming (scikit-learn's test)."""
    mapping = np.full(k, -1, dtype=np.int64)
    for i in range(a.shape[0]):
        if mapping[a[i]] == -1:
            mapping[a[i]] = b[i]
        elif mapping[a[i]] != b[i]:
            return False
    return True


# --------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------


def select_algorithm(n_samples: int, n_features: int, n_clusters: int, *,
                     weighted: bool = False) -> Literal["lloyd", "hamerly"]:
    """The kernel ``algorithm="auto"`` runs: ``"hamerly"`` when ``n_clusters * n_features``
    reaches 256, or 1024 when a register-blocked Lloyd kernel applies (:func:`_tile_kernel`).

    Rule, measured with ``benchmarks/bench_kmeans.py`` on customer-like data (1M rows): a
    Lloyd pass costs a fixed part per row (reading it, bookkeeping) plus a part proportional
    to ``n_clusters * n_features`` (the distances). Hamerly's pass costs a bound test per row
    plus a Lloyd-like assignment, slower per row because the rows are gathered, for the rows
    whose bounds fail (typically 10-40 % on overlapping segments). With the generic distance
    kernel the two tie at ``k * d = 64`` and Hamerly is faster from 256 (16 x 16: 727 vs
    860 ms for 50 iterations; 16 x 32: ~3x). With a register kernel (at most 8 features,
    which Hamerly's gathered tiles use too) Lloyd stays as fast or faster up to 64 x 8 (627 vs
    878 ms at 32 x 8, 1.09 vs 1.13 s at 64 x 8) and Hamerly wins at 128 x 8 (1.49 vs 1.80 s;
    after the Lloyd pass's tiles grew to 1024 rows: 0.95 vs 1.06 s at 64 x 8, 1.43 vs 1.66 s
    at 128 x 8, 2.37 vs 3.26 s at 256 x 8, so the rule stands).
    Lloyd is also used with sample weights (Hamerly's incremental sums assume equal weights),
    for ``k < 3``, and below ``4 * 8192`` rows.

    Parameters
    ----------
    n_samples, n_features, n_clusters : int
        Shape of the problem.
    weighted : bool, default=False
        Whether sample weights are given.

    Returns
    -------
    {"lloyd", "hamerly"}

    Examples
    --------
    >>> from custseg.cluster._lloyd import select_algorithm
    >>> select_algorithm(1_000_000, 8, 8), select_algorithm(1_000_000, 32, 16)
    ('lloyd', 'hamerly')
    >>> select_algorithm(1_000_000, 8, 32), select_algorithm(1_000_000, 8, 128)
    ('lloyd', 'hamerly')
    """
    if weighted or n_clusters < 3 or n_samples < 4 * _BLOCK:
        return "lloyd"
    register = _tile_kernel(n_clusters, n_features)[0] != 0
    return "hamerly" if n_clusters * n_features >= (1024 if register else 256) else "lloyd"


def _resolve_algorithm(algorithm: str, ws: _Workspace) -> str:
    if algorithm not in ("auto", "lloyd", "hamerly"):
        raise InvalidParameterError(
            f'The \'algorithm\' parameter must be one of {{"auto", "hamerly", "lloyd"}}. '
            f"Got {algorithm!r} instead.")
    weighted = ws.sw.size > 0
    if algorithm == "hamerly" and weighted:
        raise InvalidParameterError(
            "algorithm='hamerly' does not take sample_weight (its incremental sums assume equal "
            "weights). Use algorithm='lloyd' or 'auto'.")
    if algorithm == "auto":
        n, d = ws.X.shape
        return select_algorithm(n, d, ws.k, weighted=weighted)
    return algorithm


def _check_centers(centers: Any, k: int | None, d: int) -> np.ndarray:
    C = np.array(centers, dtype=np.float64, copy=True)
    if C.ndim != 2 or C.shape[1] != d or (k is not None and C.shape[0] != k) or C.shape[0] < 1:
        want = f"({k}, {d})" if k is not None else f"(n_clusters, {d})"
        raise InvalidParameterError(
            f"The initial centres must have shape {want}. Got {C.shape} instead.")
    if not np.all(np.isfinite(C)):
        raise InvalidParameterError("The initial centres must be finite.")
    return C


def lloyd(X: Any, centers_init: Any, *, max_iter: int = 300, tol: float = 1e-4,
          sample_weight: Any = None, n_threads: int | None = None,
          algorithm: Algorithm = "auto") -> tuple[np.ndarray, np.ndarray, float, int]:
    """K-means (Lloyd's algorithm) from given initial centres, with a fused numba kernel.

    From the same start it gives the partition of scikit-learn's
    ``KMeans(algorithm="lloyd", init=centers_init, n_init=1)``: same iterations, same
    convergence rule, same handling of empty clusters, labels of the returned centres.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite data, float32 or float64 (other dtypes are converted to float64). It is read in
        place (no copy) when C-contiguous; float32 stays float32.
    centers_init : array-like of shape (n_clusters, n_features)
        Initial centres.
    max_iter : int, default=300
        Maximum number of iterations.
    tol : float, default=1e-4
        Relative tolerance: the run stops when the summed squared centre shift is at most
        ``tol * mean(var(X, axis=0))`` (scikit-learn's rule), or when no label changes.
        ``tol=0`` stops only on unchanged labels or after ``max_iter`` iterations.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights (``None``: all equal).
    n_threads : int, default=None
        Threads of the parallel loops (``None``: numba's setting). The result does not depend on
        it: partial sums are reduced in a fixed block order.
    algorithm : {"auto", "lloyd", "hamerly"}, default="auto"
        Kernel. ``"hamerly"`` visits the same partitions, skipping rows whose distance bounds
        prove their assignment; ``"auto"`` follows :func:`select_algorithm`.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), float64
        Final centres (weighted means of their clusters, accumulated in float64).
    labels : ndarray of shape (n_samples,), int32
        Nearest final centre of each row (ties go to the lower index).
    inertia : float
        Weighted sum of squared distances of the rows to their centres (float64, computed
        directly, not from the expansion used to assign).
    n_iter : int
        Number of iterations run.

    Raises
    ------
    InvalidParameterError
        On a bad shape or parameter value.

    Notes
    -----
    Memory beyond ``X``: the int32 labels (4 bytes a row) and, for float64 data, a packed
    float32 copy of the centred rows in transposed tiles (``4 * n_features`` bytes a row, half
    of ``X``), which every iteration then reads instead of ``X``. Float32 data is tiled on the
    fly, so a fit holds ``X`` plus O(n) labels. Hamerly adds two float32 bounds a row.

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster._lloyd import lloyd
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> centers, labels, inertia, n_iter = lloyd(X, X[[0, 2]])
    >>> labels.tolist(), float(inertia)
    ([0, 0, 1, 1], 1.0)
    """
    X = _check_data(X)
    n, d = X.shape
    C0 = _check_centers(centers_init, None, d)
    k = C0.shape[0]
    if n < k:
        raise InvalidParameterError(
            f"n_samples={n} should be >= n_clusters={k}. Ask for fewer clusters or pass more rows.")
    max_iter = _check_int("max_iter", max_iter, 1)
    tol = _check_tol(tol)
    sw = _check_weights(sample_weight, n)
    with NumbaThreads(n_threads):
        ws = _Workspace(X, k, sw)
        run = _run_hamerly if _resolve_algorithm(algorithm, ws) == "hamerly" else _run_lloyd
        C, inertia, n_iter = run(ws, C0, max_iter, ws.tol_abs(tol))
    return C, ws.labels, inertia, n_iter


def _check_tol(tol: Any) -> float:
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.floating | np.integer) \
            or not np.isfinite(tol) or tol < 0:
        raise InvalidParameterError(f"The 'tol' parameter must be a float >= 0. Got {tol!r} "
                                    "instead.")
    return float(tol)


def _uniforms(rs: np.random.RandomState | np.random.Generator, size: int | None):
    """``RandomState.uniform`` (scikit-learn's draw) or ``Generator.random``."""
    if isinstance(rs, np.random.Generator):
        return rs.random() if size is None else rs.random(size)
    return rs.random_sample() if size is None else rs.uniform(size=size)


def _kmeans_pp(ws: _Workspace, k: int, rs: np.random.RandomState | np.random.Generator,
               n_local_trials: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ on the workspace's data: one pass over X per centre."""
    X = ws.X
    n, d = X.shape
    dt = X.dtype
    trials = 2 + int(np.log(k)) if n_local_trials is None else n_local_trials
    # first centre: RandomState.choice(n, p=w / w.sum()) with w in the dtype of X
    w = np.ones(1, dtype=dt) if ws.sw.size == 0 else ws.sw.astype(dt)
    wsum = dt.type(n) if ws.sw.size == 0 else w.sum()
    first = int(_first_center(w, wsum, n, float(_uniforms(rs, None))))
    del w
    indices = np.full(k, -1, dtype=np.int64)
    indices[0] = first
    closest = np.empty(n, dtype=dt)
    pbs = np.empty(ws.nb)
    pbs_t = np.empty((ws.nb, trials))
    pending = np.ascontiguousarray(X[first] - ws.mu, dtype=dt)
    _pp_first(X, ws.mu, pending, closest, ws.sw, pbs)
    pot = float(pbs.sum())
    has_pending = False
    for c in range(1, k):
        r = np.asarray(_uniforms(rs, trials), dtype=np.float64) * pot
        ids = _pp_pick(X, ws.mu, has_pending, pending, closest, ws.sw, pbs, r)
        cands = np.ascontiguousarray(X[ids] - ws.mu, dtype=dt)
        _pp_pass(X, ws.mu, cands, has_pending, pending, closest, ws.sw, pbs_t)
        pots = pbs_t.sum(axis=0)
        best = int(np.argmin(pots))
        pot = float(pots[best])
        pbs = np.ascontiguousarray(pbs_t[:, best])
        pending = np.ascontiguousarray(cands[best])
        has_pending = True
        indices[c] = ids[best]
    return X[indices].copy(), indices


def kmeans_plusplus(X: Any, k: int, random_state: Any = None, n_local_trials: int | None = None,
                    *, sample_weight: Any = None,
                    n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ seeding, as ``sklearn.cluster.kmeans_plusplus``, in ``k`` passes over X.

    With a ``numpy.random.RandomState`` (or an int seed) it makes scikit-learn's draws in
    scikit-learn's order (one uniform for the first centre, ``n_local_trials`` per further
    centre), so it returns the same centres as ``sklearn.cluster.kmeans_plusplus`` unless a draw
    falls within rounding of a boundary between two rows. Each further centre costs one
    parallel pass that evaluates all candidates at once and folds in the previous choice; no
    (n_local_trials, n) distance matrix is built, so memory stays at one (n,) array.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite data, float32 or float64.
    k : int
        Number of centres.
    random_state : int, numpy.random.RandomState, numpy.random.Generator or None, default=None
        Source of the draws. ``None`` uses NumPy's global ``RandomState``, as scikit-learn
        does; a ``Generator`` is accepted (its draws differ from scikit-learn's).
    n_local_trials : int, default=None
        Candidates per centre; ``None`` means ``2 + int(log(k))``.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights of the D² sampling.
    n_threads : int, default=None
        Threads of the parallel passes.

    Returns
    -------
    centers : ndarray of shape (k, n_features)
        The chosen rows of ``X`` (dtype of ``X``).
    indices : ndarray of shape (k,)
        Their row numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster._lloyd import kmeans_plusplus
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [10.1, 0.0]])
    >>> centers, indices = kmeans_plusplus(X, 2, random_state=0)
    >>> sorted((centers[:, 0] > 5).tolist())
    [False, True]
    """
    X = _check_data(X)
    n = X.shape[0]
    k = _check_int("k", k, 1)
    if n < k:
        raise InvalidParameterError(
            f"n_samples={n} should be >= n_clusters={k}. Ask for fewer clusters or pass more rows.")
    if n_local_trials is not None:
        n_local_trials = _check_int("n_local_trials", n_local_trials, 1)
    rs = _check_random_state(random_state)
    sw = _check_weights(sample_weight, n)
    with NumbaThreads(n_threads):
        ws = _Workspace(X, k, sw)
        return _kmeans_pp(ws, k, rs, n_local_trials)


_INIT_SAMPLE = 100_000  # rows of init_size="auto" (at least 100 per cluster)
# tol of the sampled starts, relative to the tol on all rows: their iterations are cheap, and
# starts run further are judged nearer their minimum (credit-card customers, 501k x 17, 20
# seeds: median inertia +0.15 % against all-row starts with it, +0.28 % with the same tol)
_SAMPLE_TOL = 0.01


def _init_rows(init_size: Any, n: int, k: int, n_init: int) -> int | None:
    """Rows of the sample the starts run on, or ``None`` for all rows (see kmeans_fit)."""
    if init_size is None:
        return None
    if isinstance(init_size, str):
        if init_size != "auto":
            raise InvalidParameterError(
                f"The 'init_size' parameter must be an int >= 1, \"auto\" or None. Got "
                f"{init_size!r} instead.")
        m = max(_INIT_SAMPLE, 100 * k)
        return m if n_init > 1 and n >= 4 * m else None
    m = max(_check_int("init_size", init_size, 1), k)
    return m if m < n else None


def _sampled_start(ws: _Workspace, k: int, m: int, n_init: int,
                   rs: np.random.RandomState | np.random.Generator,
                   n_local_trials: int | None, algorithm: Algorithm, max_iter: int,
                   tol_abs: float) -> np.ndarray:
    """Centres of the best of ``n_init`` starts run to convergence on ``m`` sampled rows of
    ``ws.X``, judged by their inertia on all rows (one pass each: the sample's inertias differ
    by its noise, which picked a start 0.9 % worse on all rows in a 1M-row RFM test)."""
    X, sw = ws.X, ws.sw
    gen = rs if isinstance(rs, np.random.Generator) else np.random.default_rng(
        rs.randint(np.iinfo(np.int32).max))
    rows = np.sort(gen.choice(X.shape[0], size=m, replace=False))  # sorted: reads X in order
    sample = _Workspace(np.ascontiguousarray(X[rows]), k, sw[rows] if sw.size else sw)
    run = _run_hamerly if _resolve_algorithm(algorithm, sample) == "hamerly" else _run_lloyd
    best: tuple[np.ndarray, float] | None = None
    for r in range(n_init):
        C, inertia_m, n_iter = run(sample, _kmeans_pp(sample, k, rs, n_local_trials)[0],
                                   max_iter, tol_abs * _SAMPLE_TOL)
        _, inertia = ws.final_pass(C)
        logger.debug("k-means start %d/%d: inertia %.6g on %d sampled rows in %d iterations, "
                     "%.6g on all rows", r + 1, n_init, inertia_m, m, n_iter, inertia)
        if best is None or inertia < best[1]:
            best = (C, inertia)
    return best[0]


def kmeans_fit(X: Any, k: int, *, n_init: int = 1, init: str | Any = "k-means++",
               random_state: Any = None, max_iter: int = 300, tol: float = 1e-4,
               sample_weight: Any = None, n_local_trials: int | None = None,
               algorithm: Algorithm = "auto", init_size: int | Literal["auto"] | None = None,
               n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Best of ``n_init`` k-means++ starts, each followed by Lloyd iterations.

    Draws and keeps runs as ``sklearn.cluster.KMeans(init="k-means++", algorithm="lloyd")``
    does: the starts are seeded one after the other from the same random state, and a later run
    replaces the kept one only when its inertia is lower and its partition differs. So an int
    seed gives scikit-learn's partition. The column moments, block buffers and label array are
    computed or allocated once and shared by the starts.

    With ``init_size`` (rows ``m``), the starts run on a uniform sample of ``m`` rows instead:
    each is seeded and iterated to convergence there, the one whose centres have the lowest
    inertia on all rows (one pass each) is kept, and its centres start the Lloyd iterations on
    all rows. That is the
    initialisation of scikit-learn's ``MiniBatchKMeans`` (``init_size``), followed by full Lloyd.
    The ``n_init`` starts then cost about ``n_init * m / n`` of one start on all rows, so the
    fit costs little more than one start, while the start is chosen among ``n_init``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite data, float32 or float64 (read in place when C-contiguous).
    k : int
        Number of clusters.
    n_init : int, default=1
        Number of k-means++ starts (ignored, one run, when ``init`` is an array).
    init : "k-means++" or array-like of shape (k, n_features), default="k-means++"
        Seeding, or the initial centres.
    random_state : int, numpy.random.RandomState, numpy.random.Generator or None, default=None
        Source of the k-means++ draws.
    max_iter : int, default=300
        Maximum iterations per run.
    tol : float, default=1e-4
        Relative tolerance (see :func:`lloyd`).
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    n_local_trials : int, default=None
        k-means++ candidates per centre (``None``: ``2 + int(log(k))``).
    algorithm : {"auto", "lloyd", "hamerly"}, default="auto"
        Kernel of the iterations (see :func:`lloyd`).
    init_size : int, "auto" or None, default=None
        Rows the starts run on (see above). ``None``: all rows, scikit-learn's draws and
        partition. An int: a sample of that many rows (at least ``k``), when it is smaller than
        ``n_samples``. ``"auto"``: a sample of ``max(100_000, 100 * k)`` rows when ``n_init > 1``
        and the data has at least four times that many rows, else all rows. Not used with
        given initial centres.
    n_threads : int, default=None
        Threads of the parallel loops; the result does not depend on it.

    Returns
    -------
    centers : ndarray of shape (k, n_features), float64
    labels : ndarray of shape (n_samples,), int32
    inertia : float
    n_iter : int
        Iterations of the kept run (on all rows, with ``init_size``).

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.cluster._lloyd import kmeans_fit
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> centers, labels, inertia, n_iter = kmeans_fit(X, 2, n_init=3, random_state=0)
    >>> float(inertia), len(set(labels.tolist()))
    (1.0, 2)
    """
    X = _check_data(X)
    n, d = X.shape
    k = _check_int("k", k, 1)
    if n < k:
        raise InvalidParameterError(
            f"n_samples={n} should be >= n_clusters={k}. Ask for fewer clusters or pass more rows.")
    n_init = _check_int("n_init", n_init, 1)
    max_iter = _check_int("max_iter", max_iter, 1)
    tol = _check_tol(tol)
    given = not (isinstance(init, str) and init == "k-means++")
    if isinstance(init, str) and given:
        raise InvalidParameterError(
            f"The 'init' parameter must be \"k-means++\" or an array of shape ({k}, {d}). Got "
            f"{init!r} instead.")
    C_given = _check_centers(init, k, d) if given else None
    if n_local_trials is not None:
        n_local_trials = _check_int("n_local_trials", n_local_trials, 1)
    rs = _check_random_state(random_state)
    sw = _check_weights(sample_weight, n)
    m = None if given else _init_rows(init_size, n, k, n_init)
    with NumbaThreads(n_threads):
        ws = _Workspace(X, k, sw)
        run = _run_hamerly if _resolve_algorithm(algorithm, ws) == "hamerly" else _run_lloyd
        tol_abs = ws.tol_abs(tol)
        if m is not None:
            C0 = _sampled_start(ws, k, m, n_init, rs, n_local_trials, algorithm, max_iter,
                                tol_abs)
            C, inertia, n_iter = run(ws, C0, max_iter, tol_abs)
            logger.debug("k-means on all %d rows from the best of %d starts on %d: inertia "
                         "%.6g in %d iterations", n, n_init, m, inertia, n_iter)
            return C, ws.labels, inertia, n_iter
        best: tuple[np.ndarray, np.ndarray, float, int] | None = None
        runs = 1 if given else n_init
        for r in range(runs):
            C0 = C_given if C_given is not None else _kmeans_pp(ws, k, rs, n_local_trials)[0]
            C, inertia, n_iter = run(ws, C0, max_iter, tol_abs)
            if best is None or (inertia < best[2]
                                and not _same_clustering(ws.labels, best[1], k)):
                labels = ws.labels if r == runs - 1 else ws.labels.copy()
                best = (C, labels, inertia, n_iter)
            logger.debug("k-means start %d/%d: inertia %.6g in %d iterations", r + 1, runs,
                         inertia, n_iter)
    return best
