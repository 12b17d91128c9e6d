"""Column typing, ID detection and numeric preprocessing."""

from ._columns import ColumnPlan, detect_id_column, resolve_columns
from ._encode import CategoricalEncoder
from ._preprocessor import Preprocessor
from ._typing import ParsedColumn, looks_numeric, parse_numeric

__all__ = ["CategoricalEncoder", "ColumnPlan", "Preprocessor", "ParsedColumn", "detect_id_column", "looks_numeric",
           "parse_numeric", "resolve_columns"]
