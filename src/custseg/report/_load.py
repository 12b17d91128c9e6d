"""Read what the report needs from an output folder, tolerating absent optional files.

Only ``summary.json`` is required. Everything else is optional and its absence (or a file that
cannot be read) becomes a note in the report instead of an error: a report that shows what it can
is more useful than none. Customer IDs are never read here unless the caller asks for them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import InputFileError
from ._text import clean_text, is_number

logger = logging.getLogger(__name__)

#: Statistics per feature that profiles.csv holds, as ``<feature>_<stat>``.
PROFILE_STATS = ("mean", "median", "q25", "q75", "index")
#: Columns of ``report_sample.parquet`` / ``features.parquet`` the optional sections use.
RFM_COLUMNS = ("r_score", "f_score", "m_score", "rfm_segment")
PROBABILITY_COLUMN = "probability"
SAMPLE_LIMIT = 5000


@dataclass
class Segment:
    """One segment as the report shows it."""

    id: int
    name: str
    description: str = ""
    size: int | None = None
    share: float | None = None
    distinguishing: list[tuple[str, float]] = field(default_factory=list)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)  # feature → stat → value
    #: categorical levels, ``"<column>=<level>"`` → {"share": …, "lift": …}
    levels: dict[str, dict[str, float]] = field(default_factory=dict)
    centroid_scaled: list[float] | None = None


@dataclass
class ReportData:
    """Everything read from an output folder."""

    out: Path
    summary: dict[str, Any]
    model: dict[str, Any] | None
    features: list[str]
    segments: list[Segment]
    sample: pd.DataFrame | None
    rfm: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)

    @property
    def k_selection(self) -> dict[str, Any] | None:
        ks = self.summary.get("k_selection")
        return ks if isinstance(ks, dict) and ks else None


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _float(v: Any) -> float:
    return float(v) if is_number(v) else float("nan")


def load_report_data(out_dir: str | Path) -> ReportData:
    """Read ``summary.json``, ``model.json``, ``profiles.csv``, ``report_sample.parquet`` and,
    when present, the RFM fields of ``features.parquet`` from ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Output folder of ``custseg segment``.

    Returns
    -------
    ReportData

    Raises
    ------
    InputFileError
        When ``out_dir`` has no readable ``summary.json``.
    """
    out = Path(out_dir)
    notes: list[str] = []
    summary_path = out / "summary.json"
    try:
        summary = _read_json(summary_path)
    except FileNotFoundError:
        raise InputFileError(
            f"{out} is not a custseg output folder: it has no summary.json. Pass the --out "
            "folder of `custseg segment`.") from None
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{summary_path} cannot be read as JSON: {exc}") from exc
    if not isinstance(summary, dict):
        raise InputFileError(f"{summary_path} must hold a JSON object.")

    model: dict[str, Any] | None = None
    try:
        loaded = _read_json(out / "model.json")
        model = loaded if isinstance(loaded, dict) else None
    except FileNotFoundError:
        notes.append("model.json is absent: segment descriptions, distinguishing features and "
                     "the customer map's scaling come from the other files or are left out.")
    except (OSError, ValueError) as exc:
        notes.append(f"model.json could not be read ({clean_text(exc)[:200]}).")

    features = _features(summary, model)
    categorical = [clean_text(c) for c in (summary.get("categorical_features") or [])
                   if isinstance(c, str)]
    profiles = _read_profiles(out / "profiles.csv", notes)
    segments = _segments(summary, model, profiles, features)
    sample = _read_sample(out / "report_sample.parquet", summary, features, notes)
    rfm = _read_rfm(out / "features.parquet", sample, notes)
    return ReportData(out=out, summary=summary, model=model, features=features,
                      segments=segments, sample=sample, rfm=rfm, notes=notes,
                      categorical=categorical)


def _features(summary: dict[str, Any], model: dict[str, Any] | None) -> list[str]:
    feats = summary.get("features")
    if isinstance(feats, list) and feats:
        return [clean_text(f) for f in feats]
    try:
        return [clean_text(f["name"]) for f in model["input"]["features"]]  # type: ignore[index]
    except (TypeError, KeyError):
        return []


def _read_profiles(path: Path, notes: list[str]) -> pd.DataFrame | None:
    if not path.exists():
        notes.append("profiles.csv is absent: per-feature statistics come from model.json.")
        return None
    try:
        # names come from model.json/summary.json (exact JSON); only numbers are read here
        return pd.read_csv(path, dtype={"segment_name": "string"})
    except (OSError, ValueError) as exc:
        notes.append(f"profiles.csv could not be read ({clean_text(exc)[:200]}).")
        return None


def _segments(summary: dict[str, Any], model: dict[str, Any] | None,
              profiles: pd.DataFrame | None, features: list[str]) -> list[Segment]:
    by_id: dict[int, Segment] = {}
    for s in (summary.get("segments") or []):
        if isinstance(s, dict) and is_number(s.get("segment")):
            sid = int(s["segment"])
            by_id[sid] = Segment(id=sid, name=clean_text(s.get("name", f"Segment {sid}")),
                                 description=clean_text(s.get("description") or ""),
                                 size=int(s["size"]) if is_number(s.get("size")) else None,
                                 share=_float(s.get("share")) if is_number(s.get("share"))
                                 else None)
    model_segments = (model or {}).get("segments") or []
    for s in model_segments:
        if not isinstance(s, dict) or not is_number(s.get("id")):
            continue
        sid = int(s["id"])
        seg = by_id.setdefault(sid, Segment(id=sid, name=f"Segment {sid}"))
        if isinstance(s.get("name"), str):
            seg.name = clean_text(s["name"])
        if isinstance(s.get("description"), str) and s["description"]:
            seg.description = clean_text(s["description"])
        if is_number(s.get("size")):
            seg.size = int(s["size"])
        if is_number(s.get("share")):
            seg.share = float(s["share"])
        seg.distinguishing = [
            (clean_text(d["feature"]), float(d["std_diff"]))
            for d in (s.get("distinguishing") or [])
            if isinstance(d, dict) and "feature" in d and is_number(d.get("std_diff"))]
        if isinstance(s.get("centroid_scaled"), list):
            seg.centroid_scaled = [_float(v) for v in s["centroid_scaled"]]
        profile = s.get("profile")
        if isinstance(profile, dict):
            for f in features:
                for stat in PROFILE_STATS:
                    v = profile.get(f"{f}_{stat}")
                    if is_number(v):
                        seg.stats.setdefault(f, {})[stat] = float(v)
            for key, v in profile.items():
                if "=" in str(key) and is_number(v):
                    for stat in ("share", "lift"):
                        if str(key).endswith(f"_{stat}"):
                            level = clean_text(str(key)[: -len(stat) - 1])
                            seg.levels.setdefault(level, {})[stat] = float(v)
    if profiles is not None and "segment" in profiles.columns:
        for _, row in profiles.iterrows():
            if not is_number(row["segment"]):
                continue
            sid = int(row["segment"])
            name = row.get("segment_name")
            seg = by_id.setdefault(sid, Segment(
                id=sid, name=clean_text(name) if isinstance(name, str) else f"Segment {sid}"))
            if seg.size is None and is_number(row.get("size")):
                seg.size = int(row["size"])
            if seg.share is None and is_number(row.get("share")):
                seg.share = float(row["share"])
            for f in features:
                for stat in PROFILE_STATS:
                    col = f"{f}_{stat}"
                    if col in profiles.columns and is_number(row[col]):
                        seg.stats.setdefault(f, {})[stat] = float(row[col])
    segments = [by_id[s] for s in sorted(by_id, key=segment_order)]
    total = sum(s.size or 0 for s in segments)
    for s in segments:
        if s.share is None and s.size is not None and total:
            s.share = s.size / total
    return segments


def segment_order(segment_id: int) -> tuple[bool, int]:
    """Sort key: segments 0, 1, 2, … first, then noise (ids < 0)."""
    return (segment_id < 0, segment_id)


def _read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns).to_pandas()


def _read_sample(path: Path, summary: dict[str, Any], features: list[str], notes: list[str]
                 ) -> pd.DataFrame | None:
    if not path.exists():
        notes.append("report_sample.parquet is absent: the customer map and the distributions "
                     "are left out.")
        return None
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        id_col = summary.get("id_column")
        # the sample never holds IDs by contract; drop the ID column anyway should one appear
        wanted = [c for c in names if c != id_col and (
            c in features or c in ("segment", PROBABILITY_COLUMN) or c in RFM_COLUMNS)]
        if "segment" not in wanted:
            notes.append("report_sample.parquet has no 'segment' column; it is not used.")
            return None
        sample = _read_parquet(path, wanted)
    except (OSError, ValueError) as exc:
        notes.append(f"report_sample.parquet could not be read ({clean_text(exc)[:200]}).")
        return None
    sample = sample[pd.to_numeric(sample["segment"], errors="coerce").notna()]
    sample["segment"] = sample["segment"].astype(np.int64)
    if len(sample) > SAMPLE_LIMIT:
        sample = sample.sample(n=SAMPLE_LIMIT, random_state=0).sort_index()
    return sample.reset_index(drop=True)


def _read_rfm(path: Path, sample: pd.DataFrame | None, notes: list[str]) -> pd.DataFrame | None:
    """R and F scores (and RFM segment names) of every customer, or of the sample."""
    if path.exists():
        try:
            import pyarrow.parquet as pq

            names = pq.read_schema(path).names
            cols = [c for c in RFM_COLUMNS if c in names]
            if "r_score" in cols and "f_score" in cols:
                return _read_parquet(path, cols)
        except (OSError, ValueError) as exc:
            notes.append(f"features.parquet could not be read ({clean_text(exc)[:200]}).")
    if sample is not None and "r_score" in sample.columns and "f_score" in sample.columns:
        return sample[[c for c in RFM_COLUMNS if c in sample.columns]]
    return None


def read_example_ids(out: Path, id_column: str | None, per_segment: int = 5
                     ) -> dict[int, list[str]] | None:
    """The ``per_segment`` customers closest to each segment's centre (its most typical), from
    ``segments.csv`` or ``segments.parquet``; ``None`` when there is no ID column or file."""
    if not id_column:
        return None
    try:
        if (out / "segments.parquet").exists():
            frame = _read_parquet(out / "segments.parquet", [id_column, "segment", "distance"])
        elif (out / "segments.csv").exists():
            frame = pd.read_csv(out / "segments.csv", usecols=[id_column, "segment", "distance"],
                                dtype={id_column: "string"}, keep_default_na=False)
        else:
            return None
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("example customers left out: %s", exc)
        return None
    frame = frame.assign(distance=pd.to_numeric(frame["distance"], errors="coerce"))
    out_ids: dict[int, list[str]] = {}
    for sid, part in frame.groupby("segment", sort=True):
        if not is_number(sid):
            continue
        best = part.nsmallest(per_segment, "distance")
        out_ids[int(sid)] = [clean_text(v) for v in best[id_column].tolist()]
    return out_ids
