"""End to end: ``custseg segment LOG --transactions --k 8`` against a plain pandas + scikit-learn
script, on the same generated order log, side by side in one run.

Usage::

    python benchmarks/bench_e2e.py                  # 10,000,000-line log, 1,000,000 customers
    python benchmarks/bench_e2e.py --quick          # 300,000 lines
    python benchmarks/bench_e2e.py --lines 3000000 --repeat 3 --threads 2
    python benchmarks/bench_e2e.py --csv            # both read the log as CSV

The log is the one of ``bench_rfm.py`` (its generator is imported, not copied: UCI-Online-Retail
shaped, cached as Parquet in ``--data-dir``). Two commands then run, each as a fresh process, so
their time includes the interpreter, the imports and every output they write (custseg's
bytecode is written first, as an installed package has it, even where
``PYTHONDONTWRITEBYTECODE`` is set):

custseg
    the CLI, ``custseg segment LOG --transactions --k 8 --out DIR --seed 0 --quiet --force``:
    RFM features with the rejected lines accounted for (DuckDB), log1p of frequency and monetary,
    standard scaling, k-means (10 k-means++ starts on a sample of 100,000 customers, the best
    iterated on all, the fused kernel), segment names and profiles,
    RFM scores, quality metrics, ``segments.csv``, ``profiles.csv``, ``rejects.csv``,
    ``features.parquet``, ``model.json``, ``summary.json`` and the HTML report.
pandas + scikit-learn
    the usual script, doing less (``--baseline``): ``pandas.read_parquet``, the recency /
    frequency / monetary ``groupby`` of ``bench_rfm.run_pandas``, ``log1p`` of frequency and
    monetary (clipped at 0), ``StandardScaler``, ``KMeans(8, random_state=0)`` (scikit-learn's
    default ``n_init``: one k-means++ start) and a CSV of customer and segment.

Columns: wall time of the whole process (best and median of ``--repeat``, the two commands
alternating), the ratio pandas / custseg (> 1: custseg is faster; target >= 3), and the peak
resident memory of the process (``ru_maxrss`` from ``os.wait4``; on Linux it also counts what
this small driver held when it started the child, reported as ``driver_rss_mb``). The stage times
each command reports (custseg: ``summary.json``'s ``timings_seconds``; the script: its own) are
shown under the table, with the inertia each reached on its own scaled features. Results go to
``benchmarks/results/e2e.json`` (``e2e_quick.json``; with ``--csv``: ``e2e_csv.json``,
``e2e_quick_csv.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402 - after the path tweak, as a script
    compile_custseg_bytecode,
    custseg_command,
    fmt_mb,
    fmt_ratio,
    fmt_seconds,
    load_average,
    peak_rss_mb,
    print_table,
    run_python_child,
    write_result,
)

HERE = Path(__file__).resolve()


# ------------------------------------------------------------------------------------------
# children
# ------------------------------------------------------------------------------------------


def generate(lines: int, seed: int, data_dir: Path, csv: bool) -> dict[str, Any]:
    """The log of ``bench_rfm`` as Parquet, and as CSV with ``csv`` (generated once, then
    cached)."""
    from bench_rfm import ensure_data

    return {k: str(v) for k, v in ensure_data(lines, seed, data_dir, csv=csv).items()}


def baseline(path: str, out: str, k: int, seed: int, threads: int) -> dict[str, Any]:
    """The plain pandas + scikit-learn script (what a notebook does, minus the plots)."""
    stages: dict[str, float] = {}
    t = time.perf_counter()
    import numpy as np
    from bench_rfm import run_pandas
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    stages["imports"] = time.perf_counter() - t
    t = time.perf_counter()
    rfm = run_pandas(path, threads)  # read_parquet/read_csv + filters + groupby: R, F, M
    stages["rfm"] = time.perf_counter() - t
    t = time.perf_counter()
    X = np.column_stack([rfm["recency_days"].to_numpy(np.float64),
                         np.log1p(rfm["frequency"].to_numpy(np.float64)),
                         np.log1p(np.clip(rfm["monetary"].to_numpy(np.float64), 0, None))])
    Z = StandardScaler().fit_transform(X)
    stages["scale"] = time.perf_counter() - t
    t = time.perf_counter()
    km = KMeans(n_clusters=k, random_state=seed).fit(Z)
    stages["kmeans"] = time.perf_counter() - t
    t = time.perf_counter()
    rfm.assign(segment=km.labels_)[["CustomerID", "segment"]].to_csv(
        Path(out) / "segments.csv", index=False)
    stages["write"] = time.perf_counter() - t
    return {"stages": stages, "inertia": float(km.inertia_), "n_iter": int(km.n_iter_),
            "customers": len(rfm), "peak_rss_mb": peak_rss_mb()}


# ------------------------------------------------------------------------------------------
# parent
# ------------------------------------------------------------------------------------------


def run_timed(cmd: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``cmd``; its wall time, exit status, peak memory (``ru_maxrss``) and output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return {"wall_s": wall, "status": proc.returncode, "peak_rss_mb": usage.ru_maxrss / 1024.0,
            "cpu_s": usage.ru_utime + usage.ru_stime, "stdout": stdout, "stderr": stderr}


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.strip().startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=10_000_000, help="log lines (default 10M)")
    ap.add_argument("--quick", action="store_true", help="300,000 lines (overrides --lines)")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=None, help="runs of each (default 2; quick 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--csv", action="store_true",
                    help="both read the log as CSV (custseg: DuckDB's reader, every field as "
                         "text; the script: pandas.read_csv) instead of Parquet")
    ap.add_argument("--data-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "custseg-bench")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    ap.add_argument("--no-write", action="store_true", help="do not write results/*.json")
    ap.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--baseline", nargs=2, metavar=("LOG", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.generate:
        print(json.dumps(generate(args.lines, args.seed, args.data_dir, args.csv)))
        return 0
    if args.baseline:
        print(json.dumps(baseline(*args.baseline, args.k, args.seed, args.threads)))
        return 0

    lines = 300_000 if args.quick else args.lines
    repeat = args.repeat or (1 if args.quick else 2)
    # generate in a child: the driver stays small, so the children's ru_maxrss is theirs
    gen = run_python_child(HERE, ["--generate", "--lines", str(lines), "--seed", str(args.seed),
                                  "--data-dir", str(args.data_dir)]
                           + (["--csv"] if args.csv else []), timeout=args.timeout)
    if not gen.ok:
        print(f"generating the log failed: {gen.error}", file=sys.stderr)
        return 1
    log = gen.payload["csv" if args.csv else "parquet"]
    compile_custseg_bytecode()
    env = dict(os.environ, **{v: str(args.threads) for v in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
        "POLARS_MAX_THREADS", "ARROW_NUM_THREADS")})
    load0 = load_average()
    print(f"end to end: {lines:,}-line order log ({lines // 10:,} customers, "
          f"{'CSV' if args.csv else 'Parquet'}), k = {args.k}, "
          f"{args.threads} threads, {repeat} run(s) each; load average {load0[0]:.2f}",
          flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="custseg-bench-e2e-"))
    runs: dict[str, list[dict[str, Any]]] = {"custseg": [], "pandas+sklearn": []}
    try:
        commands = {
            "custseg": custseg_command() + [
                "segment", log, "--transactions", "--k", str(args.k), "--out",
                str(tmp / "custseg"), "--seed", str(args.seed), "--quiet", "--force"],
            "pandas+sklearn": [sys.executable, str(HERE), "--baseline", log,
                               str(tmp / "baseline"), "--k", str(args.k), "--seed",
                               str(args.seed), "--threads", str(args.threads)],
        }
        (tmp / "baseline").mkdir()
        # Untimed: a first run after an install or a change compiles numba's kernels into
        # their cache (tens of seconds, once); the timed runs find them there.
        first_wall = run_timed(commands["custseg"], env, args.timeout)["wall_s"]
        print(f"  custseg first run (untimed; fills numba's cache when it is cold): "
              f"{first_wall:.2f} s", flush=True)
        for r in range(repeat):
            order = list(commands) if r % 2 == 0 else list(commands)[::-1]
            for name in order:
                print(f"  run {r + 1}/{repeat}: {name} ...", flush=True)
                res = run_timed(commands[name], env, args.timeout)
                if res["status"] != 0:
                    tail = (res["stderr"] or res["stdout"]).strip().splitlines()[-5:]
                    print(f"  {name} failed (exit {res['status']}):\n    " + "\n    ".join(tail),
                          file=sys.stderr)
                    return 1
                if name == "custseg":
                    summary = json.loads((tmp / "custseg" / "summary.json").read_text())
                    res["stages"] = summary.get("timings_seconds", {})
                    res["inertia"] = summary["metrics"]["inertia"]
                    res["customers"] = summary["rows_segmented"]
                    res["n_iter"] = summary.get("algorithm", {}).get("n_iter")
                else:
                    payload = _last_json(res["stdout"])
                    res.update({k: payload.get(k) for k in ("stages", "inertia", "n_iter",
                                                           "customers")})
                for key in ("stdout", "stderr"):
                    res.pop(key)
                runs[name].append(res)
                print(f"    {res['wall_s']:.2f} s, peak {res['peak_rss_mb']:,.0f} MB", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    load1 = load_average()
    rows = []
    for name, rs in runs.items():
        walls = [r["wall_s"] for r in rs]
        best = rs[walls.index(min(walls))]
        rows.append({"command": name, "best_s": min(walls), "median_s": statistics.median(walls),
                     "cpu_s": best["cpu_s"], "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                     "customers": best.get("customers"), "inertia": best.get("inertia"),
                     "stages": best.get("stages"), "runs_s": walls})
    base = rows[0]["best_s"]
    for row in rows:
        row["ratio"] = row["best_s"] / base
    print()
    print_table(rows, [("command", "command"), ("best_s", "best"), ("median_s", "median"),
                       ("cpu_s", "cpu"), ("ratio", "vs custseg"), ("peak_rss_mb", "peak mem"),
                       ("customers", "customers")],
                formatters={"best_s": fmt_seconds, "median_s": fmt_seconds,
                            "cpu_s": fmt_seconds, "ratio": fmt_ratio, "peak_rss_mb": fmt_mb},
                title=f"end to end, {lines:,} lines: wall time of the whole process (best and "
                      f"median of {repeat}), ratio = time / custseg's")
    for row in rows:
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in (row["stages"] or {}).items())
        print(f"  {row['command']} stages: {stages}")
    speedup = rows[1]["best_s"] / base
    print(f"\ncustseg is {speedup:.2f}x faster than pandas + scikit-learn (target >= 3x: "
          f"{'met' if speedup >= 3 else 'NOT met'}); peak memory {rows[0]['peak_rss_mb']:,.0f} MB "
          f"vs {rows[1]['peak_rss_mb']:,.0f} MB. Load average before {load0[0]:.2f}, after "
          f"{load1[0]:.2f}.")
    if not args.no_write:
        name = ("e2e_quick" if args.quick else "e2e") + ("_csv" if args.csv else "")
        path = write_result(name, {
            "lines": lines, "format": "csv" if args.csv else "parquet", "customers": lines // 10, "k": args.k, "threads": args.threads,
            "repeat": repeat, "seed": args.seed, "log": log,
            "commands": {n: " ".join(c) for n, c in commands.items()},
            "driver_rss_mb": peak_rss_mb(), "load_average_before": load0,
            "load_average_after": load1, "results": rows,
            "custseg_first_run_s": first_wall,
            "speedup_vs_pandas_sklearn": speedup, "target_3x_met": speedup >= 3})
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
