"""Run every benchmark script in ``benchmarks/`` and collect their results into one file.

Usage::

    python benchmarks/run_all.py            # the full suite (make bench)
    python benchmarks/run_all.py --quick    # each script's quick mode (make bench-quick)
    python benchmarks/run_all.py --only kmeans,rfm

Each ``bench_*.py`` present (``bench_kmeans``, ``bench_rfm``, ``bench_choose_k``, ``bench_e2e``,
``bench_quality``, and any added later) runs in its own process, one after the other, so they
do not compete for the cores. ``--quick`` is passed to the scripts whose ``--help`` offers it;
the others run as they are. Each script writes its own ``benchmarks/results/<name>.json``; this
collects those written during the run, with each script's exit status, duration and the tail of
its output, into ``benchmarks/results/all.json``. The exit status is 1 if any script failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, RESULTS_DIR, load_average, write_result  # noqa: E402

# Starting a JVM and Spark's planning take minutes even on a tiny log: not part of --quick.
FULL_ONLY = {"bench_spark"}
ORDER = ["bench_kmeans", "bench_rfm", "bench_choose_k", "bench_quality", "bench_e2e", "bench_spark"]


def scripts(only: set[str] | None) -> list[Path]:
    """The benchmark scripts present, in a stable order (known ones first)."""
    found = {p.stem: p for p in BENCH_DIR.glob("bench_*.py")}
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    if only:
        names = [n for n in names if n in only or n.removeprefix("bench_") in only]
    return [found[n] for n in names]


def offers_quick(script: Path) -> bool:
    """Whether the script defines a ``--quick`` option (read from its source: running
    ``--help`` would import each script's dependencies just to ask)."""
    return '"--quick"' in script.read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick where it is offered")
    ap.add_argument("--only", default=None,
                    help="comma-separated scripts to run, e.g. kmeans,rfm (default: all)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per script")
    args = ap.parse_args(argv)

    only = set(args.only.split(",")) if args.only else None
    start = time.time()
    runs = []
    for script in scripts(only):
        if args.quick and script.stem in FULL_ONLY and not only:
            print(f"\n=== {script.name}: skipped in --quick (run it with --only "
                  f"{script.stem.removeprefix('bench_')})", flush=True)
            continue
        cmd = [sys.executable, str(script)]
        if args.quick and offers_quick(script):
            cmd.append("--quick")
        print(f"\n=== {script.name} {' '.join(cmd[2:])}".rstrip(), flush=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, text=True, capture_output=True, timeout=args.timeout,
                                  cwd=BENCH_DIR.parent)
            status, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            status, out, err = -1, exc.stdout or "", f"timed out after {args.timeout:.0f} s"
            out = out if isinstance(out, str) else out.decode(errors="replace")
        seconds = time.perf_counter() - t0
        print(out, end="", flush=True)
        if status != 0:
            print(err[-2000:], file=sys.stderr, flush=True)
        runs.append({"script": script.name, "command": cmd[1:], "status": status,
                     "seconds": round(seconds, 2), "output_tail": out.splitlines()[-40:],
                     "stderr_tail": err.splitlines()[-10:] if status else []})
        print(f"--- {script.name}: {'ok' if status == 0 else f'FAILED ({status})'} in "
              f"{seconds:.1f} s", flush=True)

    collected = {}
    for path in sorted(RESULTS_DIR.glob("*.json")):
        if path.name == "all.json" or path.stat().st_mtime < start:
            continue
        try:
            collected[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            collected[path.stem] = {"error": f"unreadable: {exc}"}
    out = write_result("all", {"quick": args.quick, "load_average_end": load_average(),
                               "seconds": round(time.time() - start, 1), "runs": runs,
                               "results": collected})
    failed = [r["script"] for r in runs if r["status"] != 0]
    print(f"\n{len(runs)} benchmark script(s) in {time.time() - start:.0f} s; results collected "
          f"in {out}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
