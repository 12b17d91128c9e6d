"""The segmentation job behind ``custseg segment``: read → account for rows → fit → write.

Library users call :class:`custseg.Segmenter` directly; this module adds what a job needs on top:
every input row is either segmented or written to ``rejects.csv`` with a reason, and the output
folder of DESIGN §3 is written file by file, atomically.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import platform
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._exceptions import InvalidParameterError, SchemaError
from ._kernel_cache import first_run_note
from ._version import __version__
from .model import feature_matrix
from .model._model import MAX_ABS_VALUE
from .prep import resolve_columns

if TYPE_CHECKING:
    from ._segmenter import Segmenter

logger = logging.getLogger(__name__)

# Files a custseg output folder may hold; --out refuses other folders unless forced.
OUTPUT_FILES = frozenset({
    "segments.csv", "segments.parquet", "profiles.csv", "rejects.csv", "summary.json",
    "model.json", "report.html", "features.parquet", "report_sample.parquet", ".custseg",
    "migration.csv", "moves.csv",
})

REJECT_REASONS = {
    "malformed_row": "the line could not be parsed into the header's columns",
    "invalid_value": "a feature cell holds text that is not a number",
    "all_features_missing": "every feature is missing, so there is nothing to segment on",
    "missing_value": "a feature is missing and --missing reject was asked",
    "missing_id": "the customer ID is blank",
    "duplicate_id": "the customer ID already appeared on an earlier row",
}
# Columns rejects.csv puts before the original values ("raw_line": the text of a malformed row).
_REJECT_FRONT = ("line", "reason", "detail", "raw_line")
# Columns segments.csv writes beside the ID column.
_SEGMENT_COLUMNS = ("segment", "segment_name", "distance", "probability", "r_score", "f_score",
                    "m_score", "rfm_segment")


@dataclass
class SegmentOptions:
    """Options of a segmentation job (the CLI flags of ``custseg segment``)."""

    features: list[str] | None = None
    id_column: str | None | bool = None
    categorical: list[str] | None = None
    k: int | str = "auto"
    k_range: tuple[int, int] = (2, 10)
    min_segment_share: float = 0.02
    scale: str | None = "standard"
    log_transform: str | None = None
    clip: tuple[float, float] | None = None
    missing: str = "impute"  # "impute" or "reject"
    impute: str = "median"
    duplicates: str = "reject"  # "reject" (keep the first row of each ID) or "keep"
    algorithm: str = "kmeans"
    method: str = "lloyd"
    n_init: int = 10
    max_iter: int = 300
    tol: float = 1e-4
    dtype: str = "float64"  # k-means precision: "float64" or "float32"
    init_size: int | str | None = "auto"  # rows the k-means starts run on (None: all)
    seed: int | None = 0
    output_format: str = "csv"
    include_ids: bool = False
    force: bool = False
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    query: str | None = None
    previous: str | None = None  # a previous run's model.json: keep its segment ids and names
    transactions: bool = False  # the input is an order log: derive RFM features first
    rfm: dict[str, Any] = field(default_factory=dict)  # options of custseg.features.rfm
    names: dict[int, str] | None = None  # user's names for segments (after alignment)
    extra: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[str], None]


def _noop(stage: str) -> None:
    return None


def prepare_output_dir(out: Path, force: bool) -> None:
    """Create ``out``, refusing a folder that holds files custseg did not write."""
    if out.exists() and not out.is_dir():
        raise InvalidParameterError(f"--out {out} is a file, not a folder. Choose a folder path.")
    if out.exists():
        # leftovers of an interrupted atomic write (".name.<hex>.tmp") are ours too
        foreign = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES
                         and not (p.name.startswith(".") and p.name.endswith(".tmp")))
        if foreign and not force:
            shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
            raise InvalidParameterError(
                f"--out {out} already holds files custseg did not write ({shown}). Choose an "
                "empty or new folder, or pass --force to write into it anyway.")
    out.mkdir(parents=True, exist_ok=True)
    (out / ".custseg").write_text(f"custseg {__version__} output folder\n", encoding="utf-8")


def nested_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells holding JSON objects or arrays (JSON inputs) as their JSON text: rows are typed
    and checked as text then (a dict made the column typing raise TypeError)."""
    import json

    for c in frame.columns:
        s = frame[c]
        if s.dtype == object and s.map(lambda v: isinstance(v, dict | list)).any():
            frame[c] = pd.Series([json.dumps(v, default=str) if isinstance(v, dict | list)
                                  else v for v in s], index=s.index, dtype=object)
    return frame


