"""Strategies and checks shared by the reliability tests.

* :func:`fuzz_settings` — bounded hypothesis settings for the default run; ``CUSTSEG_FUZZ=1``
  (``make fuzz``) multiplies the number of examples.
* :func:`csv_files` — a hypothesis strategy of hostile delimited files (dialect, encoding, line
  ends, quoting, ragged and blank lines, long fields, odd headers and cells).
* :func:`check_run_folder` — the output-folder invariants of DESIGN §3, read back from disk.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

#: ``CUSTSEG_FUZZ=1`` turns the bounded property tests into a longer fuzzing run.
FUZZ = os.environ.get("CUSTSEG_FUZZ", "") not in ("", "0")
FUZZ_FACTOR = int(os.environ.get("CUSTSEG_FUZZ_FACTOR", "20"))


def fuzz_settings(examples: int, **kwargs) -> settings:
    """Hypothesis settings: ``examples`` in the default run, ``FUZZ_FACTOR`` times more under
    ``CUSTSEG_FUZZ=1``. No deadline (the machine is shared), no too-slow health check."""
    n = examples * FUZZ_FACTOR if FUZZ else examples
    return settings(max_examples=n, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.large_base_example],
                    **kwargs)


# ------------------------------------------------------------------------------ hostile cells

DELIMITERS = [",", ";", "\t", "|"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1"]
EOLS = ["\n", "\r\n"]

#: Text a spreadsheet would run as a formula (OWASP CSV injection), and look-alikes.
FORMULAS = ["=1+1", "=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3+cmd|' /C calc'!A0",
            "@SUM(A1:A2)", "\t=1", "\r=1", "=cmd|' /C notepad'!'A1'", "-", "+", "@", "=",
            "＝1+1", " =1+1", "'=1+1"]
NUMBERS = ["0", "17850", "17850.0", "-3.5", "1,234.50", "1 234,5", "1.234,5", "12,5", "$12",
           "€3,50", "1e308", "-1e308", "1.7976931348623157e308", "1e309", "-1e309", "5e-324",
           "NaN", "nan", "NA", "N/A", "null", "inf", "-inf", "Infinity", "+7", " 42 ",
           "0x1F", "1_000", "١٢٣", "(12)", "12%", "1e", "--1", "9" * 400]
DATES = ["2011-12-09", "09/12/2011", "12/9/2011 08:30", "2011-12-09T08:30:00Z",
         "2011-12-09 08:30:00+01:00", "9 Dec 2011", "Dec 9, 2011", "20111209", "1323417600",
         "09.12.2011", "2011/12/09", "0000-00-00", "2011-13-45", "31/02/2011"]
WORDS = ["Lyon", "Zoë", "北京", "naïve café", "O'Brien", 'say "hi"', "a,b", "a;b", "a|b",
         "a\tb", "line\nbreak", "cr\rinside", "crlf\r\ninside", "   ", "", "\u2028", "\ufeff",
         "</script><script>alert(1)</script>", "NULL", "#N/A", "None", "true", "💥"]

_any_char = st.characters(blacklist_categories=("Cs",))
_text = st.text(alphabet=_any_char, max_size=12)
_float_text = st.floats(allow_nan=True, allow_infinity=True).map(repr)
_int_text = st.integers(min_value=-(10**20), max_value=10**20).map(str)

#: A numeric cell: mostly plain numbers, sometimes odd spellings or junk.
number_cells = st.one_of(
    st.integers(min_value=-10_000, max_value=10_000).map(str),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: f"{v:.3f}"),
    st.sampled_from(NUMBERS), _float_text, _int_text,
)
#: Any cell at all.
any_cells = st.one_of(
    number_cells, st.sampled_from(DATES), st.sampled_from(WORDS), st.sampled_from(FORMULAS),
    _text, st.just(""),
)
long_cells = st.sampled_from([
    "x" * 70_000, "7" * 20_000, "é" * 30_000, '"' * 5_000, ",;|\t" * 5_000, "\n" * 2_000,
])

#: Column names: plain, unicode, blank, hostile, duplicated (duplicates come from the list).
header_names = st.one_of(
    st.sampled_from(["customer_id", "CustomerID", "id", "age", "income", "spend", "Région",
                     "年龄", "", " ", "a b", "=cmd", "@x", "-x", "+x", "segment", "line",
                     "reason", "x" * 300, "col,1", "col\n2", 'q"uote']),
    _text,
)


@dataclass
class CsvCase:
    """A generated delimited file and what the generator knows about it."""

    data: bytes
    delimiter: str
    encoding: str
    eol: str
    n_rows: int  # data records written (each non-empty)
    n_blank_like: int  # data records whose text is whitespace only (may count as blank lines)
    header: list[str]
    n_space_lines: int = 0  # blank lines holding spaces or tabs (may count as records)

    def __repr__(self) -> str:  # hypothesis prints this on failure: keep it useful
        preview = self.data[:600]
        return (f"CsvCase(delimiter={self.delimiter!r}, encoding={self.encoding!r}, "
                f"eol={self.eol!r}, n_rows={self.n_rows}, header={self.header!r}, "
                f"data={preview!r}{' …' if len(self.data) > 600 else ''})")


@st.composite
def csv_files(draw, *, min_rows: int = 0, max_rows: int = 25, long_fields: bool = True,
              ragged: bool = True) -> CsvCase:
    """A hostile delimited file: the header, then rows of typed-but-corrupted columns."""
    delimiter = draw(st.sampled_from(DELIMITERS))
    encoding = draw(st.sampled_from(ENCODINGS))
    eol = draw(st.sampled_from(EOLS))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    kinds = draw(st.lists(st.sampled_from(["id", "number", "number", "number", "text", "date",
                                           "any"]), min_size=1, max_size=5))
    header = [draw(header_names) for _ in kinds]
    if draw(st.booleans()) and len(header) > 1:  # a duplicated column name
        header[-1] = header[0]
    if not any(h.strip() for h in header):
        header[0] = "id"
    if len(header) == 1 and header[0].strip() and header[0].strip(delimiter) == "":
        header[0] = "id"
    n = draw(st.integers(min_value=min_rows, max_value=max_rows))
    # The bulk of the table comes from a seeded generator (cheap for hypothesis); the hostile
    # parts are drawn explicitly so that a failure shrinks to them.
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    rows: list[list[str]] = []
    for r in range(n):
        row = []
        for kind in kinds:
            if kind == "id":
                cell = rng.choice([f"{r + 1:05d}", f"C{r}", f"{r}", f"-{r}"])
            elif kind == "number":
                cell = rng.choice([str(rng.randint(0, 500)), f"{rng.uniform(0, 1e4):.2f}"])
            elif kind == "date":
                cell = rng.choice(DATES)
            elif kind == "text":
                cell = rng.choice(WORDS)
            else:
                cell = rng.choice(NUMBERS + DATES + WORDS + FORMULAS)
            row.append(cell)
        rows.append(row)
    cell_st = st.one_of(any_cells, long_cells) if long_fields else any_cells
    if n:
        for _ in range(draw(st.integers(0, 6))):  # hostile cells
            r = draw(st.integers(0, n - 1))
            c = draw(st.integers(0, len(kinds) - 1))
            rows[r][c] = draw(cell_st)
        for _ in range(draw(st.integers(0, 2)) if ragged else 0):  # rows with a field too many
            r = draw(st.integers(0, n - 1))                        # or too few
            if len(rows[r]) > 1 and draw(st.booleans()):
                rows[r] = rows[r][:-1]
            else:
                rows[r] = [*rows[r], draw(any_cells)]
    blank_at = set(draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=3)))

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quotechar='"', quoting=quoting,
                        lineterminator=eol)
    writer.writerow(header)
    blank_like = space_lines = 0
    for r, row in enumerate(rows):
        line = io.StringIO()
        csv.writer(line, delimiter=delimiter, quotechar='"', quoting=quoting,
                   lineterminator=eol).writerow(row)
        if not line.getvalue().strip():
            blank_like += 1
        writer.writerow(row)
        if r in blank_at:  # a blank line after this row
            filler = draw(st.sampled_from(["", "   ", "\t"]))
            space_lines += bool(filler)
            buf.write(filler + eol)
    text = buf.getvalue()
    if draw(st.booleans()):  # no final newline
        text = text.removesuffix(eol)
    data = text.encode(encoding, errors="replace")
    return CsvCase(data, delimiter, encoding, eol, n, blank_like, header, space_lines)


# ------------------------------------------------------------------------------ output checks


def read_csv_cells(path: Path) -> list[list[str]]:
    """Every record of a CSV custseg wrote, as text, header first (strict csv module)."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f, strict=True))


