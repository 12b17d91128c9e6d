"""The Spark engine against the local engine on one job: ``custseg segment --transactions``.

A transaction log shaped like UCI Online Retail (``tests/engines/loggen.py``: invoices of about
eight lines, 3 % cancellations, some returns, 2 % lines without customer, free items; dates
written ``12/1/2010 8:26``) is generated once per size and cached as CSV. Each engine then runs
the whole job in its own subprocess — read the log, derive the RFM features, account for every
row, preprocess (log1p of frequency and monetary value, standardise), k-means with k = 5 and one
start, profile, write the output folder and the report — with the same options:

* ``local``: :func:`custseg.run_segment` (DuckDB, numpy, scikit-learn);
* ``spark``: :func:`custseg.engines.run_segment_spark` on a ``local[2]`` SparkSession (driver
  memory 6g). The JVM start is timed apart (``jvm_start_s``) and not in ``wall_s``.

One run per engine and size (these are long); the table shows the wall-clock seconds of the
job, the stage timings the summaries record, the ratio Spark / local (> 1: local is faster),
the peak resident memory (Python process, plus the JVM for Spark) and the inertia each engine
reached (they start k-means from different centres, so inertia may differ a little; rows and
customers must agree). The machine is shared: the script waits for a quiet moment before each
run and records the load averages next to the timings.

Usage::

    python benchmarks/bench_spark.py                      # 1M and 10M lines
    python benchmarks/bench_spark.py --quick              # 200k lines
    python benchmarks/bench_spark.py --lines 1000000

Results go to ``benchmarks/results/spark.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "engines"))

from _common import (  # noqa: E402
    fmt_mb,
    fmt_ratio,
    fmt_seconds,
    load_average,
    peak_rss_mb,
    print_table,
    run_python_child,
    wait_for_quiet,
    write_result,
)

DATA_DIR = Path(tempfile.gettempdir()) / "custseg-bench-spark"
OPTIONS = {"transactions": True, "k": 5, "n_init": 1, "seed": 0, "force": True}
SPARK_CONF = {"spark.driver.memory": "6g", "spark.ui.enabled": "false",
              "spark.sql.shuffle.partitions": "8"}


def log_path(n_lines: int) -> Path:
    """The cached generated log of ``n_lines`` lines (generated on first use)."""
    from loggen import write_log

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"log_{n_lines}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        write_log(tmp, n_lines, seed=1)
        os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------- workers


def _jvm_peak_mb(spark: Any) -> float | None:
    try:
        pid = spark.sparkContext._gateway.proc.pid
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except (AttributeError, OSError):
        return None
    return None


def worker(engine: str, log: Path, out: Path) -> dict[str, Any]:
    """Run the job once with ``engine``; return what the table needs."""
    from custseg import SegmentOptions, run_segment

    opts = SegmentOptions(**OPTIONS)
    result: dict[str, Any] = {"engine": engine}
    if engine == "local":
        t = time.perf_counter()
        summary = run_segment(log, out, opts)
        result["wall_s"] = time.perf_counter() - t
    else:
        from custseg.engines import get_spark, run_segment_spark

        t = time.perf_counter()
        spark = get_spark(master="local[2]", conf=SPARK_CONF, app_name="custseg-bench")
        spark.sparkContext.setLogLevel("ERROR")
        spark.range(1).count()
        result["jvm_start_s"] = time.perf_counter() - t
        t = time.perf_counter()
        summary = run_segment_spark(str(log), out, opts, spark=spark)
        result["wall_s"] = time.perf_counter() - t
        result["extra_peak_rss_mb"] = _jvm_peak_mb(spark)
        spark.stop()
    tx = summary["transactions"]
    result.update({
        "lines_read": tx["lines_read"], "lines_used": tx["lines_used"],
        "customers": summary["rows_read"], "rows_segmented": summary["rows_segmented"],
        "k": summary["k"], "inertia": summary["metrics"]["inertia"],
        "timings": summary["timings_seconds"], "peak_rss_mb": peak_rss_mb(),
    })
    return result


# ------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", default="1000000,10000000",
                        help="comma-separated log sizes (default: 1M and 10M lines)")
    parser.add_argument("--quick", action="store_true", help="one 200k-line log")
    parser.add_argument("--worker", choices=["local", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--log", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.log, args.out), default=str))
        return

    sizes = [200_000] if args.quick else [int(v) for v in args.lines.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="custseg-bench-spark-") as tmp:
        for n in sizes:
            log = log_path(n)
            runs: dict[str, dict[str, Any]] = {}
            for engine in ("local", "spark"):
                busy = wait_for_quiet(max_busy=0.3, timeout=900)
                load_before = load_average()
                res = run_python_child(__file__, ["--worker", engine, "--log", str(log),
                                                  "--out", str(Path(tmp) / f"{engine}-{n}")],
                                       timeout=4 * 3600)
                if not res.ok:
                    raise SystemExit(f"{engine} on {n:,} lines failed: {res.error}")
                runs[engine] = res.payload | {
                    "peak_rss_total_mb": res.peak_rss_mb, "busy_before": round(busy, 3),
                    "load_before": load_before, "load_after": load_average()}
                print(f"{engine:5s} {n:>11,} lines: {runs[engine]['wall_s']:.1f} s", flush=True)
            local, spark = runs["local"], runs["spark"]
            for key in ("lines_read", "lines_used", "customers", "rows_segmented", "k"):
                if local[key] != spark[key]:
                    raise SystemExit(f"engines disagree on {key}: {local[key]} vs {spark[key]}")
            rows.append({
                "lines": n, "customers": local["customers"],
                "local_s": local["wall_s"], "spark_s": spark["wall_s"],
                "ratio": spark["wall_s"] / local["wall_s"],
                "jvm_start_s": spark["jvm_start_s"],
                "local_derive_s": local["timings"].get("derive"),
                "spark_derive_s": spark["timings"].get("derive"),
                "local_mb": local["peak_rss_total_mb"], "spark_mb": spark["peak_rss_total_mb"],
                "local_inertia": local["inertia"], "spark_inertia": spark["inertia"],
                "runs": runs,
            })
    text = print_table(rows, [
        ("lines", "lines"), ("customers", "customers"), ("local_s", "local"),
        ("spark_s", "spark local[2]"), ("ratio", "spark/local"), ("jvm_start_s", "JVM start"),
        ("local_derive_s", "local RFM"), ("spark_derive_s", "spark RFM"),
        ("local_mb", "local peak"), ("spark_mb", "spark peak (py+JVM)"),
    ], formatters={"lines": "{:,}".format, "customers": "{:,}".format,
                   "local_s": fmt_seconds, "spark_s": fmt_seconds, "ratio": fmt_ratio,
                   "jvm_start_s": fmt_seconds, "local_derive_s": fmt_seconds,
                   "spark_derive_s": fmt_seconds, "local_mb": fmt_mb, "spark_mb": fmt_mb},
        title="custseg segment --transactions --k 5: Spark engine (local[2]) vs local engine")
    path = write_result("spark", {"options": OPTIONS, "spark_conf": SPARK_CONF, "rows": rows,
                                  "table": text})
    print(f"written to {path}")


if __name__ == "__main__":
    main()
