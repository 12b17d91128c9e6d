"""Compile custseg's numba kernels into numba's cache now, several at a time.

A first run compiles the kernels as it meets them, one after the other (``custseg demo`` took
62 s on a fresh copy of the source, 6.6 s once they were cached). ``custseg warm-up`` compiles
them in groups, each group in a process of its own, as many at once as there are cores, into
the cache later runs load. Each group calls the public functions the jobs call, on a few
hundred rows of the same dtypes and layouts, so numba compiles the same specialisations.
numba writes each kernel's cache files through a temporary file and a rename, so two groups
that meet one kernel can both write it.

``python -m custseg._warm_up GROUP`` runs one group (what :func:`warm_up` starts).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import IO

import numpy as np

from ._exceptions import InvalidParameterError

__all__ = ["GROUPS", "warm_up"]


def _data(dtype: type = np.float64, n: int = 600, d: int = 3) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, d)).astype(dtype)


def _lloyd(dtype: type, algorithm: str) -> None:
    from .cluster._lloyd import kmeans_fit

    X = _data(dtype)
    kmeans_fit(X, 8, init=X[:8].astype(np.float64), algorithm=algorithm)  # type: ignore[arg-type]


def _kmeans_plusplus() -> None:
    from .cluster._lloyd import _same_clustering, kmeans_plusplus

    kmeans_plusplus(_data(), 8, random_state=0)
    from .prep._moments import column_squared_deviations, column_sums_ranges

    X = _data()  # (a fit's preprocessing, from 50,000 rows)
    column_squared_deviations(X, column_sums_ranges(X)[0] / len(X))
    import pyarrow as pa

    from .io._write import _joined_rows

    _joined_rows([pa.array(["a"]), pa.array(["b"])])  # write_csv's rows (from 1,024)
    labels = np.zeros(10, dtype=np.int32)  # (as kmeans_fit compares its starts' labels)
    _same_clustering(labels, labels.copy(), 8)


def _rfm() -> None:
    from .features._rfm_dense import warm_up as rfm_warm_up
    from .features._rfm_runs import warm_up as runs_warm_up

    rfm_warm_up()
    runs_warm_up()


def _choose_k() -> None:
    from .select._choose import choose_k
    from .select._metrics import adjusted_rand, partition_scores, silhouettes

    X = _data()
    labels = (np.arange(len(X)) % 3).astype(np.int64)
    silhouettes(X[:200], labels[None, :200])
    partition_scores(X, labels, 3)
    adjusted_rand(labels, labels[::-1].copy(), 3, 3)
    choose_k(X, range(2, 5), random_state=0)


#: Name -> what it compiles, the longest first (in brackets: the seconds each took when the
#: groups ran one at a time into a cache empty at first, in the order lloyd-float64,
#: kmeans++, choose-k, lloyd-float32, rfm, hamerly, on a 2-core machine). ``custseg demo``
#: needs the first three, an order-log job ``lloyd-float64``, ``kmeans++`` and ``rfm``.
GROUPS: dict[str, Callable[[], None]] = {
    "lloyd-float64": lambda: _lloyd(np.float64, "lloyd"),  # the fused pass, tiles (30 s)
    "choose-k": _choose_k,  # the sample k-means and the metrics of choosing k (21 s)
    "kmeans++": _kmeans_plusplus,  # the seeding passes, the column moments, the CSV rows
    # (13 s after lloyd-float64)
    "lloyd-float32": lambda: _lloyd(np.float32, "lloyd"),  # dtype="float32" (21 s)
    "rfm": _rfm,  # the per-customer RFM level (12 s)
    "hamerly": lambda: _lloyd(np.float64, "hamerly"),  # method="elkan" (12 s)
}


def warm_up(jobs: int | None = None, groups: list[str] | None = None,
            on_done: Callable[[str, float], None] | None = None) -> dict[str, float]:
    """Run the warm-up groups, at most ``jobs`` at once (default: one per core).

    Parameters
    ----------
    jobs : int, default=None
        Processes at once.
    groups : list of str, default=None
        Names of :data:`GROUPS` to run (default: all).
    on_done : callable, default=None
        Called with each group's name and seconds as it ends.

    Returns
    -------
    dict
        Seconds per group.

    Raises
    ------
    InvalidParameterError
        For an unknown group name.
    RuntimeError
        When a group fails (its last lines of error output in the message).
    """
    names = list(GROUPS) if groups is None else list(groups)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise InvalidParameterError(f"Unknown warm-up group(s) {', '.join(unknown)}; the groups "
                                    f"are {', '.join(GROUPS)}.")
    jobs = max(1, jobs or os.cpu_count() or 1)
    pending = list(names)
    # each child's errors go to a file of its own: a pipe read only once the child has ended
    # would stop a child that writes more than the pipe holds
    running: dict[str, tuple[subprocess.Popen, float, IO[str]]] = {}
    seconds: dict[str, float] = {}
    failed: list[str] = []
    with contextlib.ExitStack() as files:
        while pending or running:
            while pending and len(running) < jobs:
                name = pending.pop(0)
                err = files.enter_context(tempfile.TemporaryFile("w+"))
                proc = subprocess.Popen([sys.executable, "-m", "custseg._warm_up", name],
                                        stdout=subprocess.DEVNULL, stderr=err)
                running[name] = (proc, time.perf_counter(), err)
            time.sleep(0.05)
            for name, (proc, start, err) in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[name]
                seconds[name] = time.perf_counter() - start
                if proc.returncode:
                    err.seek(0)
                    tail = " | ".join(err.read().strip().splitlines()[-3:])
                    failed.append(f"{name} (exit {proc.returncode}): {tail}")
                elif on_done is not None:
                    on_done(name, seconds[name])
    if failed:
        raise RuntimeError("custseg warm-up failed: " + "; ".join(failed))
    return seconds


if __name__ == "__main__":
    for group in sys.argv[1:]:
        GROUPS[group]()
