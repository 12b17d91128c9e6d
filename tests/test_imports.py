"""What importing custseg loads: the public names resolve, and heavy libraries load on use only.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import custseg


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_custseg_loads_no_heavy_library():
    loaded = _modules_after("import custseg")
    assert not {"sklearn", "scipy", "duckdb", "numba", "pandas"} & loaded


def test_the_kmeans_kernels_load_without_scikit_learn():
    loaded = _modules_after("import custseg.cluster._lloyd")
    assert "numba" in loaded
    assert not {"sklearn", "scipy.stats", "duckdb"} & loaded  # numba itself loads bare scipy


def test_kmeans_loads_without_the_other_estimators():
    loaded = _modules_after("from custseg.cluster import KMeans")
    assert "sklearn.base" in loaded
    assert not {"sklearn.mixture", "sklearn.neighbors", "custseg.cluster._gmm"} & loaded


def test_deriving_features_loads_no_scikit_learn():
    loaded = _modules_after("import custseg; custseg.rfm")
    assert "duckdb" in loaded
    assert "sklearn" not in loaded


def test_the_job_module_leaves_scikit_learn_and_numba_to_the_fit():
    """custseg segment imports scikit-learn and numba in its worker while DuckDB reads an
    order log, so the job module itself must not import them."""
    loaded = _modules_after("import custseg._pipeline, custseg.cli")
    assert not {"sklearn", "numba", "custseg._segmenter"} & loaded


@pytest.mark.parametrize("name", custseg.__all__)
def test_every_public_name_resolves(name):
    assert getattr(custseg, name) is not None
    assert name in dir(custseg)


def test_public_names_are_the_implementations():
    from custseg.cluster import ALGORITHMS, KMeans
    from custseg.features import RFMScorer, rfm

    assert custseg.rfm is rfm
    assert custseg.RFMScorer is RFMScorer
    assert ALGORITHMS["kmeans"] is KMeans
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        custseg.nope  # noqa: B018


def test_not_fitted_error_is_one_class_caught_as_scikit_learn_s():
    import pickle

    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    from custseg._exceptions import NotFittedError

    assert custseg.NotFittedError is NotFittedError
    assert issubclass(NotFittedError, custseg.CustsegError)
    assert issubclass(NotFittedError, SklearnNotFittedError)
    err = pickle.loads(pickle.dumps(NotFittedError("not fitted")))
    assert type(err) is NotFittedError
    with pytest.raises(SklearnNotFittedError):
        custseg.Segmenter().predict([[1.0, 2.0]])
