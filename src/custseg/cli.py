"""The ``custseg`` command line: a thin Typer layer over the public API.

Errors custseg raises on purpose (:class:`CustsegError`) become one red line and exit status 1;
``--debug`` shows the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ._exceptions import CustsegError, InvalidParameterError
from ._version import __version__

app = typer.Typer(
    name="custseg",
    help="Customer segmentation end to end: read a customer table or an order log, derive "
         "features, choose k, cluster, profile, name and report.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
err = Console(stderr=True)
out = Console()

TxOpt = Annotated[bool, typer.Option("--transactions", "-t", help="INPUT is an order log (one "
                                     "line per purchase): derive RFM features per customer "
                                     "first.")]
CustomerOpt = Annotated[str | None, typer.Option("--customer", help="Customer ID column of the "
                                                 "log (default: detected), e.g. --customer "
                                                 "CustomerID.")]
DateOpt = Annotated[str | None, typer.Option("--date", help="Date column (default: detected), "
                                             "e.g. --date InvoiceDate.")]
AmountOpt = Annotated[str | None, typer.Option("--amount", help="Line value column, or use "
                                               "--quantity and --price, e.g. --amount Sales.")]
QuantityOpt = Annotated[str | None, typer.Option("--quantity", help="Quantity column (default: "
                                                 "detected).")]
PriceOpt = Annotated[str | None, typer.Option("--price", help="Unit price column (default: "
                                              "detected).")]
InvoiceOpt = Annotated[str | None, typer.Option("--invoice", help="Invoice/order column "
                                                "(default: detected; frequency counts them).")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Reference date for recency "
                                             "(default: the day after the last purchase), e.g. "
                                             "--as-of 2011-12-10.")]
DayFirstOpt = Annotated[bool, typer.Option("--dayfirst", help="Dates are day-first "
                                           "(01/12/2010 = 1 December).")]
CancelOpt = Annotated[str, typer.Option("--cancellation-prefix", help="Invoices starting with "
                                        "this are cancellations ('' to disable), e.g. "
                                        "--cancellation-prefix C.")]
DupLinesOpt = Annotated[str, typer.Option("--duplicate-lines", help="Exact duplicate log lines: "
                                          "keep | drop (counted).")]


def _rfm_options(customer, date, amount, quantity, price, invoice, as_of, dayfirst,
                 cancellation_prefix, duplicate_lines) -> dict[str, Any]:
    return {"customer_id": customer, "date": date, "amount": amount, "quantity": quantity,
            "price": price, "invoice": invoice, "as_of": as_of, "dayfirst": dayfirst,
            "cancellation_prefix": cancellation_prefix or None,
            "duplicates": _choice(duplicate_lines, "duplicate-lines", ("keep", "drop"))}


EngineOpt = Annotated[str, typer.Option("--engine", help="local (default, embedded) | spark "
                                        "(PySpark: pip install 'custseg[spark]'), e.g. "
                                        "--engine spark.")]
MasterOpt = Annotated[str | None, typer.Option("--spark-master", help="Spark master URL "
                                               "(default: an active session, else local[*]), "
                                               "e.g. --spark-master yarn.")]
ConfOpt = Annotated[list[str] | None, typer.Option("--spark-conf", help="Spark setting "
                                                   "key=value (repeatable), e.g. --spark-conf "
                                                   "spark.executor.memory=8g.")]


def _engine(value: str) -> str:
    return _choice(value, "engine", ("local", "spark"))


def _spark_conf(items: list[str] | None) -> dict[str, str]:
    conf = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(f"--spark-conf {item!r} must look like key=value, e.g. "
                                        "spark.executor.memory=8g.")
        conf[key.strip()] = value.strip()
    return conf


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]


def _version(value: bool) -> None:
    if value:
        out.print(f"custseg {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False
          ) -> None:
    """custseg — customer segments a marketing team can act on."""


@contextmanager
def _errors(debug: bool):
    """Turn custseg's errors into one readable line and exit status 1."""
    try:
        yield
    except typer.Exit:
        raise
    except CustsegError as exc:
        if debug:
            err.print_exception()
        err.print(f"[bold red]error:[/] {_plain(exc)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("[bold red]interrupted[/]")
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback by default
        if debug:
            err.print_exception()
        if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryException":
            err.print(f"[bold red]error:[/] out of memory ({type(exc).__name__}: {_plain(exc)}). "
                      "A customer table is loaded into memory: use a machine with more memory, "
                      "or a sample of the rows; order logs (--transactions) are streamed.",
                      highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        err.print(f"[bold red]error:[/] unexpected {type(exc).__name__}: {_plain(exc)} "
                  "(this is a bug in custseg; rerun with --debug and report it)",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _plain(exc: BaseException) -> str:
    from rich.markup import escape

    return escape(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


@contextmanager
def _progress(quiet: bool):
    """A status line on a terminal; silent with --quiet or when output is not a terminal."""
    if quiet or not err.is_terminal:
        yield (lambda stage: None)
        return
    with err.status("starting…") as status:
        yield (lambda stage: status.update(f"[bold]{stage}[/]…"))


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    cols = [c.strip() for c in text.split(",")]
    if not all(cols):
        raise InvalidParameterError(f"--features {text!r} has an empty name; separate column "
                                    "names with commas, e.g. --features age,income.")
    return cols


ALGORITHMS = ("kmeans", "minibatch", "bisecting", "twostep", "gmm", "kprototypes", "hdbscan")


def _parse_range(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(p) for p in text.replace(":", "-").split("-"))
    except ValueError:
        raise InvalidParameterError(f"--k-range must look like 2-10; got {text!r}.") from None
    if not 2 <= lo <= hi:
        raise InvalidParameterError(f"--k-range needs 2 <= low <= high; got {text!r}.")
    return lo, hi


def _parse_k(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise InvalidParameterError(f"--k must be a whole number >= 2 or 'auto'; got {text!r}."
                                    ) from None


def _print_segment_summary(summary: dict[str, Any], out_dir: Path) -> None:
    t = Table(title=f"{summary['k']} segments", show_lines=False)
    t.add_column("segment", justify="right")
    t.add_column("name")
    t.add_column("customers", justify="right")
    t.add_column("share", justify="right")
    for s in summary["segments"]:
        t.add_row(str(s["segment"]), s["name"], f"{s['size']:,}", f"{100 * s['share']:.1f}%")
    out.print(t)
    rej = summary["rows_rejected"]
    reasons = ", ".join(f"{k}: {v:,}" for k, v in summary["rejects_by_reason"].items())
    out.print(f"rows read {summary['rows_read']:,} · segmented {summary['rows_segmented']:,} · "
              f"rejected {rej:,}" + (f" ({reasons})" if rej else ""), highlight=False)
    tx = summary.get("transactions")
    if tx:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in tx["lines_excluded_by_reason"].items())
        out.print(f"log lines read {tx['lines_read']:,} · used {tx['lines_used']:,} · excluded "
                  f"{tx['lines_excluded']:,}" + (f" ({reasons})" if reasons else ""),
                  highlight=False)
    imputed = sum(summary.get("imputed_by_feature", {}).values())
    if imputed:
        out.print(f"{imputed:,} missing values imputed ({summary['preprocessing']['impute']})",
                  highlight=False)
    if summary.get("id_column"):
        how = "detected" if summary.get("id_column_detected") else "given"
        out.print(f"ID column: {summary['id_column']!r} ({how})", highlight=False)
    if summary.get("excluded_columns") and not tx:
        out.print("not used as features: " + ", ".join(
            f"{k} ({v})" for k, v in summary["excluded_columns"].items()), highlight=False)
    out.print(f"outputs in [bold]{out_dir}[/] — open {out_dir / 'report.html'}")


# ---------------------------------------------------------------------------------------------
@app.command(epilog="Example: custseg segment customers.csv --features age,income --k 5 --out out/")
def segment(
    input: Annotated[str, typer.Argument(help="Customer table: CSV/TSV (.gz), Parquet file, "
                                              "folder or glob, Excel .xlsx, JSON lines, SQLite.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder, e.g. --out out/.")],
    id_column: Annotated[str | None, typer.Option("--id", help="Customer ID column, e.g. --id "
                                                  "CustomerID (default: detected).")] = None,
    no_id: Annotated[bool, typer.Option("--no-id", help="The table has no ID column; rows are "
                                        "identified by their line number.")] = False,
    features: Annotated[str | None, typer.Option(
        "--features", "-f", help="Comma-separated feature columns, e.g. --features "
        "age,income,purchases (default: every numeric non-ID column).")] = None,
    k: Annotated[str, typer.Option("--k", help="Number of segments, or auto (chosen with "
                                               "reasons), e.g. --k 5.")] = "auto",
    k_range: Annotated[str, typer.Option("--k-range", help="Range tried by --k auto, e.g. "
                                         "--k-range 2-12.")] = "2-10",
    algorithm: Annotated[str, typer.Option(
        help="kmeans | minibatch | bisecting | twostep | gmm | kprototypes | hdbscan, e.g. "
             "--algorithm twostep.")] = "kmeans",
    method: Annotated[str, typer.Option(help="k-means variant: lloyd | elkan | hartigan-wong "
                                             "(R's default), e.g. --method hartigan-wong.")
                      ] = "lloyd",
    categorical: Annotated[str | None, typer.Option(
        help="Comma-separated categorical columns (one-hot; native for kprototypes), e.g. "
             "--categorical Channel,Region.")] = None,
    scale: Annotated[str, typer.Option(help="standard | sample (R/Spark sample sd) | robust | "
                                            "minmax | none, e.g. --scale robust.")] = "standard",
    log_transform: Annotated[str, typer.Option(
        "--log-transform", help="none | all | auto (log1p of skewed, non-negative features), "
        "e.g. --log-transform auto.")] = "none",
    missing: Annotated[str, typer.Option(help="impute (median) | reject (to rejects.csv), e.g. "
                                              "--missing reject.")] = "impute",
    duplicates: Annotated[str, typer.Option(help="Duplicate IDs: reject (keep the first row) | "
                                                 "keep, e.g. --duplicates keep.")] = "reject",
    seed: Annotated[int, typer.Option(help="Random seed, e.g. --seed 1.")] = 0,
    n_init: Annotated[int, typer.Option("--n-init", help="k-means starts, e.g. --n-init 10.")] = 10,
    dtype: Annotated[str, typer.Option(help="k-means precision: float64 | float32 (half the "
                                            "bytes per pass), e.g. --dtype float32.")] = "float64",
    init_size: Annotated[str, typer.Option(
        "--init-size", help="Rows the k-means starts run on: auto (100,000 sampled from 400,000 "
                            "customers) | all | a number, e.g. --init-size all.")] = "auto",
    fmt: Annotated[str, typer.Option("--format", help="segments file: csv | parquet, e.g. "
                                                      "--format parquet.")] = "csv",
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected), e.g. "
                                                       "--delimiter ';'.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected), e.g. "
                                                      "--encoding cp1252.")] = None,
    include_ids: Annotated[bool, typer.Option("--include-ids", help="Show customer IDs in the "
                                              "report (off by default: IDs are personal data).")
                           ] = False,
    previous: Annotated[str | None, typer.Option(
        help="A previous run's model.json: matching segments keep its ids and names, e.g. "
             "--previous last_month/model.json.")] = None,
    names: Annotated[Path | None, typer.Option(
        help='JSON file renaming segments, e.g. --names names.json with {"0": "Loyal"}.')] = None,
    force: Annotated[bool, typer.Option(help="Write into an --out folder that holds other "
                                             "files.")] = False,
    transactions: TxOpt = False,
    customer: CustomerOpt = None,
    date: DateOpt = None,
    amount: AmountOpt = None,
    quantity: QuantityOpt = None,
    price: PriceOpt = None,
    invoice: InvoiceOpt = None,
    as_of: AsOfOpt = None,
    dayfirst: DayFirstOpt = False,
    cancellation_prefix: CancelOpt = "C",
    duplicate_lines: DupLinesOpt = "keep",
    memory_limit: Annotated[str | None, typer.Option(
        "--memory-limit", help="With --transactions: DuckDB memory limit (spills to disk), e.g. "
        "--memory-limit 2GB.")] = None,
    engine: EngineOpt = "local",
    spark_master: MasterOpt = None,
    spark_conf: ConfOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Segment a customer table (or, with --transactions, an order log) and write segments,
    profiles, rejects, summary, model and report.

    Every input row is either segmented or written to rejects.csv with a reason.
    """
    from ._pipeline import SegmentOptions, run_segment

    with _errors(debug):
        opts = SegmentOptions(
            features=_split(features), id_column=False if no_id else id_column, k=_parse_k(k),
            k_range=_parse_range(k_range), categorical=_split(categorical),
            algorithm=_choice(algorithm, "algorithm", ALGORITHMS),
            method=_choice(method, "method", ("lloyd", "elkan", "hartigan-wong")),
            scale=_none(scale, "scale", ("standard", "sample", "robust", "minmax")),
            log_transform=_none(log_transform, "log-transform", ("all", "auto")),
            missing=_choice(missing, "missing", ("impute", "reject")),
            duplicates=_choice(duplicates, "duplicates", ("reject", "keep")),
            seed=seed, n_init=n_init, output_format=_choice(fmt, "format", ("csv", "parquet")),
            dtype=_choice(dtype, "dtype", ("float64", "float32")),
            init_size=_init_size(init_size),
            delimiter=delimiter, encoding=encoding, include_ids=include_ids, force=force,
            previous=previous, names=_read_names(names), transactions=transactions,
            rfm=_rfm_options(customer, date, amount, quantity, price, invoice, as_of, dayfirst,
                             cancellation_prefix, duplicate_lines)
            | ({"memory_limit": memory_limit} if memory_limit else {}) if transactions else {})
        with _progress(quiet) as progress:
            if _engine(engine) == "spark":
                from .engines import run_segment_spark

                summary = run_segment_spark(input, out_dir, opts, progress=progress,
                                            master=spark_master, conf=_spark_conf(spark_conf))
            else:
                summary = run_segment(input, out_dir, opts, progress=progress)
        if not quiet:
            _print_segment_summary(summary, out_dir)


def _read_names(path: Path | None) -> dict[int, str] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        return {int(k): str(v) for k, v in data.items()}
    except OSError as exc:
        raise InvalidParameterError(f"--names {path}: cannot read it ({exc.strerror}).") from None
    except (ValueError, AttributeError):
        raise InvalidParameterError(
            f'--names {path} must be a JSON object of segment id → name, e.g. {{"0": "Loyal"}}.'
        ) from None


def _choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidParameterError(f"--{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def _init_size(value: str) -> int | str | None:
    """``--init-size``: auto | all (None) | a positive number of rows."""
    if value in ("auto", "all"):
        return None if value == "all" else value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise InvalidParameterError(
        f"--init-size must be auto, all or a positive number of rows; got {value!r}. "
        "E.g. --init-size all.")


def _none(value: str, name: str, allowed: tuple[str, ...]) -> str | None:
    if value.lower() == "none":
        return None
    return _choice(value, name, allowed + ("none",))


@app.command(epilog="Example: custseg demo --out custseg-demo/")
def demo(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder, e.g. --out "
                                                              "custseg-demo/.")] = Path("custseg-demo"),
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Segment the bundled demo customers (generated data) and write every output to --out."""
    from ._pipeline import SegmentOptions, run_segment
    from .demo import demo_customers_path

    with _errors(debug):
        opts = SegmentOptions(k="auto", seed=0, force=True)
        with _progress(quiet) as progress:
            summary = run_segment(demo_customers_path(), out_dir, opts, progress=progress)
        if not quiet:
            _print_segment_summary(summary, out_dir)


@app.command(epilog="Example: custseg rfm orders.csv --out features.parquet")
def rfm(
    input: Annotated[str, typer.Argument(help="Order log: CSV/TSV (.gz), Parquet file, folder "
                                              "or glob.")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Features file (.parquet or "
                                           ".csv), e.g. --out features.parquet.")],
    customer: CustomerOpt = None,
    date: DateOpt = None,
    amount: AmountOpt = None,
    quantity: QuantityOpt = None,
    price: PriceOpt = None,
    invoice: InvoiceOpt = None,
    as_of: AsOfOpt = None,
    dayfirst: DayFirstOpt = False,
    cancellation_prefix: CancelOpt = "C",
    duplicate_lines: DupLinesOpt = "keep",
    scores: Annotated[bool, typer.Option("--scores/--no-scores", help="Add R, F, M scores 1-5 "
                                         "and the named RFM segment.")] = True,
    memory_limit: Annotated[str | None, typer.Option("--memory-limit", help="DuckDB memory "
                                                     "limit (spills to disk), e.g. 2GB.")] = None,
    engine: EngineOpt = "local",
    spark_master: MasterOpt = None,
    spark_conf: ConfOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Only the feature step: one row per customer with recency, frequency, monetary value and
    behaviour features. Excluded lines go to <out>.rejects.csv, the run's record to
    <out>.summary.json."""
    from .features import rfm as derive
    from .features import rfm_scores
    from .io import write_csv, write_json, write_parquet

    with _errors(debug):
        opts = _rfm_options(customer, date, amount, quantity, price, invoice, as_of, dayfirst,
                            cancellation_prefix, duplicate_lines)
        if _engine(engine) == "spark":
            from .engines import run_rfm_spark

            with _progress(quiet) as progress:
                progress("deriving RFM features on Spark")
                s = run_rfm_spark(input, out_file, master=spark_master,
                                  conf=_spark_conf(spark_conf), scores=scores, **opts)
            if not quiet:
                out.print(f"{s['customers']:,} customers from {s['lines_read']:,} lines "
                          f"({s['lines_used']:,} used, {s['lines_excluded']:,} excluded) — "
                          f"written to [bold]{out_file}[/]", highlight=False)
            return
        with _progress(quiet) as progress:
            progress("deriving RFM features")
            res = derive(input, memory_limit=memory_limit, **opts)
        features = rfm_scores(res.features) if scores and len(res.features) >= 1 else res.features
        out_file.parent.mkdir(parents=True, exist_ok=True)
        if out_file.suffix == ".csv":
            write_csv(features, out_file)
        else:
            write_parquet(features, out_file)
        stem = out_file.with_suffix("")
        if len(res.rejects):
            write_csv(res.rejects, stem.with_name(stem.name + ".rejects.csv"))
        write_json(res.summary, stem.with_name(stem.name + ".summary.json"))
        if not quiet:
            s = res.summary
            out.print(f"{s['customers']:,} customers from {s['lines_read']:,} lines "
                      f"({s['lines_used']:,} used, {s['lines_excluded']:,} excluded)",
                      highlight=False)
            for reason, n in s["lines_excluded_by_reason"].items():
                if n:
                    out.print(f"  excluded, {reason}: {n:,}", highlight=False)
            out.print(f"as of {s['as_of']} · frequency = {s['frequency_definition']} · "
                      f"columns: " + ", ".join(f"{k}={v['name']}" + (" (detected)" if
                                               v["detected"] else "")
                                               for k, v in s["columns"].items() if v["name"]),
                      highlight=False)
            out.print(f"written to [bold]{out_file}[/]")


@app.command(name="choose-k",
             epilog="Example: custseg choose-k customers.csv --k-range 2-12")
def choose_k(
    input: Annotated[str, typer.Argument(help="Customer table (any format custseg reads).")],
    id_column: Annotated[str | None, typer.Option("--id", help="Customer ID column, e.g. --id "
                                                  "CustomerID (default: detected).")] = None,
    features: Annotated[str | None, typer.Option(
        "--features", "-f", help="Comma-separated feature columns, e.g. --features "
        "age,income (default: every numeric non-ID column).")] = None,
    k_range: Annotated[str, typer.Option("--k-range", help="Range of k to evaluate, e.g. "
                                         "--k-range 2-12.")] = "2-10",
    scale: Annotated[str, typer.Option(help="standard | sample | robust | minmax | none.")
                     ] = "standard",
    log_transform: Annotated[str, typer.Option("--log-transform", help="none | all | auto, e.g. "
                                               "--log-transform auto.")] = "none",
    algorithm: Annotated[str, typer.Option(help="kmeans | minibatch | bisecting | twostep | gmm."
                                           )] = "kmeans",
    seed: Annotated[int, typer.Option(help="Random seed, e.g. --seed 1.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the table and "
                                                  "reasons as JSON, e.g. --json k.json.")] = None,
    engine: EngineOpt = "local",
    spark_master: MasterOpt = None,
    spark_conf: ConfOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """How many segments? Evaluate a range of k with several criteria and recommend one, with
    the reasons."""
    from ._pipeline import SegmentOptions, run_choose_k

    with _errors(debug):
        opts = SegmentOptions(
            features=_split(features), id_column=id_column, k="auto",
            k_range=_parse_range(k_range),
            scale=_none(scale, "scale", ("standard", "sample", "robust", "minmax")),
            log_transform=_none(log_transform, "log-transform", ("all", "auto")),
            algorithm=_choice(algorithm, "algorithm", ALGORITHMS[:5]), seed=seed)
        with _progress(quiet) as progress:
            if _engine(engine) == "spark":
                from .engines import run_choose_k_spark

                choice, info = run_choose_k_spark(input, opts, progress=progress,
                                                  master=spark_master,
                                                  conf=_spark_conf(spark_conf))
            else:
                choice, info = run_choose_k(input, opts, progress=progress)
        if json_out is not None:
            from .io import write_json

            write_json(choice.to_dict() | info, json_out)
        if quiet:
            return
        cols = ["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin", "gap",
                "bic", "stability", "min_share", "votes"]
        t = Table(title=f"choosing k for {info['rows']:,} customers × {len(info['features'])} "
                        "features")
        short = {"calinski_harabasz": "CH", "davies_bouldin": "DB", "silhouette": "silh.",
                 "stability": "stab.", "min_share": "min share", "bic": "BIC"}
        for c in cols:
            t.add_column(short.get(c, c), justify="right")
        for _, row in choice.table.iterrows():
            style = "bold green" if int(row["k"]) == choice.k else None
            t.add_row(*[_fmt(row.get(c)) for c in cols], style=style)
        out.print(t)
        verdict = "" if choice.clear_segmentation else " (no clear segmentation)"
        out.print(f"[bold]chosen k = {choice.k}[/]{verdict}")
        for reason in choice.reasons:
            out.print(f"  • {reason}", highlight=False)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


@app.command(epilog="Example: custseg assign out/model.json new_customers.csv --out new.csv")
def assign(
    model: Annotated[Path, typer.Argument(help="model.json written by custseg segment.")],
    input: Annotated[str, typer.Argument(help="Customers to assign (any format custseg reads).")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Output file (.csv or .parquet), "
                                           "e.g. --out new_segments.csv.")],
    missing: Annotated[str, typer.Option(help="impute (the model's stored values) | reject, e.g. "
                                              "--missing reject.")] = "impute",
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected).")
                         ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")
                        ] = None,
    engine: EngineOpt = "local",
    spark_master: MasterOpt = None,
    spark_conf: ConfOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Assign new customers to the segments of a saved model (ID, segment, segment_name,
    distance, margin, out_of_distribution)."""
    from ._assign_job import run_assign

    with _errors(debug):
        with _progress(quiet) as progress:
            progress("assigning")
            policy = _choice(missing, "missing", ("impute", "reject"))
            if _engine(engine) == "spark":
                from .engines import run_assign_spark

                summary = run_assign_spark(model, input, out_file, missing=policy,
                                           delimiter=delimiter, encoding=encoding,
                                           master=spark_master, conf=_spark_conf(spark_conf))
            else:
                summary = run_assign(model, input, out_file, missing=policy,
                                     delimiter=delimiter, encoding=encoding)
        if not quiet:
            out.print(f"rows read {summary['rows_read']:,} · assigned {summary['rows_assigned']:,}"
                      f" · rejected {summary['rows_rejected']:,} · out of distribution "
                      f"{summary['out_of_distribution']:,}", highlight=False)
            for name, n in summary["segments"].items():
                out.print(f"  {name}: {n:,}", highlight=False)
            out.print(f"written to [bold]{summary['output']}[/]")


@app.command(epilog="Example: custseg compare last_month/ this_month/ --out migration/")
def compare(
    old_dir: Annotated[Path, typer.Argument(help="Output folder of the earlier run.")],
    new_dir: Annotated[Path, typer.Argument(help="Output folder of the later run.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the migration outputs, "
                                          "e.g. --out migration/.")],
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Who moved where: migration matrix, movers, new and lost customers, size drift, and a
    Sankey chart (compare.html)."""
    from .track import compare_runs, write_comparison

    with _errors(debug):
        comp = compare_runs(old_dir, new_dir)
        counts = write_comparison(comp, out_dir)
        if not quiet:
            t = Table(title="customers: previous run (rows) → this run (columns)")
            t.add_column("")
            for c in comp.migration.columns:
                t.add_column(str(c), justify="right")
            for name, row in comp.migration.iterrows():
                t.add_row(str(name), *[f"{int(v):,}" for v in row])
            out.print(t)
            out.print(" · ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items()
                                 if k != "id_column"), highlight=False)
            out.print(f"outputs in [bold]{out_dir}[/] — open {out_dir / 'compare.html'}")


@app.command(epilog="Example: custseg report out/")
def report(
    run_dir: Annotated[Path, typer.Argument(help="Output folder of custseg segment.")],
    include_ids: Annotated[bool, typer.Option("--include-ids", help="Show customer IDs.")
                           ] = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Re-render report.html from an output folder."""
    from .io import write_text
    from .report import render_report

    with _errors(debug):
        if not (run_dir / "summary.json").exists():
            raise InvalidParameterError(f"{run_dir} is not a custseg output folder (no "
                                        "summary.json); pass the --out folder of a segment run.")
        write_text(render_report(run_dir, include_ids=include_ids), run_dir / "report.html")
        if not quiet:
            out.print(f"wrote [bold]{run_dir / 'report.html'}[/]")


@app.command(name="warm-up", epilog="Example: custseg warm-up --jobs 2")
def warm_up(
    groups: Annotated[str | None, typer.Option(
        "--groups", help="Comma-separated groups to compile (default: all): lloyd-float64, "
                         "choose-k, kmeans++, lloyd-float32, rfm, hamerly.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Processes at once "
                                             "(default: one per core).")] = None,
    if_cold: Annotated[bool, typer.Option("--if-cold", help="Do nothing when numba's cache "
                                          "already holds the k-means kernel.")] = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Compile custseg's numba kernels into numba's cache now, several at a time.

    A first run on a machine otherwise compiles them one after the other as it meets them
    (about a minute); later runs load them from the cache."""
    from ._kernel_cache import kernels_compiled
    from ._warm_up import warm_up as run_warm_up

    with _errors(debug):
        if if_cold and kernels_compiled():
            if not quiet:
                out.print("numba's cache already holds custseg's kernels")
            return
        names = None if groups is None else [g.strip() for g in groups.split(",") if g.strip()]
        with _progress(quiet) as progress:
            progress("compiling custseg's kernels")
            seconds = run_warm_up(jobs, names, on_done=lambda name, s: progress(
                f"compiled {name} ({s:.0f} s)"))
        if not quiet:
            out.print("compiled " + ", ".join(f"{n} ({s:.0f} s)" for n, s in seconds.items()))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one yellow line on stderr, without the source line."""
    from rich.markup import escape

    err.print(f"[bold yellow]warning:[/] {escape(str(message))}", highlight=False,
              soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``custseg`` console script."""
    import warnings

    from ._deferred_import import defer

    # Loaded on first use instead, in this process only (see _deferred_import): scipy.stats,
    # which scikit-learn imports for functions custseg's commands never call (~0.7 s of CPU),
    # and numpy.f2py, which scipy's array-API layer touches by copying numpy's namespace when
    # numba loads scipy.linalg (~0.19 s)
    defer("scipy.stats")
    defer("numpy.f2py")
    defer("scipy.special")  # sklearn.utils._array_api's, for functions never called here (0.1 s)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.showwarning = _show_warning
    try:
        app(args=argv, prog_name="custseg")
    except SystemExit as exc:
        if exc.code not in (0, None):
            sys.exit(exc.code)


def console() -> None:
    """The ``custseg`` console script (and ``python -m custseg``): :func:`main`, then, after a
    success, the end of the process without the interpreter's teardown.

    Tearing down the modules a run loaded (numba and LLVM, scikit-learn, pandas, Arrow) took
    0.37 s after every output was written; :func:`os._exit` skips it once the output streams
    are flushed and the ``atexit`` handlers have run. When a thread that is not a daemon is
    still alive, or Spark was used (its JVM is stopped by the normal exit), the process exits
    normally.
    """
    import os

    if "numpy" not in sys.modules:  # (read once, when numpy's OpenBLAS loads)
        # OpenBLAS's idle threads spin for 2**28 cycles (~0.1 s of a core each) after it
        # loads and after every call before they sleep: numpy's and scipy's OpenBLAS spun
        # away ~0.35 s of CPU in an order-log run where numba's and DuckDB's threads wanted
        # both cores. 2**16 cycles is about what waking a sleeping thread costs; custseg's
        # BLAS calls are few and large. The user's value wins.
        os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "16")
    main()
    import atexit
    import threading

    if "pyspark" in sys.modules or any(
            t is not threading.main_thread() and not t.daemon and t.is_alive()
            for t in threading.enumerate()):
        return
    logging.shutdown()
    atexit._run_exitfuncs()  # (coverage, temporary files: what a normal exit runs)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what Python's exit would report
            return
    os._exit(0)


