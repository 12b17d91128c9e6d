"""RFM scores and the named R x FM segments."""

from __future__ import annotations

import doctest
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import custseg.features
from custseg import (
    ColumnNotFoundError,
    InvalidParameterError,
    ModelFormatError,
    NotFittedError,
    SchemaError,
)
from custseg.features import (
    RFM_SEGMENT_NAMES,
    RFMScorer,
    _rfm,
    _rfm_segments,
    rfm_scores,
    rfm_segment_name,
)


def test_every_combination_has_exactly_one_name_and_every_name_is_used() -> None:
    grid = {(r, f, m): rfm_segment_name(r, f, m)
            for r, f, m in itertools.product(range(1, 6), repeat=3)}
    assert len(grid) == 125
    assert all(name in RFM_SEGMENT_NAMES for name in grid.values())
    assert set(grid.values()) == set(RFM_SEGMENT_NAMES)
    assert len(RFM_SEGMENT_NAMES) == len(set(RFM_SEGMENT_NAMES)) == 11
    # The vectorised lookup used by RFMScorer agrees with the scalar one.
    r, f, m = (np.array(v) for v in zip(*grid, strict=True))
    assert _rfm_segments._segment_names(r, f, m).tolist() == list(grid.values())


@pytest.mark.parametrize(("scores", "name"), [
    ((5, 5, 5), "Champions"), ((5, 4, 4), "Champions"), ((4, 5, 5), "Loyal Customers"),
    ((3, 4, 4), "Loyal Customers"), ((5, 1, 1), "New Customers"), ((4, 1, 1), "Promising"),
    ((5, 3, 2), "Potential Loyalists"), ((3, 3, 3), "Need Attention"),
    ((3, 1, 2), "About To Sleep"), ((2, 4, 3), "At Risk"), ((1, 5, 5), "Can't Lose Them"),
    ((2, 5, 4), "Can't Lose Them"), ((2, 1, 2), "Hibernating"), ((1, 1, 1), "Lost"),
    ((1, 2, 2), "Lost"),
])
def test_known_cells(scores: tuple[int, int, int], name: str) -> None:
    assert rfm_segment_name(*scores) == name


@pytest.mark.parametrize("bad", [0, 6, 2.5, "3", True, None])
def test_scores_must_be_1_to_5(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"The 'f' parameter of rfm_segment_name "
                                                    r"must be an int from 1 to 5"):
        rfm_segment_name(3, bad, 3)  # type: ignore[arg-type]


def test_numpy_integers_are_accepted() -> None:
    assert rfm_segment_name(np.int64(5), np.int8(5), np.uint8(5)) == "Champions"


@pytest.fixture
def features() -> pd.DataFrame:
    return pd.DataFrame({
        "CustomerID": [f"c{i}" for i in range(10)],
        "recency_days": [1, 2, 3, 5, 8, 13, 21, 34, 55, 89],
        "frequency": [1, 1, 1, 1, 2, 2, 3, 5, 8, 13],  # ties
        "monetary": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, -5.0],
    })


def test_quintile_scores(features: pd.DataFrame) -> None:
    scored = rfm_scores(features)
    assert scored["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # recent = 5
    # Four customers with one order share F = 1; no score 2 is left for anyone.
    assert scored["f_score"].tolist() == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    assert scored["m_score"].tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 1]
    assert scored["rfm_segment"].iloc[0] == "New Customers"  # R 5, F 1, M 1
    assert list(scored.columns[:4]) == list(features.columns)  # the input is kept, copied
    assert "r_score" not in features


def test_equal_values_get_equal_scores() -> None:
    rng = np.random.default_rng(3)
    feats = pd.DataFrame({"recency_days": rng.integers(1, 30, 500),
                          "frequency": rng.integers(1, 4, 500),
                          "monetary": rng.choice([5.0, 10.0, 20.0], 500)})
    scored = rfm_scores(feats)
    for col, score in (("recency_days", "r_score"), ("frequency", "f_score"),
                       ("monetary", "m_score")):
        assert (scored.groupby(col)[score].nunique() == 1).all()
        ordered = scored.sort_values(col)[score].to_numpy()
        assert (np.diff(ordered) <= 0).all() if col == "recency_days" else \
            (np.diff(ordered) >= 0).all()


