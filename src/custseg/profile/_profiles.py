"""Segment profiles: size, share, per-feature statistics and an index against all customers."""

from __future__ import annotations

import numpy as np
import pandas as pd


def segment_profiles(values: pd.DataFrame, labels: np.ndarray, names: dict[int, str] | None = None
                     ) -> pd.DataFrame:
    """One row per segment: ``segment``, ``segment_name``, ``size``, ``share``, then per feature
    ``<f>_mean``, ``<f>_median``, ``<f>_q25``, ``<f>_q75`` and ``<f>_index``.

    Parameters
    ----------
    values : pandas.DataFrame
        Feature values in original units, one row per customer (NaN = missing, ignored).
    labels : ndarray of int
        Segment of each row (``-1`` = noise, profiled like any other segment).
    names : dict, optional
        Segment id → name.

    Notes
    -----
    The index is ``100 * segment mean / mean of all customers``: 100 is average, 150 means
    50% above. It is left empty where the overall mean is 0.
    """
    labels = np.asarray(labels)
    segments = np.unique(labels)
    n = len(labels)
    overall = values.mean(axis=0, skipna=True)
    rows = []
    for s in segments:
        part = values[labels == s]
        row: dict[str, object] = {
            "segment": int(s),
            "segment_name": (names or {}).get(int(s), f"Segment {int(s)}"),
            "size": int(len(part)),
            "share": len(part) / n if n else np.nan,
        }
        means = part.mean(axis=0, skipna=True)
        q = part.quantile([0.25, 0.5, 0.75], numeric_only=True)
        for f in values.columns:
            row[f"{f}_mean"] = float(means[f])
            row[f"{f}_median"] = float(q.loc[0.5, f])
            row[f"{f}_q25"] = float(q.loc[0.25, f])
            row[f"{f}_q75"] = float(q.loc[0.75, f])
            row[f"{f}_index"] = (100.0 * float(means[f]) / float(overall[f])
                                 if overall[f] not in (0, 0.0) and np.isfinite(overall[f])
                                 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def group_rows(labels: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct labels (sorted, as ``np.unique``) and, for each, its rows in increasing
    order (``np.flatnonzero(labels == s)``), from one stable sort of the labels."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return np.unique(labels), []
    small = labels
    if labels.dtype.kind in "iu" and np.iinfo(np.int16).min <= labels.min() \
            and labels.max() <= np.iinfo(np.int16).max:
        small = labels.astype(np.int16)  # (radix sort: the stable sort of small ints)
    order = np.argsort(small, kind="stable")
    ordered = labels[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(order)]
    return ordered[starts], [order[a:b] for a, b in zip(starts, ends, strict=True)]


def distinguishing_features(scaled: np.ndarray, labels: np.ndarray, feature_names: list[str]
                            ) -> dict[int, list[tuple[str, float]]]:
    """Per segment, features sorted by standardised difference from all customers.

    The difference is ``(segment mean - overall mean) / overall standard deviation`` computed on
    the matrix the clustering saw, so it agrees with what separated the segments.
    """
    mean = scaled.mean(axis=0)
    sd = scaled.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    out: dict[int, list[tuple[str, float]]] = {}
    for s, rows in zip(*group_rows(labels), strict=True):
        # scaled[rows] holds the rows of scaled[labels == s], in the same order and layout
        d = (scaled[rows].mean(axis=0) - mean) / sd
        order = np.argsort(-np.abs(d), kind="stable")
        out[int(s)] = [(feature_names[j], float(d[j])) for j in order]
    return out


def categorical_profiles(codes: np.ndarray, levels: dict[str, list[str]], labels: np.ndarray
                         ) -> pd.DataFrame:
    """Per segment and categorical level: ``<col>=<level>_share`` (share of the segment's
    customers at that level) and ``<col>=<level>_lift`` (that share divided by the share among
    all customers; 1 = as common as overall)."""
    labels = np.asarray(labels)
    segments = np.unique(labels)
    rows = []
    for s in segments:
        mask = labels == s
        row: dict[str, float] = {"segment": int(s)}
        for j, (col, lv) in enumerate(levels.items()):
            for i, level in enumerate(lv):
                overall = float((codes[:, j] == i).mean())
                share = float((codes[mask, j] == i).mean()) if mask.any() else np.nan
                row[f"{col}={level}_share"] = share
                row[f"{col}={level}_lift"] = share / overall if overall > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
