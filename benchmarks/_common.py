"""Shared helpers of the benchmark scripts: subprocess runs with their peak memory, machine load,
result files (``benchmarks/results/*.json``) and plain-text tables.

Every peer of a benchmark runs in its own child process so that its peak resident memory
(``ru_maxrss`` of that child, from ``os.wait4``) is its own. A child reports back one JSON object
on its last line of standard output. Nothing here imports custseg, so the helpers also serve
benchmarks of other stages.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
REPO_ROOT = BENCH_DIR.parent

__all__ = [
    "BENCH_DIR",
    "RESULTS_DIR",
    "ChildResult",
    "busy_fraction",
    "fmt_mb",
    "fmt_ratio",
    "fmt_seconds",
    "load_average",
    "machine_info",
    "make_customers",
    "peak_rss_mb",
    "print_table",
    "rss_mb",
    "run_child",
    "run_python_child",
    "wait_for_quiet",
    "write_result",
]


# ------------------------------------------------------------------------------------------
# memory of the current process (used inside children)
# ------------------------------------------------------------------------------------------


def _status_kb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (VmHWM, else ``ru_maxrss``)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        import resource

        kb = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return kb / 1024.0


def rss_mb() -> float:
    """Current resident memory of this process, in MB."""
    kb = _status_kb("VmRSS")
    return (kb or 0.0) / 1024.0


# ------------------------------------------------------------------------------------------
# machine load: the machine may be shared, so every result records how busy it was
# ------------------------------------------------------------------------------------------


def load_average() -> tuple[float, float, float]:
    """The 1-, 5- and 15-minute load averages (zeros where unavailable)."""
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover - not on Linux/macOS
        return (0.0, 0.0, 0.0)


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return sum(values), values[3] + values[4]  # total, idle + iowait


def busy_fraction(interval: float = 0.5) -> float:
    """Share of all CPU time spent busy (by anyone) over the next ``interval`` seconds."""
    try:
        t0, i0 = _cpu_times()
        time.sleep(interval)
        t1, i1 = _cpu_times()
    except OSError:  # pragma: no cover - no /proc
        return 0.0
    return 1.0 - (i1 - i0) / max(t1 - t0, 1)


def wait_for_quiet(max_busy: float = 0.15, timeout: float = 300.0) -> float:
    """Wait until other processes leave the CPUs mostly idle, at most ``timeout`` seconds.

    Returns the last busy fraction seen (the caller records it next to its timings).
    """
    deadline = time.monotonic() + timeout
    busy = busy_fraction()
    while busy > max_busy and time.monotonic() < deadline:
        busy = busy_fraction()
    return busy


# ------------------------------------------------------------------------------------------
# children
# ------------------------------------------------------------------------------------------


@dataclass
class ChildResult:
    """What a child process reported, with its wall time and peak memory."""

    ok: bool
    payload: dict[str, Any] = field(default_factory=dict)
    peak_rss_mb: float | None = None
    wall_s: float = 0.0
    error: str = ""


def run_child(cmd: Sequence[str], *, timeout: float = 1800.0, env: Mapping[str, str] | None = None,
              cwd: str | os.PathLike[str] | None = None) -> ChildResult:
    """Run ``cmd``; parse the JSON object on its last stdout line; take its peak memory.

    The peak is what the child reports as ``peak_rss_mb`` (its ``VmHWM``, read just before it
    exits: the high-water mark of its own address space, which ``exec`` starts afresh), plus
    ``extra_peak_rss_mb`` for processes it started and did not wait for (a JVM). Only when the
    child reports nothing is ``ru_maxrss`` from ``os.wait4`` used: on Linux that one also counts
    the pages the child shared with this (forking) process before ``exec``, so it overstates.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=dict(env) if env else None,
                                cwd=cwd)
        status = None
        rusage = None
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                _, status, rusage = os.wait4(proc.pid, 0)
                out.seek(0)
                err.seek(0)
                return ChildResult(False, wall_s=time.perf_counter() - start,
                                   error=f"timed out after {timeout:.0f} s")
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    peak = rusage.ru_maxrss / 1024.0 if sys.platform.startswith("linux") else \
        rusage.ru_maxrss / 1024.0 / 1024.0
    payload: dict[str, Any] = {}
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                payload = json.loads(line)
            except json.JSONDecodeError:
                continue
            break
    if proc.returncode != 0 or not payload:
        tail = (stderr.strip().splitlines() or stdout.strip().splitlines() or ["no output"])[-3:]
        return ChildResult(False, payload, peak, wall,
                           f"exit {proc.returncode}: " + " | ".join(tail)[:400])
    if payload.get("peak_rss_mb") is not None:
        peak = float(payload["peak_rss_mb"])
    extra = float(payload.get("extra_peak_rss_mb") or 0.0)
    return ChildResult(True, payload, peak + extra, wall)


