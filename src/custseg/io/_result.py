"""The value :func:`custseg.io.read_table` returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._convert import STRING

#: Columns of :attr:`ReadResult.rejects`, in order.
REJECT_COLUMNS = ("line", "reason", "detail", "raw")


def rejects_frame(rows: Iterable[tuple[int, str, str, str]]) -> pd.DataFrame:
    """A rejects table (``line`` int64, the rest text), sorted by line."""
    rows = sorted(rows, key=lambda r: r[0])
    return pd.DataFrame({
        "line": pd.Series([r[0] for r in rows], dtype=np.int64),
        "reason": pd.Series([r[1] for r in rows], dtype=STRING),
        "detail": pd.Series([r[2] for r in rows], dtype=STRING),
        "raw": pd.Series([r[3] for r in rows], dtype=STRING),
    })


@dataclass
class ReadResult:
    """A table read from a file, with every row that could not be read and where each came from.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows that were read, in file order, with a ``RangeIndex``. Columns of delimited text
        files have the ``string`` dtype (missing cells are ``pd.NA``); formats that store types
        (Parquet, Excel, JSON, SQLite) keep them.
    line_numbers : numpy.ndarray of int64
        For each row of ``frame``, where it is in the source: the 1-based physical line its
        record starts on (text, JSON lines), the sheet row (Excel), or the 1-based row number
        (Parquet, SQL, JSON arrays).
    rejects : pandas.DataFrame
        Rows that could not be read, with columns ``line`` (as in ``line_numbers``), ``reason``
        (a short code: ``malformed_row``, ``bad_quoting``, ``bad_json``, ``not_an_object``),
        ``detail`` (a sentence) and ``raw`` (the source text, at most 1000 characters).
    info : dict
        ``path``, ``format``, ``encoding``, ``delimiter``, ``rows_read`` (=
        ``len(frame) + len(rejects)``), ``rows_rejected``, ``sha256``, ``columns``,
        ``renamed_columns`` (``{new name: name in the file}``), ``blank_lines``, and
        format-specific extras (``compression``, ``parser``, ``header_line``, ``sheet``,
        ``query``, ``files``).
    """

    frame: pd.DataFrame
    line_numbers: np.ndarray
    rejects: pd.DataFrame = field(default_factory=lambda: rejects_frame([]))
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"ReadResult({self.info.get('path')!r}, format={self.info.get('format')!r}, "
                f"rows={len(self.frame)}, columns={self.frame.shape[1]}, "
                f"rejects={len(self.rejects)})")
