"""Impute, transform, clip and scale a numeric feature matrix, with every parameter stored.

Order of the steps (each optional except imputation): impute → log1p → clip → center/scale.
All learned values are plain numbers, so :meth:`Preprocessor.to_dict` puts them in the model file
and :meth:`Preprocessor.from_dict` restores a preprocessor that transforms identically.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

import numpy as np

from .._exceptions import InvalidParameterError, ModelFormatError, SchemaError

ScaleMethod = Literal["standard", "sample", "robust", "minmax"] | None
SCALE_METHODS = ("standard", "sample", "robust", "minmax", None)
TRANSFORMS = (None, "all", "auto")
IMPUTE = ("median", "mean")
SKEW_THRESHOLD = 1.0


def _columns(X: np.ndarray) -> np.ndarray:
    """``X`` column by column (a C-ordered copy of ``X.T``), for order-free reductions."""
    return np.ascontiguousarray(X.T)


def _fast_moments() -> Any:
    """:mod:`._moments` (numpy's column reductions, bit for bit, several times faster) when
    numba is imported already, else None: a preprocessing step alone does not load numba
    (~0.5 s), but a fit, whose clustering loads it, gains ~0.1 s a million rows."""
    if "numba" not in sys.modules:
        return None
    from . import _moments

    return _moments


def _skewness(col: np.ndarray) -> float:
    sd = col.std()
    if sd == 0 or col.size < 3:
        return 0.0
    return float(np.mean(((col - col.mean()) / sd) ** 3))


class Preprocessor:
    """Learn and apply the numeric preprocessing of a feature matrix.

    Parameters
    ----------
    impute : {"median", "mean"}, default="median"
        Value that replaces a missing cell, learned per feature.
    log_transform : {None, "all", "auto"} or list of str, default=None
        ``"all"`` applies ``log(1 + x)`` to every feature (all must be >= 0); ``"auto"`` to the
        features that are non-negative and right-skewed (skewness > 1); a list names the
        features to transform, whose negative values (e.g. net refunds) count as 0.
    clip : tuple of float or None, default=None
        Quantiles ``(low, high)`` at which to winsorize each feature, e.g. ``(0.01, 0.99)``.
    scale : {"standard", "sample", "robust", "minmax", None}, default="standard"
        ``"standard"`` centres and divides by the population standard deviation (scikit-learn's
        ``StandardScaler``); ``"sample"`` by the sample standard deviation (R's ``scale()``,
        Spark's ``StandardScaler``); ``"robust"`` by the interquartile range around the median;
        ``"minmax"`` maps to [0, 1]; ``None`` leaves units as they are.
    """

    def __init__(self, impute: str = "median", log_transform: str | None = None,
                 clip: tuple[float, float] | None = None, scale: ScaleMethod = "standard"):
        self.impute = impute
        self.log_transform = log_transform
        self.clip = clip
        self.scale = scale

    # -- learning ---------------------------------------------------------------------------
    def fit(self, X: np.ndarray, feature_names: list[str]) -> Preprocessor:
        self._fit(X, feature_names)
        return self

    def fit_transform_matrix(self, X: np.ndarray, feature_names: list[str]) -> np.ndarray:
        """``fit(X, feature_names).transform_matrix(X)``, reusing the imputed, transformed and
        clipped matrix of the fit (the same steps in the same order: the same numbers)."""
        return self._scale(self._fit(X, feature_names))

    def _fit(self, X: np.ndarray, feature_names: list[str]) -> np.ndarray:
        """Learn every parameter; return ``X`` imputed, log-transformed and clipped."""
        if self.impute not in IMPUTE:
            raise InvalidParameterError(f"impute must be one of {IMPUTE}; got {self.impute!r}.")
        if not isinstance(self.log_transform, list | tuple) and self.log_transform not in TRANSFORMS:
            raise InvalidParameterError(
                f"log_transform must be one of {TRANSFORMS}; got {self.log_transform!r}.")
        if self.scale not in SCALE_METHODS:
            raise InvalidParameterError(
                f"scale must be one of {SCALE_METHODS}; got {self.scale!r}.")
        X = np.asarray(X, dtype=np.float64)
        self.feature_names_ = list(map(str, feature_names))
        # Order-free reductions (counts, medians, extremes) run on a column-major copy: numpy
        # reduces the columns of an (n, d) row-major matrix d values at a time, 5-20 times
        # slower. Sums (means, variances) stay on X, so their rounding is what it always was.
        nan = np.isnan(X)
        has_nan = bool(nan.any())
        n_missing = nan.sum(axis=0) if has_nan else np.zeros(X.shape[1], dtype=np.int64)
        all_missing = [f for f, m in zip(self.feature_names_, n_missing, strict=True)
                       if m == X.shape[0]]
        if all_missing:
            raise SchemaError(f"Feature column(s) {', '.join(map(repr, all_missing))} have no "
                              "values at all; leave them out of the features.")
        fast = _fast_moments()
        if self.impute == "median":
            # (np.nanmedian takes np.median of each column's values: the same numbers)
            self.impute_values_ = (np.nanmedian if has_nan else np.median)(_columns(X), axis=1)
        elif not has_nan and fast is not None and fast.numpy_order(X):
            # (np.nanmean's result when no value is missing: the sums divided by n)
            self.impute_values_ = fast.column_sums_ranges(X)[0] / X.shape[0]
        else:
            self.impute_values_ = np.nanmean(X, axis=0)
        self.n_imputed_ = n_missing.astype(int)
        if has_nan:
            X = np.where(nan, self.impute_values_, X)
        del nan

        if self.log_transform is None:
            self.log1p_ = np.zeros(X.shape[1], dtype=bool)
        elif isinstance(self.log_transform, list | tuple):
            unknown = [f for f in self.log_transform if f not in self.feature_names_]
            if unknown:
                raise InvalidParameterError(f"log_transform names {unknown!r}, which are not "
                                            f"features ({self.feature_names_!r}).")
            self.log1p_ = np.array([f in self.log_transform for f in self.feature_names_])
        else:
            nonneg = _columns(X).min(axis=1) >= 0
            if self.log_transform == "all":
                bad = [f for f, ok in zip(self.feature_names_, nonneg, strict=True) if not ok]
                if bad:
                    raise SchemaError(
                        f"log_transform='all' needs non-negative values, but {', '.join(map(repr, bad))} "
                        "has negative ones. Use log_transform='auto' (skips such features) or None.")
                self.log1p_ = np.ones(X.shape[1], dtype=bool)
            else:
                skew = np.array([_skewness(X[:, j]) for j in range(X.shape[1])])
                self.log1p_ = nonneg & (skew > SKEW_THRESHOLD)
        X = self._apply_log(X)

        if self.clip is None:
            self.clip_low_ = self.clip_high_ = None
        else:
            lo, hi = self.clip
            if not (0 <= lo < hi <= 1):
                raise InvalidParameterError(
                    f"clip must be two quantiles 0 <= low < high <= 1; got {self.clip!r}.")
            cols = _columns(X)
            self.clip_low_ = np.quantile(cols, lo, axis=1)
            self.clip_high_ = np.quantile(cols, hi, axis=1)
            del cols
            X = np.clip(X, self.clip_low_, self.clip_high_)

        center, scale, spread = self._learn_scale(X, fast)
        if spread is None:
            spread = np.ptp(_columns(X), axis=1)
        constant = [f for f, s in zip(self.feature_names_, spread, strict=True) if s == 0]
        if constant:
            raise SchemaError(
                f"Feature column(s) {', '.join(map(repr, constant))} are constant (one distinct "
                "value after imputation), so they cannot separate segments. Remove them from the "
                "features.")
        self.center_, self.scale_ = center, scale
        return X

    def _learn_scale(self, X: np.ndarray, fast: Any = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Centre and scale, and each column's range when it came with them (else None)."""
        n = X.shape[1]
        if self.scale is None:
            return np.zeros(n), np.ones(n), None
        if self.scale in ("standard", "sample"):
            ddof = 1 if self.scale == "sample" and X.shape[0] > 1 else 0
            if fast is not None and fast.numpy_order(X):
                # X.mean(axis=0) and X.std(axis=0, ddof=ddof), the same numbers
                sums, low, high = fast.column_sums_ranges(X)
                mean = sums / X.shape[0]
                squares = fast.column_squared_deviations(X, mean)
                return mean, np.sqrt(squares / (X.shape[0] - ddof)), high - low
            return X.mean(axis=0), X.std(axis=0, ddof=ddof), None
        if self.scale == "robust":
            q1, med, q3 = np.quantile(_columns(X), [0.25, 0.5, 0.75], axis=1)
            iqr = q3 - q1
            # a feature with IQR 0 but some spread falls back to its standard deviation
            return med, np.where(iqr > 0, iqr, X.std(axis=0)), None
        cols = _columns(X)
        lo, hi = cols.min(axis=1), cols.max(axis=1)
        return lo, hi - lo, None

    # -- applying ---------------------------------------------------------------------------
    def _apply_log(self, X: np.ndarray) -> np.ndarray:
        if not self.log1p_.any():
            return X
        X = X.copy()
        for j in np.flatnonzero(self.log1p_):  # in place, a column at a time (no temporaries)
            # values below -1 (unseen at fit time) would give NaN: floor them at 0 first
            np.maximum(X[:, j], 0.0, out=X[:, j])
            np.log1p(X[:, j], out=X[:, j])
        return X

    def transform_matrix(self, X: np.ndarray) -> np.ndarray:
        """Apply the learned preprocessing to a float matrix whose NaNs are missing values."""
        X = np.asarray(X, dtype=np.float64)
        nan = np.isnan(X)
        if nan.any():
            X = np.where(nan, self.impute_values_, X)
        del nan
        X = self._apply_log(X)
        if self.clip_low_ is not None:
            X = np.clip(X, self.clip_low_, self.clip_high_)
        return self._scale(X)

    def _scale(self, X: np.ndarray) -> np.ndarray:
        safe = np.where(self.scale_ == 0, 1.0, self.scale_)
        Z = X - self.center_
        Z /= safe  # (in place: one temporary less, the same numbers)
        return Z

    def inverse_transform_matrix(self, Z: np.ndarray) -> np.ndarray:
        """Map scaled points (e.g. centroids) back to original units."""
        X = np.asarray(Z, dtype=np.float64) * self.scale_ + self.center_
        if self.log1p_.any():
            X = X.copy()
            X[:, self.log1p_] = np.expm1(X[:, self.log1p_])
        return X

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "features": self.feature_names_,
            "impute": {"strategy": self.impute, "values": self.impute_values_.tolist()},
            "transform": {"method": self.log_transform if not isinstance(
                self.log_transform, list | tuple) else "listed", "log1p": self.log1p_.tolist()},
            "clip": None if self.clip_low_ is None else {
                "quantiles": list(self.clip), "low": self.clip_low_.tolist(),
                "high": self.clip_high_.tolist()},
            "scale": {"method": self.scale, "center": self.center_.tolist(),
                      "scale": self.scale_.tolist()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessor:
        try:
            clip = d["clip"]
            method = d["transform"]["method"]
            listed = [f for f, b in zip(d["features"], d["transform"]["log1p"], strict=True) if b]
            pre = cls(impute=d["impute"]["strategy"],
                      log_transform=listed if method == "listed" else method,
                      clip=None if clip is None else tuple(clip["quantiles"]),
                      scale=d["scale"]["method"])
            pre.feature_names_ = list(d["features"])
            n = len(pre.feature_names_)
            pre.impute_values_ = _vector(d["impute"]["values"], n, "impute.values")
            pre.log1p_ = np.asarray(d["transform"]["log1p"], dtype=bool)
            pre.clip_low_ = None if clip is None else _vector(clip["low"], n, "clip.low")
            pre.clip_high_ = None if clip is None else _vector(clip["high"], n, "clip.high")
            pre.center_ = _vector(d["scale"]["center"], n, "scale.center")
            pre.scale_ = _vector(d["scale"]["scale"], n, "scale.scale")
            pre.n_imputed_ = np.zeros(n, dtype=int)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"preprocessing section is malformed: {exc}") from exc
        if pre.log1p_.shape != (n,):
            raise ModelFormatError("preprocessing.transform.log1p must have one entry per feature")
        return pre


def _vector(values: Any, n: int, where: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n,):
        raise ModelFormatError(f"preprocessing.{where} must hold {n} numbers; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ModelFormatError(f"preprocessing.{where} holds a non-finite number")
    return arr
