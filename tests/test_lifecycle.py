"""Model lifecycle from the command line: assign new customers, keep segment ids across runs,
compare runs customer by customer."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from custseg.cli import app

runner = CliRunner()


def run(*args: str):
    res = runner.invoke(app, [*args, "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_assign_matches_the_fit_and_accounts_for_rows(tmp_path):
    run("demo", "--out", str(tmp_path / "demo"))
    from custseg.demo import demo_customers_path

    out = tmp_path / "assigned.csv"
    res = runner.invoke(app, ["assign", str(tmp_path / "demo" / "model.json"),
                              str(demo_customers_path()), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assigned = pd.read_csv(out, dtype={"customer_id": str})
    segments = pd.read_csv(tmp_path / "demo" / "segments.csv", dtype={"customer_id": str})
    assert list(assigned.columns) == ["customer_id", "segment", "segment_name", "distance",
                                      "margin", "out_of_distribution"]
    # the file has 2,001 rows: one invalid value is rejected; the duplicate is kept (assign
    # scores every row it is given)
    assert len(assigned) == 2000
    rejects = pd.read_csv(tmp_path / "assigned.rejects.csv")
    assert rejects["reason"].tolist() == ["invalid_value"]
    merged = segments.merge(assigned.drop_duplicates("customer_id"), on="customer_id")
    assert len(merged) == len(segments)
    np.testing.assert_array_equal(merged["segment_x"], merged["segment_y"])
    np.testing.assert_allclose(merged["distance_x"], merged["distance_y"], rtol=1e-9)


def test_assign_missing_feature_column_is_a_clear_error(tmp_path):
    run("demo", "--out", str(tmp_path / "demo"))
    src = tmp_path / "new.csv"
    pd.DataFrame({"customer_id": ["x"], "age": [30]}).to_csv(src, index=False)
    res = runner.invoke(app, ["assign", str(tmp_path / "demo" / "model.json"), str(src),
                              "--out", str(tmp_path / "a.csv")])
    assert res.exit_code == 1
    assert "lacks the model's feature column(s) 'annual_income_k'" in res.output


@pytest.mark.shared_data
def test_online_retail_half_year_then_year_keeps_ids_and_compares(retail_csv, tmp_path):
    half = tmp_path / "first_half.parquet"
    duckdb.sql(f"""COPY (SELECT * FROM read_csv('{retail_csv}', all_varchar=true)
                   WHERE InvoiceDate < '2011-06-01') TO '{half}' (FORMAT parquet)""")
    first, year = tmp_path / "h1", tmp_path / "year"
    run("segment", str(half), "--transactions", "--k", "4", "--out", str(first))
    run("segment", str(retail_csv), "--transactions", "--k", "4", "--out", str(year),
        "--previous", str(first / "model.json"))
    s1 = json.loads((first / "summary.json").read_text())
    s2 = json.loads((year / "summary.json").read_text())
    assert s2["transactions"]["lines_excluded_by_reason"]["missing_customer_id"] == 135080
    alignment = s2["alignment"]
    assert len(alignment["matched"]) >= 3  # most segments persist across the two periods
    old_names = {s["segment"]: s["name"] for s in s1["segments"]}
    new_names = {s["segment"]: s["name"] for s in s2["segments"]}
    for old_id in alignment["matched"].values():  # matched segments keep id and name
        assert new_names[old_id] == old_names[old_id]
    for new_id in alignment["new_segments"]:
        assert new_id not in old_names

    mig = tmp_path / "migration"
    run("compare", str(first), str(year), "--out", str(mig))
    c = json.loads((mig / "compare.json").read_text())
    assert c["customers_old"] == s1["rows_segmented"] and c["customers_new"] == 4372
    assert c["customers_old"] == c["stayed"] + c["moved"] + c["lost_customers"]
    assert c["customers_new"] == c["stayed"] + c["moved"] + c["new_customers"]
    matrix = pd.read_csv(mig / "migration.csv")
    assert int(matrix.drop(columns="from").to_numpy().sum()) == (
        c["in_both"] + c["new_customers"] + c["lost_customers"])
    moves = pd.read_csv(mig / "moves.csv")
    assert len(moves) == c["moved"]
    assert (mig / "compare.html").stat().st_size > 1000
