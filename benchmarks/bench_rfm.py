"""RFM aggregation: custseg.features.rfm against pandas, polars and plain DuckDB, side by side.

A synthetic transaction log shaped like UCI Online Retail (InvoiceNo, StockCode, Description,
Quantity, InvoiceDate, UnitPrice, CustomerID, Country; 2 % cancellation invoices "C…" with
negative quantities, 1 % lines without customer, 0.1 % zero prices) is generated with numpy and
pyarrow and cached as Parquet and CSV. Every contender then computes the same recency,
frequency and monetary value per customer from the Parquet file:

* lines used: customer present, price > 0, quantity != 0;
* monetary: sum of quantity × price (returns are negative);
* frequency: distinct invoices with a purchase line (not "C…", quantity > 0);
* recency: days from the last purchase date to the day after the latest date in the log;
  customers without purchase get the length of the log's window;
* output sorted by customer ID (pandas DataFrame, except polars: a polars DataFrame).

custseg computes more (tenure, average order value, inter-purchase time, return rate, the
rejected lines with their original values, the summary): that work is included in its time.
It also gives a row to the rare customer whose every line was excluded; the check of equal
results leaves those rows out.

custseg runs twice: ``custseg`` as a process that imported only ``custseg.features`` (rfm()
then keeps its per-customer level in SQL: numba's import and first kernel load would cost more
than the numba level saves), and ``custseg-numba`` with numba loaded, as in ``custseg segment
--transactions`` (rfm() then takes the per-customer level in numba).

Each contender runs in its own subprocess (``--worker``), ``--repeat`` times after its imports;
the table shows the best and median wall-clock seconds, the CPU seconds of the best run, the
ratio to custseg (> 1: custseg is faster) and the peak resident memory of the subprocess
(``ru_maxrss``, which includes the Python interpreter and the imported libraries). The results
of the contenders are compared (customers, sums of R, F and M) before any time is reported.

Usage::

    python benchmarks/bench_rfm.py --quick          # 1M lines, 100k customers
    python benchmarks/bench_rfm.py                  # 10M lines, 1M customers
    python benchmarks/bench_rfm.py --lines 3000000 --repeat 5 --threads 2

Results go to ``benchmarks/results/rfm.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "rfm.json"
DATA_VERSION = 1
COLUMNS = ["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]


# --- data ------------------------------------------------------------------------------------


def _take_strings(pool: list[str], idx: np.ndarray) -> pa.Array:
    """``pool[idx]`` as a plain string array, built in C++ (no Python string per row)."""
    dictionary = pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(pool))
    return dictionary.cast(pa.string())


def generate(lines: int, seed: int = 0) -> pa.Table:
    """A log of ``lines`` lines for ``lines // 10`` customers, like UCI Online Retail."""
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    n_cust = max(1, lines // 10)
    n_inv = max(n_cust, lines // 5)
    inv_of_line = np.sort(rng.integers(0, n_inv, lines))
    # Every customer has at least one invoice; the others go to random customers.
    inv_cust = np.concatenate([np.arange(n_cust), rng.integers(0, n_cust, n_inv - n_cust)])
    rng.shuffle(inv_cust)
    start = np.datetime64("2010-12-01T08:00:00", "s").astype(np.int64)
    inv_ts = np.sort(start + rng.integers(0, 374 * 86400, n_inv)) // 60 * 60
    cancel = rng.random(n_inv) < 0.02
    inv_no = pc.cast(pa.array(536365 + np.arange(n_inv)), pa.string())
    inv_no = pc.if_else(pa.array(cancel), pc.binary_join_element_wise("C", inv_no, ""), inv_no)

    n_stock = 4000
    codes = [f"{20000 + i}{'' if i % 7 else 'A'}" for i in range(n_stock)]
    descriptions = [f"PRODUCT {i} DESCRIPTION" for i in range(n_stock)]
    stock_price = np.round(rng.lognormal(1.0, 0.8, n_stock) + 0.01, 2)
    stock = rng.integers(0, n_stock, lines)
    qty = rng.integers(1, 25, lines)
    qty = np.where(cancel[inv_of_line], -qty, qty)
    price = stock_price[stock]
    price[rng.random(lines) < 0.001] = 0.0
    cust = (12346 + inv_cust[inv_of_line]).astype(np.int64)
    missing = rng.random(lines) < 0.01
    countries = ["United Kingdom", "France", "Germany", "EIRE", "Spain", "Netherlands"]
    country = rng.choice(len(countries), lines, p=[0.8, 0.05, 0.05, 0.04, 0.03, 0.03])
    return pa.table({
        "InvoiceNo": inv_no.take(pa.array(inv_of_line)),
        "StockCode": _take_strings(codes, stock),
        "Description": _take_strings(descriptions, stock),
        "Quantity": pa.array(qty),
        "InvoiceDate": pa.array(inv_ts[inv_of_line].astype("datetime64[s]")),
        "UnitPrice": pa.array(price),
        "CustomerID": pa.array(cust, mask=missing),
        "Country": _take_strings(countries, country),
    })


def ensure_data(lines: int, seed: int, data_dir: Path, csv: bool) -> dict[str, Path]:
    """Generate (once) and return the Parquet and CSV files."""
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    data_dir.mkdir(parents=True, exist_ok=True)
    stem = data_dir / f"rfm_v{DATA_VERSION}_{lines}_s{seed}"
    paths = {"parquet": stem.with_suffix(".parquet")}
    if csv:
        paths["csv"] = stem.with_suffix(".csv")
    if all(p.exists() for p in paths.values()):
        return paths
    t0 = time.perf_counter()
    table = generate(lines, seed)
    print(f"generated {lines:,} lines in {time.perf_counter() - t0:.1f} s", flush=True)
    tmp = paths["parquet"].with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(paths["parquet"])
    if csv:
        dates = pc.strftime(table["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
        text = table.set_column(table.schema.get_field_index("InvoiceDate"), "InvoiceDate",
                                dates)
        tmp = paths["csv"].with_suffix(".csv.tmp")
        pcsv.write_csv(text, tmp, pcsv.WriteOptions(quoting_style="needed"))
        tmp.replace(paths["csv"])
    print(f"wrote {', '.join(str(p) for p in paths.values())} in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    return paths


# --- contenders (each runs inside a worker subprocess) ---------------------------------------


def run_custseg(path: str, threads: int) -> Any:
    from custseg.features import rfm

    return rfm(path, threads=threads).features


def _comparable(out: Any) -> Any:
    """custseg also gives a row to customers whose every line was excluded (here: only
    zero-price lines); the peers do not, so the comparison leaves them out."""
    if "n_lines" in getattr(out, "columns", []):
        return out[out["n_lines"] > 0]
    return out


def run_pandas(path: str, threads: int) -> Any:
    import pandas as pd

    if str(path).endswith(".csv"):  # (bench_e2e.py --csv)
        df = pd.read_csv(path, usecols=COLUMNS, parse_dates=["InvoiceDate"])
    else:
        df = pd.read_parquet(path, columns=COLUMNS)
    as_of = df["InvoiceDate"].max().normalize() + pd.Timedelta(days=1)
    df = df[df["CustomerID"].notna() & (df["UnitPrice"] > 0) & (df["Quantity"] != 0)]
    window = (as_of - df["InvoiceDate"].min().normalize()).days
    monetary = (df["Quantity"] * df["UnitPrice"]).groupby(df["CustomerID"]).sum()
    purchases = df[(df["Quantity"] > 0) & ~df["InvoiceNo"].str.startswith("C")]
    g = purchases.groupby("CustomerID")
    out = pd.DataFrame({"monetary": monetary})
    out["frequency"] = g["InvoiceNo"].nunique().reindex(out.index, fill_value=0)
    last = g["InvoiceDate"].max().reindex(out.index).dt.normalize()
    out["recency_days"] = (as_of - last).dt.days.fillna(window).astype("int64")
    return out.reset_index()


def run_polars(path: str, threads: int) -> Any:
    import polars as pl

    lf = pl.scan_parquet(path)
    stats = lf.select(last=pl.col("InvoiceDate").max().dt.date())
    valid = lf.filter(pl.col("CustomerID").is_not_null() & (pl.col("UnitPrice") > 0)
                      & (pl.col("Quantity") != 0))
    purchase = (pl.col("Quantity") > 0) & ~pl.col("InvoiceNo").str.starts_with("C")
    agg = valid.group_by("CustomerID").agg(
        monetary=(pl.col("Quantity") * pl.col("UnitPrice")).sum(),
        frequency=pl.col("InvoiceNo").filter(purchase).n_unique(),
        last=pl.col("InvoiceDate").filter(purchase).max().dt.date(),
        first=pl.col("InvoiceDate").min().dt.date(),
    )
    stats, agg = pl.collect_all([stats, agg])
    as_of = stats["last"][0] + __import__("datetime").timedelta(days=1)
    window = (as_of - agg["first"].min()).days
    return agg.select(
        "CustomerID", "monetary", "frequency",
        recency_days=(pl.lit(as_of) - pl.col("last")).dt.total_days().fill_null(window),
    ).sort("CustomerID")


def run_duckdb(path: str, threads: int) -> Any:
    """Plain DuckDB as a practised user writes it: one scan, and the distinct count of
    invoices as a group-by per (customer, invoice) then per customer, which DuckDB runs in
    parallel, where ``count(DISTINCT …)`` per customer is much slower."""
    import duckdb

    con = duckdb.connect(config={"threads": threads, "preserve_insertion_order": False})
    return con.sql(f"""
        WITH per_invoice AS (
            SELECT CustomerID, InvoiceNo,
                   Quantity > 0 AND NOT starts_with(InvoiceNo, 'C') AS purchase,
                   sum(Quantity * UnitPrice) AS value, min(InvoiceDate) AS first,
                   max(InvoiceDate) AS last
            FROM read_parquet('{path}')
            WHERE CustomerID IS NOT NULL AND UnitPrice > 0 AND Quantity <> 0
            GROUP BY ALL
        ), a AS (
            SELECT CustomerID, sum(value) AS monetary,
                   count(*) FILTER (WHERE purchase) AS frequency,
                   CAST(max(last) FILTER (WHERE purchase) AS DATE) AS last,
                   CAST(min(first) AS DATE) AS first
            FROM per_invoice GROUP BY CustomerID
        ), s AS (
            SELECT CAST(max(InvoiceDate) AS DATE) + 1 AS as_of FROM read_parquet('{path}')
        )
        SELECT CustomerID, monetary, frequency,
               coalesce(date_diff('day', last, s.as_of),
                        date_diff('day', min(first) OVER (), s.as_of)) AS recency_days
        FROM a, s ORDER BY CustomerID
    """).df()


CONTENDERS = {
    "custseg": ("custseg.features.rfm", "parquet", run_custseg),
    "custseg-numba": ("custseg.features.rfm, numba loaded (as in the segment pipeline)",
                      "parquet", run_custseg),
    "custseg-csv": ("custseg.features.rfm", "csv", run_custseg),
    "pandas": ("pandas read_parquet + groupby", "parquet", run_pandas),
    "polars": ("polars scan_parquet + group_by", "parquet", run_polars),
    "duckdb": ("DuckDB SQL (two-level group-by)", "parquet", run_duckdb),
}


IMPORTS = {
    "custseg": ("custseg.features",),
    # numba loaded: rfm() then takes the per-customer level in numba (features/_rfm_dense.py);
    # a fresh process without numba keeps the SQL level, as numba's import costs more.
    "custseg-numba": ("custseg.features", "custseg.features._rfm_dense"),
    "custseg-csv": ("custseg.features",),
    "pandas": ("pandas", "pyarrow.parquet"),
    "polars": ("polars",),
    "duckdb": ("duckdb", "pandas"),
}


def _checksum(out: Any) -> dict[str, Any]:
    out = _comparable(out)
    cols = {c: out[c] for c in ("frequency", "monetary", "recency_days")}
    return {
        "customers": int(len(out)),
        "sum_frequency": int(cols["frequency"].sum()),
        "sum_recency": int(cols["recency_days"].sum()),
        "sum_monetary": round(float(cols["monetary"].sum()), 2),
    }


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker(name: str, path: str, threads: int, repeat: int) -> None:
    """Run one contender ``repeat`` times and print a JSON line with its timings."""
    import importlib

    fn = CONTENDERS[name][2]
    for module in IMPORTS[name]:  # imports are not timed
        importlib.import_module(module)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        out = None
        t0, c0 = time.perf_counter(), _cpu()
        out = fn(path, threads)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": walls, "cpu": cpus, "base_rss_mb": base_rss / 1024,
                      "peak_rss_mb": peak / 1024, "check": _checksum(out)}))


# --- driver ----------------------------------------------------------------------------------


def _spawn(name: str, path: Path, threads: int, repeat: int) -> dict[str, Any]:
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               ARROW_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--worker", name, "--path", str(path),
           "--threads", str(threads), "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M lines, Parquet only, one run each")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "custseg-bench")
    parser.add_argument("--no-csv", action="store_true", help="skip the CSV file and its run")
    parser.add_argument("--only", nargs="*", choices=list(CONTENDERS), default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        worker(args.worker, args.path, args.threads, args.repeat)
        return 0

    if args.generate:
        ensure_data(args.lines, args.seed, args.data_dir, csv=not args.no_csv)
        return 0

    lines = 1_000_000 if args.quick else args.lines
    if args.quick:  # one run each, Parquet only
        args.repeat, args.no_csv = 1, True
    # Generate in a subprocess: a worker's ru_maxrss starts from its parent's resident size at
    # fork time, so the driver must stay small.
    cmd = [sys.executable, __file__, "--generate", "--lines", str(lines), "--seed",
           str(args.seed), "--data-dir", str(args.data_dir)] + (["--no-csv"] if args.no_csv else [])
    subprocess.run(cmd, check=True)
    paths = ensure_data(lines, args.seed, args.data_dir, csv=not args.no_csv)  # already there
    names = args.only or [n for n in CONTENDERS if n != "custseg-csv" or "csv" in paths]
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        label, kind, _ = CONTENDERS[name]
        print(f"running {name} ...", flush=True)
        r = _spawn(name, paths[kind], args.threads, args.repeat)
        best = int(np.argmin(r["wall"]))
        results[name] = {
            "label": label, "input": kind, "best_s": r["wall"][best],
            "median_s": statistics.median(r["wall"]), "cpu_s": r["cpu"][best],
            "runs_s": r["wall"], "peak_rss_mb": r["peak_rss_mb"],
            "base_rss_mb": r["base_rss_mb"], "check": r["check"],
        }

    # Same answer from every contender on the same input, or no timing is worth reporting.
    parquet = {n: r["check"] for n, r in results.items() if r["input"] == "parquet"}
    reference = next(iter(parquet.values()))
    agree = all(c == reference for c in parquet.values())
    if not agree:
        print("RESULTS DIFFER:", json.dumps(parquet, indent=1))

    base = results.get("custseg", {}).get("best_s")
    print(f"\nRFM of {lines:,} lines ({lines // 10:,} customers), {args.threads} threads, "
          f"best of {args.repeat}:")
    header = (f"{'contender':<14} {'input':<8} {'best s':>8} {'median s':>9} {'cpu s':>7} "
              f"{'x custseg':>10} {'peak MB':>8}")
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        ratio = r["best_s"] / base if base else float("nan")
        r["ratio_to_custseg"] = ratio
        print(f"{name:<14} {r['input']:<8} {r['best_s']:8.2f} {r['median_s']:9.2f} "
              f"{r['cpu_s']:7.2f} {ratio:10.2f} {r['peak_rss_mb']:8.0f}")
    targets = {}
    peers = [r["best_s"] for n, r in results.items() if n in ("pandas", "polars", "duckdb")]
    for name in ("custseg", "custseg-numba"):
        own = results.get(name, {}).get("best_s")
        key = name.replace("-", "_")
        if own and "pandas" in results:
            targets[f"{key}_at_least_3x_faster_than_pandas"] = (
                results["pandas"]["best_s"] >= 3 * own)
        if own and peers:
            targets[f"{key}_within_1.5x_of_fastest_peer"] = own <= 1.5 * min(peers)
    print(f"\nresults agree: {agree}")
    for key, ok in targets.items():
        print(f"{key}: {'yes' if ok else 'NO'}")

    import duckdb
    import pandas as pd

    record = {
        "benchmark": "rfm",
        "lines": lines, "customers": lines // 10, "threads": args.threads,
        "repeat": args.repeat, "seed": args.seed, "data": {k: str(v) for k, v in paths.items()},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average": list(os.getloadavg())},
        "versions": {"duckdb": duckdb.__version__, "pandas": pd.__version__,
                     "pyarrow": pa.__version__, "numpy": np.__version__},
        "results": results, "results_agree": agree, "targets": targets,
    }
    try:
        import polars

        record["versions"]["polars"] = polars.__version__
    except ImportError:
        pass
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
