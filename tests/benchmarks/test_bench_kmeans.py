"""benchmarks/bench_kmeans.py runs its Python peers interleaved (a functional check of the
lockstep protocol on a tiny matrix; the timings themselves are the benchmark's business)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_kmeans.py"


@pytest.mark.parametrize("interleave", [True, False])
def test_peers_interleaved_or_in_turn(interleave, tmp_path):
    cmd = [sys.executable, str(BENCH), "--n", "3000", "--d", "3", "--k", "4", "--iters", "5",
           "--peers", "custseg,sklearn-lloyd", "--repeats", "2", "--no-seeding", "--no-write"]
    if not interleave:
        cmd.append("--no-interleave")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert ("interleaved, one fit at a time" in out.stdout) == interleave
    rows = {line.split()[0]: line for line in out.stdout.splitlines()
            if line.startswith(("custseg ", "sklearn-lloyd "))}
    assert set(rows) == {"custseg", "sklearn-lloyd"}
    assert not any("failed" in line for line in rows.values()), out.stdout
    assert "bandwidth floor" in out.stdout  # read in the same rotation when interleaved


def test_worker_answers_each_go(tmp_path):
    """The worker protocol: one ``T <seconds>`` line per ``go``, then the JSON results."""
    import numpy as np

    X = np.random.default_rng(0).standard_normal((2000, 3))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "C0.npy", X[:4])
    cmd = [sys.executable, str(BENCH), "--worker", "sklearn-lloyd", "--data",
           str(tmp_path / "X.npy"), "--init", str(tmp_path / "C0.npy"), "--iters", "3",
           "--repeats", "3", "--threads", "1", "--seed", "0", "--quiet", "0", "--lockstep"]
    out = subprocess.run(cmd, input="go\ngo\ngo\n", capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["T", "T", "T"]
    result = json.loads(lines[-1])
    assert len(result["times"]) == 3
    assert [float(line.split()[1]) for line in lines[:3]] == result["times"]
    # without its go lines the worker stops instead of timing fits nobody asked for
    stopped = subprocess.run(cmd, input="go\n", capture_output=True, text=True, timeout=300)
    assert stopped.returncode != 0 and "went away" in stopped.stderr
