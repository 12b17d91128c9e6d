"""k-means ``init_size``: the ``n_init`` starts on all rows (``None``) against the starts on a
sample (``"auto"``), over many seeds: the time of the fit and the inertia it reaches.

Usage::

    python benchmarks/bench_init_size.py                 # 1M RFM customers, 501k credit cards
    python benchmarks/bench_init_size.py --quick         # 100k RFM customers, 107k credit cards
    python benchmarks/bench_init_size.py --seeds 50 --threads 2

``custseg.cluster._lloyd.kmeans_fit(X, k=8, n_init=10, random_state=seed, init_size=...)``:

``None``
    every one of the ``n_init`` k-means++ starts runs Lloyd to convergence on all rows, the best
    is kept (scikit-learn's behaviour and partition).
``"auto"``
    (the default of ``custseg.cluster.KMeans``) with ``n_init > 1`` and at least 400,000 rows,
    the starts run to convergence on a uniform sample of 100,000 rows, each is scored by its
    inertia on all rows, and the best starts the Lloyd iterations on all rows. Below 400,000
    rows ``"auto"`` samples nothing, so ``--quick`` (about 100,000 rows) passes
    ``init_size=20000`` instead: the same mechanism at a fifth of the rows.

Datasets (float64, C-contiguous, standardised to mean 0 and standard deviation 1 per column):

rfm
    the features of the end-to-end benchmark: the generated order log of ``bench_rfm.py``
    (10,000,000 lines, 1,000,000 customers; ``--quick`` 1,000,000 lines, 100,000 customers;
    cached in ``--data-dir``), ``custseg.features.rfm``, then recency_days,
    ``log1p(frequency)`` and ``log1p(clip(monetary, 0))``.
cc
    the real Kaggle "Credit Card Dataset for Clustering" (``../shared/data/cc_general/CC
    GENERAL.csv``, 8,950 x 17 after dropping CUST_ID; blanks filled with the column median;
    standardised), stacked 56 times (``--quick``: 12) to 501,200 rows (107,400), plus Gaussian
    jitter of sd 0.01 (fixed seed). Skipped, with a message, when the file is absent.

Per dataset, each mode first fits once untimed (numba's compilation or cache load, and a warm
cache), then for each seed the two modes fit one after the other (alternating which goes
first), all in this one process. The table shows, per dataset and mode, the median wall time of
``kmeans_fit``, the time ratio None / auto (> 1: auto is faster), the minimum, median, mean and
maximum final inertia over the seeds, the relative difference of auto's mean and median inertia
from None's (< 0: auto is better), and on how many seeds each mode came within 0.1 % of the best
inertia seen on that dataset by either mode. Results go to ``benchmarks/results/init_size.json``
(``init_size_quick.json``).
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - after the path tweak, as a script
    REPO_ROOT,
    fmt_ratio,
    fmt_seconds,
    load_average,
    print_table,
    write_result,
)

CC_FILE = REPO_ROOT.parent / "shared" / "data" / "cc_general" / "CC GENERAL.csv"
NEAR_BEST = 1e-3  # "within 0.1 % of the best inertia seen"
JITTER_SD = 0.01
JITTER_SEED = 20240501
QUICK_INIT_SIZE = 20_000


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------


def standardise(X: np.ndarray) -> np.ndarray:
    """Columns to mean 0, population standard deviation 1 (``StandardScaler``)."""
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std[std == 0] = 1.0
    return np.ascontiguousarray((X - mean) / std, dtype=np.float64)


def rfm_matrix(lines: int, seed: int, data_dir: Path, threads: int) -> tuple[np.ndarray, str]:
    """The scaled RFM features of the end-to-end benchmark's log (generated once, cached)."""
    from bench_rfm import ensure_data

    from custseg.features import rfm

    path = ensure_data(lines, seed, data_dir, csv=False)["parquet"]
    feats = rfm(str(path), threads=threads).features
    X = np.column_stack([
        feats["recency_days"].to_numpy(np.float64),
        np.log1p(feats["frequency"].to_numpy(np.float64)),
        np.log1p(np.clip(feats["monetary"].to_numpy(np.float64), 0, None)),
    ])
    return standardise(X), str(path)


def cc_matrix(path: Path, rows: int) -> tuple[np.ndarray, int, int]:
    """The credit-card customers, scaled, stacked to at least ``rows`` rows, with jitter."""
    import pandas as pd

    df = pd.read_csv(path).drop(columns=["CUST_ID"])
    df = df.fillna(df.median(numeric_only=True))
    Z = standardise(df.to_numpy(np.float64))
    copies = math.ceil(rows / len(Z))
    X = np.tile(Z, (copies, 1))
    X += np.random.default_rng(JITTER_SEED).normal(0.0, JITTER_SD, size=X.shape)
    return np.ascontiguousarray(X), len(Z), copies


