"""Engines: the same segmentation job locally or on Apache Spark.

``custseg.engines`` never imports PySpark at import time; every Spark function imports it when
called and raises :class:`custseg.MissingDependencyError` (``pip install 'custseg[spark]'``)
when it is not installed.

================================  ===========================================================
:func:`get_engine`                ``"local"`` or ``"spark"`` behind one :class:`Engine` protocol
:func:`get_spark`                 the SparkSession to use (given, active, or a new one)
:func:`spark_read`                CSV/TSV(.gz)/Parquet/table → DataFrame + line numbers + rejects
:func:`spark_rfm`                 :func:`custseg.features.rfm` on Spark, same definitions
:func:`fit_spark`                 preprocessing + k-means/bisecting/GMM → ``SegmentModel``
:func:`assign_spark`              any model (either engine) applied in Spark expressions
:func:`run_segment_spark`         ``custseg segment --engine spark`` (the output folder)
:func:`run_assign_spark`          ``custseg assign --engine spark``
:func:`run_rfm_spark`             ``custseg rfm --engine spark``
:func:`run_choose_k_spark`        ``custseg choose-k --engine spark`` (k chosen on a sample)
================================  ===========================================================
"""

from ._base import ENGINES, Engine, LocalEngine, SparkEngine, get_engine
from ._spark import JAVA_MESSAGE, get_spark, require_pyspark
from ._spark_fit import SparkFit, assign_spark, fit_spark, fit_spark_full
from ._spark_job import (
    Accounting,
    account_rows_spark,
    resolve_columns_spark,
    run_assign_spark,
    run_choose_k_spark,
    run_rfm_spark,
    run_segment_spark,
    spark_rfm_scores,
)
from ._spark_read import SparkRead, spark_read
from ._spark_rfm import SparkRFMResult, spark_rfm

__all__ = [
    "ENGINES",
    "JAVA_MESSAGE",
    "Accounting",
    "Engine",
    "LocalEngine",
    "SparkEngine",
    "SparkFit",
    "SparkRFMResult",
    "SparkRead",
    "account_rows_spark",
    "assign_spark",
    "fit_spark",
    "fit_spark_full",
    "get_engine",
    "get_spark",
    "require_pyspark",
    "resolve_columns_spark",
    "run_assign_spark",
    "run_choose_k_spark",
    "run_rfm_spark",
    "run_segment_spark",
    "spark_read",
    "spark_rfm",
    "spark_rfm_scores",
]
