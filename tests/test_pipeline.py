"""Row accounting of a segmentation job: every row segmented or rejected with a reason."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from custseg import SchemaError, SegmentOptions, run_segment
from custseg._pipeline import account_rows


@pytest.fixture
def table():
    return pd.DataFrame({
        "id": ["a", "b", "c", "a", None, "f", "g"],
        "x": ["1", "2", "abc", "4", "5", "", ""],
        "y": ["1", "", "3", "4", "5", "", "7"],
    }, dtype="string")


@pytest.mark.parametrize(
    ("missing", "duplicates", "kept", "reasons"),
    [
        ("impute", "reject", [0, 1, 6],
         ["invalid_value", "duplicate_id", "missing_id", "all_features_missing"]),
        ("reject", "reject", [0],
         ["missing_value", "invalid_value", "duplicate_id", "missing_id", "all_features_missing",
          "missing_value"]),
        ("impute", "keep", [0, 1, 3, 6],
         ["invalid_value", "missing_id", "all_features_missing"]),
    ],
)
def test_account_rows(table, missing, duplicates, kept, reasons):
    lines = np.arange(2, 2 + len(table))
    keep, rejects, imputed = account_rows(table, lines, ["x", "y"], "id", missing=missing,
                                          duplicates=duplicates)
    assert np.flatnonzero(keep).tolist() == kept
    assert rejects["reason"].tolist() == reasons
    assert keep.sum() + len(rejects) == len(table)
    assert set(rejects["line"]) == set(lines[~keep])
    if missing == "impute":
        assert imputed["y"] == 1  # row "b"


def test_reject_details_name_column_and_first_line(table):
    _, rejects, _ = account_rows(table, np.arange(2, 9), ["x", "y"], "id", missing="impute",
                                 duplicates="reject")
    detail = dict(zip(rejects["reason"], rejects["detail"], strict=True))
    assert detail["invalid_value"] == "column 'x': 'abc' is not a number"
    assert detail["duplicate_id"] == "ID 'a' first seen on line 2"


def test_constant_default_rfm_feature_is_left_out_and_recorded(tmp_path):
    """Every customer bought once: frequency is constant, so the default feature set drops it
    (with the reason in summary.json) instead of failing."""
    import json

    src = tmp_path / "orders.csv"
    src.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
                   + "".join(f"{5000 + i},{12000 + i},2011-0{1 + i % 9}-0{1 + i % 7},"
                             f"{1 + i % 4},{1.5 + i}\n" for i in range(12)))
    run_segment(src, tmp_path / "out", SegmentOptions(transactions=True, k=2, n_init=1))
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "frequency" not in summary["features"]
    assert summary["excluded_columns"]["frequency"].startswith("constant")
    with pytest.raises(SchemaError, match="constant"):  # named by the user: still an error
        run_segment(src, tmp_path / "out2", SegmentOptions(
            transactions=True, k=2, features=["recency_days", "frequency", "monetary"]))


@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("numbers", [(0, 1, 2), (0, 2, 5)])
def test_dispersion_metrics_equal_scikit_learn(noise, numbers):
    """The run's Calinski-Harabasz and Davies-Bouldin are scikit-learn's scores of the
    clustered customers (noise, label -1, left out; gaps in the segment numbers ignored)."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    from custseg._pipeline import _dispersion_metrics

    rng = np.random.default_rng(7)
    Z = np.concatenate([rng.normal(c, 1.0, size=(300, 3)) for c in (0.0, 4.0, 9.0)])
    labels = np.repeat(np.array(numbers), 300)
    rng.shuffle(labels[:450])  # overlapping, unequal clusters
    if noise:
        labels[rng.choice(len(labels), 100, replace=False)] = -1
        labels[labels == numbers[1]] = -1  # a segment that keeps two customers, the
        labels[:2] = numbers[1]  # rest of it noise
    got = _dispersion_metrics(Z, labels)
    keep = labels >= 0
    assert got["calinski_harabasz"] == pytest.approx(
        calinski_harabasz_score(Z[keep], labels[keep]), rel=1e-10)
    assert got["davies_bouldin"] == pytest.approx(
        davies_bouldin_score(Z[keep], labels[keep]), rel=1e-10)


def test_dispersion_metrics_need_two_segments():
    from custseg._pipeline import _dispersion_metrics

    Z = np.arange(12.0).reshape(6, 2)
    assert _dispersion_metrics(Z, np.zeros(6, dtype=int)) == {}
    assert _dispersion_metrics(Z, np.array([0, 0, 0, -1, -1, -1])) == {}
    # a segment per customer: scikit-learn refuses to score it, custseg reports no score
    assert _dispersion_metrics(Z[:3], np.array([0, 1, 2])) == {}


