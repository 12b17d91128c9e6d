import contextlib
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custseg import ModelFormatError, Segmenter, load_model

FEATURES = ["age", "income", "purchases"]


@pytest.fixture
def fitted(customers):
    return Segmenter(features=FEATURES, k=3, random_state=0, log_transform="auto",
                     clip=(0.01, 0.99)).fit(customers)


def test_round_trip_identical_assignments(fitted, customers, tmp_path):
    path = fitted.save(tmp_path / "model.json")
    model = load_model(path)
    np.testing.assert_array_equal(model.predict(customers), fitted.predict(customers))
    np.testing.assert_array_equal(model.predict(customers), fitted.labels_)
    assigned = model.assign(customers)
    assert list(assigned.columns[:4]) == ["customer_id", "segment", "segment_name", "distance"]
    assert (assigned["margin"] >= 0).all()
    assert not assigned["out_of_distribution"].any()


def test_model_file_is_plain_json(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.json")
    d = json.loads(path.read_text())
    assert d["format"] == "custseg.model" and d["format_version"] == 1
    assert d["input"]["id_column"] == "customer_id"
    assert [f["name"] for f in d["input"]["features"]] == FEATURES
    assert len(d["segments"]) == 3


def test_far_away_customers_are_flagged(fitted, customers):
    far = customers.head(2).copy()
    far["income"] = [1e6, 2e6]
    assert fitted.model_.assign(far)["out_of_distribution"].all()


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d.update(format_version=99), "format_version 99 is not supported"),
        (lambda d: d.update(format="pickle"), "Not a custseg model"),
        (lambda d: d["segments"][0].update(centroid_scaled=[1.0]), "every centroid must hold 3"),
        (lambda d: d["preprocessing"]["scale"].update(center="x"), "preprocessing"),
        (lambda d: d.pop("segments"), "'segments' is a required property"),
        (lambda d: d["segments"][1].update(id=0), "unique"),
    ],
)
def test_tampered_models_fail_clearly(fitted, tmp_path, edit, match):
    d = json.loads(fitted.model_.to_json())
    edit(d)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ModelFormatError, match=match):
        load_model(path)


def test_nan_and_deep_nesting_rejected(fitted, tmp_path):
    text = fitted.model_.to_json().replace('"inertia": ', '"inertia": NaN, "x": ', 1)
    (tmp_path / "nan.json").write_text(text)
    with pytest.raises(ModelFormatError, match="NaN"):
        load_model(tmp_path / "nan.json")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFormatError):
        load_model(tmp_path / "deep.json")


@pytest.mark.parametrize("where", ["center", "id"])
def test_an_integer_beyond_int64_is_a_format_error(fitted, tmp_path, where):
    # (found by test_model_fuzz: 1e400 written as digits overflowed into an OverflowError)
    d = json.loads(fitted.model_.to_json())
    huge = "1" + "0" * 400
    if where == "center":
        d["preprocessing"]["scale"]["center"][0] = 0
        text = json.dumps(d).replace('"center": [0,', f'"center": [{huge},', 1)
    else:
        d["segments"][0]["id"] = 0
        text = json.dumps(d).replace('"id": 0,', f'"id": {huge},', 1)
    assert huge in text
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ModelFormatError, match="out of range"):
        load_model(tmp_path / "m.json")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10_000), byte=st.integers(0, 255))
def test_truncated_or_corrupted_never_crash(fitted, tmp_path_factory, cut, byte):
    text = fitted.model_.to_json().encode()
    cut = cut % len(text)
    corrupted = text[:cut] + bytes([byte]) + text[cut + 1:]
    for data in (text[:cut], corrupted):
        path = tmp_path_factory.mktemp("m") / "model.json"  # fixture is read-only here
        path.write_bytes(data)
        with contextlib.suppress(ModelFormatError):
            load_model(path)
