"""k-means side by side: custseg's fused kernels against the usual peers, in one run.

Usage::

    python benchmarks/bench_kmeans.py                      # 1,000,000 x 8, k = 8, 50 iterations
    python benchmarks/bench_kmeans.py --n 1000000 --d 8 --k 8 --iters 50
    python benchmarks/bench_kmeans.py --quick              # 100,000 rows, vs sklearn lloyd, no seeding table
    python benchmarks/bench_kmeans.py --big                # 10,000,000 x 8 float32: memory
    python benchmarks/bench_kmeans.py --peers custseg,sklearn-lloyd --repeats 5

Sections
--------
iterations
    Every peer starts from the same k-means++ centres (scikit-learn's, seed ``--seed``) and runs
    ``--iters`` iterations with ``tol = 0`` where its API allows (scikit-learn and R still stop
    early if no label changes; MiniBatchKMeans runs epochs with its default early stopping).
    Columns: median fit time, ratio to custseg (peer time / custseg time), per-iteration time,
    peak resident memory of the peer's process, the inertia of the centres it returns (computed
    here, identically for everybody: sum of squared distances of every row to its nearest
    returned centre, float64) and the relative gap to custseg's. A faster result of worse quality
    is not faster.
bandwidth floor
    One iteration must read ``X`` once: the floor is the median time per read of a parallel
    numba streaming sum over the same matrix, read 20 times back to back (as a fit's
    iterations follow each other), with the same threads, in a child of its own (so that
    compiling it does not count in custseg's peak memory). custseg's ms/iteration is reported
    against it.
seeding
    ``sklearn.cluster.kmeans_plusplus`` against custseg's ``kmeans_plusplus`` (same draws: the
    table says whether the chosen rows agree).
big (``--big``)
    10M x 8 float32: custseg's peak memory against the size of the matrix (target < 2x), both as
    the raw process peak and as the peak above the process before it loaded the data (the
    interpreter and imports, which are not the algorithm's).
memory
    Every peer's peak is its process's ``VmHWM``; the table under the iterations also splits it
    into the interpreter with the peer's imports, the loaded data, and the fit's own memory
    (peak minus the resident size once the data was loaded: copies, labels, buffers, and for
    custseg the numba runtime that loading the cached kernels initialises).

Each peer runs in its own child process (``python bench_kmeans.py --worker PEER ...``, or
``Rscript``), so its peak memory is its own; timings are medians over ``--repeats`` fits inside
the child, after one warm-up fit where JIT compilation applies. The Python peers' processes run
side by side and take turns (``--lockstep``): each waits for its turn before every timed fit,
one fit at a time, the order reversed every round, and the bandwidth floor is read in the same
rotation, so a change of load on a shared machine falls on every peer alike (``--no-interleave``:
one peer after the other, as R and Spark always run). The machine's load is recorded.
Results go to ``benchmarks/results/kmeans.json`` (``kmeans_quick.json``, ``kmeans_big.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - after the path tweak, as a script
    fmt_mb,
    fmt_ratio,
    fmt_seconds,
    load_average,
    make_customers,
    peak_rss_mb,
    print_table,
    rss_mb,
    run_child,
    run_python_child,
    wait_for_quiet,
    write_result,
)

HERE = Path(__file__).resolve()

PEERS_DEFAULT = ["custseg", "custseg-lloyd", "custseg-hamerly", "sklearn-lloyd", "sklearn-elkan",
                 "sklearn-minibatch", "faiss", "r-kmeans", "spark-mllib"]
PEERS_QUICK = ["custseg", "sklearn-lloyd"]
PEERS_BIG = ["custseg", "custseg-lloyd", "sklearn-lloyd"]


# ------------------------------------------------------------------------------------------
# workers (run in child processes)
# ------------------------------------------------------------------------------------------


class _Gate:
    """Lockstep with the parent (``--lockstep``): before each timed fit, wait for its ``go``
    line on stdin; after it, answer ``T <seconds>`` on stdout. The parent lets one peer's
    process run at a time and alternates them, so every peer's fits see the same load."""

    def __init__(self, on: bool):
        self.on = on

    def wait(self) -> None:
        if self.on and not sys.stdin.readline():
            raise SystemExit("the benchmark's parent went away")

    def report(self, seconds: float) -> None:
        if self.on:
            print(f"T {seconds!r}", flush=True)


_GATE = _Gate(False)


