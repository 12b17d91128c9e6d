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


def segment_names(distinct: dict[int, list[tuple[str, float]]], max_terms: int = 2
                  ) -> dict[int, str]:
    """Name each segment after its most distinguishing features, e.g. ``"High income · Low
    spending score"``; names are unique within the run.

    Segments whose features are all within half a standard deviation of the average are called
    ``"Average customers"``. Where two segments would share a name, a further feature is added,
    and as a last resort the segment number.
    """
    names: dict[int, str] = {}
    for seg, diffs in distinct.items():
        terms = _terms(diffs, max_terms)
        names[seg] = " · ".join(terms) if terms else "Average customers"
    for extra in range(max_terms + 1, max_terms + 4):
        dupes = _duplicates(names)
        if not dupes:
            break
        for seg in dupes:
            names[seg] = " · ".join(_terms(distinct[seg], extra, notable=0.0)) or names[seg]
    for seg in sorted(_duplicates(names)):
        names[seg] = f"{names[seg]} (segment {seg})"
    return names


def _terms(diffs: list[tuple[str, float]], n: int, notable: float = NOTABLE) -> list[str]:
    """Name terms for the most distinguishing features. A one-hot column ``"city=Oslo"`` reads
    ``"city: Oslo"`` when over-represented and is skipped when under-represented."""
    terms = []
    for f, d in diffs:
        if len(terms) == n:
            break
        if abs(d) < notable:
            continue
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
