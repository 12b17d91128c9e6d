"""KMeans(dtype="float32") on the real datasets: the float64 segments and inertia.

Float32 halves the bytes a Lloyd iteration reads; the kernel re-decides in float64 every row whose
two nearest centres are within float32 rounding, and keeps sums and inertia in float64, so the
segment assignments and the inertia must not move (issue #7: ARI >= 0.999, inertia within 1e-6
relative). The datasets live beside the repository in ``../shared/data``; absent, the tests skip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.metrics import adjusted_rand_score

from custseg.cluster import KMeans

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _mall() -> np.ndarray:
    df = pd.read_csv(DATA / "mall_customers" / "Mall_Customers.csv")
    return df[["Age", "Annual Income (k$)", "Spending Score (1-100)"]].to_numpy(np.float64)


def _wholesale() -> np.ndarray:
    df = pd.read_csv(DATA / "wholesale_customers" / "Wholesale customers data.csv")
    spend = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    return np.log1p(df[spend].to_numpy(np.float64))


def _cc_general() -> np.ndarray:
    df = pd.read_csv(DATA / "cc_general" / "CC GENERAL.csv").drop(columns=["CUST_ID"])
    return df.fillna(df.median()).to_numpy(np.float64)


DATASETS = {"mall": (_mall, "mall_customers", 5),
            "wholesale": (_wholesale, "wholesale_customers", 6),
            "cc_general": (_cc_general, "cc_general", 8)}


def _standardised(name: str) -> tuple[np.ndarray, int]:
    load, folder, k = DATASETS[name]
    if not (DATA / folder).is_dir():
        pytest.skip(f"{DATA / folder} is absent (the real datasets live beside the repo)")
    X = load()
    return np.ascontiguousarray((X - X.mean(0)) / X.std(0)), k


def _inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the float64 rows to their assigned centres (direct)."""
    return float(((X - centers[labels]) ** 2).sum())


@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("n_init", [1, 10])
def test_float32_gives_the_float64_segments(name, n_init):
    X, k = _standardised(name)
    km64 = KMeans(k, n_init=n_init, random_state=0).fit(X)
    km32 = KMeans(k, n_init=n_init, random_state=0, dtype="float32").fit(X)
    assert km32.get_params()["dtype"] == "float32"
    assert adjusted_rand_score(km64.labels_, km32.labels_) >= 0.999
    assert km32.inertia_ == pytest.approx(km64.inertia_, rel=1e-6)
    # the float32 result, measured on the float64 data, is as good as the float64 one
    assert _inertia(X, km32.cluster_centers_, km32.labels_) == pytest.approx(km64.inertia_,
                                                                              rel=1e-6)
    # and both are scikit-learn's partition from the same seed
    ref = SkKMeans(k, n_init=n_init, random_state=0).fit(X)
    assert adjusted_rand_score(ref.labels_, km32.labels_) >= 0.999
    assert km64.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


def test_float32_input_is_not_copied_to_float64():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 4)).astype(np.float32)
    km = KMeans(3, n_init=2, random_state=0, dtype="float32").fit(X)
    ref = KMeans(3, n_init=2, random_state=0).fit(X.astype(np.float64))
    assert km.cluster_centers_.dtype == np.float64
    np.testing.assert_array_equal(km.labels_, ref.labels_)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


def test_invalid_dtype():
    from custseg import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="The 'dtype' parameter of KMeans must be"):
        KMeans(2, dtype="float16").fit(np.zeros((4, 2)))
