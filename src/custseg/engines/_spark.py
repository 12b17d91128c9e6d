"""The Spark engine's session handling and small shared helpers.

PySpark is imported only inside functions, so ``import custseg`` works (and stays fast) without
it. :func:`get_spark` turns a missing PySpark into :class:`~custseg.MissingDependencyError` and a
missing Java into a :class:`~custseg.CustsegError` that says how to install it.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._exceptions import CustsegError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import Column, SparkSession

logger = logging.getLogger(__name__)

__all__ = ["JAVA_MESSAGE", "get_spark", "require_pyspark"]

JAVA_MESSAGE = ("Spark needs Java 17: install a JDK (e.g. apt-get install "
                "openjdk-17-jre-headless) and set JAVA_HOME")

#: Settings of a session custseg builds itself (a given or active session is left as it is).
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
}

# Prefix of the helper columns custseg adds to Spark DataFrames.
INTERNAL = "__cs_"


def require_pyspark() -> None:
    """Raise :class:`MissingDependencyError` when PySpark is not installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("pyspark", "spark", "The Spark engine") from exc


def java_available() -> bool:
    """True when a ``java`` executable is on ``JAVA_HOME`` or the ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.isfile(os.path.join(home, "bin", "java")):
        return True
    return shutil.which("java") is not None


def get_spark(spark: SparkSession | None = None, master: str | None = None,
              conf: Mapping[str, Any] | None = None, *, app_name: str = "custseg"
              ) -> SparkSession:
    """Return the SparkSession to run on.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession, default=None
        Use this session as it is.
    master : str, default=None
        Master URL of a session to build (``local[4]``, ``yarn``, ``spark://host:7077``,
        ``k8s://https://…``). Without it the active session is used, or a ``local[*]`` one is
        built. A master that differs from the active session's builds nothing new: Spark allows
        one session per process, so the active one is returned with a warning.
    conf : dict, default=None
        Spark settings (``{"spark.executor.memory": "8g"}``). They configure a session built
        here; on an existing session only runtime (SQL) settings can change, and the others are
        logged and skipped.
    app_name : str, default="custseg"

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    MissingDependencyError
        PySpark is not installed (``pip install 'custseg[spark]'``).
    CustsegError
        Java is missing, or the JVM does not start.
    """
    require_pyspark()
    if spark is not None:
        return spark
    from pyspark.sql import SparkSession

    conf = {str(k): str(v) for k, v in (conf or {}).items()}
    active = SparkSession.getActiveSession()
    if active is not None:
        current = active.sparkContext.master
        if master is not None and master != current:
            logger.warning("A SparkSession on %s is already active; using it instead of %s "
                           "(one session per process).", current, master)
        for key, value in conf.items():
            try:
                active.conf.set(key, value)
            except Exception:  # noqa: BLE001 - static settings cannot change on a live session
                logger.warning("Spark setting %s cannot change on the active session; skipped.",
                               key)
        return active
    if not java_available():
        raise CustsegError(JAVA_MESSAGE + ".")
    builder = SparkSession.builder.master(master or os.environ.get("SPARK_MASTER") or "local[*]")
    builder = builder.appName(app_name)
    for key, value in {**DEFAULT_CONF, **conf}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        text = str(exc)
        if "Java" in text or "JAVA" in text or "gateway" in text.lower():
            raise CustsegError(f"{JAVA_MESSAGE}. Spark did not start: {text[:300]}") from exc
        raise CustsegError(f"Spark did not start: {text[:500]}") from exc
    return session


# --------------------------------------------------------------------------------- helpers


def col(name: str) -> Column:
    """A column by its exact name (dots, spaces and backticks are not special)."""
    from pyspark.sql import functions as F

    return F.col("`" + str(name).replace("`", "``") + "`")


def sql_ident(name: str) -> str:
    """A column name quoted for Spark SQL text."""
    return "`" + str(name).replace("`", "``") + "`"


def sql_string(value: str) -> str:
    """A string literal for Spark SQL text (the parser's default escape rules)."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return "'" + text + "'"
