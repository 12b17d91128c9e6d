"""The Segmenter estimator: scikit-learn compatibility and the three seed recipes."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from custseg import (
    ColumnNotFoundError,
    InvalidParameterError,
    NotFittedError,
    SchemaError,
    Segmenter,
)

FEATURES = ["age", "income", "purchases"]


@parametrize_with_checks([Segmenter(k=2, n_init=2), Segmenter(k=3, scale="robust", n_init=1)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a and b are the same partition up to renaming of the labels."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("n_init", [1, 10])
def test_reproduces_standardscaler_kmeans(customers, n_init):
    seg = Segmenter(features=FEATURES, k=5, random_state=0, n_init=n_init).fit(customers)
    Z = StandardScaler().fit_transform(customers[FEATURES])
    km = KMeans(n_clusters=5, random_state=0, n_init=n_init).fit(Z)
    assert _same_partition(seg.labels_, km.labels_)
    assert seg.inertia_ == pytest.approx(km.inertia_, rel=1e-9)


def test_renumbering_is_by_size(customers):
    seg = Segmenter(features=FEATURES, k=3, random_state=0).fit(customers)
    sizes = np.bincount(seg.labels_)
    assert list(sizes) == sorted(sizes, reverse=True)
    assert list(sizes) == [150, 100, 50]
    assert seg.profiles_["size"].tolist() == [150, 100, 50]


def test_scale_sample_matches_r_definition(customers):
    seg = Segmenter(features=FEATURES, k=3, scale="sample", random_state=0).fit(customers)
    pre = seg.model_.preprocessor
    X = customers[FEATURES].to_numpy()
    expected = (X - X.mean(0)) / X.std(0, ddof=1)
    np.testing.assert_allclose(pre.transform_matrix(X), expected, rtol=0, atol=1e-12)


@pytest.mark.r
def test_scale_sample_reproduces_r_scale(customers, has_rscript, tmp_path):
    path = tmp_path / "x.csv"
    customers[FEATURES].to_csv(path, index=False)
    out = tmp_path / "r.csv"
    script = (f'x <- read.csv("{path}"); s <- scale(as.matrix(x)); '
              f'write.csv(format(s, digits=17), "{out}", row.names=FALSE)')
    subprocess.run([has_rscript, "-e", script], check=True, capture_output=True, timeout=120)
    r = pd.read_csv(out).to_numpy(dtype=float)
    seg = Segmenter(features=FEATURES, k=3, scale="sample", random_state=0).fit(customers)
    ours = seg.model_.preprocessor.transform_matrix(customers[FEATURES].to_numpy())
    np.testing.assert_allclose(ours, r, rtol=0, atol=1e-12)


def test_inputs_pandas_polars_arrow_numpy_agree(customers):
    pl = pytest.importorskip("polars")
    base = Segmenter(features=FEATURES, k=3, random_state=0).fit(customers).labels_
    for table in (pl.from_pandas(customers), pa.Table.from_pandas(customers)):
        labels = Segmenter(features=FEATURES, k=3, random_state=0).fit(table).labels_
        np.testing.assert_array_equal(labels, base)
    arr = customers[FEATURES].to_numpy()
    np.testing.assert_array_equal(Segmenter(k=3, random_state=0).fit(arr).labels_, base)


def test_auto_features_and_id_detection(customers):
    seg = Segmenter(k=3, random_state=0).fit(customers)
    assert seg.id_column_ == "customer_id"
    assert seg.features_ == FEATURES
    assert seg.excluded_columns_ == {"city": "not numeric"}


def test_predict_fit_predict_transform(customers):
    seg = Segmenter(features=FEATURES, k=3, random_state=0)
    labels = seg.fit_predict(customers)
    np.testing.assert_array_equal(seg.predict(customers), labels)
    d = seg.transform(customers)
    assert d.shape == (300, 3)
    np.testing.assert_array_equal(d.argmin(axis=1), labels)


def test_missing_values_are_imputed_and_counted(customers):
    df = customers.copy()
    df.loc[[3, 9], "income"] = np.nan
    seg = Segmenter(features=FEATURES, k=3, random_state=0).fit(df)
    assert seg.n_imputed_ == {"age": 0, "income": 2, "purchases": 0}
    with pytest.raises(SchemaError, match="Row 4, column 'income' is missing"):
        Segmenter(features=FEATURES, k=3, missing="error").fit(df)


def test_numbers_stored_as_text(customers):
    df = customers.copy()
    df["income"] = [f"{v:,.2f}" for v in df["income"] * 1000]  # "30,123.45"
    seg = Segmenter(features=FEATURES, k=3, random_state=0).fit(df)
    assert seg.features_ == FEATURES
    df.loc[5, "income"] = "abc"
    with pytest.raises(SchemaError, match=r"Row 6, column 'income': 'abc' is not a number"):
        Segmenter(features=FEATURES, k=3).fit(df)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"k": 1}, InvalidParameterError, r"The 'k' parameter of Segmenter must be an int >= 2"),
        ({"k": "many"}, InvalidParameterError, r"'k' parameter .* or one of \{\"auto\"\}\. Got 'many'"),
        ({"scale": "zscore"}, InvalidParameterError, r"'scale' parameter"),
        ({"features": ["age", "incme"]}, ColumnNotFoundError, r"Did you mean 'income'\?"),
        ({"k": 400}, SchemaError, r"k=400 is larger than the number of distinct customers"),
        ({"features": ["city"]}, SchemaError, r"At least one numeric feature"),
        ({"algorithm": "kprototypes", "k": 3}, SchemaError, r"needs categorical features"),
    ],
)
def test_clear_errors(customers, params, error, match):
    with pytest.raises(error, match=match):
        Segmenter(**params).fit(customers)


def test_constant_feature_is_an_error_when_named_and_dropped_when_auto(customers):
    df = customers.assign(channel=1.0)
    with pytest.raises(SchemaError, match="'channel' are constant"):
        Segmenter(features=["age", "channel"], k=2).fit(df)
    seg = Segmenter(k=3, random_state=0).fit(df)
    assert "channel" not in seg.features_
    assert seg.excluded_columns_["channel"].startswith("constant")


def test_no_numeric_features():
    df = pd.DataFrame({"name": list("abcdef"), "city": list("xyzxyz")})
    with pytest.raises(SchemaError, match="No numeric feature columns"):
        Segmenter(k=2).fit(df)


def test_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        Segmenter().predict(np.zeros((2, 2)))


def test_rename(customers):
    seg = Segmenter(features=FEATURES, k=3, random_state=0).fit(customers)
    seg.rename({0: "Young savers"})
    assert seg.model_.names[0] == "Young savers"
    assert seg.profiles_.loc[0, "segment_name"] == "Young savers"
    with pytest.raises(InvalidParameterError, match="unique"):
        seg.rename({1: "Young savers"})
    with pytest.raises(InvalidParameterError, match="does not exist"):
        seg.rename({7: "x"})


def test_names_are_unique_and_deterministic(customers):
    a = Segmenter(features=FEATURES, k=5, random_state=1).fit(customers)
    b = Segmenter(features=FEATURES, k=5, random_state=1).fit(customers)
    names = a.profiles_["segment_name"].tolist()
    assert len(set(names)) == 5
    assert names == b.profiles_["segment_name"].tolist()
    assert adjusted_rand_score(a.labels_, b.labels_) == 1.0


def test_k_auto_finds_the_three_groups_and_records_reasons(customers):
    seg = Segmenter(features=FEATURES, random_state=0).fit(customers)
    assert seg.k == "auto" and seg.n_clusters_ == 3
    assert seg.k_selection_.k == 3 and seg.k_selection_.reasons
    assert seg.clear_segmentation_


def test_no_structure_warns_but_still_labels():
    from custseg._segmenter import ClusteringWarning

    X = np.random.default_rng(0).normal(size=(600, 3))
    with pytest.warns(ClusteringWarning, match="No clear segment structure"):
        seg = Segmenter(random_state=0).fit(X)
    assert not seg.clear_segmentation_
    assert len(seg.labels_) == 600


def test_categorical_one_hot(customers):
    df = customers.copy()
    df["city"] = np.where(np.arange(300) < 150, "Lyon", np.where(np.arange(300) < 250, "Oslo",
                                                                    "Porto"))
    seg = Segmenter(features=["age", "city"], k=3, random_state=0).fit(df)
    assert seg.features_ == ["age"] and seg.categorical_ == ["city"]
    assert {"city=Lyon_share", "city=Lyon_lift"} <= set(seg.profiles_.columns)
    assert seg.cluster_centers_.shape == (3, 1 + 3)
    np.testing.assert_array_equal(seg.predict(df), seg.labels_)


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "bisecting", "twostep", "gmm",
                                       "hdbscan"])
def test_algorithms_find_the_groups_and_round_trip(customers, algorithm, tmp_path):
    from custseg import load_model

    seg = Segmenter(features=FEATURES, k=3, algorithm=algorithm, random_state=0).fit(customers)
    truth = np.repeat([0, 1, 2], [150, 100, 50])
    clustered = seg.labels_ >= 0
    assert adjusted_rand_score(truth[clustered], seg.labels_[clustered]) > 0.9
    model = load_model(seg.save(tmp_path / "m.json"))
    np.testing.assert_array_equal(model.predict(customers)[clustered], seg.labels_[clustered])
    if algorithm == "gmm":
        np.testing.assert_allclose(model.predict_proba(customers), seg.probabilities_, atol=1e-6)


def test_kprototypes_with_categorical(customers, tmp_path):
    from custseg import load_model

    df = customers.copy()
    df["tier"] = np.repeat(["gold", "silver", "bronze"], [150, 100, 50])
    seg = Segmenter(features=["age", "tier"], k=3, algorithm="kprototypes",
                    random_state=0).fit(df)
    model = load_model(seg.save(tmp_path / "m.json"))
    np.testing.assert_array_equal(model.predict(df), seg.labels_)


def test_k_above_the_distinct_customers_is_refused_with_the_exact_count():
    from custseg import SchemaError

    # 6,000 rows but only 3 distinct customers, the repeats far beyond the first rows
    X = pd.DataFrame({"a": np.tile([1.0, 2.0, 3.0], 2000) + 0.0,
                      "b": np.tile([5.0, 1.0, 9.0], 2000)}).sample(frac=1, random_state=0)
    with pytest.raises(SchemaError, match=r"distinct customers \(3 of 6000"):
        Segmenter(k=4, random_state=0).fit(X)
    X.iloc[5500] = [7.0, 7.0]  # a 4th distinct row beyond the first 4,096
    assert Segmenter(k=4, random_state=0).fit(X).n_clusters_ == 4


def test_float32_gives_the_float64_segments_on_the_demo_customers():
    from custseg.demo import demo_customers_path

    frame = pd.read_csv(demo_customers_path(), dtype=str)
    numeric = frame.drop(columns=["customer_id", "region"]).apply(pd.to_numeric, errors="coerce")
    frame = frame[numeric.notna().all(axis=1)].drop_duplicates("customer_id")
    a = Segmenter(k=5, random_state=0).fit(frame)
    b = Segmenter(k=5, random_state=0, dtype="float32").fit(frame)
    assert adjusted_rand_score(a.labels_, b.labels_) >= 0.999
    assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-6)
    assert b.model_.to_dict()["algorithm"]["params"]["dtype"] == "float32"


@pytest.mark.parametrize("options", [{}, {"log_transform": "auto", "clip": (0.01, 0.99)},
                                     {"scale": "robust", "impute": "median"}])
def test_the_kept_scaled_matrix_is_what_scaled_computes(customers, options):
    # custseg's pipeline takes the fit's scaled matrix for the quality metrics instead of
    # computing model_.scaled(X) again: the two must be the same numbers
    X = customers.copy()
    X.loc[X.index[::7], "income"] = np.nan  # imputed values too
    seg = Segmenter(features=FEATURES, k=4, random_state=0, **options)
    seg._keep_scaled = True
    seg.fit(X)
    kept = seg.__dict__.pop("_scaled")
    np.testing.assert_array_equal(kept, seg.model_.scaled(X))


def test_a_plain_fit_keeps_no_scaled_matrix(customers):
    seg = Segmenter(features=FEATURES, k=4, random_state=0).fit(customers)
    assert not hasattr(seg, "_scaled")
