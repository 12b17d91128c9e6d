"""``--engine spark`` through the command line: the same job, the same segments."""

from __future__ import annotations

import json

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
