"""Convert the table types users hand us (pandas, polars, pyarrow, numpy) to pandas."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import InvalidParameterError


def to_pandas(X: Any, *, owner: str = "custseg") -> pd.DataFrame:
    """Return ``X`` as a pandas DataFrame (no copy when it already is one).

    numpy arrays get column names ``x0``, ``x1``, … like scikit-learn's feature names out.
    """
    if isinstance(X, pd.DataFrame):
        return X
    if type(X).__module__.startswith("scipy.sparse"):
        raise InvalidParameterError(
            f"{owner} does not support sparse input; pass a dense table or array "
            "(e.g. X.toarray()).")
    if isinstance(X, pd.Series):
        return X.to_frame()
    module = type(X).__module__.split(".")[0]
    if module == "polars":
        return X.to_pandas()
    if module == "pyarrow":
        return X.to_pandas()
    if hasattr(X, "__dataframe__") and not isinstance(X, np.ndarray | list | tuple):
        return pd.api.interchange.from_dataframe(X)
    try:
        arr = np.asarray(X)
    except Exception as exc:  # noqa: BLE001 - anything not array-like
        raise InvalidParameterError(
            f"{owner} expects a pandas, polars or pyarrow table or a 2-D array; "
            f"got {type(X).__name__}."
        ) from exc
    if arr.ndim == 1:
        raise InvalidParameterError(
            f"{owner} expects a 2-D table; got a 1-D array of {arr.shape[0]} values. "
            "Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )
    if np.iscomplexobj(arr):
        raise InvalidParameterError(f"Complex data not supported by {owner}.")
    if arr.ndim != 2:
        raise InvalidParameterError(
            f"{owner} expects a 2-D table; got an array with {arr.ndim} dimensions."
        )
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
