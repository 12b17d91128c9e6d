"""The small interface both engines implement, and how to get one by name.

httpx swaps transports behind ``BaseTransport.handle_request``; custseg swaps engines behind
:class:`Engine`: derive RFM features, run a segmentation job, assign customers with a model.
Both engines write the same output folder and the same model file, so a caller picks one with
:func:`get_engine` and calls the same methods: ``segment``, ``rfm``, ``choose_k``, ``assign``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from .._exceptions import InvalidParameterError

__all__ = ["ENGINES", "Engine", "LocalEngine", "SparkEngine", "get_engine"]

ENGINES = ("local", "spark")


@runtime_checkable
class Engine(Protocol):
    """What an engine does. Results are the same types on every engine."""

    name: str

    def segment(self, source: Any, out: str | Path, options: Any = None,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Run ``custseg segment`` (``options.transactions``: from an order log): write the
        output folder, return the summary."""

    def rfm(self, source: Any, **params: Any) -> Any:
        """Derive RFM features (``RFMResult`` locally, ``SparkRFMResult`` on Spark)."""

    def choose_k(self, source: Any, options: Any = None,
                 progress: Callable[[str], None] | None = None) -> tuple[Any, dict[str, Any]]:
        """Run ``custseg choose-k``: the :class:`custseg.select.Choice` and row facts."""

    def assign(self, model_path: str | Path, source: Any, out_file: str | Path,
               **params: Any) -> dict[str, Any]:
        """Run ``custseg assign``: write the assignments, return the summary."""


class LocalEngine:
    """The default engine: DuckDB, numpy and scikit-learn in this process."""

    name = "local"

    def segment(self, source: Any, out: str | Path, options: Any = None,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        from .._pipeline import run_segment

        kwargs = {"progress": progress} if progress is not None else {}
        return run_segment(source, out, options, **kwargs)

    def rfm(self, source: Any, **params: Any) -> Any:
        from ..features import rfm

        return rfm(source, **params)

    def choose_k(self, source: Any, options: Any = None,
                 progress: Callable[[str], None] | None = None) -> tuple[Any, dict[str, Any]]:
        from .._pipeline import run_choose_k

        kwargs = {"progress": progress} if progress is not None else {}
        return run_choose_k(source, options, **kwargs)

    def assign(self, model_path: str | Path, source: Any, out_file: str | Path,
               **params: Any) -> dict[str, Any]:
        from .._assign_job import run_assign

        return run_assign(model_path, source, out_file, **params)


class SparkEngine:
    """Apache Spark: the same job on a SparkSession (``local[*]``, a cluster, or the active
    session).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession, default=None
    master : str, default=None
        E.g. ``"yarn"``, ``"spark://host:7077"``, ``"k8s://https://host:6443"``, ``"local[4]"``.
    conf : dict, default=None
        Spark settings for a session built here.
    """

    name = "spark"

    def __init__(self, spark: Any = None, master: str | None = None,
                 conf: Mapping[str, Any] | None = None):
        self.spark = spark
        self.master = master
        self.conf = dict(conf or {})

    def session(self) -> Any:
        """The SparkSession (built on first use)."""
        from ._spark import get_spark

        if self.spark is None:
            self.spark = get_spark(None, self.master, self.conf)
        return self.spark

    def segment(self, source: Any, out: str | Path, options: Any = None,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        from ._spark_job import run_segment_spark

        kwargs = {"progress": progress} if progress is not None else {}
        return run_segment_spark(source, out, options, self.session(), **kwargs)

    def rfm(self, source: Any, **params: Any) -> Any:
        from ._spark_rfm import spark_rfm

        return spark_rfm(self.session(), source, **params)

    def choose_k(self, source: Any, options: Any = None,
                 progress: Callable[[str], None] | None = None) -> tuple[Any, dict[str, Any]]:
        from ._spark_job import run_choose_k_spark

        kwargs = {"progress": progress} if progress is not None else {}
        return run_choose_k_spark(source, options, self.session(), **kwargs)

    def assign(self, model_path: str | Path, source: Any, out_file: str | Path,
               **params: Any) -> dict[str, Any]:
        from ._spark_job import run_assign_spark

        return run_assign_spark(model_path, source, out_file, spark=self.session(), **params)


def get_engine(name: Literal["local", "spark"] = "local", *, spark: Any = None,
               master: str | None = None, conf: Mapping[str, Any] | None = None) -> Engine:
    """The engine called ``name``.

    Parameters
    ----------
    name : {"local", "spark"}, default="local"
    spark, master, conf
        For ``"spark"``: a session to use, or the master URL and settings of one to build
        (see :func:`custseg.engines.get_spark`). Nothing starts until the engine is used.

    Raises
    ------
    InvalidParameterError
        Unknown engine name, or Spark settings given for the local engine.
    """
    if name == "local":
        if spark is not None or master is not None or conf:
            raise InvalidParameterError(
                "--spark-master and --spark-conf need --engine spark.")
        return LocalEngine()
    if name == "spark":
        return SparkEngine(spark=spark, master=master, conf=conf)
    raise InvalidParameterError(
        f"The 'engine' parameter must be one of {{\"local\", \"spark\"}}. Got {name!r} instead.")
