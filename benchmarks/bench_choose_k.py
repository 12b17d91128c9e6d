"""Choosing k: the usual scikit-learn recipe vs ``custseg.select.choose_k``, in one run.

The recipe, as found in most segmentation notebooks: for every k, fit ``sklearn.cluster.KMeans``
(default parameters) on all rows, then compute ``silhouette_score(sample_size=10_000)``,
``calinski_harabasz_score`` and ``davies_bouldin_score`` on all rows.

``choose_k`` computes more (gap statistic, BIC, bootstrap stability, segment shares, the knee and
a recommendation); it fits on a sample and assigns all rows. The quality check compares, per k,
the inertia on all rows of custseg's centres with scikit-learn's full fit.

Run::

    python benchmarks/bench_choose_k.py            # 200,000 x 8, k = 2..10
    python benchmarks/bench_choose_k.py --n 50000  # smaller

Writes ``benchmarks/results/choose_k.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from threadpoolctl import threadpool_limits

import custseg
from custseg.select import choose_k


def usual_recipe(X: np.ndarray, ks: list[int], seed: int) -> dict:
    rows = []
    for k in ks:
        km = KMeans(n_clusters=k, random_state=seed).fit(X)
        rows.append({
            "k": k,
            "inertia": float(km.inertia_),
            "silhouette": float(silhouette_score(X, km.labels_, sample_size=10_000,
                                                 random_state=seed)),
            "calinski_harabasz": float(calinski_harabasz_score(X, km.labels_)),
            "davies_bouldin": float(davies_bouldin_score(X, km.labels_)),
        })
    best = max(rows, key=lambda r: r["silhouette"])["k"]
    return {"rows": rows, "k_by_silhouette": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--centers", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="limit both sides to this many threads (OpenMP/BLAS and numba)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "choose_k.json"))
    parser.add_argument("--quick", action="store_true",
                        help="5,000 rows (results/choose_k_quick.json)")
    args = parser.parse_args()
    if args.quick:
        args.n = 5_000
        args.out = args.out.replace("choose_k.json", "choose_k_quick.json")
    ks = list(range(2, 11))
    X, _ = make_blobs(n_samples=args.n, n_features=args.d, centers=args.centers,
                      cluster_std=1.5, random_state=args.seed)
    X = (X - X.mean(axis=0)) / X.std(axis=0)

    if args.threads is not None:
        threadpool_limits(args.threads)
        numba.set_num_threads(args.threads)

    # numba kernels are compiled once and cached on disk; load them before timing
    t = time.perf_counter()
    choose_k(X[:500], range(2, 4), random_state=0, n_bootstrap=2)
    warmup = time.perf_counter() - t

    t = time.perf_counter()
    recipe = usual_recipe(X, ks, args.seed)
    t_recipe = time.perf_counter() - t

    t = time.perf_counter()
    choice = choose_k(X, ks, random_state=args.seed)
    t_custseg = time.perf_counter() - t

    ratio = t_recipe / t_custseg
    inertia_ratio = {r["k"]: float(c / r["inertia"]) for r, c in
                     zip(recipe["rows"], choice.table["inertia"], strict=True)}
    load = os.getloadavg()[0]
    print(f"data: {args.n} x {args.d}, {args.centers} blobs, k = {ks[0]}..{ks[-1]}, "
          f"{os.cpu_count()} cores, threads = {args.threads or 'default'}, "
          f"load average {load:.1f}")
    print(f"usual recipe (KMeans + sampled silhouette + CH + DB): {t_recipe:8.2f} s  "
          f"-> k = {recipe['k_by_silhouette']} (best silhouette)")
    print(f"custseg choose_k (+ gap, BIC, stability, shares):     {t_custseg:8.2f} s  "
          f"-> k = {choice.k}, clear_segmentation = {choice.clear_segmentation}")
    print(f"speed-up: {ratio:.1f}x   (numba cache load before timing: {warmup:.2f} s)")
    print("inertia on all rows, custseg / scikit-learn, per k: "
          + ", ".join(f"{k}: {v:.4f}" for k, v in inertia_ratio.items()))
    result = {
        "benchmark": "choose_k",
        "data": {"n": args.n, "d": args.d, "centers": args.centers, "seed": args.seed},
        "k_range": ks,
        "seconds": {"usual_recipe": t_recipe, "custseg_choose_k": t_custseg,
                    "custseg_warmup": warmup},
        "speedup": ratio,
        "k": {"usual_recipe_silhouette": recipe["k_by_silhouette"], "custseg": choice.k,
              "true": args.centers},
        "inertia_ratio_custseg_over_sklearn": inertia_ratio,
        "usual_recipe_table": recipe["rows"],
        "custseg": choice.to_dict(),
        "versions": {"custseg": custseg.__version__, "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "threads": args.threads, "load_average_1min": load},
        "custseg_timings": choice.timings,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
