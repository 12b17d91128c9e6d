"""The Spark engine against the local engine, through the command line, on 1M and 10M-line logs.

The transaction logs are the ones ``benchmarks/bench_rfm.py`` generates (imported, not copied):
shaped like UCI Online Retail (``InvoiceNo`` with 2 % "C" cancellations, ``Quantity``,
``InvoiceDate``, ``UnitPrice`` with 0.1 % free items, ``CustomerID`` missing on 1 % of the
lines, ``Description``, ``Country``), ten lines per customer, written as CSV once and cached.

For each size, each engine runs two commands, each in its own process, exactly as a user types
them (so the Spark times include starting the JVM):

* the RFM step: ``custseg rfm LOG --out features.parquet``;
* end to end: ``custseg segment LOG --transactions --k 5 --n-init 1 --seed 0 --out DIR``
  (read, RFM, row accounting, preprocessing, k-means, profiles, output folder and report).

Spark runs with ``--engine spark --spark-master local[2] --spark-conf spark.driver.memory=6g``
(the machine's two cores; Spark's default 1g driver is too small for 10M lines) and every other
setting at custseg's defaults. The table gives wall-clock seconds, the ratio Spark / local
(> 1: the local engine is faster) and the peak resident memory of the command's process tree
(the Python driver plus, for Spark, its JVM), sampled every 0.1 s. Before each command the
script waits (at most a minute) for the CPUs to be quiet, and records the load averages next
to the times. The two engines' results are compared (lines read, used and excluded by reason,
customers) before any time is reported.

Usage::

    flock /tmp/custseg-bench.lock python benchmarks/bench_spark.py      # 1M and 10M lines
    python benchmarks/bench_spark.py --quick                             # 200k lines
    python benchmarks/bench_spark.py --lines 1000000 --steps rfm

Results go to ``benchmarks/results/spark.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    custseg_command,
    fmt_mb,
    fmt_ratio,
    fmt_seconds,
    load_average,
    print_table,
    wait_for_quiet,
    write_result,
)
from bench_rfm import ensure_data  # noqa: E402

DATA_DIR = Path(tempfile.gettempdir()) / "custseg-bench-data"
SEED = 0
MASTER = "local[2]"
SPARK_CONF = ("spark.driver.memory=6g",)
SEGMENT_ARGS = ("--transactions", "--k", "5", "--n-init", "1", "--seed", "0")
STEPS = ("rfm", "segment")
ENGINES = ("local", "spark")


def command(step: str, engine: str, log: Path, out: Path) -> list[str]:
    """The command line of ``step`` on ``engine``."""
    cmd = custseg_command()
    if step == "rfm":
        cmd += ["rfm", str(log), "--out", str(out / "features.parquet")]
    else:
        cmd += ["segment", str(log), *SEGMENT_ARGS, "--out", str(out), "--force"]
    cmd.append("--quiet")
    if engine == "spark":
        cmd += ["--engine", "spark", "--spark-master", MASTER]
        for item in SPARK_CONF:
            cmd += ["--spark-conf", item]
    return cmd


# ---------------------------------------------------------------------------- measuring


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, from /proc."""
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB."""
    kids = _children()
    todo, total = [pid], 0.0
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += float(line.split()[1]) / 1024.0
                        break
        except OSError:
            continue
    return total


def run(cmd: list[str], timeout: float = 4 * 3600) -> dict[str, Any]:
    """Run ``cmd``; its wall time and the peak resident memory of its process tree."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            if time.perf_counter() - start > timeout:
                proc.kill()
                proc.wait()
                raise SystemExit(f"timed out after {timeout:.0f} s: {' '.join(cmd)}")
            time.sleep(0.1)
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        raise SystemExit(f"exit {proc.returncode}: {' '.join(cmd)}\n{stderr[-2000:]}")
    return {"wall_s": wall, "peak_tree_mb": peak, "stderr": stderr.strip()[-2000:]}


def read_summary(step: str, out: Path) -> dict[str, Any]:
    """Accounting and stage timings from the summary the command wrote."""
    if step == "rfm":
        s = json.loads((out / "features.summary.json").read_text())
        rfm = s
        customers = s["customers"]
        timings = s.get("timings_seconds", {})
    else:
        s = json.loads((out / "summary.json").read_text())
        rfm = s["transactions"]["rfm"]
        customers = s["rows_read"]
        timings = s.get("timings_seconds", {})
    return {"customers": customers, "lines_read": rfm["lines_read"],
            "lines_used": rfm["lines_used"],
            "lines_excluded_by_reason": {k: v for k, v in rfm["lines_excluded_by_reason"].items()
                                         if v},
            "timings": timings,
            "inertia": s.get("metrics", {}).get("inertia") if step == "segment" else None}


