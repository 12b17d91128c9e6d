"""How many segments? Many criteria, explicit guards, one recommendation with its reasons.

:func:`choose_k` fits every candidate k once, computes inertia, silhouette (one fixed sample),
Calinski–Harabasz, Davies–Bouldin, the gap statistic, a Gaussian-mixture BIC, bootstrap
stability and the smallest segment share, and combines them into a :class:`Choice`.
"""

from ._choose import Choice, choose_k

__all__ = ["Choice", "choose_k"]
