"""Deterministic, human names and one-sentence descriptions for segments."""

from __future__ import annotations

import re

import numpy as np

# |standardised difference| needed for a feature to be called out in a name
NOTABLE = 0.5
VERY = 1.5


def humanize(feature: str) -> str:
    """``"recency_days"`` → ``"recency days"``, ``"AnnualIncome"`` → ``"annual income"``."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(feature))
    return re.sub(r"[_\s]+", " ", text).strip().lower()


# Words for well-known customer features: (high, low). "High recency days" would confuse a
# reader (it means *long ago*), so such features get their own vocabulary.
VOCABULARY = {
    "recency_days": ("Lapsed", "Recent"),
    "recency": ("Lapsed", "Recent"),
    "days_since_last_order": ("Lapsed", "Recent"),
    "days_since_last_purchase": ("Lapsed", "Recent"),
    "frequency": ("Frequent", "Infrequent"),
    "monetary": ("High spend", "Low spend"),
    "tenure_days": ("Long-standing", "New"),
    "avg_order_value": ("Big baskets", "Small baskets"),
    "return_rate": ("Many returns", "Few returns"),
    "mean_days_between_orders": ("Long gaps between orders", "Short gaps between orders"),
}


def _term(feature: str, d: float) -> str:
    words = VOCABULARY.get(str(feature).lower())
    if words is not None:
        word = words[0] if d > 0 else words[1]
        return ("Very " + word[0].lower() + word[1:]) if abs(d) >= VERY and " " not in word \
            else word
    return f"{_level(d)} {humanize(feature)}"


def _level(d: float) -> str:
    if d >= VERY:
        return "Very high"
    if d >= NOTABLE:
        return "High"
    if d <= -VERY:
        return "Very low"
    if d <= -NOTABLE:
        return "Low"
    return "Average"


def segment_names(distinct: dict[int, list[tuple[str, float]]], max_terms: int = 2,
                  indexes: dict[int, dict[str, float]] | None = None) -> dict[int, str]:
    """Name each segment after its most distinguishing features, e.g. ``"High income · Low
    spending score"``; names are unique within the run.

    Parameters
    ----------
    distinct : dict
        Segment id → ``[(feature, standardised difference), ...]``, most distinguishing first
        (:func:`~custseg.profile.distinguishing_features`).
    max_terms : int, default=2
        Features named at most.
    indexes : dict, optional
        Segment id → ``{feature: index}`` (100 = average, :func:`profile_indexes`). A feature
        whose segment average is at least twice or at most half the overall average is named
        even when its standardised difference is small: on a log-scaled, heavy-tailed feature
        such as spend, the report's cards call it "much lower", and the name must agree.

    Notes
    -----
    Segments with no notable feature are called ``"Average customers"``. Where two segments
    would share a name, a further feature is added, and as a last resort the segment number.
    """
    indexes = indexes or {}
    names: dict[int, str] = {}
    for seg, diffs in distinct.items():
        terms = _terms(diffs, max_terms, index=indexes.get(seg))
        names[seg] = " · ".join(terms) if terms else "Average customers"
    for extra in range(max_terms + 1, max_terms + 4):
        dupes = _duplicates(names)
        if not dupes:
            break
        for seg in dupes:
            names[seg] = (" · ".join(_terms(distinct[seg], extra, notable=0.0,
                                            index=indexes.get(seg))) or names[seg])
    for seg in sorted(_duplicates(names)):
        names[seg] = f"{names[seg]} (segment {seg})"
    return names


def profile_indexes(profiles) -> dict[int, dict[str, float]]:
    """Segment id → ``{feature: index}`` from a profiles table's ``<feature>_index`` columns."""
    cols = [c for c in profiles.columns if str(c).endswith("_index")]
    return {int(row["segment"]): {c[:-len("_index")]: float(row[c]) for c in cols}
            for _, row in profiles.iterrows()}


def _index_direction(idx: float | None) -> float:
    """+1 / -1 when an index is at least twice / at most half the average, else 0."""
    if idx is None or not np.isfinite(idx) or idx <= 0:
        return 0.0
    return 1.0 if idx >= 200 else -1.0 if idx <= 50 else 0.0


def _terms(diffs: list[tuple[str, float]], n: int, notable: float = NOTABLE,
           index: dict[str, float] | None = None) -> list[str]:
    """Name terms for the most distinguishing features. A one-hot column ``"city=Oslo"`` reads
    ``"city: Oslo"`` when over-represented and is skipped when under-represented."""
    terms = []
    for f, d in diffs:
        if len(terms) == n:
            break
        if abs(d) < notable:
            direction = _index_direction((index or {}).get(f))
            if direction == 0.0:
                continue
            d = direction * NOTABLE  # "High …" / "Low …", as the report's cards read it
        if "=" in f:
            if d > 0:
                col, level = f.split("=", 1)
                terms.append(f"{humanize(col)}: {level}")
            continue
        terms.append(_term(f, d))
    return terms


def _duplicates(names: dict[int, str]) -> set[int]:
    seen: dict[str, list[int]] = {}
    for seg, name in names.items():
        seen.setdefault(name, []).append(seg)
    return {s for segs in seen.values() if len(segs) > 1 for s in segs}


def segment_descriptions(profiles, features: list[str], distinct: dict[int, list[tuple[str, float]]]
                         ) -> dict[int, str]:
    """One sentence per segment: its size and how its top features compare with the average."""
    out: dict[int, str] = {}
    for _, row in profiles.iterrows():
        seg = int(row["segment"])
        parts = []
        for f, d in distinct.get(seg, [])[:3]:
            idx = row.get(f"{f}_index")
            if idx is None or not np.isfinite(idx) or abs(d) < NOTABLE / 2:
                continue
            diff = idx - 100.0
            word = "above" if diff >= 0 else "below"
            parts.append(f"{humanize(f)} {abs(diff):.0f}% {word} average")
        body = "; ".join(parts) if parts else "close to the average on every feature"
        out[seg] = (f"{int(row['size']):,} customers ({100 * row['share']:.1f}%): {body}.")
    return out
