"""Stable segment identity between runs: match new segments to old ones (Hungarian algorithm)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._exceptions import SchemaError
from ..model import SegmentModel


@dataclass
class Alignment:
    """How the segments of a new run map onto those of a previous run."""

    new_to_old: dict[int, int]  # new segment id → the id it takes (old id, or a fresh one)
    matched: dict[int, int]  # new id → old id, for the matched pairs
    new_segments: list[int]  # new ids (after alignment) that match no old segment
    vanished: list[int]  # old ids no new segment matched
    distances: dict[int, float] = field(default_factory=dict)  # new id → centroid distance

    def to_dict(self) -> dict:
        return {"matched": {str(k): v for k, v in self.matched.items()},
                "new_segments": self.new_segments, "vanished_segments": self.vanished,
                "centroid_distances": {str(k): round(v, 6) for k, v in self.distances.items()}}


def align_segments(new: SegmentModel, old: SegmentModel, tolerance: float = 1.0) -> Alignment:
    """Match ``new``'s segments to ``old``'s by optimal assignment on centroid distance.

    Both models' centroids (original units) are put through the *new* model's preprocessing, so
    distances are in one space. A pair of the optimal assignment (Hungarian algorithm) is kept
    when the old centroid lies closer to the new one than ``tolerance`` times the distance from
    that new centroid to its nearest other new centroid — i.e. the old segment's centre still
    falls in the new segment's own neighbourhood. The threshold is relative, not absolute,
    because segments drift with the period (a year-long log has larger recencies than a
    half-year one) while staying the same segments. Unmatched new segments get a fresh id (one
    more than any id either run used); unmatched old ones are reported as vanished.
    """
    if new.features != old.features:
        missing = sorted(set(old.features) ^ set(new.features))
        raise SchemaError(
            "The previous model was fitted on other features "
            f"({', '.join(map(repr, missing))} differ); segments can only be matched between "
            "runs on the same features.")
    pre = new.preprocessor
    old_c = np.array([s["centroid"] for s in old.segments], dtype=float)
    new_c = np.array([s["centroid"] for s in new.segments], dtype=float)
    A = pre.transform_matrix(new_c)
    B = pre.transform_matrix(old_c)
    D = np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2))
    rows, cols = linear_sum_assignment(D)
    NN = np.sqrt(((A[:, None, :] - A[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(NN, np.inf)
    reach = tolerance * NN.min(axis=1)
    new_ids = new.segment_ids.tolist()
    old_ids = old.segment_ids.tolist()
    matched: dict[int, int] = {}
    distances: dict[int, float] = {}
    for r, c in zip(rows, cols, strict=True):
        if D[r, c] <= reach[r]:
            matched[new_ids[r]] = old_ids[c]
            distances[new_ids[r]] = float(D[r, c])
    next_id = max(old_ids + new_ids) + 1
    mapping: dict[int, int] = {}
    fresh: list[int] = []
    for nid in new_ids:
        if nid in matched:
            mapping[nid] = matched[nid]
        else:
            mapping[nid] = next_id
            fresh.append(next_id)
            next_id += 1
    vanished = [o for o in old_ids if o not in matched.values()]
    return Alignment(mapping, matched, fresh, vanished, distances)
