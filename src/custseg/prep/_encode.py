"""Categorical features: stored levels, one-hot columns for centroid methods, integer codes for
k-prototypes.

One-hot indicators are scaled by ``1/sqrt(2)``: two customers who differ in one categorical
column are then at squared distance 1, the same as one standard deviation on a standardised
numeric feature, so a categorical column weighs like a numeric one instead of twice as much.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import ModelFormatError, SchemaError

MISSING_LEVEL = "(missing)"
OTHER_LEVEL = "(other)"
ONE_HOT_WEIGHT = 1 / np.sqrt(2)


def _as_text(s: pd.Series) -> pd.Series:
    text = s.astype("string").str.strip()
    return text.mask(text.isna() | (text == ""), MISSING_LEVEL).astype(object)


class CategoricalEncoder:
    """Learn the levels of categorical columns and encode them.

    Parameters
    ----------
    max_levels : int, default=20
        Levels kept per column, most frequent first (ties by name); the rest are pooled into
        ``"(other)"``. Blank cells are the level ``"(missing)"``.
    weight : float, default=1/sqrt(2)
        Value of a one-hot indicator. k-prototypes' cost with weight ``gamma`` on mismatches
        equals nearest-centroid distance with ``weight = sqrt(gamma / 2)``.
    """

    def __init__(self, max_levels: int = 20, weight: float = ONE_HOT_WEIGHT):
        self.max_levels = max_levels
        self.weight = weight

    def fit(self, frame: pd.DataFrame, columns: list[str]) -> CategoricalEncoder:
        self.columns_ = list(columns)
        self.levels_: dict[str, list[str]] = {}
        for c in self.columns_:
            counts = _as_text(frame[c]).value_counts()
            order = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            levels = [str(v) for v, _ in order[: self.max_levels]]
            if len(order) > self.max_levels:
                levels.append(OTHER_LEVEL)
            if len(levels) < 2:
                raise SchemaError(f"Categorical column {c!r} has a single level "
                                  f"({levels[0]!r}); it cannot separate segments. Remove it.")
            self.levels_[c] = levels
        return self

    @property
    def n_output_(self) -> int:
        return sum(len(v) for v in self.levels_.values())

    def output_names(self) -> list[str]:
        return [f"{c}={lv}" for c in self.columns_ for lv in self.levels_[c]]

    def codes(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Integer level codes (n × columns) and a mask of values unseen at fit time (coded as
        ``"(other)"`` when that level exists, else as the most frequent level)."""
        n = len(frame)
        codes = np.zeros((n, len(self.columns_)), dtype=np.int64)
        unseen = np.zeros((n, len(self.columns_)), dtype=bool)
        for j, c in enumerate(self.columns_):
            levels = self.levels_[c]
            index = {lv: i for i, lv in enumerate(levels)}
            fallback = index.get(OTHER_LEVEL, 0)
            values = _as_text(frame[c]).map(index)
            unseen[:, j] = values.isna().to_numpy()
            codes[:, j] = values.fillna(fallback).to_numpy(dtype=np.int64)
        return codes, unseen

    def one_hot(self, frame: pd.DataFrame) -> np.ndarray:
        codes, _ = self.codes(frame)
        return self.one_hot_codes(codes)

    def one_hot_codes(self, codes: np.ndarray) -> np.ndarray:
        out = np.zeros((codes.shape[0], self.n_output_))
        offset = 0
        for j, c in enumerate(self.columns_):
            out[np.arange(codes.shape[0]), offset + codes[:, j]] = self.weight
            offset += len(self.levels_[c])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns_, "levels": self.levels_, "max_levels": self.max_levels,
                "one_hot_weight": float(self.weight)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoricalEncoder:
        try:
            enc = cls(max_levels=int(d["max_levels"]),
                      weight=float(d.get("one_hot_weight", ONE_HOT_WEIGHT)))
            enc.columns_ = [str(c) for c in d["columns"]]
            enc.levels_ = {c: [str(v) for v in d["levels"][c]] for c in enc.columns_}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"preprocessing.categorical is malformed: {exc}") from exc
        if any(len(v) < 2 for v in enc.levels_.values()):
            raise ModelFormatError("preprocessing.categorical: every column needs >= 2 levels")
        return enc
