"""choose_k: the recommendation, its guards, its record, and its parameter checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import custseg.select._choose as choose_module
from custseg import InvalidParameterError, SchemaError
from custseg.select import Choice, choose_k

COLUMNS = ["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "gap_se",
           "bic", "stability", "min_share", "knee", "admissible", "stable", "votes", "chosen"]


def blobs(n_per=200, centres=((0, 0, 0), (9, 0, 0), (0, 9, 0)), seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([np.asarray(c) + rng.normal(size=(n_per, len(c))) for c in centres])


@pytest.fixture(scope="module")
def easy():
    X = blobs()
    return X, choose_k(X, range(2, 8), random_state=0)


def test_recommends_the_true_k(easy):
    _, choice = easy
    assert isinstance(choice, Choice)
    assert choice.k == 3 and choice.clear_segmentation
    assert list(choice.table.columns) == COLUMNS
    assert choice.table["k"].tolist() == list(range(2, 8))
    assert choice.table["chosen"].sum() == 1
    assert int(choice.table.loc[choice.table["chosen"], "k"].iloc[0]) == 3
    assert choice.reasons[0].startswith("k = 3 is recommended")
    assert any("clear segmentation" in r for r in choice.reasons)
    assert choice.sample_size == 600 and choice.n_samples == 600
    assert choice.sample_sizes["silhouette"] == 600
    assert choice.votes["family_separation"] == choice.votes["family_gap"] == 3
    row = choice.table.set_index("k").loc[3]
    assert row["stability"] > 0.95 and row["silhouette"] > 0.6 and row["min_share"] > 0.3


def test_to_dict_is_json(easy):
    _, choice = easy
    d = choice.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["k"] == 3 and len(back["table"]) == 6
    assert set(back["table"][0]) == set(COLUMNS)
    assert set(back["timings"]) >= {"fit", "silhouette", "gap", "bic", "stability"}


def test_reproducible_with_a_seed(easy):
    X, choice = easy
    again = choose_k(X, range(2, 8), random_state=0)
    pd.testing.assert_frame_equal(choice.table, again.table)
    assert choice.reasons == again.reasons


def test_no_structure_is_reported():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(800, 4)) @ rng.normal(size=(4, 4))
    choice = choose_k(X, range(2, 7), random_state=0)
    assert not choice.clear_segmentation
    assert choice.votes["gap_k1"]
    assert any(r.startswith("No clear segmentation") for r in choice.reasons)
    assert 2 <= choice.k <= 6


def test_small_segments_are_not_admissible():
    """A far group of 1 % takes its own cluster from k = 3 on (k-means separates it before
    splitting the big groups); with min_share = 2 % only k = 2 is admissible."""
    rng = np.random.default_rng(2)
    X = np.r_[blobs(300), np.array([30.0, 30.0, 30.0]) + rng.normal(size=(9, 3))]  # 1 %
    strict = choose_k(X, range(2, 7), random_state=0, min_share=0.02)
    t = strict.table.set_index("k")
    assert t["admissible"].tolist() == [True, False, False, False, False]
    assert strict.k == 2
    assert any("k = 3, 4, 5, 6 left out: a segment would hold less than 2.0%" in r
               for r in strict.reasons)
    loose = choose_k(X, range(2, 7), random_state=0, min_share=0.005)
    assert loose.k == 4 and loose.clear_segmentation


@pytest.mark.parametrize("algorithm", ["minibatch", "bisecting", "twostep", "gmm"])
def test_other_algorithms(algorithm):
    X = blobs(150)
    choice = choose_k(X, range(2, 6), algorithm=algorithm, random_state=0, n_bootstrap=4)
    assert choice.k == 3 and choice.algorithm == algorithm


def test_without_bootstrap():
    choice = choose_k(blobs(100), [2, 3, 4], random_state=0, n_bootstrap=0, n_jobs=1)
    assert choice.k == 3
    assert choice.table["stability"].isna().all()
    assert choice.sample_sizes["stability"] == 0


def test_large_data_uses_samples(monkeypatch):
    monkeypatch.setitem(choose_module.SAMPLE_SIZES, "fit", 400)
    monkeypatch.setitem(choose_module.SAMPLE_SIZES, "stability", 200)
    X = blobs(1000, seed=3)
    choice = choose_k(X, range(2, 6), random_state=0, silhouette_sample=500, n_bootstrap=3)
    assert choice.k == 3
    assert choice.sample_size == 500
    assert choice.sample_sizes == {"fit": 400, "silhouette": 500, "gap": 400, "bic": 400,
                                   "stability": 200}
    # inertia and shares are on all rows
    shares = choice.table.set_index("k").loc[3, "min_share"]
    assert shares == pytest.approx(1 / 3, abs=0.01)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"k_range": [1, 2]}, InvalidParameterError,
     "The 'k_range' parameter of choose_k must be a non-empty collection of ints >= 2."),
    ({"k_range": []}, InvalidParameterError, "non-empty collection"),
    ({"k_range": range(2, 700)}, InvalidParameterError,
     "must stay below the number of rows (600)"),
    ({"algorithm": "hdbscan"}, InvalidParameterError,
     "The 'algorithm' parameter of choose_k must be one of"),
    ({"min_share": 1.5}, InvalidParameterError, "The 'min_share' parameter of choose_k"),
    ({"silhouette_sample": 1}, InvalidParameterError, "'silhouette_sample'"),
])
def test_invalid_parameters(kwargs, error, message):
    with pytest.raises(error, match=__import__("re").escape(message)):
        choose_k(blobs(), **kwargs)


def test_invalid_data():
    X = blobs()
    X[5, 1] = np.nan
    with pytest.raises(SchemaError, match=r"X\[5, 1\] is nan"):
        choose_k(X)
    with pytest.raises(SchemaError, match="2-D matrix"):
        choose_k(np.arange(10.0))
