"""Determinism: the same input, options and seed give byte-identical segments.csv and
profiles.csv — run twice, and with one or two threads in every numeric library."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import PYTHON, read_frame, write_customers

CLI = "import sys; from custseg.cli import main; main(sys.argv[1:])"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
FILES = ("segments.csv", "profiles.csv")
OPTIONS = {
    "kmeans-auto": ["--k", "auto", "--k-range", "2-4"],
    "gmm": ["--k", "3", "--algorithm", "gmm", "--log-transform", "auto"],
    "twostep": ["--k", "4", "--algorithm", "twostep"],
}


def _start(src: Path, out: Path, threads: int, options: list[str]) -> subprocess.Popen:
    env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
    return subprocess.Popen([PYTHON, "-c", CLI, "segment", str(src), "--out", str(out),
                             "--seed", "7", "--quiet", *options], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _digests(out: Path) -> dict[str, str]:
    return {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in FILES}


@pytest.fixture(scope="module", params=[
    "kmeans-auto", "gmm", pytest.param("twostep", marks=pytest.mark.slow)])
def three_runs(request, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same job three times, at once: one thread twice, two threads once."""
    tmp = tmp_path_factory.mktemp(request.param)
    src = write_customers(tmp / "c.csv", 1000, seed=11, k=4)
    runs = {"one-a": 1, "one-b": 1, "two": 2}
    procs = {name: _start(src, tmp / name, threads, OPTIONS[request.param])
             for name, threads in runs.items()}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, (name, err)
    return {"name": request.param, **{name: tmp / name for name in runs}}


def test_same_seed_gives_the_same_bytes(three_runs: dict) -> None:
    assert _digests(three_runs["one-a"]) == _digests(three_runs["one-b"])


def test_one_or_two_threads_give_the_same_segments(three_runs: dict) -> None:
    """Labels, names and profiles are identical; distances agree to 1e-12."""
    a = read_frame(three_runs["one-a"] / "segments.csv")
    b = read_frame(three_runs["two"] / "segments.csv")
    assert a.drop(columns="distance").equals(b.drop(columns="distance"))
    np.testing.assert_allclose(a["distance"].astype(float), b["distance"].astype(float),
                               rtol=1e-12, atol=1e-12)
    assert _digests(three_runs["one-a"])["profiles.csv"] == \
        _digests(three_runs["two"])["profiles.csv"]


def test_one_or_two_threads_give_the_same_bytes(three_runs: dict) -> None:
    """k-means runs custseg's fused kernel, which adds its per-block partial sums in block
    order: the centroids, and so the distances, do not depend on the thread count."""
    same = _digests(three_runs["one-a"]) == _digests(three_runs["two"])
    assert same, "1 and 2 threads give different bytes"
