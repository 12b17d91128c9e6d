"""A deferred module is imported on first use, and works as the real one (custseg._deferred_import).

Each test runs in a fresh interpreter: the placeholder lives in ``sys.modules``, and this
process has scipy.stats imported already.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest


def _run(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_scikit_learn_imports_without_loading_scipy_stats_and_it_loads_on_use():
    out = _run("""
        import sys
        from custseg._deferred_import import defer
        assert defer("scipy.stats")
        import numpy as np
        import sklearn.base, sklearn.utils.fixes
        import scipy.stats as st
        print("loaded before use:", "scipy.stats._stats_py" in sys.modules)
        print("mode:", sklearn.utils.fixes._mode(np.array([1, 1, 2])).mode.item())
        import sklearn.metrics  # (choosing k: ``from scipy.stats import rankdata`` at import)
        from scipy.stats import norm
        print("cdf:", norm.cdf(0.0))
        # names bound to the placeholder see the real module's namespace
        print("same module:", sys.modules["scipy.stats"].norm is st.norm, st.norm is norm)
        import scipy
        print("parent attribute:", scipy.stats.norm is norm)
        print("defer again:", defer("scipy.stats"))
    """)
    assert "loaded before use: False" in out
    assert "mode: 1" in out
    assert "cdf: 0.5" in out
    assert "same module: True True" in out
    assert "parent attribute: True" in out
    assert "defer again: False" in out


def test_submodules_import_before_the_package_loads():
    out = _run("""
        import sys
        from custseg._deferred_import import defer
        defer("scipy.stats")
        from scipy.stats import qmc
        print("sobol:", qmc.Sobol(2, seed=0).random(4).shape)
        import scipy.stats
        print("ttest:", round(float(scipy.stats.ttest_1samp([1.0, 2.0, 3.0], 2.0).statistic), 6))
    """)
    assert "sobol: (4, 2)" in out
    assert "ttest: 0.0" in out


def test_threads_that_use_it_at_once_get_one_module():
    out = _run("""
        import sys, threading
        from custseg._deferred_import import defer
        defer("scipy.stats")
        import scipy.stats as st
        got, errors = [], []
        def use():
            try:
                got.append(st.norm)
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=use) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print("errors:", errors, "distinct:", len({id(g) for g in got}), len(got))
    """)
    assert "errors: [] distinct: 1 8" in out


def test_a_parent_whose_getattr_imports_the_module_does_not_recurse():
    # numpy's __getattr__("f2py") runs ``import numpy.f2py as f2py``, which reads the parent's
    # attribute: the placeholder must be that attribute, or numpy's __getattr__ calls itself
    out = _run("""
        import sys
        from custseg._deferred_import import defer
        defer("numpy.f2py")
        import numpy as np
        print("stub:", type(np.f2py).__name__)
        import scipy._lib.array_api_compat.numpy  # copies numpy's namespace, f2py included
        print("still deferred:", type(sys.modules["numpy.f2py"]).__name__)
        print("loads:", callable(np.f2py.run_main), np.f2py is sys.modules["numpy.f2py"])
    """)
    assert "stub: _Deferred" in out
    assert "still deferred: _Deferred" in out
    assert "loads: True True" in out


@pytest.mark.parametrize("name", ["json", "no_such_module_custseg"])
def test_nothing_is_deferred_when_imported_or_absent(name):
    out = _run(f"""
        import json, sys
        from custseg._deferred_import import defer
        print(defer({name!r}), {name!r} in sys.modules and type(sys.modules[{name!r}]).__name__)
    """)
    assert out.startswith("False")


def test_a_missing_attribute_still_raises_attribute_error():
    out = _run("""
        from custseg._deferred_import import defer
        defer("scipy.stats")
        import scipy.stats
        try:
            scipy.stats.no_such_function
        except AttributeError:
            print("AttributeError")
        print(callable(scipy.stats.norm.pdf))
    """)
    assert out.split() == ["AttributeError", "True"]


def test_segmenting_an_order_log_never_loads_scipy_stats_or_f2py(tmp_path):
    # the path of the end-to-end benchmark: an order log, a given k (choosing k, or other
    # algorithms, import parts of scikit-learn that load scipy.stats themselves)
    rng = np.random.default_rng(0)
    n = 3000
    log = pd.DataFrame({
        "InvoiceNo": (np.arange(n) // 3 + 500000).astype(str),
        "StockCode": "A1", "Quantity": rng.integers(1, 9, n),
        "InvoiceDate": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 300, n),
                                                                     unit="D"),
        "UnitPrice": rng.uniform(0.5, 20, n).round(2),
        "CustomerID": rng.integers(10000, 10400, n)})
    log.to_parquet(tmp_path / "log.parquet")
    out = _run(f"""
        import sys
        from custseg.cli import main
        main(["segment", {str(tmp_path / "log.parquet")!r}, "--transactions", "--k", "4",
              "--out", {str(tmp_path / "out")!r}, "--quiet"])
        print("scipy.stats loaded:", "scipy.stats._stats_py" in sys.modules)
        print("numpy.f2py loaded:", "numpy.f2py.f2py2e" in sys.modules)
        print("scipy.special loaded:", "scipy.special._ufuncs" in sys.modules)
    """)
    assert "scipy.stats loaded: False" in out
    assert "numpy.f2py loaded: False" in out
    assert "scipy.special loaded: False" in out
    assert (tmp_path / "out" / "report.html").exists()


def test_scipy_special_deferred_loads_on_use_and_scikit_learn_finds_it():
    out = _run("""
        import sys
        from custseg._deferred_import import defer
        defer("scipy.stats")  # (which uses scipy.special at import: the command defers both)
        assert defer("scipy.special")
        import sklearn.base
        print("loaded before use:", "scipy.special._ufuncs" in sys.modules)
        from sklearn.utils import _array_api
        from scipy.special import expit
        print(round(float(expit(0.0)), 3), _array_api.special.expit is expit)
    """)
    assert out.split() == ["loaded", "before", "use:", "False", "0.5", "True"]