# ------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", default="1000000,10000000",
                        help="comma-separated log sizes (default: 1M and 10M lines)")
    parser.add_argument("--quick", action="store_true", help="one 200k-line log")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help="rfm, segment or both (default)")
    parser.add_argument("--no-wait", action="store_true",
                        help="do not wait for idle CPUs before each command")
    args = parser.parse_args(argv)
    sizes = [200_000] if args.quick else [int(v) for v in args.lines.split(",")]
    steps = [s for s in args.steps.split(",") if s]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="custseg-bench-spark-") as tmp:
        for n in sizes:
            log = ensure_data(n, SEED, DATA_DIR, csv=True)["csv"]
            for step in steps:
                runs: dict[str, dict[str, Any]] = {}
                for engine in ENGINES:
                    out = Path(tmp) / f"{step}-{engine}-{n}"
                    cmd = command(step, engine, log, out)
                    busy = 0.0 if args.no_wait else wait_for_quiet(max_busy=0.3, timeout=60)
                    load_before = load_average()
                    res = run(cmd)
                    runs[engine] = res | read_summary(step, out) | {
                        "command": " ".join(cmd), "busy_before": round(busy, 3),
                        "load_before": load_before, "load_after": load_average()}
                    shutil.rmtree(out, ignore_errors=True)
                    print(f"{step:7s} {engine:5s} {n:>11,} lines: {res['wall_s']:7.1f} s, "
                          f"peak {res['peak_tree_mb']:,.0f} MB", flush=True)
                local, spark = runs["local"], runs["spark"]
                for key in ("lines_read", "lines_used", "lines_excluded_by_reason",
                            "customers"):
                    if local[key] != spark[key]:
                        raise SystemExit(f"{step} on {n:,} lines: the engines disagree on {key}: "
                                         f"{local[key]} (local) vs {spark[key]} (spark)")
                rows.append({
                    "lines": n, "customers": local["customers"], "step": step,
                    "local_s": local["wall_s"], "spark_s": spark["wall_s"],
                    "ratio": spark["wall_s"] / local["wall_s"],
                    "local_mb": local["peak_tree_mb"], "spark_mb": spark["peak_tree_mb"],
                    "runs": runs,
                })
    # growth from the smallest to the largest size, per step and engine
    growth = {}
    for step in steps:
        mine = sorted((r for r in rows if r["step"] == step), key=lambda r: r["lines"])
        if len(mine) >= 2:
            a, b = mine[0], mine[-1]
            growth[step] = {"lines_factor": b["lines"] / a["lines"],
                            "local_time_factor": b["local_s"] / a["local_s"],
                            "spark_time_factor": b["spark_s"] / a["spark_s"]}
    text = print_table(rows, [
        ("lines", "lines"), ("customers", "customers"), ("step", "command"),
        ("local_s", "local"), ("spark_s", f"spark {MASTER}"), ("ratio", "spark/local"),
        ("local_mb", "local peak"), ("spark_mb", "spark peak (py+JVM)"),
    ], formatters={"lines": "{:,}".format, "customers": "{:,}".format,
                   "local_s": fmt_seconds, "spark_s": fmt_seconds, "ratio": fmt_ratio,
                   "local_mb": fmt_mb, "spark_mb": fmt_mb},
        title=f"custseg rfm / segment --transactions: Spark engine ({MASTER}) vs local engine")
    for step, g in growth.items():
        line = (f"{step}: {g['lines_factor']:.0f}x the lines took {g['local_time_factor']:.1f}x "
                f"the time locally, {g['spark_time_factor']:.1f}x on Spark")
        print(line)
        text += "\n" + line
    path = write_result("spark", {
        "command": " ".join(["python benchmarks/bench_spark.py", *(argv or sys.argv[1:])]),
        "data": "benchmarks/bench_rfm.py generate(lines, seed=0), as CSV",
        "spark_master": MASTER, "spark_conf": list(SPARK_CONF),
        "segment_args": list(SEGMENT_ARGS), "rows": rows, "growth": growth, "table": text})
    print(f"written to {path}")


if __name__ == "__main__":
    main()
