"""The engine interface, and what happens without PySpark or Java (no Spark session needed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

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


def test_sessions_custseg_builds_log_errors_only(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARK_HOME", raising=False)
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    extra = spark_mod.quiet_conf({})
    option = extra["spark.driver.extraJavaOptions"]
    assert option.startswith("-Dlog4j2.configurationFile=")
    text = Path(option.split("=", 1)[1]).read_text(encoding="utf-8")
    assert text == spark_mod.LOG4J2_PROPERTIES and "rootLogger.level = error" in text
    # the user's (or the cluster's) Java options and log level are left alone
    assert spark_mod.quiet_conf({"spark.driver.extraJavaOptions": "-Dx=1"}) == {}
    assert spark_mod.quiet_conf({"spark.log.level": "INFO"}) == {}
    (tmp_path / "spark-defaults.conf").write_text(
        "# cluster\nspark.driver.extraJavaOptions -Dlog4j2.configurationFile=/etc/l.xml\n")
    assert spark_mod.quiet_conf({}) == {}


def test_only_pysparks_pandas3_warning_is_silenced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spark_mod.quiet_pyspark_warnings()
        warnings.warn("PySpark does not yet fully support pandas >= 3.0.0. Some features may "
                      "not work correctly.", FutureWarning, stacklevel=1)
        warnings.warn("custseg: something the user must see", FutureWarning, stacklevel=1)
        warnings.warn("PySpark does not yet fully support pandas >= 3.0.0", UserWarning,
                      stacklevel=1)
    assert [str(w.message) for w in caught] == [
        "custseg: something the user must see",
        "PySpark does not yet fully support pandas >= 3.0.0"]


@pytest.mark.parametrize("line", [
    "spark.driver.extraJavaOptions -Dx=1",
    "spark.driver.extraJavaOptions=-Dx=1",
    "spark.driver.extraJavaOptions : -Dx=1",
])
def test_spark_defaults_reads_every_properties_syntax(tmp_path, monkeypatch, line):
    (tmp_path / "spark-defaults.conf").write_text(f"# a comment\n! another\n\n{line}\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert spark_mod._spark_defaults() == {"spark.driver.extraJavaOptions": "-Dx=1"}


def test_spark_engine_refuses_float32_kmeans():
    from custseg._pipeline import SegmentOptions
    from custseg.engines._spark_job import _check_options

    _check_options(SegmentOptions())  # the defaults pass
    with pytest.raises(custseg.InvalidParameterError, match="--dtype float32"):
        _check_options(SegmentOptions(dtype="float32"))


@pytest.mark.parametrize("init_size", [None, 50_000])
def test_spark_engine_refuses_init_size(init_size):
    from custseg._pipeline import SegmentOptions
    from custseg.engines._spark_job import _check_options

    with pytest.raises(custseg.InvalidParameterError, match="--init-size"):
        _check_options(SegmentOptions(init_size=init_size))
