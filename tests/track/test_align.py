import numpy as np
import pytest

from custseg import SchemaError, Segmenter

FEATURES = ["age", "income", "purchases"]


def test_refit_on_shifted_data_keeps_ids_and_names(customers):
    old = Segmenter(features=FEATURES, k=3, random_state=0).fit(customers)
    old.rename({0: "Young", 1: "Affluent", 2: "Seniors"})
    # next month: the young group shrinks so size order changes, plus noise
    nxt = customers.iloc[list(range(0, 40)) + list(range(150, 300))].copy()
    nxt["income"] += np.random.default_rng(3).normal(0, 1, len(nxt))
    new = Segmenter(features=FEATURES, k=3, random_state=5).fit(nxt)
    assert new.profiles_["size"].tolist() == [100, 50, 40]  # renumbered by size: ids differ
    alignment = new.align_to(old.model_)
    assert alignment.vanished == [] and alignment.new_segments == []
    # each customer keeps its old segment id and name
    old_of = dict(zip(customers["customer_id"], old.labels_, strict=True))
    assert all(old_of[c] == s for c, s in zip(nxt["customer_id"], new.labels_, strict=True))
    assert set(new.profiles_["segment_name"]) == {"Young", "Affluent", "Seniors"}
    np.testing.assert_array_equal(new.predict(nxt), new.labels_)


def test_new_and_vanished_segments(customers):
    old = Segmenter(features=FEATURES, k=2, random_state=0).fit(customers.iloc[:250])
    new = Segmenter(features=FEATURES, k=3, random_state=0).fit(customers)
    alignment = new.align_to(old.model_)
    assert len(alignment.matched) == 2
    assert alignment.new_segments == [3]
    assert sorted(new.model_.segment_ids.tolist()) == [0, 1, 3]


def test_features_must_match(customers):
    old = Segmenter(features=["age", "income"], k=2, random_state=0).fit(customers)
    new = Segmenter(features=FEATURES, k=2, random_state=0).fit(customers)
    with pytest.raises(SchemaError, match="other features"):
        new.align_to(old.model_)
