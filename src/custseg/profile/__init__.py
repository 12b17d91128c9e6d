"""Segment profiles and names."""

from ._names import humanize, profile_indexes, segment_descriptions, segment_names
from ._profiles import categorical_profiles, distinguishing_features, segment_profiles

__all__ = ["categorical_profiles", "distinguishing_features", "humanize", "profile_indexes",
           "segment_descriptions", "segment_names", "segment_profiles"]
