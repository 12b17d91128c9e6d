"""Whether numba's cache holds custseg's kernels on this machine, without importing numba.

The first run on a machine compiles the kernels (about a minute on 2 cores, once; later runs
load them from the cache), so the status line says so instead of seeming stuck.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["cache_folder", "first_run_note", "kernels_compiled"]

#: The k-means pass, compiled by every clustering run: its index file marks a filled cache.
_MARKER = "_lloyd._lloyd_pass-*.nbi"


def cache_folder() -> Path | None:
    """The folder where numba caches the k-means kernels, or None when it cannot be told.

    Where numba looks first: under ``NUMBA_CACHE_DIR``, a folder named after the source folder
    and its path's SHA-1 (numba's ``UserProvidedCacheLocator``); else the ``__pycache__``
    folder beside the source, when writable (else numba picks a user-wide folder: None).
    """
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster")
    custom = os.environ.get("NUMBA_CACHE_DIR")
    if custom:
        return Path(custom) / f"cluster_{hashlib.sha1(source.encode()).hexdigest()}"
    folder = Path(source) / "__pycache__"
    return folder if os.access(folder if folder.is_dir() else source, os.W_OK) else None


def kernels_compiled() -> bool | None:
    """True when numba's cache holds the k-means kernel, False when it holds none, None when
    unknown. A cache made by another numba version, or for changed source, counts as filled:
    numba then compiles anyway."""
    folder = cache_folder()
    if folder is None:
        return None
    return folder.is_dir() and any(folder.glob(_MARKER))


def first_run_note(stage: str) -> str:
    """``stage``, with a note that the kernels are being compiled when the cache is empty."""
    if kernels_compiled() is False:
        return (f"{stage} (first run on this machine: numba compiles custseg's kernels, "
                "about a minute, once)")
    return stage
