"""Segment names and descriptions: deterministic, unique, and in the report's words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.profile import (
    distinguishing_features,
    profile_indexes,
    segment_descriptions,
    segment_names,
    segment_profiles,
)


def test_names_use_the_most_distinguishing_features_in_order():
    distinct = {0: [("income", 1.2), ("spending_score", -0.9), ("age", 0.1)],
                1: [("income", -2.0), ("age", 0.6), ("spending_score", 0.0)]}
    assert segment_names(distinct) == {0: "High income · Low spending score",
                                       1: "Very low income · High age"}


def test_segment_without_notable_feature_is_average():
    assert segment_names({0: [("income", 0.3)], 1: [("income", -1.0)]}) == {
        0: "Average customers", 1: "Low income"}


@pytest.mark.parametrize(("feature", "d", "word"), [
    ("recency_days", 1.0, "Lapsed"), ("recency_days", -1.0, "Recent"),
    ("recency_days", 2.0, "Very lapsed"), ("frequency", 0.7, "Frequent"),
    ("monetary", -0.7, "Low spend"), ("monetary", -3.0, "Low spend"),
])
def test_rfm_features_have_their_own_vocabulary(feature, d, word):
    assert segment_names({0: [(feature, d)]})[0] == word


def test_names_are_unique_even_when_terms_collide():
    distinct = {0: [("income", 1.0), ("age", 0.2)], 1: [("income", 1.1), ("age", -0.6)],
                2: [("income", 1.0), ("age", 0.3)]}
    names = segment_names(distinct)
    assert len(set(names.values())) == 3
    assert names[1] == "High income · Low age"
    assert names[0] == "High income · Average age (segment 0)"
    assert names[2] == "High income · Average age (segment 2)"


def test_one_hot_terms_read_as_the_level_when_over_represented():
    distinct = {0: [("channel=Retail", 1.5), ("fresh", 0.8)],
                1: [("channel=Retail", -1.5), ("fresh", -0.8)]}
    assert segment_names(distinct) == {0: "channel: Retail · High fresh", 1: "Low fresh"}


def test_a_much_lower_index_names_a_feature_that_log_scaling_hides():
    """Heavy-tailed spend: the segment is near average in log space but its mean spend is a
    third of the overall mean; the report's card says "much lower", so must the name."""
    distinct = {0: [("frequency", -0.3), ("monetary", -0.2)],
                1: [("frequency", 1.4), ("monetary", 1.2)]}
    indexes = {0: {"frequency": 49.0, "monetary": 33.0},
               1: {"frequency": 237.0, "monetary": 272.0}}
    assert segment_names(distinct) == {0: "Average customers",
                                       1: "Frequent · High spend"}
    assert segment_names(distinct, indexes=indexes) == {0: "Infrequent · Low spend",
                                                        1: "Frequent · High spend"}
    # an index between half and twice the average does not promote a feature
    assert segment_names(distinct, indexes={0: {"frequency": 60.0, "monetary": 180.0}})[0] \
        == "Average customers"


def test_names_and_profiles_from_data_agree_and_are_deterministic():
    rng = np.random.default_rng(0)
    values = pd.DataFrame({"income": np.r_[rng.normal(20, 2, 50), rng.normal(80, 2, 50)],
                           "age": rng.normal(40, 5, 100)})
    labels = np.repeat([0, 1], 50)
    scaled = ((values - values.mean()) / values.std(ddof=0)).to_numpy()
    distinct = distinguishing_features(scaled, labels, list(values.columns))
    assert distinct[0][0][0] == "income" and distinct[0][0][1] < -0.9
    profiles = segment_profiles(values, labels)
    names = segment_names(distinct, indexes=profile_indexes(profiles))
    assert names == {0: "Low income", 1: "High income"}
    assert segment_names(distinct, indexes=profile_indexes(profiles)) == names
    desc = segment_descriptions(profiles, list(values.columns), distinct)
    idx = profiles.loc[0, "income_index"]
    assert desc[0] == f"50 customers (50.0%): income {100 - idx:.0f}% below average."
