"""The fitted segmentation model as plain data: JSON in, JSON out, validated, never executed."""

from __future__ import annotations

import datetime as _dt
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import ColumnNotFoundError, ModelFormatError, SchemaError
from .._frame import to_pandas
from .._version import __version__
from ..prep import CategoricalEncoder, Preprocessor, parse_numeric

FORMAT = "custseg.model"
FORMAT_VERSION = 1
MAX_MODEL_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
MAX_ITEMS = 10_000  # items of any one list (the schema's limit for segments and numbers)
MAX_VALUES = 1_000_000  # values in all (a model of 1,000 features x 100 segments holds ~1e6)
# A customer is flagged out of distribution when its distance to the nearest centroid exceeds
# this multiple of that segment's 99th-percentile training distance.
OOD_FACTOR = 1.5
# Larger feature values are refused like text: no customer measure is that large, and their
# squares (variances, distances) would overflow float64 to inf.
MAX_ABS_VALUE = 1e100


@lru_cache(maxsize=1)
def _schema() -> dict:
    text = resources.files("custseg.model").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


def feature_matrix(frame: pd.DataFrame, features: list[str], *, source: str | None = None,
                   on_invalid: str = "raise") -> tuple[np.ndarray, np.ndarray]:
    """Extract ``features`` from ``frame`` as float64 (NaN = missing).

    Returns the matrix and a boolean mask of cells that held text that is not a number (``NaN``
    in the matrix). With ``on_invalid="raise"`` the first such cell raises :class:`SchemaError`
    naming its row and column.
    """
    missing_cols = [f for f in features if f not in frame.columns]
    if missing_cols:
        raise ColumnNotFoundError(missing_cols[0], frame.columns, source=source,
                                  what="feature column")
    X = np.empty((len(frame), len(features)), dtype=np.float64)
    invalid = np.zeros_like(X, dtype=bool)
    for j, f in enumerate(features):
        parsed = parse_numeric(frame[f])
        X[:, j] = parsed.values
        invalid[:, j] = parsed.invalid
        with np.errstate(invalid="ignore"):
            huge = np.abs(parsed.values) > MAX_ABS_VALUE  # inf, and squares that overflow
        if huge.any():
            invalid[:, j] |= huge
            X[huge, j] = np.nan
    if on_invalid == "raise" and invalid.any():
        i, j = np.argwhere(invalid)[0]
        value = frame[features[j]].iloc[i]
        where = f" of {source}" if source else ""
        raise SchemaError(
            f"Row {i + 1}{where}, column {features[j]!r}: {value!r} is not a number "
            f"({int(invalid[:, j].sum())} such value(s) in that column). Fix or blank those cells, "
            "or run the command-line tool, which writes such rows to rejects.csv.")
    return X, invalid


