"""The Spark engine's session handling and small shared helpers.

PySpark is imported only inside functions, so ``import custseg`` works (and stays fast) without
it. :func:`get_spark` turns a missing PySpark into :class:`~custseg.MissingDependencyError` and a
missing Java into a :class:`~custseg.CustsegError` that says how to install it.

A session custseg builds logs at level ERROR: Spark's own WARN lines (plan dumps, "native-hadoop
library", host name resolution) would drown the job's output. A session given to custseg, or
already active, keeps its log level. PySpark's ``FutureWarning`` about pandas 3 is filtered
(custseg converts nothing through PySpark's pandas code); every other warning stays.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._exceptions import CustsegError, MissingDependencyError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import Column, DataFrame, SparkSession

logger = logging.getLogger(__name__)

__all__ = ["JAVA_MESSAGE", "get_spark", "quiet_pyspark_warnings", "require_pyspark"]

JAVA_MESSAGE = ("Spark needs Java 17: install a JDK (e.g. apt-get install "
                "openjdk-17-jre-headless) and set JAVA_HOME")

#: Settings of a session custseg builds itself (a given or active session is left as it is).
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
}

# Prefix of the helper columns custseg adds to Spark DataFrames.
INTERNAL = "__cs_"

#: Log level of the sessions custseg builds.
LOG_LEVEL = "ERROR"

#: log4j2 configuration of the driver JVM of a session custseg builds: errors only, to stderr.
#: Without it Spark prints its default profile's banner and WARN lines before any
#: ``setLogLevel`` can run.
LOG4J2_PROPERTIES = f"""\
# written by custseg: the driver log of a Spark session custseg starts
rootLogger.level = {LOG_LEVEL.lower()}
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n%ex
# PySpark's JVM starts as a shell around PythonGatewayServer: with this logger at the root's
# level, Spark prints no "Setting default log level to WARN" and keeps ERROR
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = {LOG_LEVEL.lower()}
"""

_PANDAS3_WARNING = r"PySpark does not yet fully support pandas >= 3"


def require_pyspark() -> None:
    """Raise :class:`MissingDependencyError` when PySpark is not installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("pyspark", "spark", "The Spark engine") from exc
    quiet_pyspark_warnings()


def quiet_pyspark_warnings() -> None:
    """Ignore PySpark's ``FutureWarning`` that it "does not yet fully support pandas >= 3"
    (only that message; idempotent)."""
    warnings.filterwarnings("ignore", message=_PANDAS3_WARNING, category=FutureWarning)


def _log4j2_file() -> str:
    """Path of a file holding :data:`LOG4J2_PROPERTIES` in the temporary folder: the shared
    one when it is ours and unchanged, else a new private one."""
    digest = hashlib.sha256(LOG4J2_PROPERTIES.encode()).hexdigest()[:12]
    path = os.path.join(tempfile.gettempdir(), f"custseg-log4j2-{digest}.properties")
    try:
        st = os.lstat(path)
        with open(path, encoding="utf-8") as fh:
            if (st.st_uid == os.getuid() and not os.path.islink(path)
                    and fh.read() == LOG4J2_PROPERTIES):
                return path
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f"custseg-log4j2-{digest}-", suffix=".properties")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(LOG4J2_PROPERTIES)
    if not os.path.exists(path):
        try:
            os.link(tmp, path)  # publish for the next sessions (fails if another process won)
            os.unlink(tmp)
            return path
        except OSError:
            pass
    return tmp


def _spark_defaults() -> dict[str, str]:
    """Settings of ``spark-defaults.conf`` in ``SPARK_CONF_DIR`` or ``SPARK_HOME/conf``."""
    folder = os.environ.get("SPARK_CONF_DIR") or (
        os.path.join(os.environ["SPARK_HOME"], "conf") if os.environ.get("SPARK_HOME") else None)
    if not folder:
        return {}
    out: dict[str, str] = {}
    try:
        with open(os.path.join(folder, "spark-defaults.conf"), encoding="utf-8") as fh:
            for line in fh:
                # a Java properties file: "key value", "key=value" or "key: value"
                parts = re.split(r"\s*[=:]\s*|\s+", line.strip(), maxsplit=1)
                if len(parts) == 2 and parts[0] and not parts[0].startswith(("#", "!")):
                    out[parts[0]] = parts[1]
    except OSError:
        return {}
    return out