@pytest.mark.parametrize("noise", [False, True])
def test_silhouette_metric_is_scikit_learns_on_the_fixed_sample(noise):
    """The run's silhouette is scikit-learn's ``silhouette_score`` of the same seeded sample
    of clustered customers."""
    from sklearn.metrics import silhouette_score

    from custseg._pipeline import _silhouette_metrics

    rng = np.random.default_rng(11)
    Z = np.concatenate([rng.normal(c, 1.0, size=(700, 3)) for c in (0.0, 3.0, 7.0)])
    labels = np.repeat(np.arange(3), 700)
    if noise:
        labels[rng.choice(len(labels), 300, replace=False)] = -1
    got = _silhouette_metrics(Z, labels, seed=5, sample=500)
    keep = labels >= 0
    idx = np.random.default_rng(5).choice(int(keep.sum()), size=500, replace=False)
    expected = silhouette_score(Z[keep][idx], labels[keep][idx])
    assert got == {"silhouette": pytest.approx(expected, rel=1e-12),
                   "silhouette_sample_size": 500}


def test_silhouette_metric_needs_two_segments_and_fewer_than_customers():
    from custseg._pipeline import _silhouette_metrics

    Z = np.arange(12.0).reshape(6, 2)
    assert _silhouette_metrics(Z, np.zeros(6, dtype=int), seed=0) == {}
    # every sampled customer alone in its segment: no silhouette, the sample size only
    assert _silhouette_metrics(Z[:3], np.array([0, 1, 2]), seed=0) == {
        "silhouette_sample_size": 3}


def test_transaction_run_takes_the_numba_level_with_the_same_outputs(tmp_path, monkeypatch):
    """The pipeline loads numba while DuckDB reads the log, so rfm() takes its per-customer
    level in numba (for logs of at least DENSE_MIN_LINES lines; lowered here): the segments are
    those of the SQL level."""
    import custseg.features._rfm as rfm_module
    import custseg.features._rfm_dense as rfm_dense

    rng = np.random.default_rng(3)
    n = 600
    log = pd.DataFrame({
        "InvoiceNo": [f"{'C' if i % 11 == 0 else ''}{9000 + i // 3}" for i in range(n)],
        "CustomerID": (12000 + rng.integers(0, 80, n)).astype("int64"),
        "InvoiceDate": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 300, n),
                                                                    unit="D"),
        "Quantity": rng.integers(1, 9, n), "UnitPrice": rng.uniform(0.5, 20, n).round(2)})
    log.loc[log["InvoiceNo"].str.startswith("C"), "Quantity"] *= -1
    src = tmp_path / "orders.parquet"
    log.to_parquet(src)
    calls = []
    real = rfm_dense.reduce_keys
    monkeypatch.setattr(rfm_dense, "reduce_keys", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(rfm_module, "DENSE_MIN_LINES", 0)
    told = []  # whether the job told rfm() it loads numba, when rfm() decided
    real_pays = rfm_module._dense_pays
    monkeypatch.setattr(rfm_module, "_dense_pays",
                        lambda n: told.append(rfm_module.NUMBA_LOADING.get()) or real_pays(n))
    options = SegmentOptions(transactions=True, k=3, n_init=2, seed=0)
    run_segment(src, tmp_path / "numba", options)
    assert calls == [1]
    assert told == [True]
    assert rfm_module.NUMBA_LOADING.get() is False  # reset after the run
    monkeypatch.setattr(rfm_module, "USE_DENSE", False)
    run_segment(src, tmp_path / "sql", options)
    assert calls == [1]
    for name in ("segments.csv", "profiles.csv"):
        assert (tmp_path / "numba" / name).read_bytes() == (tmp_path / "sql" / name).read_bytes()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is "
                    "Linux's")
def test_the_worker_yields_to_the_fit_and_the_caller_keeps_its_priority():
    # the worker's tasks run at a lower priority (nice 10), so that a parallel fit in the calling
    # thread is not held up by them; the caller's own priority is left alone
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from custseg._pipeline import _lower_priority

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    with ThreadPoolExecutor(1) as worker:
        worker.submit(_lower_priority).result()
        seen = worker.submit(lambda: os.getpriority(os.PRIO_PROCESS,
                                                    threading.get_native_id())).result()
    assert seen == max(10, before)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