def account_rows(frame: pd.DataFrame, line_numbers: np.ndarray, features: list[str],
                 id_column: str | None, *, missing: str, duplicates: str,
                 return_matrix: bool = False):
    """Decide, for every row, whether it is segmented or rejected, and why.

    Returns the mask of kept rows, the rejects table (``line``, ID, ``reason``, ``detail``, then
    the original values) and the count of imputed cells per feature among kept rows. The first
    reason that applies wins, in the order of :data:`REJECT_REASONS`.
    """
    n = len(frame)
    M, invalid = feature_matrix(frame, features, on_invalid="ignore")
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    unmarked = np.ones(n, dtype=bool)  # reason == "" (a boolean test, not n string compares)

    def mark(mask: np.ndarray, code: str, text: Callable[[int], str]) -> None:
        todo = np.flatnonzero(mask & unmarked)
        reason[todo] = code
        unmarked[todo] = False
        for i in todo:
            detail[i] = text(i)

    bad_rows = invalid.any(axis=1)
    if bad_rows.any():
        def invalid_text(i: int) -> str:
            j = int(np.flatnonzero(invalid[i])[0])
            raw = str(frame.iloc[i, frame.columns.get_loc(features[j])])
            what = "is not a number"
            with contextlib.suppress(ValueError):
                if MAX_ABS_VALUE < abs(float(raw)) < np.inf:
                    what = f"is out of range (more than {MAX_ABS_VALUE:g} in magnitude)"
            return f"column {features[j]!r}: {raw[:80]!r} {what}"
        mark(bad_rows, "invalid_value", invalid_text)
    nan = np.isnan(M) & ~invalid
    if features:  # (no numeric feature: categorical only, nothing can be missing here)
        mark(nan.all(axis=1), "all_features_missing", lambda i: "no feature has a value")
    if missing == "reject":
        mark(nan.any(axis=1), "missing_value",
             lambda i: "missing: " + ", ".join(repr(features[j]) for j in np.flatnonzero(nan[i])))
    if id_column is not None:
        ids = frame[id_column].astype("string").str.strip()
        blank = (ids.isna() | (ids == "")).to_numpy(dtype=bool)
        mark(blank, "missing_id", lambda i: f"column {id_column!r} is blank")
        if duplicates == "reject":
            # one hash of the IDs: factorize numbers them in order of first appearance (a
            # missing ID is -1), so a row is an ID's first when its code exceeds all before it
            codes, _ = pd.factorize(ids)
            before = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]]))
            is_first = codes > before
            first = np.flatnonzero(is_first)  # first[c]: the row where ID c first appears
            dup = ~is_first & (codes >= 0) & ~blank
            mark(dup, "duplicate_id",
                 lambda i: f"ID {str(ids.iloc[i])[:80]!r} first seen on line "
                           f"{int(line_numbers[first[codes[i]]])}")
    keep = unmarked
    rej_idx = np.flatnonzero(~keep)
    rejects = frame.iloc[rej_idx].copy()
    # an input column named like a column put in front keeps its values as "<name>_input"
    taken = {str(c) for c in frame.columns}
    names = []
    for c in rejects.columns:
        if c in _REJECT_FRONT:
            new = f"{c}_input"
            while new in taken:
                new += "_"
            taken.add(new)
            c = new
        names.append(c)
    rejects.columns = names
    rejects.insert(0, "detail", detail[rej_idx])
    rejects.insert(0, "reason", reason[rej_idx])
    rejects.insert(0, "line", line_numbers[rej_idx])
    imputed = {f: int(np.count_nonzero(nan[:, j] & keep)) for j, f in enumerate(features)}
    if return_matrix:  # the parsed features, so callers need not parse them again
        return keep, rejects.reset_index(drop=True), imputed, M
    return keep, rejects.reset_index(drop=True), imputed