class SegmentModel:
    """A fitted segmentation: preprocessing, centroids and named segments.

    Create one with :class:`custseg.Segmenter` (``Segmenter.model_``) or :func:`load_model`.
    """

    def __init__(self, *, id_column: str | None, preprocessor: Preprocessor,
                 centroids_scaled: np.ndarray, segments: list[dict[str, Any]],
                 algorithm: dict[str, Any], engine: str = "local",
                 derivation: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
                 created: str | None = None, custseg_version: str = __version__,
                 encoder: CategoricalEncoder | None = None):
        self.id_column = id_column
        self.preprocessor = preprocessor
        self.encoder = encoder
        self.centroids_scaled = np.asarray(centroids_scaled, dtype=np.float64)
        self.segments = segments
        self.algorithm = algorithm
        self.engine = engine
        self.derivation = derivation
        self.metrics = metrics
        self.created = created or _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        self.custseg_version = custseg_version

    # -- properties -------------------------------------------------------------------------
    @property
    def features(self) -> list[str]:
        """Numeric feature columns."""
        return list(self.preprocessor.feature_names_)

    @property
    def categorical(self) -> list[str]:
        """Categorical feature columns (one-hot encoded)."""
        return list(self.encoder.columns_) if self.encoder is not None else []

    @property
    def all_features(self) -> list[str]:
        return self.features + self.categorical

    @property
    def segment_ids(self) -> np.ndarray:
        return np.array([s["id"] for s in self.segments], dtype=np.int64)

    @property
    def names(self) -> dict[int, str]:
        return {int(s["id"]): s["name"] for s in self.segments}

    # -- assignment -------------------------------------------------------------------------
    def scaled(self, X: Any, numeric: np.ndarray | None = None) -> np.ndarray:
        """The preprocessed feature matrix of ``X`` (a table, or an array in feature order).

        ``numeric``: the numeric features of ``X`` already parsed (NaN = missing), to skip
        parsing them again."""
        if isinstance(X, np.ndarray) and X.ndim == 2 and self.encoder is None:
            M = X.astype(np.float64)
            if M.shape[1] != len(self.features):
                raise ValueError(f"X has {M.shape[1]} features, but the model is expecting "
                                 f"{len(self.features)} features as input.")
            return self.preprocessor.transform_matrix(M)
        frame = to_pandas(X)
        absent = [f for f in self.categorical if f not in frame.columns]
        if absent:
            raise ColumnNotFoundError(absent[0], frame.columns, what="categorical column")
        M = numeric if numeric is not None else feature_matrix(frame, self.features)[0]
        Z = self.preprocessor.transform_matrix(M)
        if self.encoder is not None:
            Z = np.hstack([Z, self.encoder.one_hot(frame)])
        return Z

    def _nearest(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Index of nearest and second-nearest centroid distances for each row of ``Z``."""
        C = self.centroids_scaled
        # ||z - c||^2 = ||z||^2 - 2 z.c + ||c||^2, in blocks to bound memory
        d2 = np.empty((Z.shape[0], C.shape[0]))
        cc = (C * C).sum(axis=1)
        for start in range(0, Z.shape[0], 262_144):
            z = Z[start:start + 262_144]
            d2[start:start + len(z)] = (z * z).sum(axis=1)[:, None] - 2.0 * z @ C.T + cc
        np.maximum(d2, 0.0, out=d2)
        if self.algorithm.get("name") == "gmm":
            return self._gmm_nearest(Z, d2)
        rows = np.arange(len(Z))
        best = d2.argmin(axis=1)  # the first of equal minima: deterministic ties
        dist = np.sqrt(d2[rows, best])
        if C.shape[0] > 1:
            d2[rows, best] = np.inf
            second = np.sqrt(d2.min(axis=1))
        else:
            second = np.full(len(Z), np.inf)
        return best, dist, second

    def _gmm_nearest(self, Z: np.ndarray, d2: np.ndarray):
        """Most probable mixture component (not the nearest centroid) for GMM models."""
        best = self._gmm_log_resp(Z).argmax(axis=1)
        rows = np.arange(len(Z))
        dist = np.sqrt(d2[rows, best])
        other = d2.copy()
        other[rows, best] = np.inf
        second = np.sqrt(other.min(axis=1)) if d2.shape[1] > 1 else np.full(len(Z), np.inf)
        return best, dist, second

    def _gmm_log_resp(self, Z: np.ndarray) -> np.ndarray:
        p = self.algorithm["params"]
        weights = np.asarray(p["weights"], dtype=float)
        cov = np.asarray(p["covariances"], dtype=float)
        k, d = self.centroids_scaled.shape
        out = np.empty((len(Z), k))
        for j in range(k):
            c = cov[j] if cov.ndim == 3 else np.diag(cov[j])
            L = np.linalg.cholesky(c)
            y = np.linalg.solve(L, (Z - self.centroids_scaled[j]).T)
            out[:, j] = (np.log(weights[j]) - np.log(np.diag(L)).sum()
                         - 0.5 * (y * y).sum(axis=0) - 0.5 * d * np.log(2 * np.pi))
        out -= out.max(axis=1, keepdims=True)
        out -= np.log(np.exp(out).sum(axis=1, keepdims=True))
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Membership probabilities (GMM models only), columns in the order of ``segments``."""
        if self.algorithm.get("name") != "gmm":
            raise SchemaError("Membership probabilities exist only for algorithm='gmm'.")
        return np.exp(self._gmm_log_resp(self.scaled(X)))

    def predict(self, X: Any) -> np.ndarray:
        """Segment id of each customer of ``X``."""
        best, _, _ = self._nearest(self.scaled(X))
        return self.segment_ids[best]

    def assign(self, X: Any, numeric: np.ndarray | None = None) -> pd.DataFrame:
        """Assign customers: ID (when the model has one and ``X`` holds it), ``segment``,
        ``segment_name``, ``distance`` (to the centroid, scaled units), ``margin`` (distance to the
        second-nearest centroid minus ``distance``) and ``out_of_distribution``.

        ``numeric``: the numeric features of ``X`` already parsed (see :meth:`scaled`)."""
        frame = to_pandas(X)
        best, dist, second = self._nearest(self.scaled(frame, numeric))
        if not np.isfinite(dist).all():  # finite but absurd numbers in a tampered model
            raise ModelFormatError("The model's numbers are out of range: distances to its "
                                   "centroids overflow. Refit the model.")
        ids = self.segment_ids[best]
        names = np.array([s["name"] for s in self.segments], dtype=object)
        q99 = np.array([s.get("distance_q99", np.inf) for s in self.segments])[best]
        out = pd.DataFrame({
            "segment": ids,
            "segment_name": names[best],
            "distance": dist,
            "margin": second - dist,
            "out_of_distribution": dist > OOD_FACTOR * q99,
        })
        if self.id_column is not None and self.id_column in frame.columns:
            if self.id_column in out.columns:
                raise SchemaError(f"The model's ID column {self.id_column!r} has the name of an "
                                  "output column; rename it in the data and refit the model.")
            out.insert(0, self.id_column, frame[self.id_column].to_numpy())
        return out

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        pre = self.preprocessor.to_dict()
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "custseg_version": self.custseg_version,
            "created": self.created,
            "engine": self.engine,
            "input": {"id_column": self.id_column,
                      "features": [{"name": f, "type": "numeric"} for f in self.features]
                      + [{"name": f, "type": "categorical"} for f in self.categorical]},
            "derivation": self.derivation,
            "preprocessing": pre | {"categorical": None if self.encoder is None
                                    else self.encoder.to_dict()},
            "algorithm": self.algorithm,
            "metrics": self.metrics,
            "segments": [
                {**s, "centroid_scaled": self.centroids_scaled[i].tolist()}
                for i, s in enumerate(self.segments)
            ],
        }

    def to_json(self) -> str:
        return json.dumps(_json_safe(self.to_dict()), indent=2, allow_nan=False,
                          ensure_ascii=False)

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON, atomically."""
        from ..io import write_text

        path = Path(path)
        write_text(self.to_json() + "\n", path)
        return path

    @classmethod
    def from_dict(cls, d: Any) -> SegmentModel:
        """Validate ``d`` against the schema and build the model; :class:`ModelFormatError`
        names the failing path otherwise."""
        import jsonschema

        if not isinstance(d, dict):
            raise ModelFormatError("A model file must hold a JSON object at its top level.")
        if d.get("format") != FORMAT:
            raise ModelFormatError(f"Not a custseg model: 'format' is {d.get('format')!r}, "
                                   f"expected {FORMAT!r}.")
        version = d.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
            raise ModelFormatError(
                f"Model format_version {version!r} is not supported by custseg {__version__} "
                f"(supports 1 to {FORMAT_VERSION}). Upgrade custseg to read it.")
        if version < 1:
            raise ModelFormatError(f"Model format_version {version!r} is not valid.")
        validator = jsonschema.Draft202012Validator(_schema())
        error = next(iter(sorted(validator.iter_errors(d), key=lambda e: list(e.absolute_path))),
                     None)
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            raise ModelFormatError(f"Model file is invalid at {path}: {error.message[:300]}")
        pre = Preprocessor.from_dict(d["preprocessing"])
        if not (pre.scale_ > 0).all():  # custseg never writes one: it would divide by zero
            raise ModelFormatError("preprocessing.scale.scale must hold positive numbers.")
        cat = d["preprocessing"].get("categorical")
        encoder = CategoricalEncoder.from_dict(cat) if cat else None
        feats = [f["name"] for f in d["input"]["features"] if f["type"] == "numeric"]
        cats = [f["name"] for f in d["input"]["features"] if f["type"] == "categorical"]
        if feats != pre.feature_names_ or cats != (encoder.columns_ if encoder else []):
            raise ModelFormatError("input.features and preprocessing disagree.")
        n = len(feats)
        n_scaled = n + (encoder.n_output_ if encoder else 0)
        segs = d["segments"]
        for i, s in enumerate(segs):
            if len(s["centroid_scaled"]) != n_scaled or len(s["centroid"]) != n:
                raise ModelFormatError(f"segments/{i}: every centroid must hold {n} numbers "
                                       f"(one per numeric feature; {n_scaled} when scaled).")
        C = np.array([s["centroid_scaled"] for s in segs], dtype=np.float64)
        if not np.isfinite(C).all():
            raise ModelFormatError("segments: a centroid holds a non-finite number.")
        ids = [s["id"] for s in segs]
        if len(set(ids)) != len(ids):
            raise ModelFormatError("segments: segment ids must be unique.")
        if d["algorithm"]["name"] == "gmm":
            _check_gmm(d["algorithm"]["params"], len(segs), n_scaled)
        segments = [{k: v for k, v in s.items() if k != "centroid_scaled"} for s in segs]
        return cls(id_column=d["input"]["id_column"], preprocessor=pre, centroids_scaled=C,
                   segments=segments, algorithm=d["algorithm"], engine=d["engine"],
                   derivation=d.get("derivation"), metrics=d.get("metrics"),
                   created=d["created"], custseg_version=d["custseg_version"], encoder=encoder)

    @classmethod
    def from_json(cls, text: str | bytes) -> SegmentModel:
        if len(text) > MAX_MODEL_BYTES:
            raise ModelFormatError(f"Model file is larger than {MAX_MODEL_BYTES // 2**20} MiB; "
                                   "refusing to load it.")
        try:
            d = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
        except RecursionError as exc:
            raise ModelFormatError("Model file is nested too deeply.") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelFormatError(f"Model file is not valid JSON: {exc}") from exc
        _check_size(d)
        return cls.from_dict(d)

    @classmethod
    def load(cls, path: str | Path) -> SegmentModel:
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_MODEL_BYTES:
                raise ModelFormatError(f"{path}: larger than {MAX_MODEL_BYTES // 2**20} MiB; "
                                       "refusing to load it.")
            data = path.read_bytes()
        except OSError as exc:
            from .._exceptions import InputFileError

            raise InputFileError(f"Cannot read model file {path}: {exc.strerror or exc}.") from exc
        try:
            return cls.from_json(data)
        except ModelFormatError as exc:
            raise ModelFormatError(f"{path}: {exc}") from None


def _check_gmm(params: dict, k: int, d: int) -> None:
    """A mixture's weights (k, positive) and covariances ((k, d, d) positive definite, or
    (k, d) positive diagonals), which assignment uses."""
    try:
        w = np.asarray(params["weights"], dtype=np.float64)
        cov = np.asarray(params["covariances"], dtype=np.float64)
        ok = (w.shape == (k,) and cov.shape in ((k, d, d), (k, d)) and np.isfinite(w).all()
              and (w > 0).all() and np.isfinite(cov).all())
        if ok:
            for c in cov:
                np.linalg.cholesky(c if c.ndim == 2 else np.diag(c))
    except (KeyError, TypeError, ValueError, np.linalg.LinAlgError):
        ok = False
    if not ok:
        raise ModelFormatError(f"algorithm.params: a gmm model needs {k} positive weights and "
                               f"{k} positive definite {d}x{d} covariances (or diagonals).")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name} (NaN/Infinity are not allowed)")


def _parse_int(text: str) -> int:
    """A JSON integer, refused beyond int64: custseg writes none, and a 400-digit one would
    overflow every conversion to a number array later (``OverflowError``, not a clear error)."""
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ModelFormatError(f"Model file holds the integer {text[:20]}… ({len(text)} digits), "
                               "out of range; the file is corrupt.")
    return value


def _check_size(obj: Any) -> None:
    """Refuse deep nesting, long lists and too many values before the schema check, whose
    time grows with every value (tens of seconds for a few million)."""
    stack, nodes = [(obj, 0)], 0
    while stack:
        value, level = stack.pop()
        nodes += 1
        if level > MAX_DEPTH:
            raise ModelFormatError("Model file is nested too deeply.")
        if nodes > MAX_VALUES:
            raise ModelFormatError(f"Model file holds more than {MAX_VALUES:,} values; "
                                   "refusing to load it.")
        if isinstance(value, list) and len(value) > MAX_ITEMS:
            raise ModelFormatError(f"Model file holds a list of {len(value):,} items (at most "
                                   f"{MAX_ITEMS:,} are allowed).")
        if isinstance(value, dict | list):
            stack.extend((v, level + 1) for v in (value.values() if isinstance(value, dict)
                                                  else value))


def _json_safe(obj: Any) -> Any:
    """NaN/inf → None, numpy scalars → Python, so the model is strict JSON."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def load_model(path: str | Path) -> SegmentModel:
    """Load a model file written by :meth:`custseg.Segmenter.save`.

    Raises
    ------
    ModelFormatError
        The file is malformed, truncated, tampered with, or of a newer format version.
    InputFileError
        The file cannot be read.
    """
    return SegmentModel.load(path)
