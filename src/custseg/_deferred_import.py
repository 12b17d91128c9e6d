"""Defer a module's import until something uses it (for the ``custseg`` command's process).

scikit-learn's ``sklearn.utils.fixes`` runs ``import scipy.stats`` when ``sklearn.base`` is
imported, and that import takes ~0.7 s of CPU (``python -X importtime -c "import
sklearn.base"``) although nothing on custseg's paths calls scipy.stats. :func:`defer` puts a
placeholder module in ``sys.modules`` whose first attribute access imports the real module and
turns the placeholder into it (the real module's namespace is copied in, so names bound to the
placeholder keep working). ``import scipy.stats`` and imports of its submodules find the
placeholder and run nothing; ``from scipy.stats import norm`` or ``scipy.stats.norm`` load it.

Only :func:`custseg.cli.main` calls it, in a process custseg starts: importing custseg as a
library changes no module of the caller's. (``importlib.util.LazyLoader`` does not serve: on
Python 3.11 the import statement itself reads the module's ``__spec__``, which loads it.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

__all__ = ["defer"]


class _Deferred(types.ModuleType):
    """A placeholder that imports the real module on first use of a missing attribute."""


def defer(name: str) -> bool:
    """Put a placeholder for module ``name`` in ``sys.modules`` unless it is imported already.

    Returns whether a placeholder was installed (False: already imported, or not installed).
    """
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None:
        return False
    stub = _Deferred(name)
    stub.__spec__ = spec
    stub.__file__ = spec.origin
    stub.__package__ = name if spec.submodule_search_locations is not None else \
        name.rpartition(".")[0]
    if spec.submodule_search_locations is not None:
        stub.__path__ = list(spec.submodule_search_locations)  # submodules import as usual
    # Reentrant: the real module's own import may reach the placeholder (through the parent's
    # attribute) in the same thread; it then gets the module being imported, as any circular
    # import does. Another thread waits for the import to finish.
    lock = threading.RLock()

    def __getattr__(attr: str):  # noqa: N807 - a module's __getattr__ (PEP 562)
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # (probes such as __wrapped__ do not load it)
        with lock:
            if sys.modules.get(name) is stub:
                del sys.modules[name]
                try:
                    real = importlib.import_module(name)
                except BaseException:
                    sys.modules.setdefault(name, stub)
                    raise
                stub.__dict__.update(real.__dict__)  # (its own __getattr__ too, if it has one)
                if "__getattr__" not in real.__dict__:
                    del stub.__dict__["__getattr__"]
                _set_parent_attribute(name, real)
            real = sys.modules.get(name)
        if real is None or real is stub:
            raise AttributeError(f"module {name!r} has no attribute {attr!r} (yet)")
        return getattr(real, attr)

    stub.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = stub
    # the parent's attribute, as an import sets it: ``import numpy.f2py as f2py`` reads it (and
    # numpy's own __getattr__, which runs that very statement, would call itself forever)
    _set_parent_attribute(name, stub)
    return True


def _set_parent_attribute(name: str, module: types.ModuleType) -> None:
    """``parent.child`` is ``module`` (as the import system sets it)."""
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)
