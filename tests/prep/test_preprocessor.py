import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from custseg import SchemaError
from custseg.prep import Preprocessor


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return np.column_stack([rng.lognormal(3, 1, 200), rng.normal(50, 10, 200)])


@pytest.mark.parametrize("scale", ["standard", "sample", "robust", "minmax", None])
@pytest.mark.parametrize("log_transform", [None, "auto"])
@pytest.mark.parametrize("clip", [None, (0.01, 0.99)])
def test_round_trip_through_dict(X, scale, log_transform, clip):
    pre = Preprocessor(scale=scale, log_transform=log_transform, clip=clip).fit(X, ["a", "b"])
    again = Preprocessor.from_dict(pre.to_dict())
    np.testing.assert_array_equal(pre.transform_matrix(X), again.transform_matrix(X))


def test_standard_and_sample(X):
    z = Preprocessor(scale="standard").fit(X, ["a", "b"]).transform_matrix(X)
    np.testing.assert_allclose(z.std(axis=0, ddof=0), 1.0)
    z = Preprocessor(scale="sample").fit(X, ["a", "b"]).transform_matrix(X)
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1.0)


def test_auto_log_only_skewed(X):
    pre = Preprocessor(log_transform="auto").fit(X, ["spend", "age"])
    assert pre.log1p_.tolist() == [True, False]


def test_imputation_with_median(X):
    X = X.copy()
    X[0, 1] = np.nan
    pre = Preprocessor().fit(X, ["a", "b"])
    assert pre.n_imputed_.tolist() == [0, 1]
    assert pre.impute_values_[1] == np.nanmedian(X[:, 1])


def test_inverse_transform_recovers_units(X):
    pre = Preprocessor(log_transform="auto").fit(X, ["a", "b"])
    np.testing.assert_allclose(pre.inverse_transform_matrix(pre.transform_matrix(X)), X)


def test_constant_and_empty_features():
    with pytest.raises(SchemaError, match="'b' are constant"):
        Preprocessor().fit(np.array([[1.0, 2.0], [3.0, 2.0]]), ["a", "b"])
    with pytest.raises(SchemaError, match="no values at all"):
        Preprocessor().fit(np.array([[1.0, np.nan], [3.0, np.nan]]), ["a", "b"])


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (20, 3), elements=st.floats(-1e6, 1e6) | st.just(np.nan)))
def test_transform_is_finite_or_clear_error(M):
    try:
        pre = Preprocessor().fit(M, ["a", "b", "c"])
    except SchemaError:
        return
    assert np.isfinite(pre.transform_matrix(M)).all()
