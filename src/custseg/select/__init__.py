"""How many segments? Many criteria, explicit guards, one recommendation with its reasons.

:func:`choose_k` fits every candidate k once, computes inertia, silhouette (one fixed sample),
Calinski–Harabasz, Davies–Bouldin, the gap statistic, a Gaussian-mixture BIC, bootstrap
stability and the smallest segment share, and combines them into a :class:`Choice`.
"""

from typing import Any

# Imported on first use (PEP 562), as in custseg.cluster: the partition scores of
# ``custseg.select._metrics`` (used for every segmentation's quality metrics) load without
# ``_choose`` and the scikit-learn mixture and clustering modules behind it (~0.4 s).
_LAZY = {"Choice": "._choose", "choose_k": "._choose"}

__all__ = ["Choice", "choose_k"]


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