# ------------------------------------------------------------------------------------------
# runs
# ------------------------------------------------------------------------------------------


def fit(X: np.ndarray, k: int, n_init: int, seed: int, init_size: Any,
        threads: int) -> dict[str, Any]:
    from custseg.cluster._lloyd import kmeans_fit

    t = time.perf_counter()
    _, _, inertia, n_iter = kmeans_fit(X, k, n_init=n_init, random_state=seed,
                                       init_size=init_size, n_threads=threads)
    return {"seed": seed, "time_s": time.perf_counter() - t, "inertia": float(inertia),
            "n_iter": int(n_iter)}


def bench_dataset(name: str, X: np.ndarray, modes: dict[str, Any], seeds: list[int],
                  args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for mode, init_size in modes.items():  # untimed: compilation / cache load, warm caches
        w = fit(X, args.k, args.n_init, 10_000 + seeds[0], init_size, args.threads)
        print(f"  {name} warm-up {mode}: {w['time_s']:.2f} s", flush=True)
    for i, seed in enumerate(seeds):
        order = list(modes) if i % 2 == 0 else list(modes)[::-1]
        cells = {}
        for mode in order:
            r = fit(X, args.k, args.n_init, seed, modes[mode], args.threads)
            runs[mode].append(r)
            cells[mode] = f"{mode} {r['time_s']:.2f} s {r['inertia']:,.2f}"
        print(f"  {name} seed {seed:>3}: " + "; ".join(cells[m] for m in modes), flush=True)
    return runs


def summarise(name: str, n: int, d: int, runs: dict[str, list[dict[str, Any]]],
              modes: dict[str, Any]) -> list[dict[str, Any]]:
    base_mode, alt_mode = list(modes)
    best = min(r["inertia"] for rs in runs.values() for r in rs)
    rows = []
    for mode, rs in runs.items():
        inertia = [r["inertia"] for r in rs]
        times = [r["time_s"] for r in rs]
        rows.append({
            "dataset": f"{name} ({n:,} x {d})", "mode": mode, "init_size": modes[mode],
            "median_s": statistics.median(times), "times_s": times,
            "min": min(inertia), "median": statistics.median(inertia),
            "mean": statistics.fmean(inertia), "max": max(inertia),
            "n_iter_median": statistics.median(r["n_iter"] for r in rs),
            "near_best": sum(v <= best * (1 + NEAR_BEST) for v in inertia),
            "seeds": len(rs), "best_seen": best, "runs": rs})
    base, alt = rows
    alt["time_ratio"] = base["median_s"] / alt["median_s"]
    alt["mean_diff"] = alt["mean"] / base["mean"] - 1.0
    alt["median_diff"] = alt["median"] / base["median"] - 1.0
    paired = [a["inertia"] / b["inertia"] - 1.0
              for a, b in zip(runs[alt_mode], runs[base_mode], strict=True)]
    alt["better_seeds"] = sum(p < -1e-12 for p in paired)
    alt["worse_seeds"] = sum(p > 1e-12 for p in paired)
    alt["paired_diff_max"] = max(paired)
    alt["paired_diff_min"] = min(paired)
    alt["n_iter_median_none"] = base["n_iter_median"]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="1M-line log (100k customers), 107k credit-card rows, "
                    f"init_size={QUICK_INIT_SIZE} instead of 'auto', 3 seeds")
    ap.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 20; quick 3)")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--n-init", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--datasets", default="rfm,cc", help="comma-separated subset of: rfm,cc")
    ap.add_argument("--data-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "custseg-bench",
                    help="cache of the generated order log (bench_rfm's)")
    ap.add_argument("--cc-file", type=Path, default=CC_FILE, help="the credit-card CSV")
    ap.add_argument("--no-write", action="store_true", help="do not write results/*.json")
    args = ap.parse_args(argv)

    quick = args.quick
    n_seeds = args.seeds or (3 if quick else 20)
    seeds = list(range(n_seeds))
    lines = 1_000_000 if quick else 10_000_000
    cc_rows = 100_000 if quick else 500_000
    alt = QUICK_INIT_SIZE if quick else "auto"
    alt_name = f"init_size={alt}" if quick else "auto"
    modes = {"None": None, alt_name: alt}
    wanted = [s.strip() for s in args.datasets.split(",") if s.strip()]
    command = " ".join(shlex.quote(a) for a in ["python", "benchmarks/bench_init_size.py",
                                                 *(sys.argv[1:] if argv is None else argv)])
    load0 = load_average()
    print(f"k-means init_size: None vs {alt_name!s}, k = {args.k}, n_init = {args.n_init}, "
          f"{n_seeds} seeds, {args.threads} threads; load average {load0[0]:.2f} "
          f"{load0[1]:.2f} {load0[2]:.2f}", flush=True)
    if quick:
        print(f"  --quick: the datasets have fewer than 400,000 rows, where init_size='auto' "
              f"samples nothing, so the sampled mode passes init_size={QUICK_INIT_SIZE} "
              "explicitly", flush=True)

    datasets: list[tuple[str, np.ndarray, dict[str, Any]]] = []
    skipped: dict[str, str] = {}
    if "rfm" in wanted:
        t = time.perf_counter()
        X, log = rfm_matrix(lines, 0, args.data_dir, args.threads)
        print(f"  rfm: {len(X):,} customers from {log} in {time.perf_counter() - t:.1f} s",
              flush=True)
        datasets.append(("rfm", X, {"log": log, "lines": lines}))
    if "cc" in wanted:
        if args.cc_file.is_file():
            X, base_rows, copies = cc_matrix(args.cc_file, cc_rows)
            print(f"  cc: {base_rows:,} x {X.shape[1]} from {args.cc_file}, stacked {copies} "
                  f"times + N(0, {JITTER_SD}) jitter = {len(X):,} rows", flush=True)
            datasets.append(("cc", X, {"file": str(args.cc_file), "base_rows": base_rows,
                                       "copies": copies, "jitter_sd": JITTER_SD,
                                       "jitter_seed": JITTER_SEED}))
        else:
            skipped["cc"] = f"{args.cc_file} not found"
            print(f"  cc: skipped, {args.cc_file} not found", flush=True)

    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    for name, X, info in datasets:
        runs = bench_dataset(name, X, modes, seeds, args)
        rows.extend(summarise(name, X.shape[0], X.shape[1], runs, modes))
        meta[name] = {"n": X.shape[0], "d": X.shape[1], **info}
    load1 = load_average()

    def inertia_fmt(v: Any) -> str:
        return "-" if v is None else f"{v:,.2f}"

    def pct(v: Any) -> str:
        return "-" if v is None else f"{v * 100:+.3f}%"

    for r in rows:
        r["near_best_text"] = f"{r['near_best']}/{r['seeds']}"
    print()
    print_table(rows, [("dataset", "dataset"), ("mode", "mode"), ("median_s", "median time"),
                       ("time_ratio", "None/auto"), ("min", "min inertia"),
                       ("median", "median inertia"), ("mean", "mean inertia"),
                       ("max", "max inertia"), ("mean_diff", "mean vs None"),
                       ("median_diff", "median vs None"), ("near_best_text", "within 0.1%")],
                formatters={"median_s": fmt_seconds, "time_ratio": fmt_ratio,
                            "min": inertia_fmt, "median": inertia_fmt, "mean": inertia_fmt,
                            "max": inertia_fmt, "mean_diff": pct, "median_diff": pct},
                title=f"k-means k = {args.k}, n_init = {args.n_init}, {n_seeds} seeds: "
                      f"init_size=None vs {alt_name} (time = median wall time of kmeans_fit; "
                      "within 0.1% = seeds within 0.1 % of the best inertia seen on the "
                      "dataset)")
    for r in rows:
        if "better_seeds" in r:
            print(f"  {r['dataset']}: {r['mode']} lower inertia than None on "
                  f"{r['better_seeds']} seeds, higher on {r['worse_seeds']} (paired relative "
                  f"difference {r['paired_diff_min'] * 100:+.3f}% .. "
                  f"{r['paired_diff_max'] * 100:+.3f}%); median iterations on all rows "
                  f"{r['n_iter_median']:g} (None's kept run: {r['n_iter_median_none']:g})")
    for name, why in skipped.items():
        print(f"  {name}: skipped ({why})")
    print(f"\nload average before {load0[0]:.2f}, after {load1[0]:.2f}")
    print(f"reproduce: {command}")
    if not args.no_write:
        path = write_result("init_size_quick" if quick else "init_size", {
            "quick": quick, "k": args.k, "n_init": args.n_init, "seeds": seeds,
            "threads": args.threads, "modes": modes,
            "near_best_rel": NEAR_BEST, "datasets": meta, "skipped": skipped,
            "load_average_before": load0, "load_average_after": load1, "results": rows,
            "reproduce": command})
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
