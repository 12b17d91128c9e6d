"""Outputs are never half-written, the input is never written, and ``--out`` protects folders.

A real ``custseg segment`` process is killed with SIGKILL while it writes its outputs. The test
hook ``CUSTSEG_TEST_WRITE_DELAY`` (see ``custseg.io._write``) makes every atomic write pause
after its temporary file is complete and before the rename, so the kill can be aimed at each
output file in turn. Afterwards every output file must be the previous complete version or a
complete new one — never a partial file — and a rerun must finish normally.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from reliability_helpers import PYTHON, check_run_folder, read_csv_cells, write_customers

import custseg
from custseg import InvalidParameterError, SegmentOptions, run_segment

OUTPUTS = ["segments.csv", "profiles.csv", "rejects.csv", "model.json", "report_sample.parquet",
           "summary.json", "report.html"]
# Files whose bytes depend only on the input and options (no clock, no timings in them).
DETERMINISTIC = ["segments.csv", "profiles.csv", "rejects.csv", "report_sample.parquet"]
CLI = "import sys; from custseg.cli import main; main(sys.argv[1:])"
DELAY_ENV = "CUSTSEG_TEST_WRITE_DELAY"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def read_only(path: Path):
    """Make ``path`` read-only for everyone, root included: ``chattr +i`` (immutable) where
    the file system allows it, else mode 0444 (which binds only non-root users)."""
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    immutable = shutil.which("chattr") is not None and subprocess.run(
        ["chattr", "+i", str(path)], capture_output=True).returncode == 0
    try:
        yield immutable
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


def _input(tmp: Path, n: int = 1500) -> Path:
    path = write_customers(tmp / "customers.csv", n, seed=5)
    with open(path, "a", encoding="utf-8") as f:  # a few rejects, so rejects.csv has rows
        f.write("BAD1,abc,1,1\nBAD2,,,\nC0000001,1,2,3\nBAD3,1,2\n")
    return path


def _args(src: Path, out: Path, k: int) -> list[str]:
    return ["segment", str(src), "--out", str(out), "--k", str(k), "--n-init", "1", "--seed",
            "0", "--quiet"]


def _start(src: Path, out: Path, k: int, delay: float) -> subprocess.Popen:
    env = dict(os.environ, **{DELAY_ENV: str(delay)})
    return subprocess.Popen([PYTHON, "-c", CLI, *_args(src, out, k)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_when_writing(procs: dict[str, tuple[Path, subprocess.Popen]], timeout: float = 240
                       ) -> None:
    """SIGKILL each process ``procs[name]`` while the temporary file of ``name`` exists in its
    folder (the write is complete in the temporary file; the rename has not happened)."""
    pending = dict(procs)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, (out, proc) in list(pending.items()):
            if any(out.glob(f".{name}.*.tmp")):
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                del pending[name]
            elif proc.poll() is not None:
                raise AssertionError(f"the run ended before writing {name}: "
                                     f"{proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.005)
    for _, proc in pending.values():
        proc.kill()
    assert not pending, f"no temporary file of {sorted(pending)} appeared in {timeout} s"


def _complete_json(path: Path) -> dict:
    data = json.loads(path.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _assert_whole(path: Path, old: dict[str, str], new: dict[str, str]) -> str:
    """``path`` is the old version, the new version, or (for files that hold a clock) a
    complete file. Returns "old", "new" or "complete"."""
    digest = _sha(path)
    if digest == old.get(path.name):
        return "old"
    if digest == new.get(path.name):
        return "new"
    assert path.name not in DETERMINISTIC, f"{path.name} is neither version: partial?"
    if path.suffix == ".json":
        _complete_json(path)
    elif path.suffix == ".html":
        assert path.read_text("utf-8").rstrip().endswith("</html>")
    else:  # pragma: no cover - every output is listed above
        raise AssertionError(path)
    return "complete"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    """The input (read-only), a complete k=3 run (the 'previous version') and a complete k=4
    run (what the killed runs would have written)."""
    tmp = tmp_path_factory.mktemp("atomic")
    src = _input(tmp)
    with read_only(src) as immutable:
        before = (_sha(src), src.stat().st_mtime_ns)
        run_segment(src, tmp / "old", SegmentOptions(k=3, n_init=1, seed=0))
        run_segment(src, tmp / "new", SegmentOptions(k=4, n_init=1, seed=0))
        yield {"tmp": tmp, "src": src, "before": before, "immutable": immutable,
               "old": {n: _sha(tmp / "old" / n) for n in OUTPUTS},
               "new": {n: _sha(tmp / "new" / n) for n in OUTPUTS}}


# (output being written when the kill comes, whether the folder held a previous run)
KILL_POINTS = {"segments.csv": False, "model.json": False, "report.html": False,
               "summary.json": True}


def test_kill_9_never_leaves_a_partial_file(runs: dict) -> None:
    """SIGKILL while each of several output files is being written, over a previous run and
    into an empty folder: every file present is whole."""
    tmp, src = runs["tmp"], runs["src"]
    procs, fresh_of = {}, {}
    for name, fresh in KILL_POINTS.items():  # one process per point, all at once
        out = tmp / f"kill-{name}"
        if not fresh:
            shutil.copytree(tmp / "old", out)
        fresh_of[name] = fresh
        procs[name] = (out, _start(src, out, 4, delay=0.3))
    _kill_when_writing(procs)
    outcomes = {}
    for name, (out, proc) in procs.items():
        assert proc.returncode == -signal.SIGKILL
        states = {}
        fresh = fresh_of[name]
        for file in OUTPUTS:
            path = out / file
            if not path.exists():
                assert fresh, f"{file} vanished from the previous run's folder"
                states[file] = "absent"
                continue
            states[file] = _assert_whole(path, runs["old"], runs["new"])
        # the file being written when the kill came is untouched: old, or absent when fresh
        assert states[name] == ("absent" if fresh else "old"), (name, states)
        outcomes[name] = states
        for tmp_file in out.glob(".*.tmp"):  # the only leftover: our own temporary file
            assert tmp_file.name.startswith(f".{name}."), tmp_file
    # files written before the target are new (complete); later ones still old or absent
    assert outcomes["report.html"]["segments.csv"] == "new"
    assert outcomes["report.html"]["summary.json"] in ("complete", "new")
    assert outcomes["segments.csv"]["summary.json"] == "old"
    assert outcomes["summary.json"]["segments.csv"] == "new"
    assert outcomes["summary.json"]["report.html"] == "absent"
    # a rerun into a killed folder finishes normally (leftover temporary files are ours)
    out = procs["summary.json"][0]
    run_segment(src, out, SegmentOptions(k=4, n_init=1, seed=0))
    check_run_folder(out)
    assert (_sha(src), src.stat().st_mtime_ns) == runs["before"], "the input was modified"


def test_input_is_never_opened_for_writing(runs: dict, tmp_path: Path) -> None:
    """The input stays byte-identical with the same mtime; when the file system allows it the
    file is immutable (``chattr +i``), so any open for writing would fail, even as root."""
    src = runs["src"]
    res = subprocess.run([PYTHON, "-c", CLI, *_args(src, tmp_path / "out", 3)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (_sha(src), src.stat().st_mtime_ns) == runs["before"]
    if os.geteuid() == 0 and not runs["immutable"]:
        pytest.skip("running as root without chattr: only the hash and mtime were checked")


def test_csv_outputs_match_the_summary(runs: dict) -> None:
    """The complete runs' files agree with each other (row counts, sizes)."""
    for name in ("old", "new"):
        out = runs["tmp"] / name
        s = check_run_folder(out)
        assert len(read_csv_cells(out / "rejects.csv")) - 1 == s["rows_rejected"] == 4
        sample = pq.read_table(out / "report_sample.parquet")
        assert sample.num_rows == min(5000, s["rows_segmented"])


