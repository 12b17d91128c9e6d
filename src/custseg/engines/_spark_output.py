"""The output folder of a Spark job: a local path or a Hadoop file-system URI.

Large tables (segments, rejects, features) are written by Spark as folders of part files, each
into a hidden temporary folder that is renamed into place when complete (atomic on a local disk
and on HDFS; on object stores a rename is a copy, so a reader may briefly see a partial
folder). Small files (``summary.json``, ``model.json``, ``profiles.csv``, ``report.html``,
``report_sample.parquet``) are written with custseg's atomic writers into the folder itself
when it is local, or into a local staging folder that is then copied to the URI.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import CustsegError, InvalidParameterError
from .._version import __version__
from ._spark import col

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["CSV_WRITE_OPTIONS", "OutputFolder", "guard_formulas_spark", "is_remote"]

#: Spark CSV writer options giving files that read back like custseg's local CSV files.
#: Spark's writer trims blanks around values unless told not to ("POLKADOT RAIN HAT " in UCI
#: Online Retail's rejects would lose its trailing blank).
CSV_WRITE_OPTIONS = {"header": "true", "quote": '"', "escape": '"', "nullValue": "",
                     "emptyValue": "", "lineSep": "\n", "encoding": "UTF-8",
                     "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false"}
FORMULA_RX = "^[=+\\-@\\t\\r]"


def is_remote(path: str) -> bool:
    """True for a URI with a scheme other than ``file://`` (``hdfs://``, ``s3a://`` …)."""
    return "://" in path and not path.startswith("file://")


def _local_path(path: str) -> Path:
    return Path(path[len("file://"):] if path.startswith("file://") else path)


def guard_formulas_spark(df: DataFrame) -> DataFrame:
    """Text cells (and column names) that a spreadsheet would run as a formula get a leading
    ``'``, as :func:`custseg.io.guard_formulas` does for local CSV files."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    cols: list[Column] = []
    for field in df.schema.fields:
        c = col(field.name)
        if isinstance(field.dataType, StringType):
            c = F.when(c.rlike(FORMULA_RX), F.concat(F.lit("'"), c)).otherwise(c)
        name = field.name
        if name.startswith(("=", "+", "-", "@", "\t", "\r")):
            name = "'" + name
        cols.append(c.alias(name))
    return df.select(*cols)


class OutputFolder:
    """Where a Spark job writes its results.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    out : str or path-like
        A local folder, or a URI that the cluster's Hadoop file system can write
        (``hdfs://…``, ``s3a://bucket/…``, ``gs://…``, ``abfss://…``).
    """

    def __init__(self, spark: SparkSession, out: str | os.PathLike[str]):
        self.spark = spark
        self.uri = os.fspath(out)
        self.remote = is_remote(self.uri)
        if self.remote:
            self.staging = Path(tempfile.mkdtemp(prefix="custseg-spark-out-"))
        else:
            self.staging = _local_path(self.uri)

    # -- Hadoop file system (remote outputs only) --------------------------------------------
    def _fs(self, path: str) -> tuple[Any, Any]:
        jvm = getattr(self.spark, "_jvm", None)
        if jvm is None:
            raise CustsegError(
                f"Writing to {self.uri} needs a classic (non-Connect) SparkSession to reach the "
                "Hadoop file system; write to a local folder instead.")
        hpath = jvm.org.apache.hadoop.fs.Path(path)
        fs = hpath.getFileSystem(self.spark._jsc.hadoopConfiguration())
        return fs, hpath

    def _join(self, name: str) -> str:
        return self.uri.rstrip("/") + "/" + name

    # -- preparing ---------------------------------------------------------------------------
    def prepare(self, force: bool) -> None:
        """Create the folder, refusing one that holds files custseg did not write."""
        from .._pipeline import OUTPUT_FILES, prepare_output_dir

        if not self.remote:
            prepare_output_dir(self.staging, force)
            return
        fs, root = self._fs(self.uri)
        if fs.exists(root):
            if not fs.getFileStatus(root).isDirectory():
                raise InvalidParameterError(f"--out {self.uri} is a file, not a folder.")
            names = sorted(str(s.getPath().getName()) for s in fs.listStatus(root))
            foreign = [n for n in names if n not in OUTPUT_FILES
                       and not n.startswith(".custseg-tmp")]
            if foreign and not force:
                shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
                raise InvalidParameterError(
                    f"--out {self.uri} already holds files custseg did not write ({shown}). "
                    "Choose an empty or new folder, or pass --force to write into it anyway.")
        else:
            fs.mkdirs(root)
        (self.staging / ".custseg").write_text(f"custseg {__version__} output folder\n",
                                               encoding="utf-8")
        self.publish([".custseg"])

    # -- writing -----------------------------------------------------------------------------
    def write_dataframe(self, df: DataFrame, name: str, fmt: str = "csv") -> str:
        """Write ``df`` as the folder ``name`` (``csv`` with a header, or ``parquet``), via a
        temporary folder renamed into place. Returns the folder's path or URI."""
        tmp_name = f".custseg-tmp-{name}-{secrets.token_hex(6)}"
        writer = df.write.mode("errorifexists")
        if fmt == "csv":
            writer = guard_formulas_spark(df).write.mode("errorifexists").options(
                **CSV_WRITE_OPTIONS)
        if self.remote:
            tmp, target = self._join(tmp_name), self._join(name)
            try:
                writer.format(fmt).save(tmp)
                fs, t_path = self._fs(target)
                if fs.exists(t_path):
                    fs.delete(t_path, True)
                fs.rename(self._fs(tmp)[1], t_path)
            finally:
                fs, tmp_path = self._fs(tmp)
                if fs.exists(tmp_path):
                    fs.delete(tmp_path, True)
            return target
        root = self.staging
        tmp_dir, target_dir = root / tmp_name, root / name
        try:
            writer.format(fmt).save(str(tmp_dir.resolve()))
            if target_dir.is_dir():
                shutil.rmtree(target_dir)
            elif target_dir.exists():
                target_dir.unlink()
            os.replace(tmp_dir, target_dir)
        finally:
            if tmp_dir.exists():
                shutil.rmtree(tmp_dir, ignore_errors=True)
        return str(target_dir)

    def local(self, name: str) -> Path:
        """Local path where a small file ``name`` is written (then published if remote)."""
        return self.staging / name

    def publish(self, names: list[str]) -> None:
        """Copy staged small files to a remote folder (temporary name, then rename)."""
        if not self.remote:
            return
        for name in names:
            src = self.staging / name
            if not src.exists():
                continue
            tmp, target = self._join(f".custseg-tmp-{name}-{secrets.token_hex(6)}"), \
                self._join(name)
            fs, tmp_path = self._fs(tmp)
            jvm = self.spark._jvm
            fs.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path(str(src.resolve())),
                                 tmp_path)
            _, t_path = self._fs(target)
            if fs.exists(t_path):
                fs.delete(t_path, True)
            fs.rename(tmp_path, t_path)

    def cleanup(self) -> None:
        """Remove the local staging folder of a remote output."""
        if self.remote:
            shutil.rmtree(self.staging, ignore_errors=True)
