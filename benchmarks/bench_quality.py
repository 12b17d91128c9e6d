"""How often is the right number of segments found? custseg vs silhouette-only vs elbow-only.

Scenarios with known truth (``custseg.select._scenarios``): well-separated blobs with 2 to 9
segments, unequal sizes 60/30/10, anisotropic segments, noise features, log-normal spend
(log1p + standardised, as the default preprocessing), heavy-tailed segments (Student's t), and
data without structure (uniform, one Gaussian), where the right answer is
``clear_segmentation=False``.

The peers follow the usual recipe: ``sklearn.cluster.KMeans`` (default parameters) at every k,
then the k with the best silhouette (``silhouette_score``), or the elbow of the inertia curve
(kneedle). The single criteria of custseg's own table are listed too, to show what combining
them buys.

Run::

    python benchmarks/bench_quality.py               # 3 repeats x 21 scenarios, n = 1500
    python benchmarks/bench_quality.py --repeats 1 --n 800

Writes ``benchmarks/results/quality.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from custseg.select import choose_k
from custseg.select._gap import gap_choice
from custseg.select._metrics import knee_index
from custseg.select._scenarios import make_scenarios

KS = list(range(2, 11))


def usual_recipe(X: np.ndarray, seed: int) -> dict[str, int]:
    inertia, sil = [], []
    for k in KS:
        km = KMeans(n_clusters=k, random_state=seed).fit(X)
        inertia.append(km.inertia_)
        sil.append(silhouette_score(X, km.labels_, sample_size=min(len(X), 10_000),
                                    random_state=seed))
    knee = knee_index(np.array(KS), np.array(inertia))
    return {"silhouette_only": KS[int(np.argmax(sil))],
            "elbow_only": KS[knee] if knee is not None else KS[0]}


def single_criteria(choice) -> dict[str, int | None]:
    t = choice.table.set_index("k")
    gap = dict(zip(t.index, t["gap"], strict=True))
    se = dict(zip(t.index, t["gap_se"], strict=True))
    return {"ch_only": int(t["calinski_harabasz"].idxmax()),
            "db_only": int(t["davies_bouldin"].idxmin()),
            "bic_only": int(t["bic"].idxmin()),
            "gap_only": gap_choice(gap, se, list(t.index))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "quality.json"))
    parser.add_argument("--quick", action="store_true",
                        help="one repeat of 600 rows per scenario (results/quality_quick.json)")
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeats = 600, 1
        args.out = args.out.replace("quality.json", "quality_quick.json")
    choose_k(np.random.default_rng(0).normal(size=(300, 3)), range(2, 4), random_state=0)

    rows = []
    t0 = time.perf_counter()
    for rep in range(args.repeats):
        seed = args.seed + rep
        for sc in make_scenarios(args.n, seed):
            t = time.perf_counter()
            choice = choose_k(sc.X, KS, random_state=seed)
            seconds = time.perf_counter() - t
            row = {"repeat": rep, "scenario": sc.name, "true_k": sc.k, "custseg": choice.k,
                   "clear_segmentation": choice.clear_segmentation, "seconds": seconds,
                   **usual_recipe(sc.X, seed), **single_criteria(choice)}
            rows.append(row)
            truth = sc.k if sc.k is not None else "none"
            print(f"{sc.name:22s} true {truth!s:>4}  custseg {choice.k:>2} "
                  f"(clear={str(choice.clear_segmentation):5s})  silhouette-only "
                  f"{row['silhouette_only']:>2}  elbow-only {row['elbow_only']:>2}  "
                  f"CH {row['ch_only']:>2}  gap {row['gap_only']!s:>4}  BIC {row['bic_only']:>2}")

    structured = [r for r in rows if r["true_k"] is not None]
    flat = [r for r in rows if r["true_k"] is None]
    methods = ["custseg", "silhouette_only", "elbow_only", "ch_only", "db_only", "gap_only",
               "bic_only"]
    accuracy = {m: float(np.mean([r[m] == r["true_k"] for r in structured])) for m in methods}
    summary = {
        "structured_scenarios": len(structured),
        "accuracy_true_k": accuracy,
        "custseg_clear_on_structured": float(np.mean([r["clear_segmentation"]
                                                      for r in structured])),
        "no_structure_scenarios": len(flat),
        "custseg_no_structure_detected": float(np.mean([not r["clear_segmentation"]
                                                        for r in flat])),
        "custseg_seconds_per_scenario": float(np.mean([r["seconds"] for r in rows])),
        "total_seconds": time.perf_counter() - t0,
    }
    print()
    print(f"true k found in {len(structured)} structured scenarios (n = {args.n}):")
    for m in methods:
        print(f"  {m:16s} {accuracy[m]:6.1%}")
    print(f"custseg says 'clear segmentation' on {summary['custseg_clear_on_structured']:.0%} "
          f"of structured scenarios and 'no clear segmentation' on "
          f"{summary['custseg_no_structure_detected']:.0%} of {len(flat)} without structure "
          "(silhouette-only and elbow-only always return some k).")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"n": args.n, "repeats": args.repeats, "summary": summary,
                               "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
