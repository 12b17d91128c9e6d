"""Why "Hartigan–Wong never ends above Lloyd from the same start" is not a testable promise.

Issue #4 asked for two things of ``method="hartigan-wong"``: the partition R's ``kmeans()``
gives from a shared start, and an inertia never above Lloyd's from the same start. R's own
Hartigan–Wong does not have the second property: both methods end in a local optimum (every
Hartigan-optimal partition is a Lloyd fixed point, not the converse), and from one start they
can take different paths. This test runs R on 100 k-means++ starts and checks that custseg
reproduces R exactly, start by start — the same Hartigan–Wong partition, the same Lloyd
inertia — so the starts where Hartigan–Wong ends higher are R's too, not a custseg bug. What
*is* guaranteed (Hartigan–Wong never above its start, never above Lloyd when started from
Lloyd's solution, lower on average) is tested in ``test_hartigan_wong.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from cluster_helpers import make_blobs, r_matrix, run_r, write_bin

from custseg.cluster._hartigan_wong import hartigan_wong
from custseg.cluster._kernels import kmeans_plusplus, lloyd

N_STARTS = 100


@pytest.mark.r
def test_starts_where_hartigan_wong_ends_above_lloyd_are_rs_own(tmp_path):
    X, _ = make_blobs(400, 3, 8, spread=2.0, seed=7)
    k = 6
    rng = np.random.default_rng(0)
    starts = np.vstack([kmeans_plusplus(X, k, rng) for _ in range(N_STARTS)])
    write_bin(tmp_path / "x.bin", X)
    write_bin(tmp_path / "c.bin", starts)
    code = (r_matrix("x", "x.bin", X.shape) + r_matrix("s", "c.bin", starts.shape)
            + f"for (i in 0:{N_STARTS - 1}) {{\n"
            f"  c <- s[(i * {k} + 1):((i + 1) * {k}), , drop = FALSE]\n"
            '  h <- kmeans(x, centers = c, algorithm = "Hartigan-Wong", iter.max = 1000)\n'
            '  l <- kmeans(x, centers = c, algorithm = "Lloyd", iter.max = 1000)\n'
            '  cat(h$cluster, "\\n")\n'
            '  cat(sprintf("%.17g", c(h$tot.withinss, l$tot.withinss)), "\\n")\n'
            "}\n")
    lines = run_r(code, tmp_path).strip().splitlines()
    assert len(lines) == 2 * N_STARTS

    ours_higher = r_higher = 0
    for i in range(N_STARTS):
        C0 = starts[i * k:(i + 1) * k]
        r_labels = np.array(lines[2 * i].split(), dtype=int) - 1
        r_hw, r_lloyd = map(float, lines[2 * i + 1].split())
        _, labels, wss, _, ifault = hartigan_wong(X, C0, 1000, 50 * len(X))
        _, _, inertia_lloyd, _ = lloyd(X, C0, 1000, 0.0)
        assert ifault == 0
        np.testing.assert_array_equal(labels, r_labels, err_msg=f"start {i}")
        np.testing.assert_allclose(wss.sum(), r_hw, rtol=1e-10, err_msg=f"start {i}")
        np.testing.assert_allclose(inertia_lloyd, r_lloyd, rtol=1e-10, err_msg=f"start {i}")
        ours_higher += wss.sum() > inertia_lloyd * (1 + 1e-12)
        r_higher += r_hw > r_lloyd * (1 + 1e-12)

    print(f"Hartigan–Wong above Lloyd in {r_higher} of {N_STARTS} starts (R and custseg)")
    assert ours_higher == r_higher
    # The property asked for fails for R itself on this data (10 of 100 starts when written).
    assert 0 < r_higher < N_STARTS // 4
