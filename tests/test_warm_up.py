"""custseg warm-up: the groups compile what the jobs then load from numba's cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg._exceptions import InvalidParameterError
from custseg._warm_up import GROUPS, warm_up
from custseg.cli import app


def test_unknown_group_is_a_clear_error() -> None:
    with pytest.raises(InvalidParameterError, match="Unknown warm-up group.*nope.*rfm"):
        warm_up(groups=["nope"])
    result = CliRunner().invoke(app, ["warm-up", "--groups", "rfm,nope"])
    assert result.exit_code == 1
    assert "Unknown warm-up group(s) nope" in result.output


def test_a_group_fills_the_cache_the_job_loads(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The rfm group, into an empty cache (~12 s): then the RFM level's own warm-up, in a
    fresh process, compiles nothing (every specialisation it needs was written)."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    done: list[str] = []
    seconds = warm_up(groups=["rfm"], on_done=lambda name, s: done.append(name))
    assert list(seconds) == done == ["rfm"]
    written = {p.name.split("-")[0] for p in tmp_path.rglob("*.nbi")}
    assert {"_rfm_dense._reduce", "_rfm_dense._features", "_rfm_dense._offset_ranks",
            "_rfm_dense._total"} <= written
    check = subprocess.run(
        [sys.executable, "-c", "from custseg.features._rfm_dense import warm_up; warm_up()"],
        env=dict(os.environ, NUMBA_DEBUG_CACHE="1"), capture_output=True, text=True, check=True)
    assert "data loaded" in check.stdout
    assert "data saved" not in check.stdout, check.stdout


def test_failures_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A group whose process fails raises, naming the group and the error's last line."""
    monkeypatch.setitem(GROUPS, "broken", lambda: None)  # known here, not in the child
    with pytest.raises(RuntimeError, match=r"broken \(exit 1\).*KeyError"):
        warm_up(groups=["broken"])
