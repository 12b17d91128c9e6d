"""Fixtures for the io tests: a way to write small files, and both CSV parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

import custseg.io._text as text_module

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the real datasets live beside the repo in ../shared)")
    return path


@pytest.fixture
def shared():
    """``shared(folder, name)``: the path of a real dataset, skipping when it is absent."""
    return shared_path


@pytest.fixture
def write(tmp_path: Path):
    """``write(name, content)`` puts bytes or UTF-8 text (written as is) in ``tmp_path``."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return _write


@pytest.fixture(params=["duckdb", "python"])
def parser(request, monkeypatch) -> str:
    """Run a text test with the DuckDB fast path, then with the csv-module fallback alone."""
    if request.param == "duckdb":  # small files normally skip DuckDB: make them use it
        monkeypatch.setattr(text_module, "SMALL_FILE_BYTES", 0)
    else:
        monkeypatch.setattr(text_module, "_read_fast", lambda *args, **kwargs: None)
    return request.param
