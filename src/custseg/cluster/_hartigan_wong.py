"""Hartigan–Wong k-means: Algorithm AS 136 (Appl. Statist. 1979, 28(1)), as R's ``kmeans`` runs it.

A line-by-line port of the Fortran routines KMNS, OPTRA (optimal-transfer stage) and QTRAN
(quick-transfer stage) in R's ``stats`` package, including R's cap on quick-transfer steps
(``50 * m``) and its double-precision constants, so that from the same initial centres it
returns the same partition as ``kmeans(x, centers = C, algorithm = "Hartigan-Wong")``.

Step counters (``LIVE``, ``NCP``, ``ISTEP``) keep the Fortran's 1-based values; cluster indices
are 0-based. The arithmetic is written in the same order as the Fortran (no fused multiply-add,
numba's default), so every comparison sees the same numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["hartigan_wong", "HW_OK", "HW_EMPTY", "HW_MAX_ITER", "HW_QTRAN_LIMIT"]

#: ``IFAULT`` codes of AS 136 (3, "k outside [2, m)", is checked before the kernel is called).
HW_OK, HW_EMPTY, HW_MAX_ITER, HW_QTRAN_LIMIT = 0, 1, 2, 4

# DATA BIG /1.0E30/ is a single-precision constant in the Fortran.
_BIG = float(np.float32(1.0e30))


@njit(cache=True)
def _optra(A, C, ic1, ic2, nc, an1, an2, ncp, D, itran, live, indx):  # pragma: no cover
    """Optimal-transfer stage (AS 136.1). Returns the updated INDX."""
    m, n = A.shape
    k = C.shape[0]
    for ll_ in range(k):
        if itran[ll_] == 1:
            live[ll_] = m + 1
    for i0 in range(m):
        step = i0 + 1
        indx += 1
        l1 = ic1[i0]
        l2 = ic2[i0]
        ll = l2
        if nc[l1] != 1:
            if ncp[l1] != 0:
                de = 0.0
                for j in range(n):
                    df = A[i0, j] - C[l1, j]
                    de = de + df * df
                D[i0] = de * an1[l1]
            da = 0.0
            for j in range(n):
                db = A[i0, j] - C[l2, j]
                da = da + db * db
            r2 = da * an2[l2]
            for lc in range(k):
                if (step >= live[l1] and step >= live[lc]) or lc == l1 or lc == ll:  # noqa: SIM109
                    continue
                rr = r2 / an2[lc]
                dc = 0.0
                skip = False
                for j in range(n):
                    dd = A[i0, j] - C[lc, j]
                    dc = dc + dd * dd
                    if dc >= rr:
                        skip = True
                        break
                if skip:
                    continue
                r2 = dc * an2[lc]
                l2 = lc
            if r2 >= D[i0]:
                ic2[i0] = l2
            else:
                indx = 0
                live[l1] = m + step
                live[l2] = m + step
                ncp[l1] = step
                ncp[l2] = step
                al1 = float(nc[l1])
                alw = al1 - 1.0
                al2 = float(nc[l2])
                alt = al2 + 1.0
                for j in range(n):
                    C[l1, j] = (C[l1, j] * al1 - A[i0, j]) / alw
                    C[l2, j] = (C[l2, j] * al2 + A[i0, j]) / alt
                nc[l1] -= 1
                nc[l2] += 1
                an2[l1] = alw / al1
                an1[l1] = _BIG
                if alw > 1.0:
                    an1[l1] = alw / (alw - 1.0)
                an1[l2] = alt / al2
                an2[l2] = alt / (alt + 1.0)
                ic1[i0] = l2
                ic2[i0] = l1
        if indx == m:
            return indx
    for lc in range(k):
        itran[lc] = 0
        live[lc] -= m
    return indx


@njit(cache=True)
def _qtran(A, C, ic1, ic2, nc, an1, an2, ncp, D, itran, indx, max_qtran):  # pragma: no cover
    """Quick-transfer stage (AS 136.2). Returns ``(indx, exceeded)``."""
    m, n = A.shape
    icoun = 0
    istep = 0
    while True:
        for i0 in range(m):
            icoun += 1
            istep += 1
            if istep >= max_qtran:
                return indx, True
            l1 = ic1[i0]
            l2 = ic2[i0]
            if nc[l1] != 1:
                if istep <= ncp[l1]:
                    da = 0.0
                    for j in range(n):
                        db = A[i0, j] - C[l1, j]
                        da = da + db * db
                    D[i0] = da * an1[l1]
                if istep < ncp[l1] or istep < ncp[l2]:
                    r2 = D[i0] / an2[l2]
                    dd = 0.0
                    move = True
                    for j in range(n):
                        de = A[i0, j] - C[l2, j]
                        dd = dd + de * de
                        if dd >= r2:
                            move = False
                            break
                    if move:
                        icoun = 0
                        indx = 0
                        itran[l1] = 1
                        itran[l2] = 1
                        ncp[l1] = istep + m
                        ncp[l2] = istep + m
                        al1 = float(nc[l1])
                        alw = al1 - 1.0
                        al2 = float(nc[l2])
                        alt = al2 + 1.0
                        for j in range(n):
                            C[l1, j] = (C[l1, j] * al1 - A[i0, j]) / alw
                            C[l2, j] = (C[l2, j] * al2 + A[i0, j]) / alt
                        nc[l1] -= 1
                        nc[l2] += 1
                        an2[l1] = alw / al1
                        an1[l1] = _BIG
                        if alw > 1.0:
                            an1[l1] = alw / (alw - 1.0)
                        an1[l2] = alt / al2
                        an2[l2] = alt / (alt + 1.0)
                        ic1[i0] = l2
                        ic2[i0] = l1
            if icoun == m:
                return indx, False


@njit(cache=True)
def hartigan_wong(A, C0, max_iter, max_qtran):  # pragma: no cover - numba
    """Run AS 136 on ``A`` (m, n) from centres ``C0`` (k, n), ``2 <= k < m``.

    Returns ``(centers, labels, wss, n_iter, ifault)`` where ``wss`` holds the within-cluster
    sums of squares per cluster and ``ifault`` is 0 (converged), 1 (an initial centre got no
    point), 2 (``max_iter`` optimal-transfer passes without convergence) or 4 (more than
    ``max_qtran`` quick-transfer steps).
    """
    m, n = A.shape
    k = C0.shape[0]
    C = C0.copy()
    ic1 = np.zeros(m, dtype=np.int64)
    ic2 = np.zeros(m, dtype=np.int64)
    nc = np.zeros(k, dtype=np.int64)
    an1 = np.zeros(k)
    an2 = np.zeros(k)
    ncp = np.zeros(k, dtype=np.int64)
    D = np.zeros(m)
    itran = np.zeros(k, dtype=np.int64)
    live = np.zeros(k, dtype=np.int64)
    wss = np.zeros(k)
    dt = np.zeros(2)

    # two closest centres of each point
    for i in range(m):
        ic1[i] = 0
        ic2[i] = 1
        for il in range(2):
            dt[il] = 0.0
            for j in range(n):
                da = A[i, j] - C[il, j]
                dt[il] = dt[il] + da * da
        if dt[0] > dt[1]:
            ic1[i] = 1
            ic2[i] = 0
            temp = dt[0]
            dt[0] = dt[1]
            dt[1] = temp
        for lc in range(2, k):
            db = 0.0
            far = False
            for j in range(n):
                dc = A[i, j] - C[lc, j]
                db = db + dc * dc
                if db >= dt[1]:
                    far = True
                    break
            if far:
                continue
            if db >= dt[0]:
                dt[1] = db
                ic2[i] = lc
            else:
                dt[1] = dt[0]
                ic2[i] = ic1[i]
                dt[0] = db
                ic1[i] = lc

    # centres := means of their points
    for lc in range(k):
        nc[lc] = 0
        for j in range(n):
            C[lc, j] = 0.0
    for i in range(m):
        lc = ic1[i]
        nc[lc] += 1
        for j in range(n):
            C[lc, j] = C[lc, j] + A[i, j]
    for lc in range(k):
        if nc[lc] == 0:
            return C, ic1, wss, 0, 1
        aa = float(nc[lc])
        for j in range(n):
            C[lc, j] = C[lc, j] / aa
        an2[lc] = aa / (aa + 1.0)
        an1[lc] = _BIG
        if aa > 1.0:
            an1[lc] = aa / (aa - 1.0)
        itran[lc] = 1
        ncp[lc] = -1

    indx = 0
    ifault = 2
    n_iter = max_iter
    for ij in range(1, max_iter + 1):
        indx = _optra(A, C, ic1, ic2, nc, an1, an2, ncp, D, itran, live, indx)
        if indx == m:
            ifault = 0
            n_iter = ij
            break
        indx, exceeded = _qtran(A, C, ic1, ic2, nc, an1, an2, ncp, D, itran, indx, max_qtran)
        if exceeded:
            ifault = 4
            n_iter = ij
            break
        if k == 2:
            ifault = 0
            n_iter = ij
            break
        for lc in range(k):
            ncp[lc] = 0

    # final centres and within-cluster sums of squares
    for lc in range(k):
        wss[lc] = 0.0
        for j in range(n):
            C[lc, j] = 0.0
    for i in range(m):
        ii = ic1[i]
        for j in range(n):
            C[ii, j] = C[ii, j] + A[i, j]
    for j in range(n):
        for lc in range(k):
            C[lc, j] = C[lc, j] / float(nc[lc])
        for i in range(m):
            ii = ic1[i]
            da = A[i, j] - C[ii, j]
            wss[ii] = wss[ii] + da * da
    return C, ic1, wss, n_iter, ifault
