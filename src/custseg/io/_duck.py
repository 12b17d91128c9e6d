"""A DuckDB connection set up for library use: quiet, and never downloading extensions."""

from __future__ import annotations

from typing import Any


def connect(database: str = ":memory:", *, read_only: bool = False) -> Any:
    """An in-process DuckDB connection (import deferred so ``import custseg`` stays fast)."""
    import duckdb

    con = duckdb.connect(database, read_only=read_only,
                         config={"autoinstall_known_extensions": False})
    con.execute("SET enable_progress_bar = false")  # library code never draws on the terminal
    return con
