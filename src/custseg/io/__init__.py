"""Reading customer tables robustly and writing outputs safely.

:func:`read_table` reads delimited text (any common delimiter, encoding and line ending,
gzipped or not), Parquet (a file, a folder or a glob), Excel, JSON lines and SQL databases
into a :class:`ReadResult` that accounts for every row: the rows read, where each came from,
and the rows that could not be read, with the reason.

The writers replace their target atomically (:func:`atomic_write`), and :func:`write_csv`
neutralises text that a spreadsheet would run as a formula.
"""

from ._read import read_table
from ._result import REJECT_COLUMNS, ReadResult
from ._write import (
    FORMULA_PREFIXES,
    atomic_write,
    guard_formulas,
    to_jsonable,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)

__all__ = [
    "read_table",
    "ReadResult",
    "REJECT_COLUMNS",
    "atomic_write",
    "write_csv",
    "write_parquet",
    "write_json",
    "write_text",
    "guard_formulas",
    "to_jsonable",
    "FORMULA_PREFIXES",
]
