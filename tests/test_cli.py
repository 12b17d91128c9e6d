"""The command line, run as a user runs it: acceptance checks on the real datasets."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app

runner = CliRunner()
OUTPUTS = {"segments.csv", "profiles.csv", "rejects.csv", "summary.json", "model.json",
           "report.html"}


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def summary_of(out):
    return json.loads((out / "summary.json").read_text())


def test_demo_writes_every_output(tmp_path):
    out = tmp_path / "demo"
    res = run("demo", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    s = summary_of(out)
    assert s["rows_read"] == s["rows_segmented"] + s["rows_rejected"]
    assert s["rejects_by_reason"] == {"invalid_value": 1, "duplicate_id": 1}
    assert s["imputed_by_feature"]["annual_income_k"] == 12
    assert s["excluded_columns"] == {"region": "not numeric"}
    segments = pd.read_csv(out / "segments.csv", dtype={"customer_id": str})
    assert segments["customer_id"].is_unique and len(segments) == s["rows_segmented"]
    assert "5 segments" in res.output


def test_mall_customers_acceptance(mall_csv, tmp_path):
    out = tmp_path / "mall"
    res = run("segment", str(mall_csv), "--features",
              "Annual Income (k$),Spending Score (1-100)", "--k", "5", "--scale", "none",
              "--seed", "0", "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    s = summary_of(out)
    # scikit-learn's best of 10 inits on the same two columns reaches 44,448.46
    assert s["metrics"]["inertia"] == pytest.approx(44448.46, rel=1e-3)
    assert s["id_column"] == "CustomerID" and s["id_column_detected"] is True
    seg = pd.read_csv(out / "segments.csv", dtype={"CustomerID": str})
    assert len(seg) == 200 and seg["CustomerID"].is_unique
    assert seg["CustomerID"].iloc[0] == "0001"
    assert s["rows_read"] == 200 and s["rows_rejected"] == 0


@pytest.mark.parametrize("policy", ["impute", "reject"])
def test_cc_general_accounts_for_every_row(cc_csv, tmp_path, policy):
    out = tmp_path / policy
    res = run("segment", str(cc_csv), "--missing", policy, "--k", "5", "--out", str(out),
              "--quiet")
    assert res.exit_code == 0, res.output
    s = summary_of(out)
    assert s["rows_read"] == 8950
    assert s["rows_read"] == s["rows_segmented"] + s["rows_rejected"]
    assert s["id_column"] == "CUST_ID"
    if policy == "impute":
        assert s["imputed_by_feature"]["MINIMUM_PAYMENTS"] == 313
        assert s["imputed_by_feature"]["CREDIT_LIMIT"] == 1
        assert s["rows_rejected"] == 0
    else:
        # 313 + 1 blanks, on different rows
        assert s["rejects_by_reason"] == {"missing_value": 314}
        rejects = pd.read_csv(out / "rejects.csv")
        assert len(rejects) == 314 and rejects["line"].min() >= 2


def test_marketing_campaign_tab_separated(marketing_csv, tmp_path):
    out = tmp_path / "mk"
    res = run("segment", str(marketing_csv), "--k", "4", "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    s = summary_of(out)
    assert s["input"]["delimiter"] == "\t"
    assert s["id_column"] == "ID"
    excluded = s["excluded_columns"]
    for col in ("Education", "Marital_Status", "Dt_Customer"):
        assert col in excluded
    assert excluded["Z_CostContact"].startswith("constant")
    assert s["imputed_by_feature"]["Income"] == 24
    assert s["rows_read"] == 2240 == s["rows_segmented"] + s["rows_rejected"]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", [], r"empty"),
        ("id,a,b\n", [], r"no data rows"),
        ("id,a,b\n1,2,3\n2,3,4\n3,5,1\n", ["--features", "a,bb"], r"Did you mean .b.\?"),
        ("id,a,b\n1,2,3\n2,3,4\n3,5,1\n", ["--k", "9"], r"k=9 is larger than the number"),
        ("id,a,b\n1,2,3\n2,2,4\n3,2,1\n", ["--features", "a,b", "--k", "2"], r"constant"),
        ("id,a,b\n1,x,y\n2,z,w\n", [], r"No numeric feature columns"),
    ],
)
def test_errors_are_one_line_and_exit_1(tmp_path, content, args, message):
    path = tmp_path / "in.csv"
    path.write_text(content)
    res = runner.invoke(app, ["segment", str(path), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == 1, res.output
    assert re.search(message, res.output), res.output
    assert "Traceback" not in res.output
    assert res.output.strip().startswith("error:")


def test_unreadable_file(tmp_path):
    res = runner.invoke(app, ["segment", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "nope.csv" in res.output and "Traceback" not in res.output


def test_debug_shows_traceback(tmp_path):
    res = runner.invoke(app, ["segment", str(tmp_path / "nope.csv"), "--out",
                              str(tmp_path / "o"), "--debug"])
    assert res.exit_code == 1 and "Traceback" in res.output


def test_help_documents_options_with_examples():
    res = runner.invoke(app, ["segment", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for option in ("--features", "--k", "--scale", "--seed", "--format", "--missing", "--id"):
        assert option in res.output
    assert "e.g." in res.output and "Example:" in res.output


def test_parquet_output_and_out_folder_guard(tmp_path):
    src = tmp_path / "c.csv"
    pd.DataFrame({"cid": range(40), "a": range(40), "b": [i % 7 for i in range(40)]}).to_csv(
        src, index=False)
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    res = runner.invoke(app, ["segment", str(src), "--out", str(out), "--k", "3"])
    assert res.exit_code == 1 and "--force" in res.output
    res = run("segment", str(src), "--out", str(out), "--k", "3", "--format", "parquet",
              "--force", "--quiet")
    assert res.exit_code == 0, res.output
    seg = pd.read_parquet(out / "segments.parquet")
    assert len(seg) == 40 and (out / "notes.txt").read_text() == "mine"


def test_python_dash_m_runs_the_command(tmp_path):
    """``python -m custseg`` is the ``custseg`` command (exit codes included)."""
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "custseg", "--help"], capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0 and "segment" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "custseg", "segment", str(tmp_path / "no.csv"),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1 and "no.csv" in bad.stderr


def test_the_console_script_ends_after_flushing_and_atexit(tmp_path):
    """``console`` skips the interpreter's teardown only after a success, with the output
    flushed and the ``atexit`` handlers run; a failure still exits 1."""
    import subprocess
    import sys

    marker = tmp_path / "atexit.txt"
    code = (f"import atexit, sys\n"
            f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
            f"from custseg.cli import console\n"
            f"sys.argv = ['custseg'] + sys.argv[1:]\n"
            f"console()\n"
            f"print('after console')\n")
    out = tmp_path / "demo"
    res = subprocess.run([sys.executable, "-c", code, "demo", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert marker.read_text() == "ran"
    assert "after console" not in res.stdout  # the process ended in console()
    assert "report.html" in res.stdout  # the last lines of the (piped) output were flushed
    assert json.loads((out / "summary.json").read_text())["rows_segmented"] > 0
    marker.unlink()
    bad = subprocess.run([sys.executable, "-c", code, "segment", str(tmp_path / "no.csv"),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1 and "no.csv" in bad.stderr
    assert marker.read_text() == "ran"


@pytest.mark.parametrize(("preset", "numpy_first", "expected"), [
    (None, False, "16"), ("28", False, "28"), (None, True, None)])
def test_the_command_shortens_openblas_idle_spin(preset, numpy_first, expected):
    """The command's process sets OPENBLAS_THREAD_TIMEOUT before numpy's OpenBLAS loads (it
    is read then), unless the user set it; once numpy is loaded it would be too late, and the
    environment is left alone."""
    import os
    import subprocess
    import sys

    code = ("import os, sys\n"
            + ("import numpy\n" if numpy_first else "")
            + "from custseg import cli\n"
            "def probe():\n"
            "    print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))\n"
            "    import numpy\n"
            "cli.main = probe\n"
            "cli.console()\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if preset is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = preset
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(expected)


@pytest.mark.parametrize(("value", "rows"), [("20", 20), ("all", 60), ("auto", 60)])
def test_init_size_sets_the_rows_the_starts_run_on(tmp_path, value, rows):
    src = tmp_path / "c.csv"
    pd.DataFrame({"cid": range(60), "a": [i % 11 for i in range(60)],
                  "b": [i % 7 for i in range(60)]}).to_csv(src, index=False)
    res = run("segment", str(src), "--out", str(tmp_path / "o"), "--k", "3", "--init-size",
              value, "--quiet")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["algorithm"]["params"]["init_rows"] == rows
    assert summary["options"]["init_size"] == (None if value == "all" else
                                               int(value) if value.isdigit() else value)


@pytest.mark.parametrize("value", ["0", "some", "-5", "1.5"])
def test_bad_init_size_is_one_line(tmp_path, value):
    src = tmp_path / "c.csv"
    src.write_text("id,a,b\n1,2,3\n2,3,4\n3,5,1\n")
    res = runner.invoke(app, ["segment", str(src), "--out", str(tmp_path / "o"),
                              "--init-size", value])
    assert res.exit_code == 1, res.output
    assert res.output.strip().startswith("error:") and "--init-size" in res.output
