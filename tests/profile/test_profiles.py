"""Segment profiles, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.profile import categorical_profiles, distinguishing_features, segment_profiles


@pytest.fixture
def small():
    values = pd.DataFrame({"spend": [10.0, 20.0, 30.0, 100.0, 200.0, np.nan],
                           "visits": [1.0, 1.0, 2.0, 5.0, 7.0, 6.0]})
    labels = np.array([0, 0, 0, 1, 1, 1])
    return values, labels


def test_sizes_shares_statistics_and_index(small):
    values, labels = small
    p = segment_profiles(values, labels, {0: "Low", 1: "High"}).set_index("segment")
    assert p.loc[0, "segment_name"] == "Low" and p.loc[1, "size"] == 3
    assert p.loc[0, "share"] == pytest.approx(0.5)
    assert p.loc[0, "spend_mean"] == pytest.approx(20.0)
    assert p.loc[0, "spend_median"] == pytest.approx(20.0)
    assert p.loc[0, "spend_q25"] == pytest.approx(15.0)
    assert p.loc[0, "spend_q75"] == pytest.approx(25.0)
    assert p.loc[1, "spend_mean"] == pytest.approx(150.0)  # the missing value is ignored
    overall_spend = 360.0 / 5
    assert p.loc[0, "spend_index"] == pytest.approx(100 * 20.0 / overall_spend)
    assert p.loc[1, "visits_index"] == pytest.approx(100 * 6.0 / (22.0 / 6))


def test_index_is_empty_when_the_overall_mean_is_zero():
    values = pd.DataFrame({"balance": [-1.0, 1.0, -2.0, 2.0]})
    p = segment_profiles(values, np.array([0, 0, 1, 1]))
    assert p["balance_index"].isna().all()


def test_noise_segment_is_profiled_like_any_other():
    values = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    p = segment_profiles(values, np.array([-1, 0, 0]), {-1: "Unclustered (noise)", 0: "A"})
    assert list(p["segment"]) == [-1, 0] and p["size"].sum() == 3


def test_distinguishing_features_sorted_by_absolute_standardised_difference():
    # column "weak": overall mean 1.5, sd 1.118; segment 1 mean 2.5 -> +0.894
    # column "strong": overall mean 0.5, sd 0.5; segment 1 mean 0 -> -1.0
    X = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [3.0, 0.0]])
    d = distinguishing_features(X, np.array([0, 0, 1, 1]), ["weak", "strong"])
    assert [f for f, _ in d[1]] == ["strong", "weak"]
    assert [v for _, v in d[1]] == pytest.approx([-1.0, 1.0 / np.sqrt(1.25)])


def test_distinguishing_features_ties_keep_column_order():
    X = np.array([[0.0, 5.0], [0.0, 5.0], [1.0, -5.0], [1.0, -5.0]])
    d = distinguishing_features(X, np.array([0, 0, 1, 1]), ["a", "b"])
    assert [f for f, _ in d[0]] == ["a", "b"]  # equal |difference|: column order (stable)
    assert [v for _, v in d[0]] == pytest.approx([-1.0, 1.0])
    assert {f: v for f, v in d[1]} == pytest.approx({"a": 1.0, "b": -1.0})


def test_categorical_shares_and_lift():
    codes = np.array([[0], [0], [1], [1], [1], [1]])
    p = categorical_profiles(codes, {"channel": ["Horeca", "Retail"]},
                             np.array([0, 0, 0, 1, 1, 1])).set_index("segment")
    assert p.loc[0, "channel=Horeca_share"] == pytest.approx(2 / 3)
    assert p.loc[0, "channel=Horeca_lift"] == pytest.approx((2 / 3) / (2 / 6))
    assert p.loc[1, "channel=Retail_share"] == pytest.approx(1.0)
    assert p.loc[1, "channel=Horeca_lift"] == pytest.approx(0.0)
