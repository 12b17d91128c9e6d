"""The model file: to and from JSON, validated on load, and assignment of customers."""

from ._model import FORMAT_VERSION, SegmentModel, feature_matrix, load_model

__all__ = ["FORMAT_VERSION", "SegmentModel", "feature_matrix", "load_model"]
