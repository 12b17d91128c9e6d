"""The first-run note: where it looks is where numba caches the k-means kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from custseg import _kernel_cache


def _numba_cache_path(env: dict[str, str]) -> str:
    """The folder numba's own locator picks for ``_lloyd_pass`` in a child with ``env``."""
    code = ("from numba.core.caching import FunctionCache\n"
            "from custseg.cluster._lloyd import _lloyd_pass\n"
            "print(FunctionCache(_lloyd_pass.py_func)._cache_path)")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def _folder(env: dict[str, str]) -> Path | None:
    """cache_folder() under ``env``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "environ", env)
        return _kernel_cache.cache_folder()


def test_looks_where_numba_caches_by_default() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    assert _folder(env) == Path(_numba_cache_path(env))


def test_looks_where_numba_caches_under_numba_cache_dir(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    assert _folder(env) == Path(_numba_cache_path(env))


def test_empty_then_filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert _kernel_cache.kernels_compiled() is False
    assert _kernel_cache.first_run_note("clustering").startswith(
        "clustering (first run on this machine: numba compiles")
    folder = _folder(dict(os.environ))
    folder.mkdir(parents=True)
    (folder / "_lloyd._lloyd_pass-325.py311.nbi").write_bytes(b"")
    assert _kernel_cache.kernels_compiled() is True
    assert _kernel_cache.first_run_note("clustering") == "clustering"


@pytest.mark.slow
def test_a_real_fit_fills_the_cache_it_looks_at(tmp_path: Path) -> None:
    """Compiles the k-means kernels into an empty cache (~40 s): False before, True after."""
    code = ("from custseg._kernel_cache import kernels_compiled as k; before = k()\n"
            "import numpy as np; from custseg.cluster import KMeans\n"
            "KMeans(2, n_init=1, random_state=0).fit(np.arange(20.0).reshape(10, 2))\n"
            "print(before, k())")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "True"]


def test_segment_says_it_compiles_when_the_cache_is_empty(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The status line of a run that finds no cache (told so: pointing NUMBA_CACHE_DIR at an
    empty folder would make numba itself compile everything again, ~50 s)."""
    from custseg._pipeline import SegmentOptions, run_segment
    from custseg.demo import demo_customers_path

    monkeypatch.setattr(_kernel_cache, "kernels_compiled", lambda: False)
    stages: list[str] = []
    run_segment(demo_customers_path(), tmp_path / "out", SegmentOptions(k=3, seed=0),
                progress=stages.append)
    assert any(s.startswith("clustering (first run on this machine") for s in stages), stages
