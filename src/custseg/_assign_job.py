"""``custseg assign``: score new customers with a saved model, accounting for every row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import InvalidParameterError, SchemaError
from ._pipeline import account_rows, kept_rows, nested_as_text
from .model import load_model


def run_assign(model_path: str | Path, source: str | Path, out_file: str | Path, *,
               missing: str = "impute", delimiter: str | None = None,
               encoding: str | None = None) -> dict[str, Any]:
    """Assign the customers of ``source`` to the segments of the model at ``model_path``.

    Writes ``out_file`` (CSV, or Parquet when it ends in ``.parquet``) with the columns of
    ``segments.csv`` plus ``margin`` and ``out_of_distribution``, and, when rows are rejected,
    ``<out_file stem>.rejects.csv`` beside it. Rules: feature columns missing from the input are
    an error naming them; blank feature cells are imputed with the model's stored values (or
    rejected with ``missing="reject"``); cells that are not numbers are rejected.

    Returns a summary with the row accounting.
    """
    from .io import read_table, write_csv, write_parquet

    if missing not in ("impute", "reject"):
        raise InvalidParameterError(f"missing must be 'impute' or 'reject'; got {missing!r}.")
    model = load_model(model_path)
    read = read_table(source, delimiter=delimiter, encoding=encoding)
    frame = nested_as_text(read.frame)
    absent = [f for f in model.features if f not in frame.columns]
    if absent:
        raise SchemaError(
            f"{source} lacks the model's feature column(s) {', '.join(map(repr, absent))}; the "
            f"model needs {', '.join(map(repr, model.features))}. Rename the columns to match.")
    id_col = model.id_column if model.id_column in frame.columns else None
    keep, rejects, imputed, M = account_rows(
        frame, np.asarray(read.line_numbers), model.features, id_col, missing=missing,
        duplicates="keep", return_matrix=True)
    if len(read.rejects):
        rejects = pd.concat([read.rejects.rename(columns={"raw": "raw_line"}), rejects],
                            ignore_index=True)
    kept = kept_rows(frame, keep)
    assigned = model.assign(kept, numeric=M[keep])
    if id_col is None:
        assigned.insert(0, "line", np.asarray(read.line_numbers)[keep])
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    if out_file.suffix == ".parquet":
        write_parquet(assigned, out_file)
    else:
        write_csv(assigned, out_file)
    rejects_path = out_file.with_name(out_file.stem + ".rejects.csv")
    if len(rejects):
        write_csv(rejects, rejects_path)
    return {
        "rows_read": int(len(frame) + len(read.rejects)),
        "rows_assigned": int(len(assigned)),
        "rows_rejected": int(len(rejects)),
        "rejects_by_reason": {str(k): int(v) for k, v in
                              rejects["reason"].value_counts().to_dict().items()},
        "imputed_by_feature": imputed,
        "out_of_distribution": int(assigned["out_of_distribution"].sum()),
        "segments": {str(k): int(v) for k, v in
                     assigned["segment_name"].value_counts().sort_index().items()},
        "output": str(out_file),
        "rejects_file": str(rejects_path) if len(rejects) else None,
    }
