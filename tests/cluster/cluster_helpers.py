"""Data generators and the R bridge shared by the cluster tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


def make_blobs(n: int, d: int, k: int, *, spread: float = 2.0, seed: int = 0):
    """``n`` rows around ``k`` Gaussian centres (unit variance), and the true labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * spread
    y = rng.integers(k, size=n)
    return centres[y] + rng.normal(size=(n, d)), y


def run_r(code: str, workdir: Path) -> str:
    """Run R code with ``Rscript`` in ``workdir``; skip the test when R is not installed."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (apt-get install r-base-core)")
    out = subprocess.run(["Rscript", "-e", code], cwd=workdir, capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"R failed:\n{out.stderr}")
    return out.stdout


def write_bin(path: Path, a: np.ndarray) -> None:
    """Row-major little-endian doubles: R reads them exactly with ``readBin``."""
    np.ascontiguousarray(a, dtype="<f8").tofile(path)


def r_matrix(name: str, file: str, shape: tuple[int, int]) -> str:
    m, n = shape
    return (f'{name} <- matrix(readBin("{file}", "double", n = {m * n}, size = 8, '
            f'endian = "little"), nrow = {m}, byrow = TRUE)\n')