def _timed(fit, repeats: int, warmup: bool, quiet: float | None) -> tuple[list[float], Any,
                                                                            list[float]]:
    if warmup:
        fit()  # its result is dropped before the timed fits
    times, busy = [], []
    out = None
    for _ in range(repeats):
        out = None  # let the previous result go before the next fit allocates its own
        _GATE.wait()
        if quiet is not None:
            busy.append(wait_for_quiet(quiet, timeout=120))
        t = time.perf_counter()
        out = fit()
        times.append(time.perf_counter() - t)
        _GATE.report(times[-1])
    return times, out, busy


_IMPORTS = {"custseg": "custseg.cluster._lloyd", "seed-custseg": "custseg.cluster._lloyd",
            "sklearn": "sklearn.cluster", "seed-sklearn": "sklearn.cluster", "faiss": "faiss",
            "spark": "pyspark.sql"}


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Fit with one peer; return times, centres and what the peer reports."""
    peer = args.worker
    _GATE.on = bool(args.lockstep)
    module = next((m for prefix, m in _IMPORTS.items() if peer.startswith(prefix)), None)
    if module:
        __import__(module)
    res: dict[str, Any] = {"rss_imports_mb": rss_mb()}
    X = np.load(args.data)
    C0 = np.load(args.init)
    res["rss_loaded_mb"] = rss_mb()
    k, iters = C0.shape[0], args.iters
    quiet = args.quiet if args.quiet > 0 else None
    if peer == "custseg-floor":
        res["floor_s"], res["floor_best_s"], res["custseg_marginal_s"] = _floor(
            X, args.repeats if args.lockstep else max(9, args.repeats * 3), quiet, C0,
            iters, args.threads)
        return {**res, "times": [], "busy": [], "centers": None, "peak_rss_mb": peak_rss_mb()}
    if peer == "custseg-warmup":
        from custseg.cluster._lloyd import kmeans_fit

        small = np.ascontiguousarray(X[:50_000])
        for algorithm in ("lloyd", "hamerly"):
            kmeans_fit(small, k, n_init=1, random_state=0, max_iter=3, algorithm=algorithm)
        return {"times": [], "busy": [], "centers": C0.tolist(), "peak_rss_mb": peak_rss_mb()}
    if peer.startswith("custseg"):
        from custseg.cluster._lloyd import lloyd

        algorithm = {"custseg": "auto", "custseg-lloyd": "lloyd",
                     "custseg-hamerly": "hamerly"}[peer]

        def fit():
            return lloyd(X, C0, max_iter=iters, tol=0.0, algorithm=algorithm,
                         n_threads=args.threads)

        times, (C, _, inertia, n_iter), busy = _timed(fit, args.repeats, True, quiet)
        res.update(centers=C, inertia_reported=inertia, n_iter=n_iter)
    elif peer.startswith("sklearn-") and peer != "sklearn-minibatch":
        from sklearn.cluster import KMeans

        algorithm = peer.split("-", 1)[1]

        def fit():
            return KMeans(k, init=C0.astype(X.dtype), n_init=1, max_iter=iters, tol=0.0,
                          algorithm=algorithm).fit(X)

        times, km, busy = _timed(fit, args.repeats, False, quiet)
        res.update(centers=km.cluster_centers_, inertia_reported=km.inertia_, n_iter=km.n_iter_)
    elif peer == "sklearn-minibatch":
        from sklearn.cluster import MiniBatchKMeans

        def fit():
            return MiniBatchKMeans(k, init=C0.astype(X.dtype), n_init=1, max_iter=iters,
                                   random_state=args.seed).fit(X)

        times, km, busy = _timed(fit, args.repeats, False, quiet)
        res.update(centers=km.cluster_centers_, inertia_reported=km.inertia_,
                   n_iter=km.n_iter_, note=f"{km.n_steps_} mini-batch steps")
    elif peer == "faiss":
        import faiss

        faiss.omp_set_num_threads(args.threads)
        n, d = X.shape

        def fit():
            km = faiss.Kmeans(d, k, niter=iters, seed=args.seed, max_points_per_centroid=n,
                              verbose=False)
            km.train(np.ascontiguousarray(X, dtype=np.float32),
                     init_centroids=np.ascontiguousarray(C0, dtype=np.float32))
            return km

        times, km, busy = _timed(fit, args.repeats, False, quiet)
        res.update(centers=km.centroids.astype(np.float64), inertia_reported=float(km.obj[-1]),
                   n_iter=len(km.obj), note="float32 only (converted inside the timing)")
    elif peer == "spark-mllib":
        res.update(_spark_worker(X, C0, iters, args, quiet))
        times, busy = res.pop("times"), res.pop("busy")
    elif peer == "seed-sklearn":
        from sklearn.cluster import kmeans_plusplus

        def fit():
            return kmeans_plusplus(X, k, random_state=args.seed)

        times, (C, idx), busy = _timed(fit, args.repeats, False, quiet)
        res.update(centers=C, indices=idx.tolist())
    elif peer == "seed-custseg":
        from custseg.cluster._lloyd import kmeans_plusplus

        def fit():
            return kmeans_plusplus(X, k, random_state=args.seed, n_threads=args.threads)

        times, (C, idx), busy = _timed(fit, args.repeats, True, quiet)
        res.update(centers=C, indices=idx.tolist())
    else:
        raise SystemExit(f"unknown peer {peer!r}")
    res.update(times=times, busy=busy, peak_rss_mb=peak_rss_mb())
    res["centers"] = np.asarray(res["centers"], dtype=np.float64).tolist()
    return res


_FLOOR_PASSES = 20  # streaming reads timed together by the floor


def _floor(X: np.ndarray, repeats: int, quiet: float | None, C0: np.ndarray | None = None,
           iters: int = 50, threads: int | None = None) -> tuple[float, float, float | None]:
    """Median and best time per read of ``X`` when it is read back to back by a parallel
    streaming sum (the floor of a pass), and with ``C0`` custseg's marginal time per Lloyd
    iteration: the median of ``(t(iters) - t(iters // 5)) / (iters - iters // 5)`` over
    fits from ``C0`` timed in the same turns (a fit's fixed costs -- the column moments,
    the packed copy, the final float64 pass -- cancel out)."""
    from numba import njit, prange

    @njit(parallel=True, fastmath=True, cache=False)
    def stream_sum(flat):  # pragma: no cover - numba
        s = 0.0
        for i in prange(flat.shape[0]):
            s += flat[i]
        return s

    flat = X.reshape(-1)
    stream_sum(flat)
    times = []
    marginal = []
    short = max(1, iters // 5)
    if C0 is not None:
        from custseg.cluster._lloyd import lloyd

        def fit(n_iter: int) -> float:
            t = time.perf_counter()
            lloyd(X, C0, max_iter=n_iter, tol=0.0, n_threads=threads)
            return time.perf_counter() - t

        fit(3)  # loads the cached kernels
    rounds = repeats if _GATE.on else 1
    for _ in range(rounds):  # in lockstep, one round (three timings) per go of the parent
        _GATE.wait()
        if _GATE.on:
            stream_sum(flat)  # untimed: wakes the thread pool that slept while others ran
        mine = []
        for _ in range(3 if _GATE.on else repeats):
            if quiet is not None:
                wait_for_quiet(quiet, timeout=60)
            # _FLOOR_PASSES reads back to back, as a fit's iterations follow each other: one
            # read alone also times the thread pool's wake-up (a median of 6.2 ms per read in
            # lockstep where back-to-back reads took 2.2 ms each)
            t = time.perf_counter()
            for _ in range(_FLOOR_PASSES):
                stream_sum(flat)
            mine.append((time.perf_counter() - t) / _FLOOR_PASSES)
        times += mine
        if C0 is not None:
            for _ in range(1 if _GATE.on else repeats):
                marginal.append((fit(iters) - fit(short)) / (iters - short))
        _GATE.report(statistics.median(mine))
    return statistics.median(times), min(times), \
        (statistics.median(marginal) if marginal else None)


def _spark_worker(X: np.ndarray, C0: np.ndarray, iters: int, args: argparse.Namespace,
                  quiet: float | None) -> dict[str, Any]:
    """Spark MLlib (RDD API) k-means in local mode from the same initial centres.

    The rows are converted to a persisted JVM RDD of vectors before the clock starts, so the
    timing is MLlib's iterations (and Spark's scheduling), not the Python-to-JVM transfer.
    """
    import warnings

    warnings.filterwarnings("ignore")
    from pyspark.mllib.common import _to_java_object_rdd, callMLlibFunc
    from pyspark.mllib.linalg import DenseVector
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(f"local[{args.threads}]")
             .appName("custseg-bench-kmeans")
             .config("spark.driver.memory", "4g")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", str(args.threads))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    sc = spark.sparkContext
    jvm = sc._jvm
    parts = max(args.threads * 2, 2)
    chunks = np.array_split(X.astype(np.float64), parts)
    rdd = sc.parallelize(chunks, parts).flatMap(lambda a: [DenseVector(r) for r in a])
    jrdd = _to_java_object_rdd(rdd)
    level = jvm.org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK()
    init = [DenseVector(c) for c in C0]
    times, busy = [], []
    model = None
    for _ in range(args.repeats):
        jrdd.persist(level)
        jrdd.count()
        if quiet is not None:
            busy.append(wait_for_quiet(quiet, timeout=120))
        t = time.perf_counter()
        model = callMLlibFunc("trainKMeansModel", jrdd, C0.shape[0], iters, "k-means||",
                              args.seed, 2, 0.0, init, "euclidean")
        times.append(time.perf_counter() - t)
    centers = np.array([np.asarray(c.toArray()) for c in model.clusterCenters()])
    cost = n_iter = None
    try:
        cost = float(model.trainingCost())
        n_iter = int(model.numIter())
    except Exception:  # noqa: BLE001 - private accessor in some versions
        pass
    jvm_pid = int(jvm.java.lang.ProcessHandle.current().pid())
    jvm_peak = _proc_hwm_mb(jvm_pid)
    spark.stop()
    return {"times": times, "busy": busy, "centers": centers, "inertia_reported": cost,
            "n_iter": n_iter, "extra_peak_rss_mb": jvm_peak,
            "note": f"local[{args.threads}], JVM peak {jvm_peak:.0f} MB included"}


def _proc_hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[1]); d <- as.integer(args[2]); k <- as.integer(args[3])
iters <- as.integer(args[4]); repeats <- as.integer(args[5])
status_mb <- function(key) {
  s <- readLines("/proc/self/status")
  line <- s[startsWith(s, paste0(key, ":"))]
  as.numeric(strsplit(trimws(sub(paste0(key, ":"), "", line)), " +")[[1]][1]) / 1024
}
con <- file(args[6], "rb"); x <- matrix(readBin(con, "double", n * d, size = 8), ncol = d,
  byrow = TRUE); close(con)
con <- file(args[7], "rb"); c0 <- matrix(readBin(con, "double", k * d, size = 8), ncol = d,
  byrow = TRUE); close(con)
before <- status_mb("VmRSS")
times <- numeric(0)
for (r in seq_len(repeats)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- suppressWarnings(kmeans(x, centers = c0, iter.max = iters, algorithm = "Lloyd"))
  times <- c(times, proc.time()[["elapsed"]] - t0)
}
fmt <- function(v) paste(sprintf("%.17g", v), collapse = ",")
rows <- paste0("[", apply(fit$centers, 1, fmt), "]", collapse = ",")
cat(sprintf('{"times": [%s], "inertia_reported": %.17g, "n_iter": %d, "centers": [%s], "rss_loaded_mb": %.1f, "peak_rss_mb": %.1f, "note": "single-threaded"}\n',
  fmt(times), fit$tot.withinss, fit$iter, rows, before, status_mb("VmHWM")))
"""


# ------------------------------------------------------------------------------------------
# parent
# ------------------------------------------------------------------------------------------


def exact_inertia(X: np.ndarray, C: np.ndarray, chunk: int = 200_000) -> float:
    """Sum over rows of the squared distance to the nearest centre (float64, direct)."""
    C = np.asarray(C, dtype=np.float64)
    total = 0.0
    for s in range(0, X.shape[0], chunk):
        x = X[s:s + chunk].astype(np.float64)
        d2 = ((x[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
        total += float(d2.min(axis=1).sum())
    return total


def available(peer: str) -> str | None:
    """Why ``peer`` cannot run here, or ``None``."""
    if peer == "faiss":
        try:
            import faiss  # noqa: F401
        except ImportError:
            return "faiss not importable (pip install faiss-cpu)"
    if peer == "r-kmeans" and not shutil.which("Rscript"):
        return "Rscript not found"
    if peer == "spark-mllib":
        if not shutil.which("java"):
            return "java not found"
        try:
            import pyspark  # noqa: F401
        except ImportError:
            return "pyspark not importable"
    return None


def run_peer(peer: str, data: Path, init: Path, raw: tuple[Path, Path],
             args: argparse.Namespace) -> dict[str, Any]:
    why = available(peer)
    if why:
        return {"peer": peer, "skipped": why}
    env = _worker_env(args)
    if peer == "r-kmeans":
        n, d = np.load(data, mmap_mode="r").shape
        k = np.load(init).shape[0]
        with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
            fh.write(R_SCRIPT)
        try:
            child = run_child(["Rscript", "--vanilla", fh.name, str(n), str(d), str(k),
                               str(args.iters), str(args.repeats), str(raw[0]), str(raw[1])],
                              env=env, timeout=args.timeout)
        finally:
            os.unlink(fh.name)
    else:
        child = run_python_child(HERE, _worker_args(peer, data, init, args), env=env,
                                 timeout=args.timeout)
    if not child.ok:
        return {"peer": peer, "error": child.error}
    return _row(peer, child.payload, child.peak_rss_mb)


def _worker_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(args.threads)
    return env


def _worker_args(peer: str, data: Path, init: Path, args: argparse.Namespace) -> list[str]:
    return ["--worker", peer, "--data", str(data), "--init", str(init), "--iters",
            str(args.iters), "--repeats", str(args.repeats), "--threads", str(args.threads),
            "--seed", str(args.seed), "--quiet", str(args.quiet)]


def lockstep_capable(peer: str) -> bool:
    """Peers whose timed fits can be interleaved with the others' (Python workers)."""
    return peer.startswith(("custseg", "sklearn-", "seed-")) or peer == "faiss"


def run_lockstep(peers: list[str], data: Path, init: Path,
                 args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Run ``peers`` side by side, one timed fit at a time, alternating the order each round.

    Each peer is its own process (its own imports, data and peak memory), started at once;
    each waits for a ``go`` before every timed fit (after its imports, data and warm-up), so
    only one of them computes at any time, and a change of load on a shared machine falls on
    every peer's fits alike instead of on whichever peer happened to run then.
    """
    with contextlib.ExitStack() as stack:
        errs = {peer: stack.enter_context(tempfile.TemporaryFile("w+")) for peer in peers}
        return _lockstep(peers, errs, data, init, args)


def _lockstep(peers: list[str], errs: dict[str, Any], data: Path, init: Path,
              args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    procs: dict[str, subprocess.Popen] = {}
    rows: dict[str, dict[str, Any]] = {}
    for peer in peers:
        procs[peer] = subprocess.Popen(
            [sys.executable, str(HERE), *_worker_args(peer, data, init, args), "--lockstep"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errs[peer], text=True,
            env=_worker_env(args))
    out: dict[str, list[str]] = {peer: [] for peer in peers}

    def fail(peer: str, why: str) -> None:
        procs[peer].kill()
        errs[peer].seek(0)
        tail = " | ".join(errs[peer].read().strip().splitlines()[-3:])
        rows[peer] = {"peer": peer, "error": f"{why}: {tail}"[:400]}

    try:
        for r in range(args.repeats):
            for peer in (peers if r % 2 == 0 else peers[::-1]):
                if peer in rows:
                    continue
                proc = procs[peer]
                time.sleep(0.05)  # the last peer's idle OpenMP threads stop spinning first
                try:
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                except BrokenPipeError:
                    fail(peer, "exited early")
                    continue
                while True:
                    line = _readline(proc, args.timeout)
                    if not line:
                        fail(peer, "exited early, or timed out")
                        break
                    if line.startswith("T "):
                        break
                    out[peer].append(line)
        for peer, proc in procs.items():
            if peer in rows:
                continue
            proc.stdin.close()  # no more go: the worker prints its results and exits
            rest = proc.stdout.read()  # (the file object: readline may have buffered some)
            proc.wait(timeout=args.timeout)
            payload = next((json.loads(x) for x in reversed((out[peer] + rest.splitlines()))
                            if x.strip().startswith("{")), None)
            if proc.returncode != 0 or payload is None:
                fail(peer, f"exit {proc.returncode}")
                continue
            rows[peer] = _row(peer, payload, payload.get("peak_rss_mb"))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return rows




def _readline(proc: subprocess.Popen, timeout: float) -> str:
    """The next line of ``proc``'s output, or "" if it ends first; a child silent for
    ``timeout`` seconds is killed. (Not ``select``: it watches the pipe, not lines that the
    file object already buffered.)"""
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        return proc.stdout.readline()
    finally:
        watchdog.cancel()


def _row(peer: str, p: dict[str, Any], peak_rss_mb: float | None) -> dict[str, Any]:
    times = p.get("times") or []
    row = {"peer": peer, "time_s": statistics.median(times) if times else None, "times_s": times,
           "n_iter": p.get("n_iter"), "peak_rss_mb": peak_rss_mb,
           "rss_imports_mb": p.get("rss_imports_mb"), "rss_loaded_mb": p.get("rss_loaded_mb"),
           "inertia_reported": p.get("inertia_reported"), "note": p.get("note", ""),
           "busy": p.get("busy"), "centers": p.get("centers")}
    if "floor_s" in p:
        row["floor_s"] = p["floor_s"]
        row["floor_best_s"] = p["floor_best_s"]
        row["custseg_marginal_s"] = p.get("custseg_marginal_s")
    if "indices" in p:
        row["indices"] = p["indices"]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=None, help="rows (default 1,000,000; --quick 100,000)")
    ap.add_argument("--d", type=int, default=8, help="features (default 8)")
    ap.add_argument("--k", type=int, default=8, help="clusters (default 8)")
    ap.add_argument("--iters", type=int, default=50, help="iterations, tol = 0 (default 50)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default=None)
    ap.add_argument("--repeats", type=int, default=None, help="timed fits per peer (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peers", default=None, help="comma-separated subset of: "
                    + ",".join(PEERS_DEFAULT))
    ap.add_argument("--quick", action="store_true",
                    help="100,000 rows, no Spark and no explicit custseg kernels")
    ap.add_argument("--big", action="store_true", help="10M x 8 float32 memory run")
    ap.add_argument("--no-seeding", action="store_true", help="skip the k-means++ table")
    ap.add_argument("--quiet", type=float, default=0.0, metavar="BUSY",
                    help="before each timed fit, wait (<= 2 min) until the machine's CPUs are "
                    "at most this busy, e.g. 0.15 (default: do not wait)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per peer")
    ap.add_argument("--no-write", action="store_true", help="do not write results/*.json")
    ap.add_argument("--no-interleave", action="store_true",
                    help="run the peers one after the other, each its --repeats fits in a "
                    "row (default: interleave the Python peers' fits, one at a time)")
    ap.add_argument("--lockstep", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--init", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    mode = "big" if args.big else "quick" if args.quick else "full"
    n = args.n or {"big": 10_000_000, "quick": 100_000, "full": 1_000_000}[mode]
    dtype = np.dtype(args.dtype or ("float32" if args.big else "float64"))
    repeats = args.repeats or 3  # (quick too: a single interleaved fit can catch a cold start)
    args.repeats = repeats
    peers = (args.peers.split(",") if args.peers else
             {"big": PEERS_BIG, "quick": PEERS_QUICK, "full": PEERS_DEFAULT}[mode])
    load0 = load_average()
    print(f"k-means benchmark: {n:,} x {args.d} {dtype.name}, k = {args.k}, {args.iters} "
          f"iterations (tol = 0), {args.threads} threads, {repeats} timed fit(s) per peer; "
          f"load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="custseg-bench-kmeans-"))
    try:
        X = make_customers(n, args.d, args.k, seed=args.seed, dtype=dtype)
        data = tmp / "X.npy"
        np.save(data, X)
        # the common start: scikit-learn's k-means++ (custseg's gives the same rows)
        from custseg.cluster._lloyd import kmeans_plusplus

        C0, _ = kmeans_plusplus(X, args.k, random_state=args.seed)
        C0 = C0.astype(np.float64)
        init = tmp / "C0.npy"
        np.save(init, C0)
        raw = (tmp / "X.f64", tmp / "C0.f64")
        if "r-kmeans" in peers:
            X.astype("<f8").tofile(raw[0])
            C0.astype("<f8").tofile(raw[1])
        matrix_mb = X.nbytes / 2**20

        if any(p.startswith("custseg") for p in peers):
            # compile (or load) the numba kernels once, so no peer's peak holds a compilation
            warm = run_peer("custseg-warmup", data, init, raw, args)
            if warm.get("error"):
                print(f"  warm-up failed: {warm['error']}", flush=True)
        together = [] if args.no_interleave else [
            p for p in peers if lockstep_capable(p) and not available(p)]
        if "custseg" in together:
            together.append("custseg-floor")  # the floor, read between the same fits
        done: dict[str, dict[str, Any]] = {}
        if len(together) > 1:
            print(f"  running {', '.join(together)}: interleaved, one fit at a time ...",
                  flush=True)
            done = run_lockstep(together, data, init, args)
        rows = []
        for peer in peers:
            row = done.get(peer)
            if row is None:
                print(f"  running {peer} ...", flush=True)
                row = run_peer(peer, data, init, raw, args)
            if "centers" in row and row["centers"] is not None:
                row["inertia"] = exact_inertia(X, np.array(row["centers"]))
            rows.append(row)
        ref = next((r for r in rows if r["peer"] == "custseg"), None)
        if ref is not None and ref.get("time_s"):
            floor = done.get("custseg-floor")
            if floor is None:
                print("  measuring the bandwidth floor ...", flush=True)
                floor = run_peer("custseg-floor", data, init, raw, args)
            for key in ("floor_s", "floor_best_s", "custseg_marginal_s"):
                if key in floor:
                    ref[key] = floor[key]
        seeding = []
        if not (args.no_seeding or args.quick):
            pair = ["seed-custseg", "seed-sklearn"]
            seeded = {} if args.no_interleave else run_lockstep(pair, data, init, args)
            seeding = [seeded.get(p) or run_peer(p, data, init, raw, args) for p in pair]
        for row in seeding:
            if "centers" in row:
                row["inertia"] = exact_inertia(X, np.array(row["centers"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    load1 = load_average()
    summary = report(rows, seeding, args, n, dtype, matrix_mb, load0, load1, mode)
    if not args.no_write:
        name = {"full": "kmeans", "quick": "kmeans_quick", "big": "kmeans_big"}[mode]
        for row in rows + seeding:
            row.pop("centers", None)
        path = write_result(name, {
            "mode": mode, "n": n, "d": args.d, "k": args.k, "iters": args.iters,
            "dtype": dtype.name, "threads": args.threads, "repeats": repeats, "seed": args.seed,
            "matrix_mb": matrix_mb, "load_average_before": load0, "load_average_after": load1,
            "peers": rows, "seeding": seeding, "summary": summary})
        print(f"\nresults: {path}")
    return 0


def report(rows: list[dict[str, Any]], seeding: list[dict[str, Any]], args: argparse.Namespace,
           n: int, dtype: np.dtype, matrix_mb: float, load0: tuple, load1: tuple,
           mode: str) -> dict[str, Any]:
    ref = next((r for r in rows if r["peer"] == "custseg" and r.get("time_s")), None)
    ref_t = ref["time_s"] if ref else None
    ref_i = ref.get("inertia") if ref else None
    for r in rows:
        t = r.get("time_s")
        r["ratio"] = (t / ref_t) if (t and ref_t) else None
        r["ms_per_iter"] = (t / r["n_iter"] * 1e3) if (t and r.get("n_iter")) else None
        if r.get("inertia") is not None and ref_i:
            r["inertia_gap"] = r["inertia"] / ref_i - 1.0
        if r.get("skipped"):
            r["note"] = "skipped: " + r["skipped"]
        if r.get("error"):
            r["note"] = "failed: " + r["error"]
    print()
    print_table(rows, [("peer", "peer"), ("time_s", "time"), ("ratio", "vs custseg"),
                       ("ms_per_iter", "ms/iter"), ("n_iter", "iters"),
                       ("peak_rss_mb", "peak mem"), ("inertia", "inertia"),
                       ("inertia_gap", "vs custseg"), ("note", "note")],
                formatters={"time_s": fmt_seconds, "ratio": fmt_ratio,
                            "ms_per_iter": lambda v: "-" if v is None else f"{v:.2f}",
                            "peak_rss_mb": fmt_mb,
                            "inertia": lambda v: "-" if v is None else f"{v:,.2f}",
                            "inertia_gap": lambda v: "-" if v is None else f"{v:+.1e}",
                            "n_iter": lambda v: "-" if v is None else str(v)},
                title=f"iterations: {n:,} x {args.d} {dtype.name}, k = {args.k}, "
                      f"{args.iters} iterations from the same k-means++ start "
                      f"(time = median of {args.repeats})")
    for r in rows:
        if r.get("peak_rss_mb") and r.get("rss_loaded_mb") is not None:
            r["fit_mem_mb"] = r["peak_rss_mb"] - r["rss_loaded_mb"]
    mem_rows = [r for r in rows if r.get("fit_mem_mb") is not None]
    if mem_rows:
        print()
        print_table(mem_rows, [("peer", "peer"), ("rss_imports_mb", "imports"),
                               ("rss_loaded_mb", "+ data"), ("peak_rss_mb", "peak"),
                               ("fit_mem_mb", "fit's own")],
                    formatters={k: fmt_mb for k in ("rss_imports_mb", "rss_loaded_mb",
                                                    "peak_rss_mb", "fit_mem_mb")},
                    title=f"memory (VmHWM of each peer's process; matrix {matrix_mb:,.0f} MB): "
                          "resident after imports, after loading X, peak, and peak minus the "
                          "resident size with X loaded")
    summary: dict[str, Any] = {}
    if ref:
        floor = ref.get("floor_s")
        summary["custseg_ms_per_iter"] = ref["ms_per_iter"]
        if floor:
            best = ref.get("floor_best_s") or floor
            summary["floor_ms_per_pass"] = floor * 1e3
            summary["floor_best_ms_per_pass"] = best * 1e3
            summary["custseg_iter_over_floor"] = ref["ms_per_iter"] / (floor * 1e3)
            summary["custseg_iter_over_best_floor"] = ref["ms_per_iter"] / (best * 1e3)
            print(f"\nbandwidth floor: one streaming pass over the {matrix_mb:,.0f} MB matrix takes "
                  f"{floor * 1e3:.2f} ms (median; {matrix_mb / 1024 / floor:.1f} GiB/s), "
                  f"{best * 1e3:.2f} ms at best ({matrix_mb / 1024 / best:.1f} GiB/s)")
            marginal = ref.get("custseg_marginal_s")
            if marginal:
                summary["custseg_marginal_ms_per_iter"] = marginal * 1e3
                summary["custseg_marginal_iter_over_floor"] = marginal / floor
                print(f"  custseg, one more iteration (fits of {args.iters} and "
                      f"{max(1, args.iters // 5)} iterations timed with the floor: the fit's "
                      f"fixed costs cancel): {marginal * 1e3:.2f} ms = "
                      f"{marginal / floor:.2f}x the median floor, {marginal / best:.2f}x the "
                      "best")
            for r in rows:
                if r["peer"].startswith("custseg") and r.get("ms_per_iter"):
                    key = "custseg" if r["peer"] == "custseg" else r["peer"]
                    summary[key + "_iter_over_floor"] = r["ms_per_iter"] / (floor * 1e3)
                    print(f"  {r['peer']}: {r['ms_per_iter']:.2f} ms/iteration = "
                          f"{r['ms_per_iter'] / (floor * 1e3):.2f}x the median floor, "
                          f"{r['ms_per_iter'] / (best * 1e3):.2f}x the best")
        sk = next((r for r in rows if r["peer"] == "sklearn-lloyd" and r.get("time_s")), None)
        if sk:
            summary["speedup_vs_sklearn_lloyd"] = sk["time_s"] / ref_t
            summary["peak_mem_vs_sklearn_lloyd"] = ref["peak_rss_mb"] / sk["peak_rss_mb"]
            print(f"custseg vs scikit-learn lloyd: {summary['speedup_vs_sklearn_lloyd']:.2f}x "
                  f"faster, inertia gap {sk.get('inertia', 0) / ref_i - 1:+.1e}, peak memory "
                  f"{ref['peak_rss_mb']:,.0f} MB vs {sk['peak_rss_mb']:,.0f} MB")
            if ref.get("fit_mem_mb") is not None and sk.get("fit_mem_mb"):
                summary["fit_mem_vs_sklearn_lloyd"] = ref["fit_mem_mb"] / sk["fit_mem_mb"]
                summary["imports_mem_over_sklearn_mb"] = (ref["rss_imports_mb"]
                                                          - sk["rss_imports_mb"])
                print(f"  the fit's own memory (peak - resident with X loaded): "
                      f"{ref['fit_mem_mb']:,.0f} MB vs {sk['fit_mem_mb']:,.0f} MB; the "
                      f"imports differ by {summary['imports_mem_over_sklearn_mb']:+,.0f} MB")
        if mode == "big":
            summary["peak_over_matrix"] = ref["peak_rss_mb"] / matrix_mb
            print(f"\nmemory: matrix {matrix_mb:,.0f} MB; custseg peak {ref['peak_rss_mb']:,.0f} "
                  f"MB = {ref['peak_rss_mb'] / matrix_mb:.2f}x the matrix (target < 2x)")
            for r in rows:
                base = r.get("rss_imports_mb")
                if base is None or not r.get("peak_rss_mb"):
                    continue
                above = r["peak_rss_mb"] - base
                r["peak_above_imports_mb"] = above
                summary[f"{r['peer']}_peak_over_matrix"] = r["peak_rss_mb"] / matrix_mb
                summary[f"{r['peer']}_peak_above_imports_over_matrix"] = above / matrix_mb
                print(f"  {r['peer']}: peak {r['peak_rss_mb']:,.0f} MB = "
                      f"{r['peak_rss_mb'] / matrix_mb:.2f}x the matrix; {above:,.0f} MB above "
                      f"the interpreter and its imports ({base:,.0f} MB) = "
                      f"{above / matrix_mb:.2f}x")
    if seeding:
        ok = [r for r in seeding if r.get("time_s")]
        same = (len(ok) == 2 and ok[0].get("indices") == ok[1].get("indices"))
        for r in seeding:
            if r.get("skipped") or r.get("error"):
                r["note"] = r.get("skipped") or r.get("error")
        print()
        print_table(seeding, [("peer", "peer"), ("time_s", "time"), ("peak_rss_mb", "peak mem"),
                              ("inertia", "inertia of the seeds"), ("note", "note")],
                    formatters={"time_s": fmt_seconds, "peak_rss_mb": fmt_mb,
                                "inertia": lambda v: "-" if v is None else f"{v:,.2f}"},
                    title=f"seeding: k-means++ (greedy, {2 + int(np.log(args.k))} trials), "
                          f"random_state={args.seed}; same rows chosen: {same}")
        summary["seeding_same_rows"] = same
        if len(ok) == 2:
            summary["seeding_speedup"] = ok[1]["time_s"] / ok[0]["time_s"]
    busy = [b for r in rows for b in (r.get("busy") or [])]
    print(f"\nload average before {load0[0]:.2f}, after {load1[0]:.2f}"
          + (f"; CPU busy before timed fits: median {statistics.median(busy):.0%}" if busy
             else ""))
    return summary


if __name__ == "__main__":
    sys.exit(main())