# ------------------------------------------------------------------------------ --out folder


def test_out_refuses_a_folder_with_foreign_files(tmp_path: Path) -> None:
    src = write_customers(tmp_path / "c.csv", 60)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(InvalidParameterError, match=r"already holds files custseg did not "
                       r"write \(thesis.docx\).*--force"):
        run_segment(src, out, SegmentOptions(k=2, n_init=1))
    assert sorted(p.name for p in out.iterdir()) == ["thesis.docx"], "nothing may be written"
    run_segment(src, out, SegmentOptions(k=2, n_init=1, force=True))
    assert (out / "thesis.docx").read_bytes() == b"precious"
    assert (out / "segments.csv").exists()


def test_out_accepts_its_own_folder_and_leftover_temporary_files(tmp_path: Path) -> None:
    src = write_customers(tmp_path / "c.csv", 60)
    out = tmp_path / "out"
    run_segment(src, out, SegmentOptions(k=2, n_init=1))
    (out / ".segments.csv.0123456789ab.tmp").write_text("half a fi")  # an interrupted write
    run_segment(src, out, SegmentOptions(k=3, n_init=1))  # no --force needed
    assert json.loads((out / "summary.json").read_text())["k"] == 3


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    src = write_customers(tmp_path / "c.csv", 60)
    (tmp_path / "out").write_text("x")
    with pytest.raises(InvalidParameterError, match="is a file, not a folder"):
        run_segment(src, tmp_path / "out", SegmentOptions(k=2, n_init=1))


def test_cli_refuses_foreign_folder_with_one_line(tmp_path: Path) -> None:
    src = write_customers(tmp_path / "c.csv", 60)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("keep me")
    res = subprocess.run([PYTHON, "-c", CLI, *_args(src, tmp_path / "out", 2)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    assert res.stderr.strip().startswith("error:") and "Traceback" not in res.stderr
    assert "--force" in res.stderr


def test_out_inside_input_folder_does_not_touch_other_files(tmp_path: Path) -> None:
    """The output folder beside the input: the input and its neighbours stay as they were."""
    src = write_customers(tmp_path / "c.csv", 60)
    neighbour = tmp_path / "other.csv"
    neighbour.write_text("a,b\n1,2\n")
    snapshot = {p.name: _sha(p) for p in (src, neighbour)}
    run_segment(src, tmp_path / "out", SegmentOptions(k=2, n_init=1))
    assert {p.name: _sha(p) for p in (src, neighbour)} == snapshot


def test_failed_run_keeps_the_previous_outputs(tmp_path: Path) -> None:
    """A run that fails after reading (too few rows) leaves the previous run's files whole,
    except rejects.csv, which its error message points to."""
    src = write_customers(tmp_path / "c.csv", 60)
    out = tmp_path / "out"
    run_segment(src, out, SegmentOptions(k=2, n_init=1))
    before = {n: _sha(out / n) for n in OUTPUTS if (out / n).exists()}
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,age\nA,1\nA,2\nA,3\n")
    with pytest.raises(custseg.SchemaError, match="only 1 of 3 rows can be segmented; see the "
                       "reasons in .*rejects.csv"):
        run_segment(bad, out, SegmentOptions(k=2, n_init=1, id_column="customer_id"))
    for name, digest in before.items():
        if name != "rejects.csv":  # written early on purpose: the reasons of the failure
            assert _sha(out / name) == digest, name
    rejects = pd.read_csv(out / "rejects.csv")  # the file the message names holds the reasons
    assert rejects["reason"].tolist() == ["duplicate_id", "duplicate_id"]
