"""Does choose_k find the true number of segments? Generated scenarios with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from custseg.select import choose_k
from custseg.select._scenarios import make_scenarios, recoverable


def _score(scenarios, seed):
    hits, flagged, clear, misses = 0, 0, 0, []
    structured = [sc for sc in scenarios if sc.k is not None]
    flat = [sc for sc in scenarios if sc.k is None]
    for sc in scenarios:
        choice = choose_k(sc.X, range(2, 11), random_state=seed)
        if sc.k is None:
            flagged += not choice.clear_segmentation
            if choice.clear_segmentation:
                misses.append((sc.name, "clear"))
        else:
            hits += choice.k == sc.k
            clear += choice.clear_segmentation
            if choice.k != sc.k:
                misses.append((sc.name, choice.k))
    return hits / len(structured), flagged / len(flat), clear / len(structured), misses


def test_scenarios_have_a_well_defined_truth():
    for sc in make_scenarios(600, 0):
        assert recoverable(sc), sc.name
        assert np.allclose(sc.X.mean(axis=0), 0, atol=1e-9)


def test_true_k_found_quick():
    """18 structured scenarios (blobs k = 2..9, 60/30/10, anisotropic, noise features,
    log-normal spend, heavy tails) and 3 without structure, 800 rows each."""
    hit_rate, flagged, clear, misses = _score(make_scenarios(800, 0), seed=0)
    assert hit_rate >= 0.9, misses
    assert flagged == 1.0, misses
    assert clear >= 0.8, misses


@pytest.mark.slow
def test_true_k_found_full():
    """Three repeats at 1,500 rows (54 structured, 9 without structure)."""
    scenarios = [sc for seed in (1, 2, 3) for sc in make_scenarios(1500, seed)]
    hit_rate, flagged, clear, misses = _score(scenarios, seed=1)
    assert hit_rate >= 0.9, misses
    assert flagged >= 0.9, misses
    assert clear >= 0.8, misses