def kept_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``frame[keep].reset_index(drop=True)``; the frame itself when every row is kept (the usual
    case): no copy of the table, and the numbers parsed from its text columns, which
    :func:`custseg.prep.parse_numeric` caches per Arrow array, are not parsed again."""
    if keep.all() and frame.index.equals(pd.RangeIndex(len(frame))):
        return frame
    return frame[keep].reset_index(drop=True)


def _as_inferred(column: pd.Series) -> Any:
    """``column.to_numpy()``, as the column a DataFrame built from it would hold: a column of
    the text dtype pandas infers (``str``, Arrow-backed) is passed on as it is, instead of
    through a million Python strings and back."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype == _inferred_text_dtype():
        import pyarrow as pa

        # (one chunk, as inference makes it: Parquet pages then fall where they did)
        return pd.array(pa.chunked_array(pa.array(column.array)).combine_chunks(),
                        dtype=column.dtype)
    return column.to_numpy()


def _take_text(choices: list[Any], index: np.ndarray) -> Any:
    """``np.array(choices, dtype=object)[index]`` (-1: missing) as the column a DataFrame
    built from it would hold; text in pandas' Arrow-backed ``str`` dtype is taken in Arrow."""
    small = np.empty(len(choices) + 1, dtype=object)
    small[:-1] = choices
    small[-1] = np.nan
    index = np.where(index < 0, len(choices), index)  # (a label without a name: NaN, as map)
    dtype = _inferred_text_dtype()
    if (len(index) and isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
            and all(isinstance(c, str) for c in choices)):
        import pyarrow as pa

        taken = pa.array(small.tolist(), type=pa.large_string(), from_pandas=True).take(
            pa.array(index))
        return pd.array(taken, dtype=dtype)
    return small[index]


@functools.cache
def _inferred_text_dtype() -> Any:
    """The dtype pandas gives a column of Python strings (pandas 3: ``str``, Arrow-backed;
    2.x: object). Asked on first use: pandas 3 loads pyarrow to answer."""
    return pd.Series(np.array(["text"], dtype=object)).dtype


def _jsonable(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj, default=str))


def _file_sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    import duckdb
    import sklearn

    return {"custseg": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "pandas": pd.__version__, "scikit-learn": sklearn.__version__,
            "duckdb": duckdb.__version__}


def quality_metrics(Z: np.ndarray, labels: np.ndarray, inertia: float, seed: int | None,
                    sample: int = 10_000) -> dict[str, Any]:
    """Inertia, silhouette (on a fixed random sample), Calinski–Harabasz, Davies–Bouldin."""
    out: dict[str, Any] = {"inertia": inertia}
    out.update(_silhouette_metrics(Z, labels, seed, sample))
    out.update(_dispersion_metrics(Z, labels))
    return out