def quiet_conf(conf: Mapping[str, str]) -> dict[str, str]:
    """Settings that make a new session's driver log errors only from its start, unless
    ``conf`` (or the cluster's ``spark-defaults.conf``) already sets the driver's Java options
    or log level: those are left alone (:func:`get_spark` still lowers the level to ERROR once
    the session runs, unless ``spark.log.level`` is given)."""
    key = "spark.driver.extraJavaOptions"
    if key in conf or "spark.log.level" in conf or key in _spark_defaults():
        return {}
    return {key: f"-Dlog4j2.configurationFile={_log4j2_file()}"}


def java_available() -> bool:
    """True when a ``java`` executable is on ``JAVA_HOME`` or the ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.isfile(os.path.join(home, "bin", "java")):
        return True
    return shutil.which("java") is not None


def _jvm_running() -> bool:
    """True when PySpark's JVM already runs: a script started by ``spark-submit``, or an
    earlier (stopped) session in this process."""
    from pyspark import SparkContext

    return SparkContext._gateway is not None or bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def _default_master(submitted: bool) -> str | None:
    """The master of a session built without ``master=``: ``SPARK_MASTER``; else the one
    ``spark-submit --master`` set (None: the builder keeps it); else ``local[*]``."""
    if os.environ.get("SPARK_MASTER"):
        return os.environ["SPARK_MASTER"]
    if submitted:
        from pyspark import SparkConf

        if SparkConf().contains("spark.master"):
            return None
    return "local[*]"


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
        ``k8s://https://…``). Without it the active session is used, or one is built on
        ``SPARK_MASTER``, on the master ``spark-submit`` was given, or on ``local[*]``. A
        master that differs from the active session's builds nothing new: Spark allows one
        session per process, so the active one is returned with a warning.
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
    submitted = _jvm_running()
    if not submitted and not java_available():
        raise CustsegError(JAVA_MESSAGE + ".")
    builder = SparkSession.builder.appName(app_name)
    master = master or _default_master(submitted)
    if master is not None:
        builder = builder.master(master)
    # under spark-submit the driver JVM already runs with its own Java options
    quiet = {} if submitted else quiet_conf(conf)
    for key, value in {**DEFAULT_CONF, **quiet, **conf}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        text = str(exc)
        if "Java" in text or "JAVA" in text or "gateway" in text.lower():
            raise CustsegError(f"{JAVA_MESSAGE}. Spark did not start: {text[:300]}") from exc
        raise CustsegError(f"Spark did not start: {text[:500]}") from exc
    if "spark.log.level" not in conf:
        try:
            session.sparkContext.setLogLevel(LOG_LEVEL)
        except Exception:  # noqa: BLE001 - Spark Connect sessions have no SparkContext
            logger.debug("could not set the Spark log level", exc_info=True)
    return session


# --------------------------------------------------------------------------------- helpers


def coalesced(df: DataFrame, n: int, per_partition: int) -> DataFrame:
    """``df`` coalesced to one partition per ``per_partition`` of its ``n`` rows (or lines),
    and at least as many as the cluster has cores.

    A table that comes out of a shuffle has ``spark.sql.shuffle.partitions`` partitions (200 by
    default) and keeps them when persisted, so every later pass over a small table runs 200
    tasks of a handful of rows each. ``coalesce`` merges partitions without a shuffle and never
    adds any. Spark Connect has no SparkContext: the layout is left as it is.
    """
    try:
        cores = int(df.sparkSession.sparkContext.defaultParallelism)
    except Exception:  # noqa: BLE001 - Spark Connect
        return df
    return df.coalesce(max(1, cores, -(-n // per_partition)))


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


def local_frame(spark: SparkSession, rows: list[tuple[Any, ...]], schema: str) -> Any:
    """A small DataFrame of driver-side ``rows`` built in the JVM (``inline`` of literals).

    ``spark.createDataFrame`` of a Python list goes through a Python RDD, which starts Python
    workers on the executors; custseg's Spark jobs otherwise need none. ``schema`` is
    ``"name TYPE, name TYPE"`` with simple type names.
    """
    from pyspark.sql import functions as F

    fields = [f.strip().split(None, 1) for f in schema.split(",")]
    if not rows:
        return spark.range(0).select(*[F.lit(None).cast(t).alias(n) for n, t in fields])
    structs = [F.struct(*[F.lit(v).cast(t).alias(n) for v, (n, t) in zip(r, fields,
                                                                          strict=True)])
               for r in rows]
    return spark.range(1).select(F.inline(F.array(*structs)))
