"""The engine interface, and what happens without PySpark or Java (no Spark session needed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import custseg
from custseg.engines import (
    ENGINES,
    JAVA_MESSAGE,
    Engine,
    LocalEngine,
    SparkEngine,
    get_engine,
    get_spark,
)
from custseg.engines import _spark as spark_mod


def test_import_does_not_load_pyspark():
    code = "import sys, custseg, custseg.engines; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_pyspark_a_missing_dependency_error_names_the_extra():
    code = textwrap.dedent("""
        import sys
        sys.modules["pyspark"] = None  # as if not installed
        import custseg
        from custseg.engines import get_spark
        try:
            get_spark()
        except custseg.MissingDependencyError as exc:
            print("OK", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("OK The Spark engine needs the optional package 'pyspark'")
    assert "pip install 'custseg[spark]'" in out.stdout


def test_without_java_the_message_says_how_to_install_it(monkeypatch):
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is not None:
        pytest.skip("a SparkSession is already active in this process")
    monkeypatch.setattr(spark_mod, "java_available", lambda: False)
    with pytest.raises(custseg.CustsegError, match="Spark needs Java 17: install a JDK"):
        get_spark()
    assert "JAVA_HOME" in JAVA_MESSAGE


def test_get_engine():
    assert ENGINES == ("local", "spark")
    assert isinstance(get_engine("local"), LocalEngine)
    eng = get_engine("spark", master="local[1]", conf={"spark.sql.shuffle.partitions": "2"})
    assert isinstance(eng, SparkEngine) and eng.spark is None  # nothing started yet
    assert isinstance(eng, Engine) and isinstance(LocalEngine(), Engine)
    with pytest.raises(custseg.InvalidParameterError, match="must be one of"):
        get_engine("dask")  # type: ignore[arg-type]
    with pytest.raises(custseg.InvalidParameterError, match="need --engine spark"):
        get_engine("local", master="yarn")


def test_sql_helpers_quote_names_and_strings():
    assert spark_mod.sql_ident("a`b c") == "`a``b c`"
    assert spark_mod.sql_string("it's\\ok\n") == "'it\\'s\\\\ok\\n'"
