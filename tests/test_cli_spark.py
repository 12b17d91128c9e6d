"""``--engine spark`` through the command line: the same job, the same segments."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app

pytestmark = pytest.mark.spark
runner = CliRunner()


def test_segment_engine_spark_matches_local(spark, mall_csv, tmp_path):
    args = ["segment", str(mall_csv), "--features", "Annual Income (k$),Spending Score (1-100)",
            "--k", "5", "--seed", "0", "--quiet"]
    local, remote = tmp_path / "local", tmp_path / "spark"
    assert runner.invoke(app, [*args, "--out", str(local)]).exit_code == 0
    res = runner.invoke(app, [*args, "--out", str(remote), "--engine", "spark"])
    assert res.exit_code == 0, res.output
    s_local = json.loads((local / "summary.json").read_text())
    s_spark = json.loads((remote / "summary.json").read_text())
    assert s_spark["engine"] == "spark"
    for key in ("rows_read", "rows_segmented", "rows_rejected", "k"):
        assert s_spark[key] == s_local[key]
    assert sorted(s["size"] for s in s_spark["segments"]) == sorted(
        s["size"] for s in s_local["segments"])
    assert json.loads((remote / "model.json").read_text())["engine"] == "spark"
    seg = pd.read_csv(next((remote / "segments.csv").glob("*.csv")) if (
        remote / "segments.csv").is_dir() else remote / "segments.csv", dtype={"CustomerID": str})
    assert len(seg) == 200


def test_spark_conf_must_be_key_value(tmp_path):
    res = runner.invoke(app, ["segment", "x.csv", "--out", str(tmp_path / "o"), "--engine",
                              "spark", "--spark-conf", "novalue"])
    assert res.exit_code == 1 and "key=value" in res.output


# ------------------------------------------------------------- UCI Online Retail (issue #8)

RFM_INT = ("recency_days", "frequency", "tenure_days", "n_lines", "n_returns")
RFM_FLOAT = ("monetary", "avg_order_value", "mean_days_between_orders", "return_rate")
RFM_COUNTS = ("customers", "customers_without_usable_lines", "customer_id_normalised",
              "lines_read", "lines_used", "lines_excluded", "lines_excluded_by_reason",
              "returns_lines", "cancellation_invoices", "as_of", "date_range", "window_days",
              "columns", "value", "frequency_definition", "date_format")


def _read_csv_output(path: Path) -> pd.DataFrame:
    """A CSV output as text: the local engine's file, or Spark's folder of part files."""
    files = sorted(path.glob("part-*.csv")) if path.is_dir() else [path]
    frame = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files],
                      ignore_index=True)
    return frame.sort_values("line", key=lambda s: s.astype(int), ignore_index=True)


@pytest.mark.slow
@pytest.mark.shared_data
def test_online_retail_segment_transactions_same_as_local(spark, retail_csv, tmp_path):
    """Acceptance of issue #8: ``custseg segment online_retail.csv.gz --transactions --engine
    spark --out DIR`` produces the same customers, RFM values and row accounting as the local
    engine."""
    local, remote = tmp_path / "local", tmp_path / "spark"
    args = ["segment", str(retail_csv), "--transactions", "--quiet"]
    res = runner.invoke(app, [*args, "--out", str(local)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, [*args, "--engine", "spark", "--out", str(remote)])
    assert res.exit_code == 0, res.output

    # customers and every RFM feature (features.parquet)
    a = pd.read_parquet(local / "features.parquet")
    b = pd.read_parquet(remote / "features.parquet")  # a folder of part files
    assert list(b.columns) == list(a.columns)
    assert [str(t) for t in b.dtypes] == [str(t) for t in a.dtypes]
    assert len(a) == 4372
    assert b["CustomerID"].tolist() == a["CustomerID"].tolist()  # same IDs, same order
    for c in RFM_INT:
        assert b[c].tolist() == a[c].tolist(), c
    for c in RFM_FLOAT:
        # monetary = gross - returned: where a customer's returns cancel the purchases, the
        # local engine's compensated sums give 0 and Spark's plain sums a residue of the order
        # of eps x gross (up to 7e-13 here), so the tolerance there is relative to the gross
        # spend (avg_order_value x frequency), as floating-point summation error is
        atol = (1e-12 * a["avg_order_value"] * a["frequency"]).to_numpy() if c == "monetary" \
            else 0.0
        diff = np.abs(b[c].to_numpy() - a[c].to_numpy())
        assert (diff <= 1e-9 * np.abs(a[c].to_numpy()) + atol).all(), (
            c, diff.max(), a[c].to_numpy()[diff.argmax()])
    for c in ("first_purchase", "last_purchase"):
        assert b[c].isna().tolist() == a[c].isna().tolist(), c
        assert b[c].dropna().tolist() == a[c].dropna().tolist(), c

    # row and line accounting (summary.json)
    s_local = json.loads((local / "summary.json").read_text())
    s_spark = json.loads((remote / "summary.json").read_text())
    assert s_spark["engine"] == "spark" and s_local["engine"] == "local"
    for key in ("rows_read", "rows_segmented", "rows_rejected", "rejects_by_reason",
                "features", "id_column"):
        assert s_spark[key] == s_local[key], key
    t_local, t_spark = s_local["transactions"], s_spark["transactions"]
    for key in ("lines_read", "lines_used", "lines_excluded", "lines_excluded_by_reason",
                "rfm_segments"):
        assert t_spark[key] == t_local[key], key
    assert t_local["lines_read"] == 541_909
    assert t_local["lines_excluded_by_reason"] == {"missing_customer_id": 135_080,
                                                   "non_positive_price": 40}
    for key in RFM_COUNTS:
        assert t_spark["rfm"][key] == t_local["rfm"][key], key
    for key in ("gross_value", "returned_value", "net_value", "excluded_net_value"):
        assert t_spark["rfm"][key] == pytest.approx(t_local["rfm"][key], rel=1e-9), key

    # the excluded lines themselves (rejects.csv): same lines, reasons and original values
    r_local = _read_csv_output(local / "rejects.csv")
    r_spark = _read_csv_output(remote / "rejects.csv")
    assert r_spark["reason"].value_counts().to_dict() == \
        r_local["reason"].value_counts().to_dict() == t_local["lines_excluded_by_reason"]
    assert list(r_spark.columns) == list(r_local.columns)
    pd.testing.assert_frame_equal(r_spark, r_local)


# ---------------------------------------------------- without PySpark, without Java, quietly


def _custseg(args: list[str], env: dict[str, str] | None = None,
             prelude: str = "") -> subprocess.CompletedProcess:
    """``custseg ARGS`` in a fresh interpreter (``prelude`` runs first)."""
    code = f"{prelude}\nfrom custseg.cli import main\nmain({args!r})"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.parametrize("command", ["segment", "rfm", "choose-k"])
def test_cli_without_pyspark_says_which_extra_to_install(command, mall_csv, tmp_path):
    out = [] if command == "choose-k" else ["--out", str(tmp_path / "o.parquet")]
    res = _custseg([command, str(mall_csv), "--engine", "spark", *out],
                   prelude="import sys; sys.modules['pyspark'] = None  # as if not installed")
    text = (res.stdout + res.stderr).strip()
    assert res.returncode == 1, text
    assert "Traceback" not in text
    assert "The Spark engine needs the optional package 'pyspark'" in text
    assert "pip install 'custseg[spark]'" in text


def test_cli_without_java_says_how_to_install_it(mall_csv, tmp_path):
    pytest.importorskip("pyspark")
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "SPARK_HOME")}
    env["PATH"] = str(Path(sys.executable).parent)  # the virtualenv's bin: no java in it
    res = _custseg(["segment", str(mall_csv), "--engine", "spark", "--out", str(tmp_path / "o")],
                   env=env)
    text = (res.stdout + res.stderr).strip()
    assert res.returncode == 1, text
    assert "Traceback" not in text
    assert "Spark needs Java 17: install a JDK" in text and "JAVA_HOME" in text


@pytest.mark.slow
def test_cli_spark_prints_no_log_spam(mall_csv, tmp_path):
    """A session the CLI starts logs errors only: no WARN lines, no log-level banner, no
    PySpark warning about pandas 3 — and custseg's own output is all there."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: Spark needs a JVM (Java 17)")
    res = _custseg(["segment", str(mall_csv), "--engine", "spark", "--spark-master", "local[1]",
                    "--features", "Annual Income (k$),Spending Score (1-100)", "--k", "5",
                    "--out", str(tmp_path / "o")])
    assert res.returncode == 0, res.stderr
    for noise in (" WARN ", "Setting default log level", "log4j", "pandas >= 3",
                  "FutureWarning"):
        assert noise not in res.stderr, (noise, res.stderr)
    assert "5 segments" in res.stdout and "rows read 200" in res.stdout