def _clustered(Z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Z[labels >= 0], labels[labels >= 0]``, without the copies when no row is noise."""
    mask = labels >= 0
    if mask.all() and Z.flags.c_contiguous:  # (Z[mask] would be an equal C-ordered copy)
        return Z, labels
    return Z[mask], labels[mask]


def _silhouette_metrics(Z: np.ndarray, labels: np.ndarray, seed: int | None,
                        sample: int = 10_000) -> dict[str, Any]:
    """``silhouette`` and ``silhouette_sample_size`` of :func:`quality_metrics` (empty when
    fewer than 2 segments or 3 customers are clustered).

    The mean silhouette of a fixed random sample, by :func:`custseg.select._metrics.silhouettes`
    (scikit-learn's ``silhouette_score`` to ~1e-13 relative; choosing k uses it too): its numba
    pass sums each row's distances per segment without a distance matrix, 0.17 s for 10,000
    customers where scikit-learn took 0.8 s.
    """
    from .select._metrics import silhouettes

    out: dict[str, Any] = {}
    Zm, lm = _clustered(Z, labels)
    if len(lm) < 3 or lm.min() == lm.max():  # (fewer than 2 segments)
        return out
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(lm), size=min(sample, len(lm)), replace=False)
    # (scikit-learn scores 2 to n - 1 segments among the n customers of the sample)
    if 2 <= len(np.unique(lm[idx])) < len(idx):
        out["silhouette"] = float(silhouettes(Zm[idx], lm[idx][None, :])[0])
    out["silhouette_sample_size"] = int(len(idx))
    return out


def _dispersion_metrics(Z: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """``calinski_harabasz`` and ``davies_bouldin`` of :func:`quality_metrics`, on every
    clustered customer (empty when fewer than 2 segments or 3 customers are clustered).

    Both from the cluster means, sizes and spreads of one pass over ``Z`` (the formulas of
    scikit-learn's scores, which choosing k uses too): scikit-learn's own functions gather
    each cluster's rows and took 0.3 s for a million customers.
    """
    from .select._metrics import partition_scores

    Zm, lm = _clustered(Z, labels)
    if len(lm) < 3 or lm.min() == lm.max():  # (fewer than 2 segments)
        return {}
    scores = partition_scores(np.ascontiguousarray(Zm, dtype=np.float64), lm, int(lm.max()) + 1)
    if np.isnan(scores["calinski_harabasz"]):  # a segment per customer: no score is defined
        return {}
    return {"calinski_harabasz": float(scores["calinski_harabasz"]),
            "davies_bouldin": float(scores["davies_bouldin"])}


def _is_constant(values: pd.Series) -> bool:
    """``values.nunique(dropna=True) <= 1`` for numbers: min and max, without hashing."""
    low, high = values.min(skipna=True), values.max(skipna=True)
    return bool(pd.isna(low) or low == high)


def _drop_constant_default_features(frame: pd.DataFrame, plan, opts: SegmentOptions) -> None:
    """Leave out default RFM features that every customer shares (a small log where everyone
    bought once has a constant frequency): recorded in ``excluded_columns``, not an error. A
    feature the user named stays, and fails with the usual message."""
    constant = [f for f in plan.features if _is_constant(pd.to_numeric(frame[f], errors="coerce"))]
    if not constant or len(constant) == len(plan.features):
        return
    for f in constant:
        plan.features.remove(f)
        plan.excluded[f] = "constant (one distinct value among the customers)"
        logger.warning("Feature %r is the same for every customer; it is left out.", f)
    opts.features = list(plan.features)
    if isinstance(opts.log_transform, list):
        opts.log_transform = [f for f in opts.log_transform if f in plan.features]


def segmenter_for(plan, opts: SegmentOptions) -> Segmenter:
    """The :class:`Segmenter` a job's options describe, on the columns ``plan`` resolved."""
    # Imported here: scikit-learn's import (~1 s) overlaps DuckDB's read of an order log
    # (see _preload_for_fit).
    from ._segmenter import Segmenter

    return Segmenter(features=plan.features + plan.categorical,
                     categorical=plan.categorical or None, id_column=plan.id_column or False,
                     k=opts.k, k_range=opts.k_range, min_segment_share=opts.min_segment_share,
                     scale=opts.scale, log_transform=opts.log_transform, clip=opts.clip,
                     missing="impute", impute=opts.impute, algorithm=opts.algorithm,
                     method=opts.method, n_init=opts.n_init, max_iter=opts.max_iter,
                     tol=opts.tol, random_state=opts.seed, dtype=opts.dtype,
                     init_size=opts.init_size)


def run_choose_k(source: str | Path, options: SegmentOptions | None = None,
                 progress: Progress = _noop) -> tuple[Any, dict[str, Any]]:
    """Evaluate ``options.k_range`` on the table at ``source``; return the
    :class:`custseg.select.Choice` and facts about the rows used."""
    from .io import read_table

    opts = options or SegmentOptions()
    progress("reading")
    read = read_table(source, delimiter=opts.delimiter, encoding=opts.encoding)
    frame = nested_as_text(read.frame)
    plan = resolve_columns(frame, opts.features, opts.id_column, source=str(source),
                           categorical=opts.categorical)
    keep, rejects, _ = account_rows(frame, np.asarray(read.line_numbers), plan.features,
                                    plan.id_column, missing=opts.missing,
                                    duplicates=opts.duplicates)
    progress(first_run_note("choosing k"))
    seg = segmenter_for(plan, opts)
    seg.k = "auto"
    seg.fit(frame[keep].reset_index(drop=True))
    info = {"rows": int(keep.sum()), "rows_rejected": int(len(rejects) + len(read.rejects)),
            "features": seg.features_ + seg.categorical_}
    return seg.k_selection_, info


# Default features of a transaction run: recency, and log1p of frequency and net spend (both
# right-skewed; a negative net spend — more refunds than purchases — counts as 0 in the log).
RFM_FEATURES = ["recency_days", "frequency", "monetary"]
RFM_LOG_FEATURES = ["frequency", "monetary"]


def _preload_for_fit() -> None:
    """Import numba and load the RFM kernels, then import scikit-learn (for the Segmenter):
    ~2 s in a fresh process, run in the worker while DuckDB reads the order log in the main
    thread (DuckDB releases the GIL). Meanwhile the main thread imports none of these modules
    but ``_rfm_dense``, the first one this task imports, which it then waits for: the two
    threads never import modules that import each other at once (see _import_for_worker)."""
    try:
        from .features._rfm_dense import warm_up  # numba first: rfm() may wait for it

        warm_up()
        from . import _segmenter  # noqa: F401 - scikit-learn, for the fit
    except Exception:  # noqa: BLE001 - an optimisation: the run imports them itself
        logger.debug("preloading for the fit failed", exc_info=True)


@dataclass
class _Derived:
    """A transaction log turned into a customer table, shaped like a ``ReadResult``."""

    frame: pd.DataFrame
    line_numbers: np.ndarray
    rejects: pd.DataFrame
    info: dict[str, Any]
    rfm: Any


def derive_customers(source: str | Path, opts: SegmentOptions,
                     background: ThreadPoolExecutor | None = None) -> _Derived:
    """Run :func:`custseg.features.rfm` on the log at ``source``; excluded lines become the
    rejects (their ``line`` is the log's line number).

    ``background``: a worker that, while DuckDB reads the log, imports what the fit needs
    (:func:`_preload_for_fit`; rfm() is told so, and takes its per-customer level in numba)
    and hashes the log (hashlib and file reads release the GIL)."""
    from .features import rfm
    from .features._rfm import NUMBA_LOADING

    # numba's and scikit-learn's imports and the first kernel load, while DuckDB reads the
    # log: rfm() then takes its per-customer level in numba, and the fit finds both loaded.
    warm = background.submit(_preload_for_fit) if background is not None else None
    digest = background.submit(_file_sha256, Path(source)) if background is not None else None
    token = NUMBA_LOADING.set(warm is not None)
    try:
        res = rfm(str(source), **opts.rfm)
    finally:
        NUMBA_LOADING.reset(token)
        if warm is not None:
            warm.result()  # no numba kernel may run beside it (see _rfm_dense._kernels)
    frame = res.features
    info = {"path": str(source), "format": "transactions", "unit": "customers",
            "sha256": digest.result() if digest is not None else _file_sha256(Path(source))}
    rejects = res.rejects.copy()
    if "detail" not in rejects.columns:
        rejects.insert(2, "detail", "excluded from the log, see summary.rfm")
    # rows of the customer table have no source line: number them 1.. in ID order
    return _Derived(frame, np.arange(1, len(frame) + 1), rejects, info, res)


def run_segment(source: str | Path, out: str | Path, options: SegmentOptions | None = None,
                progress: Progress = _noop) -> dict[str, Any]:
    """Segment the customer table (or, with ``options.transactions``, the order log) at
    ``source`` and write the output folder ``out``.

    Returns the summary (also written as ``summary.json``).
    """
    # One worker thread takes work that releases the GIL (hashing the input, writing
    # features.parquet and rejects.csv, the RFM scores, the quality metrics) off the main
    # thread; leaving this block waits for it, so nothing is still being written when
    # run_segment returns or raises.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="custseg-segment") as background:
        return _run_segment(source, out, options, progress, background)


#: The worker's nice value after the derive step (see _run_segment).
_WORKER_NICE = 10


def _lower_priority() -> None:
    """Lower the calling thread's (the worker's) scheduling priority to nice 10, on Linux,
    where a thread has a nice value of its own (threads it starts inherit it); elsewhere
    nothing."""
    if not sys.platform.startswith("linux"):
        return
    import os
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       max(_WORKER_NICE, os.getpriority(os.PRIO_PROCESS, 0)))
    except OSError:  # (a sandbox may refuse it: the run is only slower)
        logger.debug("could not lower the worker's priority", exc_info=True)


def _import_for_worker(*modules: str) -> None:
    """Import, in this thread, the modules a task about to go to the worker uses: two threads
    importing at once can deadlock on modules that import each other, so the worker imports
    nothing itself. (Just before each task, not all at the start: what DuckDB reads under
    a memory cap is not crowded by libraries loaded early.)"""
    import importlib

    for name in modules:
        importlib.import_module(name)


def _run_segment(source: str | Path, out: str | Path, options: SegmentOptions | None,
                 progress: Progress, background: ThreadPoolExecutor) -> dict[str, Any]:
    from .io import read_table, write_csv, write_json, write_parquet, write_text
    from .io._write import parquet_table, write_parquet_table
    from .report import render_report

    opts = replace(options, rfm=dict(options.rfm)) if options else SegmentOptions()
    out = Path(out)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    derived = None
    default_features = False
    if opts.transactions:
        progress("deriving RFM features")
        derived = derive_customers(source, opts, background)
        default_features = opts.features is None
        if default_features:
            opts.features = list(RFM_FEATURES)
            if opts.log_transform is None:
                opts.log_transform = list(RFM_LOG_FEATURES)
        read = derived
        timings["derive"] = time.perf_counter() - t0
    else:
        progress("reading")
        read = read_table(source, delimiter=opts.delimiter, encoding=opts.encoding,
                          sheet=opts.sheet, query=opts.query)
        timings["read"] = time.perf_counter() - t0
    prepare_output_dir(out, opts.force)
    frame = nested_as_text(read.frame)
    features_written = None
    # From here the worker's tasks (outputs, scores, metrics) yield the cores to this thread's
    # parallel fit: with a busy thread beside it, a 2-thread k-means waited at each pass for its
    # descheduled thread and took longer than on one thread (1.5 s alone, 3.1-3.3 s beside a
    # busy thread, 1.5 s beside the same thread at nice 10 or 19; nice 10, not the lowest,
    # so that other processes on the machine do not starve what this thread waits for).
    background.submit(_lower_priority)
    if derived is not None:  # (the Arrow table is made here: the worker never touches pandas)
        _import_for_worker("pyarrow.parquet")
        features_written = background.submit(write_parquet_table, parquet_table(frame),
                                             out / "features.parquet")
    src_name = str(source)
    if len(frame) == 0:
        raise SchemaError(f"{src_name}: no row could be read ({len(read.rejects)} malformed). "
                          "See the file's format, or pass --delimiter/--encoding.")

    t = time.perf_counter()
    progress("checking rows")
    plan = resolve_columns(frame, opts.features, opts.id_column, source=src_name,
                           categorical=opts.categorical)
    if derived is not None and default_features:
        _drop_constant_default_features(frame, plan, opts)
    if plan.id_column in _SEGMENT_COLUMNS:  # segments.csv would hold two columns of that name
        raise SchemaError(f"{src_name}: the ID column is named {plan.id_column!r}, like a column "
                          "custseg writes in segments.csv. Rename it in the input, or pass "
                          "--no-id.")
    keep, rejects, imputed = account_rows(
        frame, np.asarray(read.line_numbers), plan.features, plan.id_column,
        missing=opts.missing,
        # derived customers are the groups of the log's IDs, so no ID repeats: hashing a
        # million IDs again to find none took 0.23 s
        duplicates="keep" if derived is not None else opts.duplicates)
    if len(read.rejects):
        rejects = pd.concat([read.rejects.rename(columns={"raw": "raw_line"}), rejects],
                            ignore_index=True)
    kept = kept_rows(frame, keep)
    kept_lines = np.asarray(read.line_numbers)[keep]
    timings["check"] = time.perf_counter() - t
    if len(kept) < 2:
        if len(rejects):  # the message points there: write it (not a previous run's file)
            write_csv(rejects, out / "rejects.csv")
        raise SchemaError(
            f"{src_name}: only {len(kept)} of {len(frame)} rows can be segmented; see the reasons "
            f"in {out / 'rejects.csv'}." if len(rejects) else f"{src_name}: too few rows.")

    t = time.perf_counter()
    progress(first_run_note("clustering"))
    seg = segmenter_for(plan, opts)
    rfm_scorer = scoring = None
    if derived is not None:  # the RFM scores need no segment: the worker computes them while
        # this thread fits (numpy's quantiles and searches release the GIL), on its own copy
        # of the three columns (a frame is not shared between threads); before the rejects,
        # since they are needed as soon as the fit ends
        from .features import RFMScorer

        rfm_scorer = RFMScorer()
        own = pd.DataFrame({c: kept[c].to_numpy(copy=True)
                            for c in rfm_scorer._columns().values()})
        scoring = background.submit(rfm_scorer._fit_scores, own)  # = fit(kept).transform(kept)
    rejects_written = rejects is not None and len(rejects) > 0
    rejects_done = None
    if rejects_written:  # written early, useful even if fitting fails: by the worker, while
        # this thread fits (the rejects are a frame of their own, which nothing else uses)
        _import_for_worker("pyarrow.compute", "pandas.io.formats.csvs")
        rejects_done = background.submit(write_csv, rejects, out / "rejects.csv")
    seg._keep_scaled = True  # the fit's scaled matrix, for the quality metrics
    seg.fit(kept)
    alignment = seg.align_to(opts.previous).to_dict() if opts.previous else None
    if opts.names:
        seg.rename(opts.names)
    timings["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    progress("writing outputs")
    Z = seg.__dict__.pop("_scaled", None)
    if Z is None:  # (categorical features: the one-hot columns are added by scaled())
        Z = seg.model_.scaled(kept)
    # The quality metrics (numba's parallel passes, which release the GIL) are computed by the
    # worker, after what it has queued, while this thread writes segments.csv and profiles.csv
    # (Arrow's formatting, and numba's serial row join: the two threads never launch parallel
    # kernels at once, which numba's workqueue threading layer does not allow).
    _import_for_worker("custseg.select._metrics")
    measuring = background.submit(quality_metrics, Z, seg.labels_, seg.inertia_, opts.seed)
    id_col = plan.id_column
    name_of = dict(zip(seg.profiles_["segment"], seg.profiles_["segment_name"], strict=True))
    segments = pd.DataFrame({
        (id_col if id_col is not None else "line"):
            _as_inferred(kept[id_col]) if id_col is not None else kept_lines,
        "segment": seg.labels_,
        "segment_name": _take_text(list(name_of.values()),
                                   pd.Index(list(name_of)).get_indexer(seg.labels_)),
        "distance": seg.distances_,
    })
    if seg.probabilities_ is not None:  # GMM: membership confidence
        segments["probability"] = seg.probabilities_.max(axis=1)
    if scoring is not None:
        from .features._rfm_segments import _GRID_NAMES

        scored = scoring.result()
        for c in ("r_score", "f_score", "m_score"):
            segments[c] = scored[c]
        segments["rfm_segment"] = _take_text(list(_GRID_NAMES), scored["rfm_segment_code"])
        seg.model_.derivation = {"kind": "rfm", "rfm": _jsonable(derived.rfm.summary),
                                 "scorer": rfm_scorer.to_dict()}
    if opts.output_format == "parquet":
        write_parquet(segments, out / "segments.parquet")
    else:
        write_csv(segments, out / "segments.csv")
    write_csv(seg.profiles_, out / "profiles.csv")
    if not rejects_written:  # the header only (or a previous run's file replaced)
        write_csv(rejects, out / "rejects.csv")
    metrics = measuring.result()
    seg.model_.metrics = metrics
    seg.save(out / "model.json")
    sample_idx = np.random.default_rng(0).choice(len(kept), size=min(5000, len(kept)),
                                                 replace=False)
    sample_idx.sort()
    sample = kept.iloc[sample_idx][seg.features_ + seg.categorical_].copy()
    sample.columns = [str(c) for c in sample.columns]
    for c in seg.features_:
        sample[str(c)] = feature_matrix(sample, [str(c)])[0][:, 0]
    for c in seg.categorical_:
        sample[str(c)] = sample[str(c)].astype("string")
    sample["segment"] = seg.labels_[sample_idx]
    if rfm_scorer is not None:
        for c in ("r_score", "f_score", "rfm_segment"):
            sample[c] = segments[c].take(sample_idx).to_numpy()  # = .to_numpy()[sample_idx]
    if seg.probabilities_ is not None:
        sample["probability"] = seg.probabilities_[sample_idx].max(axis=1)
    write_parquet(sample, out / "report_sample.parquet")

    by_reason = rejects["reason"].value_counts().to_dict() if len(rejects) else {}
    line_rejects = 0 if derived is None else len(read.rejects)
    if derived is not None:  # the log's excluded lines are reported as lines, not customers
        by_reason = rejects.iloc[line_rejects:]["reason"].value_counts().to_dict()
    summary: dict[str, Any] = {
        "input": {k: v for k, v in read.info.items() if k != "columns"}
        | {"path": src_name, "sha256": read.info.get("sha256") or _file_sha256(Path(source))},
        "rows_read": int(len(frame) + len(read.rejects) - line_rejects),
        "rows_segmented": int(len(kept)),
        "rows_rejected": int(len(rejects) - line_rejects),
        "rejects_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "reject_reasons": {k: REJECT_REASONS[k] for k in by_reason if k in REJECT_REASONS},
        "missing_policy": opts.missing,
        "imputed_by_feature": imputed,
        "duplicate_ids": opts.duplicates,
        "id_column": id_col,
        "id_column_detected": bool(plan.id_detected and id_col is not None),
        "features": seg.features_,
        "categorical_features": seg.categorical_,
        "excluded_columns": {str(k): v for k, v in plan.excluded.items()},
        "preprocessing": {"scale": opts.scale, "log_transform": opts.log_transform,
                          "log1p_features": [f for f, b in zip(
                              seg.features_, seg.model_.preprocessor.log1p_, strict=True) if b],
                          "clip": list(opts.clip) if opts.clip else None,
                          "impute": opts.impute},
        "k": seg.n_clusters_,
        "k_requested": opts.k,
        "clear_segmentation": seg.clear_segmentation_,
        "k_selection": seg.k_selection_.to_dict() if seg.k_selection_ is not None else None,
        "noise_customers": seg.n_noise_,
        "algorithm": seg.model_.algorithm,
        "metrics": metrics,
        "segments": [{"segment": s["id"], "name": s["name"], "size": s["size"],
                      "share": s["share"], "description": s.get("description", "")}
                     for s in seg.model_.segments]
        + ([{"segment": -1, "name": "Unclustered (noise)", "size": seg.n_noise_,
             "share": seg.n_noise_ / len(kept), "description": "HDBSCAN noise: customers in "
             "no dense segment"}] if seg.n_noise_ else []),
        "alignment": alignment,
        "transactions": None if derived is None else {
            "unit": "rows_* count customers; lines_* count lines of the log (excluded lines are "
                    "in rejects.csv)",
            "lines_read": derived.rfm.summary["lines_read"],
            "lines_used": derived.rfm.summary["lines_used"],
            "lines_excluded": derived.rfm.summary["lines_excluded"],
            "lines_excluded_by_reason": {k: v for k, v in derived.rfm.summary[
                "lines_excluded_by_reason"].items() if v},
            "rfm_segments": {str(k): int(v) for k, v in
                             pd.Series(segments["rfm_segment"]).value_counts().items()},
            "rfm": _jsonable(derived.rfm.summary)},
        "engine": "local",
        "seed": opts.seed,
        "options": {k: v for k, v in asdict(opts).items() if k not in ("extra",)},
        "versions": versions(),
    }
    for done in (features_written, rejects_done):  # (long done: a write error surfaces here)
        if done is not None:
            done.result()
    timings["write"] = time.perf_counter() - t
    summary["timings_seconds"] = {k: round(v, 4) for k, v in timings.items()}
    if summary["rows_read"] != summary["rows_segmented"] + summary["rows_rejected"]:
        raise AssertionError("row accounting broken")  # pragma: no cover - invariant
    write_json(summary, out / "summary.json")
    progress("rendering report")
    write_text(render_report(out, include_ids=opts.include_ids), out / "report.html")
    return summary
