"""Register-blocked nearest-centre kernels for small feature counts (GENERATED: do not edit).

Written by ``scripts/gen_tile_kernels.py``; change that script and run it again.

``_tile_g{G}h{H}(xt, m, W, cst, best, second, lab)`` does what ``_lloyd._tile_nearest`` does
for a transposed float32 tile ``xt`` of ``H`` feature rows (features past ``d`` are zero rows),
with ``W`` of shape ``(kp, H)`` (``kp`` a multiple of ``G``; zero columns past ``d``) and
``cst`` of length ``kp`` (``+inf`` for the padding centres, which then never come first or
second). The ``G`` centres of a group and the ``H`` features are named locals, so the
accumulators and weights stay in SIMD registers over the rows; only ``best``, ``second`` and
``lab`` are written, and read back from the second group of centres on.

Each value is ``cst + x0*w0 + x1*w1 + ...`` added left to right with fused multiply-adds, the
order ``_tile_nearest`` uses, and a zero feature adds an exact zero: the values, hence the
labels and the float64 re-decisions, are the same bits as the generic kernel's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["_tile_g4h4", "_tile_g4h8", "_tile_g8h8"]


@njit(cache=True, fastmath={"contract"})
def _tile_g4h4(xt, m, W, cst, best, second, lab):  # pragma: no cover - numba
    """4 centres at a time, 4 features (see the module docstring)."""
    kp = W.shape[0]
    x0 = xt[0]
    x1 = xt[1]
    x2 = xt[2]
    x3 = xt[3]
    for j0 in range(0, kp, 4):
        c0 = cst[j0]
        c1 = cst[j0 + 1]
        c2 = cst[j0 + 2]
        c3 = cst[j0 + 3]
        r = W[j0]
        w00, w01, w02, w03 = r[0], r[1], r[2], r[3]
        r = W[j0 + 1]
        w10, w11, w12, w13 = r[0], r[1], r[2], r[3]
        r = W[j0 + 2]
        w20, w21, w22, w23 = r[0], r[1], r[2], r[3]
        r = W[j0 + 3]
        w30, w31, w32, w33 = r[0], r[1], r[2], r[3]
        if j0 == 0:
            for t in range(m):
                y0 = x0[t]
                y1 = x1[t]
                y2 = x2[t]
                y3 = x3[t]
                a0 = c0 + y0 * w00 + y1 * w01 + y2 * w02 + y3 * w03
                a1 = c1 + y0 * w10 + y1 * w11 + y2 * w12 + y3 * w13
                a2 = c2 + y0 * w20 + y1 * w21 + y2 * w22 + y3 * w23
                a3 = c3 + y0 * w30 + y1 * w31 + y2 * w32 + y3 * w33
                b = a0
                s = np.float32(np.inf)
                lb = np.int32(0)
                s = min(s, max(a1, b))
                lb = np.int32(j0 + 1) if a1 < b else lb
                b = min(a1, b)
                s = min(s, max(a2, b))
                lb = np.int32(j0 + 2) if a2 < b else lb
                b = min(a2, b)
                s = min(s, max(a3, b))
                lb = np.int32(j0 + 3) if a3 < b else lb
                b = min(a3, b)
                best[t] = b
                second[t] = s
                lab[t] = lb
        else:
            for t in range(m):
                y0 = x0[t]
                y1 = x1[t]
                y2 = x2[t]
                y3 = x3[t]
                a0 = c0 + y0 * w00 + y1 * w01 + y2 * w02 + y3 * w03
                a1 = c1 + y0 * w10 + y1 * w11 + y2 * w12 + y3 * w13
                a2 = c2 + y0 * w20 + y1 * w21 + y2 * w22 + y3 * w23
                a3 = c3 + y0 * w30 + y1 * w31 + y2 * w32 + y3 * w33
                b = best[t]
                s = second[t]
                lb = lab[t]
                s = min(s, max(a0, b))
                lb = np.int32(j0) if a0 < b else lb
                b = min(a0, b)
                s = min(s, max(a1, b))
                lb = np.int32(j0 + 1) if a1 < b else lb
                b = min(a1, b)
                s = min(s, max(a2, b))
                lb = np.int32(j0 + 2) if a2 < b else lb
                b = min(a2, b)
                s = min(s, max(a3, b))
                lb = np.int32(j0 + 3) if a3 < b else lb
                b = min(a3, b)
                best[t] = b
                second[t] = s
                lab[t] = lb


@njit(cache=True, fastmath={"contract"})
def _tile_g4h8(xt, m, W, cst, best, second, lab):  # pragma: no cover - numba
    """4 centres at a time, 8 features (see the module docstring)."""
    kp = W.shape[0]
    x0 = xt[0]
    x1 = xt[1]
    x2 = xt[2]
    x3 = xt[3]
    x4 = xt[4]
    x5 = xt[5]
    x6 = xt[6]
    x7 = xt[7]
    for j0 in range(0, kp, 4):
        c0 = cst[j0]
        c1 = cst[j0 + 1]
        c2 = cst[j0 + 2]
        c3 = cst[j0 + 3]
        r = W[j0]
        w00, w01, w02, w03, w04, w05, w06, w07 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 1]
        w10, w11, w12, w13, w14, w15, w16, w17 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 2]
        w20, w21, w22, w23, w24, w25, w26, w27 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 3]
        w30, w31, w32, w33, w34, w35, w36, w37 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        if j0 == 0:
            for t in range(m):
                y0 = x0[t]
                y1 = x1[t]
                y2 = x2[t]
                y3 = x3[t]
                y4 = x4[t]
                y5 = x5[t]
                y6 = x6[t]
                y7 = x7[t]
                a0 = (c0 + y0 * w00 + y1 * w01 + y2 * w02 + y3 * w03
                      + y4 * w04 + y5 * w05 + y6 * w06 + y7 * w07)
                a1 = (c1 + y0 * w10 + y1 * w11 + y2 * w12 + y3 * w13
                      + y4 * w14 + y5 * w15 + y6 * w16 + y7 * w17)
                a2 = (c2 + y0 * w20 + y1 * w21 + y2 * w22 + y3 * w23
                      + y4 * w24 + y5 * w25 + y6 * w26 + y7 * w27)
                a3 = (c3 + y0 * w30 + y1 * w31 + y2 * w32 + y3 * w33
                      + y4 * w34 + y5 * w35 + y6 * w36 + y7 * w37)
                b = a0
                s = np.float32(np.inf)
                lb = np.int32(0)
                s = min(s, max(a1, b))
                lb = np.int32(j0 + 1) if a1 < b else lb
                b = min(a1, b)
                s = min(s, max(a2, b))
                lb = np.int32(j0 + 2) if a2 < b else lb
                b = min(a2, b)
                s = min(s, max(a3, b))
                lb = np.int32(j0 + 3) if a3 < b else lb
                b = min(a3, b)
                best[t] = b
                second[t] = s
                lab[t] = lb
        else:
            for t in range(m):
                y0 = x0[t]
                y1 = x1[t]
                y2 = x2[t]
                y3 = x3[t]
                y4 = x4[t]
                y5 = x5[t]
                y6 = x6[t]
                y7 = x7[t]
                a0 = (c0 + y0 * w00 + y1 * w01 + y2 * w02 + y3 * w03
                      + y4 * w04 + y5 * w05 + y6 * w06 + y7 * w07)
                a1 = (c1 + y0 * w10 + y1 * w11 + y2 * w12 + y3 * w13
                      + y4 * w14 + y5 * w15 + y6 * w16 + y7 * w17)
                a2 = (c2 + y0 * w20 + y1 * w21 + y2 * w22 + y3 * w23
                      + y4 * w24 + y5 * w25 + y6 * w26 + y7 * w27)
                a3 = (c3 + y0 * w30 + y1 * w31 + y2 * w32 + y3 * w33
                      + y4 * w34 + y5 * w35 + y6 * w36 + y7 * w37)
                b = best[t]
                s = second[t]
                lb = lab[t]
                s = min(s, max(a0, b))
                lb = np.int32(j0) if a0 < b else lb
                b = min(a0, b)
                s = min(s, max(a1, b))
                lb = np.int32(j0 + 1) if a1 < b else lb
                b = min(a1, b)
                s = min(s, max(a2, b))
                lb = np.int32(j0 + 2) if a2 < b else lb
                b = min(a2, b)
                s = min(s, max(a3, b))
                lb = np.int32(j0 + 3) if a3 < b else lb
                b = min(a3, b)
                best[t] = b
                second[t] = s
                lab[t] = lb


@njit(cache=True, fastmath={"contract"})
def _tile_g8h8(xt, m, W, cst, best, second, lab):  # pragma: no cover - numba
    """8 centres at a time, 8 features (see the module docstring)."""
    kp = W.shape[0]
    x0 = xt[0]
    x1 = xt[1]
    x2 = xt[2]
    x3 = xt[3]
    x4 = xt[4]
    x5 = xt[5]
    x6 = xt[6]
    x7 = xt[7]
    for j0 in range(0, kp, 8):
        c0 = cst[j0]
        c1 = cst[j0 + 1]
        c2 = cst[j0 + 2]
        c3 = cst[j0 + 3]
        c4 = cst[j0 + 4]
        c5 = cst[j0 + 5]
        c6 = cst[j0 + 6]
        c7 = cst[j0 + 7]
        r = W[j0]
        w00, w01, w02, w03, w04, w05, w06, w07 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 1]
        w10, w11, w12, w13, w14, w15, w16, w17 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 2]
        w20, w21, w22, w23, w24, w25, w26, w27 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 3]
        w30, w31, w32, w33, w34, w35, w36, w37 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 4]
        w40, w41, w42, w43, w44, w45, w46, w47 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 5]
        w50, w51, w52, w53, w54, w55, w56, w57 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 6]
        w60, w61, w62, w63, w64, w65, w66, w67 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        r = W[j0 + 7]
        w70, w71, w72, w73, w74, w75, w76, w77 = r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        if j0 == 0:
            for t in range(m):
                y0 = x0[t]
                y1 = x1[t]
                y2 = x2[t]
                y3 = x3[t]
                y4 = x4[t]
                y5 = x5[t]
                y6 = x6[t]
                y7 = x7[t]
                a0 = (c0 + y0 * w00 + y1 * w01 + y2 * w02 + y3 * w03
                      + y4 * w04 + y5 * w05 + y6 * w06 + y7 * w07)
                a1 = (c1 + y0 * w10 + y1 * w11 + y2 * w12 + y3 * w13
                      + y4 * w14 + y5 * w15 + y6 * w16 + y7 * w17)
                a2 = (c2 + y0 * w20 + y1 * w21 + y2 * w22 + y3 * w23
                      + y4 * w24 + y5 * w25 + y6 * w26 + y7 * w27)
                a3 = (c3 + y0 * w30 + y1 * w31 + y2 * w32 + y3 * w33
                      + y4 * w34 + y5 * w35 + y6 * w36 + y7 * w37)
                a4 = (c4 + y0 * w40 + y1 * w41 + y2 * w42 + y3 * w43
                      + y4 * w44 + y5 * w45 + y6 * w46 + y7 * w47)
                a5 = (c5 + y0 * w50 + y1 * w51 + y2 * w52 + y3 * w53
                      + y4 * w54 + y5 * w55 + y6 * w56 + y7 * w57)
                a6 = (c6 + y0 * w60 + y1 * w61 + y2 * w62 + y3 * w63
                      + y4 * w64 + y5 * w65 + y6 * w66 + y7 * w67)
                a7 = (c7 + y0 * w70 + y1 * w71 + y2 * w72 + y3 * w73
                      + y4 * w74 + y5 * w75 + y6 * w76 + y7 * w77)
                b = a0
                s = np.float32(np.inf)
                lb = np.int32(0)
                s = min(s, max(a1, b))
                lb = np.int32(j0 + 1) if a1 < b else lb
                b = min(a1, b)
                s = min(s, max(a2, b))
                lb = np.int32(j0 + 2) if a2 < b else lb
                b = min(a2, b)
                s = min(s, max(a3, b))
                lb = np.int32(j0 + 3) if a3 < b else lb
                b = min(a3, b)
                s = min(s, max(a4, b))
                lb = np.int32(j0 + 4) if a4 < b else lb
                b = min(a4, b)
                s = min(s, max(a5, b))
                lb = np.int32(j0 + 5) if a5 < b else lb
                b = min(a5, b)
                s = min(s, max(a6, b))
                lb = np.int32(j0 + 6) if a6 < b else lb
                b = min(a6, b)
                s = min(s, max(a7, b))
                lb = np.int32(j0 + 7) if a7 < b else lb
                b = min(a7, b)
                best[t] = b
                second[t] = s
                lab[t] = lb
        else:
            for t in range(m):
                y0 = x0[t]
                y1 = x1[t]
                y2 = x2[t]
                y3 = x3[t]
                y4 = x4[t]
                y5 = x5[t]
                y6 = x6[t]
                y7 = x7[t]
                a0 = (c0 + y0 * w00 + y1 * w01 + y2 * w02 + y3 * w03
                      + y4 * w04 + y5 * w05 + y6 * w06 + y7 * w07)
                a1 = (c1 + y0 * w10 + y1 * w11 + y2 * w12 + y3 * w13
                      + y4 * w14 + y5 * w15 + y6 * w16 + y7 * w17)
                a2 = (c2 + y0 * w20 + y1 * w21 + y2 * w22 + y3 * w23
                      + y4 * w24 + y5 * w25 + y6 * w26 + y7 * w27)
                a3 = (c3 + y0 * w30 + y1 * w31 + y2 * w32 + y3 * w33
                      + y4 * w34 + y5 * w35 + y6 * w36 + y7 * w37)
                a4 = (c4 + y0 * w40 + y1 * w41 + y2 * w42 + y3 * w43
                      + y4 * w44 + y5 * w45 + y6 * w46 + y7 * w47)
                a5 = (c5 + y0 * w50 + y1 * w51 + y2 * w52 + y3 * w53
                      + y4 * w54 + y5 * w55 + y6 * w56 + y7 * w57)
                a6 = (c6 + y0 * w60 + y1 * w61 + y2 * w62 + y3 * w63
                      + y4 * w64 + y5 * w65 + y6 * w66 + y7 * w67)
                a7 = (c7 + y0 * w70 + y1 * w71 + y2 * w72 + y3 * w73
                      + y4 * w74 + y5 * w75 + y6 * w76 + y7 * w77)
                b = best[t]
                s = second[t]
                lb = lab[t]
                s = min(s, max(a0, b))
                lb = np.int32(j0) if a0 < b else lb
                b = min(a0, b)
                s = min(s, max(a1, b))
                lb = np.int32(j0 + 1) if a1 < b else lb
                b = min(a1, b)
                s = min(s, max(a2, b))
                lb = np.int32(j0 + 2) if a2 < b else lb
                b = min(a2, b)
                s = min(s, max(a3, b))
                lb = np.int32(j0 + 3) if a3 < b else lb
                b = min(a3, b)
                s = min(s, max(a4, b))
                lb = np.int32(j0 + 4) if a4 < b else lb
                b = min(a4, b)
                s = min(s, max(a5, b))
                lb = np.int32(j0 + 5) if a5 < b else lb
                b = min(a5, b)
                s = min(s, max(a6, b))
                lb = np.int32(j0 + 6) if a6 < b else lb
                b = min(a6, b)
                s = min(s, max(a7, b))
                lb = np.int32(j0 + 7) if a7 < b else lb
                b = min(a7, b)
                best[t] = b
                second[t] = s
                lab[t] = lb