def run_python_child(script: Path | str, args: Sequence[str], **kwargs: Any) -> ChildResult:
    """:func:`run_child` for ``python script args`` with the current interpreter."""
    return run_child([sys.executable, str(script), *args], **kwargs)


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------


def make_customers(n: int, d: int, k: int, *, seed: int = 0, dtype: Any = np.float64,
                   chunk: int = 1_000_000) -> np.ndarray:
    """A standardised, customer-like feature matrix: ``k`` overlapping segments.

    Segments of unequal shares (Dirichlet), means spread over a few units, per-feature spreads
    between 0.7 and 1.6, a third of the features log-normal (spend, frequency) and then
    ``log1p``-ed as a pipeline would; finally each column is standardised. Generated in chunks
    so a 10-million-row float32 matrix needs no float64 copy of itself.
    """
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(k, 2.0))
    means = rng.normal(0.0, 1.3, size=(k, d))
    spreads = rng.uniform(0.7, 1.6, size=(k, d))
    skewed = np.arange(d) % 3 == 0
    X = np.empty((n, d), dtype=dtype)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        crng = np.random.default_rng([seed, s])
        seg = crng.choice(k, size=m, p=shares)
        block = means[seg] + spreads[seg] * crng.standard_normal((m, d))
        block[:, skewed] = np.log1p(np.exp(block[:, skewed]))
        X[s:s + m] = block
    # standardise column by column, accumulating in float64
    for f in range(d):
        col = X[:, f]
        mean = float(np.mean(col, dtype=np.float64))
        std = float(np.std(col, dtype=np.float64)) or 1.0
        for s in range(0, n, chunk):
            part = col[s:s + chunk].astype(np.float64)
            col[s:s + chunk] = (part - mean) / std
    return X


# ------------------------------------------------------------------------------------------
# results and tables
# ------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU, core count, memory, Python and library versions (for the results file)."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            info["mem_total_gb"] = round(int(fh.readline().split()[1]) / 1024**2, 1)
    except OSError:  # pragma: no cover
        pass
    versions = {}
    for mod in ("numpy", "numba", "sklearn", "scipy", "pandas", "polars", "duckdb", "pyarrow",
                "faiss", "pyspark"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - absent or broken optional peer
            continue
    info["versions"] = versions
    return info


def write_result(name: str, payload: Mapping[str, Any], *, directory: Path = RESULTS_DIR) -> Path:
    """Write ``payload`` with run metadata to ``directory/name.json`` (atomically); return path."""
    directory.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        **payload,
    }
    path = directory / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    os.replace(tmp, path)
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def fmt_mb(mb: float | None) -> str:
    return "-" if mb is None else f"{mb:,.0f} MB"


def print_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]],
                formatters: Mapping[str, Callable[[Any], str]] | None = None,
                title: str | None = None, file: Any = None) -> str:
    """Print ``rows`` as an aligned plain-text table; return the text.

    ``columns`` are ``(key, heading)`` pairs; ``formatters`` map a key to a function turning the
    value into text (default: ``str``, ``-`` for ``None``).
    """
    formatters = formatters or {}
    head = [h for _, h in columns]
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            fmt = formatters.get(key)
            cells.append(fmt(value) if fmt else ("-" if value is None else str(value)))
        body.append(cells)
    widths = [max(len(head[i]), *(len(r[i]) for r in body)) if body else len(head[i])
              for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out = []
    if title:
        out.append(title)
    out.append(line(head))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in body)
    text = "\n".join(out)
    print(text, file=file or sys.stdout, flush=True)
    return text


def compile_custseg_bytecode() -> None:
    """Write the bytecode of custseg's modules (``__pycache__``), as an installed package has it.

    An editable install writes it on first import, unless ``PYTHONDONTWRITEBYTECODE`` is set
    (as on our CI machines): then every ``custseg`` process compiled its ~50 modules from
    source, 0.2 s that no user's installed package pays. ``compileall`` writes it regardless;
    the package is found without importing it (the driver stays small)."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("custseg")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)


def custseg_command() -> list[str]:
    """The ``custseg`` command of this interpreter's environment, as an argv prefix."""
    exe = Path(sys.executable).with_name("custseg")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("custseg")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from custseg.cli import main; main(sys.argv[1:])"]