def read_frame(path: Path) -> pd.DataFrame:
    """A CSV custseg wrote, every cell as text (blank cells as "")."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def check_run_folder(out: Path, *, expect_rows: tuple[int, int] | None = None) -> dict:
    """Assert the output-folder contract on ``out``; return its summary.

    ``rows_read == rows_segmented + rows_rejected``; segments.csv holds ``rows_segmented`` rows
    whose IDs are unique (unless ``--duplicates keep``); rejects.csv holds ``rows_rejected`` rows, each with a non-empty
    reason; every file parses fully. ``expect_rows`` bounds ``rows_read`` (low, high).
    """
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    read, seg, rej = summary["rows_read"], summary["rows_segmented"], summary["rows_rejected"]
    assert read == seg + rej, summary
    if expect_rows is not None:
        lo, hi = expect_rows
        assert lo <= read <= hi, (read, expect_rows)
    cells = read_csv_cells(out / "segments.csv")
    header, body = cells[0], cells[1:]
    assert len(body) == seg
    assert header[1:4] == ["segment", "segment_name", "distance"], header
    ids = [r[0] for r in body]
    if summary["duplicate_ids"] == "reject" or summary["id_column"] is None:
        assert len(set(ids)) == len(ids), "a segmented ID appears twice"
    assert all(len(r) == len(header) for r in body)
    assert sum(s["size"] for s in summary["segments"]) == seg
    if rej:
        rcells = read_csv_cells(out / "rejects.csv")
        rhead, rbody = rcells[0], rcells[1:]
        assert rhead[:3] == ["line", "reason", "detail"], rhead
        # an order-log run's rejects.csv also holds the excluded log lines
        excluded_lines = (summary.get("transactions") or {}).get("lines_excluded", 0)
        assert len(rbody) == rej + excluded_lines
        assert all(r[1].strip() for r in rbody), "a rejected row has no reason"
        assert all(r[0].isdigit() for r in rbody), "a rejected row has no line number"
        assert sum(summary["rejects_by_reason"].values()) == rej
    profiles = read_csv_cells(out / "profiles.csv")
    assert len(profiles) - 1 == len(summary["segments"])
    json.loads((out / "model.json").read_text("utf-8"))
    html = (out / "report.html").read_text("utf-8")
    assert html.rstrip().endswith("</html>")
    return summary


# ------------------------------------------------------------------------------ known bugs

#: Errors of bugs outside this suite's reach, each pinned by a strict xfail test that fails once
#: the bug is fixed (then delete its line here). The fuzzers accept these outcomes.
KNOWN_BUGS = {
}


def known_bug(message: str) -> bool:
    """True when ``message`` is the error of a bug listed in :data:`KNOWN_BUGS`."""
    import re

    return any(re.search(pattern, message) for pattern in KNOWN_BUGS)


# ------------------------------------------------------------------------------ misc helpers


@contextlib.contextmanager
def text_parser(name: str) -> Iterator[None]:
    """Read small text files with the DuckDB fast path (``"duckdb"``) or the csv module."""
    import custseg.io._text as text_module

    if name == "duckdb":
        with mock.patch.object(text_module, "SMALL_FILE_BYTES", 0):
            yield
    else:
        yield


def run_cli(args: list[str], *, env: dict | None = None, timeout: float = 300,
            preexec_fn=None) -> subprocess.CompletedProcess:
    """``custseg ARGS`` in a fresh interpreter (as an installed command runs)."""
    code = "import sys; from custseg.cli import main; main(sys.argv[1:])"
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([PYTHON, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, preexec_fn=preexec_fn)


def write_customers(path: Path, n: int, *, seed: int = 0, k: int = 3) -> Path:
    """``n`` customers in ``k`` separated groups: customer_id, age, income, purchases."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = np.array([[25, 30, 5], [45, 90, 20], [65, 50, 2], [35, 120, 40]][:k], float)
    group = rng.integers(0, k, size=n)
    X = centers[group] + rng.normal(0, [3, 6, 1.5], size=(n, 3))
    frame = pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(n)],
                          "age": X[:, 0].round(1), "income": X[:, 1].round(2),
                          "purchases": X[:, 2].round(0)})
    frame.to_csv(path, index=False)
    return path