def test_scorer_edges_and_new_customers(features: pd.DataFrame) -> None:
    scorer = RFMScorer().fit(features)
    assert scorer.n_customers_ == 10
    np.testing.assert_allclose(scorer.edges_["recency"],
                               np.quantile(features["recency_days"], [0.2, 0.4, 0.6, 0.8]))
    new = pd.DataFrame({"recency_days": [0, 1000], "frequency": [100, 0],
                        "monetary": [1e6, -1e6]})
    scored = scorer.transform(new)
    assert scored[["r_score", "f_score", "m_score"]].values.tolist() == [[5, 5, 5], [1, 1, 1]]
    assert scored["rfm_segment"].tolist() == ["Champions", "Lost"]
    # transform does not change the edges
    before = json.dumps(scorer.to_dict())
    scorer.transform(new)
    assert json.dumps(scorer.to_dict()) == before


def test_to_dict_from_dict_round_trip(features: pd.DataFrame) -> None:
    scorer = RFMScorer(bins=5).fit(features)
    data = json.loads(json.dumps(scorer.to_dict()))
    again = RFMScorer.from_dict(data)
    assert again.edges_ == scorer.edges_
    pd.testing.assert_frame_equal(again.transform(features), scorer.transform(features))
    assert again.get_params() == scorer.get_params()


@pytest.mark.parametrize("change", [
    {"format": "something.else"},
    {"format_version": 99},
    {"bins": 1},
    {"edges": {"recency": [1, 2], "frequency": [1, 2, 3, 4], "monetary": [1, 2, 3, 4]}},
    {"edges": {"recency": [4, 3, 2, 1], "frequency": [1, 2, 3, 4],
               "monetary": [1, 2, 3, 4]}},
    {"edges": {"recency": [1, 2, 3, float("nan")], "frequency": [1, 2, 3, 4],
               "monetary": [1, 2, 3, 4]}},
    {"columns": {"recency": "r"}},
])
def test_from_dict_refuses_malformed_data(features: pd.DataFrame, change: dict) -> None:
    data = RFMScorer().fit(features).to_dict()
    data.update(change)
    with pytest.raises(ModelFormatError):
        RFMScorer.from_dict(data)


def test_other_bin_counts_have_no_names(features: pd.DataFrame) -> None:
    scored = rfm_scores(features, bins=3)
    assert set(scored["r_score"]) <= {1, 2, 3}
    assert "rfm_segment" not in scored


def test_scorer_errors(features: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        RFMScorer().transform(features)
    with pytest.raises(ColumnNotFoundError, match=r"Recency column 'recency' not found.*"
                                                  r"Available columns: .*'recency_days'"):
        RFMScorer(recency="recency").fit(features)
    with pytest.raises(SchemaError, match="1 missing or non-numeric"):
        RFMScorer().fit(features.assign(monetary=[*features["monetary"][:-1], np.nan]))
    with pytest.raises(InvalidParameterError, match=r"The 'bins' parameter of RFMScorer must "
                                                    r"be an int >= 2 and <= 20\. Got 1"):
        RFMScorer(bins=1).fit(features)
    with pytest.raises(InvalidParameterError, match="'bins' parameter of rfm_scores"):
        rfm_scores(features, bins=2.5)  # type: ignore[arg-type]


def test_scorer_is_a_well_behaved_estimator(features: pd.DataFrame) -> None:
    scorer = RFMScorer(bins=4, monetary="monetary")
    assert clone(scorer).get_params() == {"bins": 4, "frequency": "frequency",
                                          "monetary": "monetary", "recency": "recency_days"}
    assert not hasattr(scorer, "edges_")  # __init__ does no work
    pd.testing.assert_frame_equal(scorer.fit_transform(features),
                                  RFMScorer(bins=4).fit(features).transform(features))


def test_scores_polars_input(features: pd.DataFrame) -> None:
    pl = pytest.importorskip("polars")
    pd.testing.assert_frame_equal(rfm_scores(pl.from_pandas(features)), rfm_scores(features),
                                  check_dtype=False)


def test_public_api() -> None:
    assert sorted(custseg.features.__all__) == sorted(
        ["rfm", "RFMResult", "RFMScorer", "rfm_scores", "rfm_segment_name",
         "RFM_SEGMENT_NAMES"])


@pytest.mark.parametrize("module", [_rfm, _rfm_segments])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
