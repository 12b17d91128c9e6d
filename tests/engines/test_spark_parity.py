"""The Spark engine against the local engine, on the same inputs (DESIGN §5).

RFM values identical (counts, days and dates exactly; sums of money to 1e-12 relative, as the
order of additions differs), preprocessing parameters equal to 1e-9 relative, the same row
accounting, ARI >= 0.99 and inertia within 0.1% from the same initial centres, and models
that assign identically on either engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from conftest import FEATURES, customer_table, to_spark
from custseg import Segmenter, SegmentOptions, load_model, run_segment
from custseg.engines import (
    assign_spark,
    fit_spark,
    fit_spark_full,
    run_segment_spark,
    spark_read,
    spark_rfm,
)
from custseg.features import rfm
from custseg.io import read_table
from custseg.prep import Preprocessor

pytestmark = pytest.mark.spark

INT_COLUMNS = ("recency_days", "frequency", "tenure_days", "n_lines", "n_returns")
FLOAT_COLUMNS = ("monetary", "avg_order_value", "mean_days_between_orders", "return_rate")
SUMMARY_COUNTS = ("customers", "customers_without_usable_lines", "lines_read", "lines_used",
                  "lines_excluded", "returns_lines", "cancellation_invoices", "window_days",
                  "as_of", "date_range", "customer_id_normalised", "frequency_definition",
                  "date_format", "columns", "value")


def assert_rfm_identical(spark_res, local_res) -> None:
    """Features, rejects and summary counts of both engines agree (see module docstring)."""
    a, b = spark_res.features, local_res.features
    assert list(a.columns) == list(b.columns)
    assert a.iloc[:, 0].tolist() == b.iloc[:, 0].tolist()  # same IDs, same order
    for c in INT_COLUMNS:
        assert a[c].tolist() == b[c].tolist(), c
    for c in FLOAT_COLUMNS:
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=1e-12, atol=1e-9,
                                   err_msg=c)
    for c in ("first_purchase", "last_purchase"):
        assert a[c].isna().tolist() == b[c].isna().tolist(), c
        assert (pd.to_datetime(a[c]).dropna().tolist()
                == pd.to_datetime(b[c]).dropna().tolist()), c
    for k in SUMMARY_COUNTS:
        assert spark_res.summary[k] == local_res.summary[k], k
    assert spark_res.summary["lines_excluded_by_reason"] == local_res.summary[
        "lines_excluded_by_reason"]
    for k in ("gross_value", "returned_value", "net_value", "excluded_net_value"):
        assert spark_res.summary[k] == pytest.approx(local_res.summary[k], rel=1e-12, abs=1e-9)
    ra, rb = spark_res.rejects, local_res.rejects
    assert ra["line"].tolist() == rb["line"].tolist()
    assert ra["reason"].tolist() == rb["reason"].tolist()


# ------------------------------------------------------------------------------------ RFM


def test_rfm_hand_made_log(spark, tmp_path):
    from rfm_log import EXPECTED, EXPECTED_REJECTS, LOG_CSV, assert_features_equal

    path = tmp_path / "log.csv"
    path.write_text(LOG_CSV)
    res = spark_rfm(spark, str(path)).to_local()
    assert_features_equal(res.features, EXPECTED)
    assert list(zip(res.rejects["line"], res.rejects["reason"], strict=True)) == EXPECTED_REJECTS
    assert res.summary["engine"] == "spark"
    assert res.summary["lines_read"] == res.summary["lines_used"] + res.summary["lines_excluded"]
    assert_rfm_identical(res, rfm(path))


def test_rfm_parquet_with_native_types(spark, tmp_path):
    """Integer IDs and quantities, float prices, a timestamp column: the typed paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from rfm_log import HEADER, LINES

    frame = pd.DataFrame([line.split(",") for line in LINES], columns=HEADER.split(","))
    frame = frame[frame["InvoiceDate"] != "not a date"]
    table = pa.table({
        "InvoiceNo": frame["InvoiceNo"].to_numpy(str),
        "CustomerID": pa.array([int(v) if v else None for v in frame["CustomerID"]], pa.int64()),
        "Quantity": frame["Quantity"].astype(np.int64).to_numpy(),
        "UnitPrice": frame["UnitPrice"].astype(float).to_numpy(),
        "InvoiceDate": pa.array(pd.to_datetime(frame["InvoiceDate"]).to_numpy("datetime64[us]")),
    })
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    assert_rfm_identical(spark_rfm(spark, str(path)).to_local(), rfm(path))


OVERFLOW_LOG = """\
InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID
536365,6,2010-12-01 08:26:00,2.55,17850
536366,1e200,2010-12-01 09:00:00,1e200,17850
536367,2,2010-12-02 10:00:00,1e308,13047
536368,-1e200,2010-12-03 10:00:00,1e200,13047
536369,3,2010-12-03 11:00:00,1.5,13047
C536370,-1e300,2010-12-04 10:00:00,1e10,12346
536371,abc,2010-12-05 10:00:00,1.0,13047
"""


def test_rfm_value_overflow_as_the_local_engine(spark, tmp_path):
    """Finite quantity x price that overflows to +-inf: ``value_overflow`` on both engines, in
    the same place of the precedence, with the same customers and excluded value."""
    path = tmp_path / "overflow.csv"
    path.write_text(OVERFLOW_LOG)
    local = rfm(path)
    res = spark_rfm(spark, str(path)).to_local()
    assert local.summary["lines_excluded_by_reason"]["value_overflow"] == 4
    assert res.summary["exclusion_precedence"] == local.summary["exclusion_precedence"]
    assert local.summary["exclusion_precedence"][0] == "malformed_row"  # a text log
    assert_rfm_identical(res, local)
    assert res.summary["excluded_net_value"] == local.summary["excluded_net_value"] == 0.0
    # 12346's only line overflowed: a customer without usable lines on both engines
    assert res.features.iloc[0].tolist()[:2] == ["12346", local.summary["window_days"]]


def test_rfm_200k_line_log_identical(spark, log200k):
    res = spark_rfm(spark, str(log200k))
    local = rfm(log200k)
    assert res.summary["lines_read"] == 200_000
    assert_rfm_identical(res.to_local(), local)


@pytest.mark.slow
@pytest.mark.shared_data
def test_rfm_online_retail_identical(spark, retail_csv):
    res = spark_rfm(spark, str(retail_csv))
    assert res.summary["customers"] == 4372 and res.summary["lines_read"] == 541_909
    assert_rfm_identical(res.to_local(), rfm(retail_csv))


# -------------------------------------------------------------------------- preprocessing


@pytest.mark.parametrize("options", [
    {"scale": "standard", "impute": "median"},
    {"scale": "sample", "impute": "mean", "log_transform": ["income"]},
    {"scale": "robust", "impute": "median", "clip": (0.05, 0.95), "log_transform": "auto"},
    {"scale": "minmax", "impute": "median", "clip": (0.01, 0.99)},
])
def test_preprocessing_parameters_equal(spark, customers_frame, options):
    sdf = to_spark(spark, customers_frame)
    model = fit_spark(spark, sdf, FEATURES, k=3, seed=0, max_iter=5, **options)
    X = customers_frame[FEATURES].to_numpy(float)
    local = Preprocessor(impute=options["impute"], log_transform=options.get("log_transform"),
                         clip=options.get("clip"), scale=options["scale"]).fit(X, FEATURES)
    a, b = model.preprocessor.to_dict(), local.to_dict()
    assert a["transform"] == b["transform"]
    assert a["impute"]["strategy"] == b["impute"]["strategy"]
    np.testing.assert_allclose(a["impute"]["values"], b["impute"]["values"], rtol=1e-9)
    np.testing.assert_allclose(a["scale"]["center"], b["scale"]["center"], rtol=1e-9)
    np.testing.assert_allclose(a["scale"]["scale"], b["scale"]["scale"], rtol=1e-9)
    if b["clip"] is None:
        assert a["clip"] is None
    else:
        np.testing.assert_allclose(a["clip"]["low"], b["clip"]["low"], rtol=1e-9)
        np.testing.assert_allclose(a["clip"]["high"], b["clip"]["high"], rtol=1e-9)
    assert model.engine == "spark"
    assert model.preprocessor.n_imputed_.tolist() == [1, 1, 0]


def test_exact_quantiles_equal_numpy(spark, monkeypatch):
    """Both paths: collected columns, and percentile_approx brackets refined exactly."""
    from custseg.engines import _spark_numeric as num

    rng = np.random.default_rng(0)
    n = 3000
    x = np.round(rng.gamma(2.0, 3.0, n), 1)  # many ties
    y = rng.normal(size=n)
    y[rng.random(n) < 0.1] = np.nan
    g = rng.integers(0, 3, n)
    sdf = to_spark(spark, pd.DataFrame({"x": x, "y": y, "g": g.astype(float)}))
    probs = [0.01, 0.25, 0.5, 0.75, 0.99]
    for limit in (num.COLLECT_LIMIT, 50):  # 50 forces the bracket path
        monkeypatch.setattr(num, "COLLECT_LIMIT", limit)
        q = num.exact_quantiles(sdf, ["x", "y"], probs)[None]
        assert q["x"].tolist() == np.quantile(x, probs).tolist()
        assert q["y"].tolist() == np.quantile(y[~np.isnan(y)], probs).tolist()
        med = num.exact_medians(sdf, ["x", "y"])
        assert med.tolist() == np.nanmedian(np.c_[x, y], axis=0).tolist()
        grouped = num.exact_quantiles(sdf, ["x"], [0.25, 0.5, 0.75], group="g")
        for k in range(3):
            assert grouped[float(k)]["x"].tolist() == np.quantile(x[g == k],
                                                                  [0.25, 0.5, 0.75]).tolist()


# ------------------------------------------------------------------------------ clustering


def test_kmeans_from_the_same_centres(spark):
    """Five overlapping groups in four features: Spark's Lloyd from the local initial centres
    reaches the same partition (ARI >= 0.99) and inertia (within 0.1%)."""
    rng = np.random.default_rng(11)
    centres = rng.normal(0, 3, size=(5, 4))
    X = centres[rng.integers(0, 5, 3000)] + rng.normal(size=(3000, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    feats = list(frame.columns)
    pre = Preprocessor().fit(X, feats)
    Z = pre.transform_matrix(X)
    init = Z[rng.choice(len(Z), 5, replace=False)]
    km = KMeans(5, init=init, n_init=1, max_iter=300, tol=1e-4, algorithm="lloyd").fit(Z)
    fit = fit_spark_full(spark, to_spark(spark, frame.assign(row=np.arange(3000.0))), feats,
                         k=5, init_centers=init, keep=["row"], metrics=False)
    got = fit.assignments.select("row", "segment").collect()
    spark_labels = np.empty(3000, dtype=int)
    for r in got:
        spark_labels[int(r["row"])] = int(r["segment"])
    assert adjusted_rand_score(km.labels_, spark_labels) >= 0.99
    assert fit.inertia == pytest.approx(km.inertia_, rel=1e-3)
    assert fit.model.algorithm["params"]["init"] == "given centres"


def test_spark_kmeans_bisecting_and_gmm_give_valid_models(spark, customers_frame, tmp_path):
    sdf = to_spark(spark, customers_frame)
    for algorithm in ("kmeans", "bisecting", "gmm"):
        model = fit_spark(spark, sdf, FEATURES, k=3, seed=1, algorithm=algorithm, max_iter=20,
                          id_column="customer_id")
        path = model.save(tmp_path / f"{algorithm}.json")
        loaded = load_model(path)
        assert loaded.engine == "spark" and loaded.algorithm["name"] == algorithm
        sizes = sorted(s["size"] for s in loaded.segments)
        assert len(sizes) == 3 and sum(sizes) == 300
        if algorithm != "bisecting":  # top-down splits may cut the largest group instead
            assert sizes == [50, 100, 150]


def test_models_assign_identically_on_both_engines(spark, customers_frame, tmp_path):
    sdf = to_spark(spark, customers_frame)
    new = to_spark(spark, customer_table(200, seed=99))
    new_local = customer_table(200, seed=99)
    # local model → Spark
    seg = Segmenter(features=FEATURES, k=3, random_state=0).fit(customers_frame)
    local_model = load_model(seg.save(tmp_path / "local.json"))
    on_spark = assign_spark(spark, local_model, new).orderBy("customer_id").collect()
    expected = local_model.assign(new_local)
    assert [r["segment"] for r in on_spark] == expected["segment"].tolist()
    assert [r["segment_name"] for r in on_spark] == expected["segment_name"].tolist()
    np.testing.assert_allclose([r["distance"] for r in on_spark], expected["distance"],
                               rtol=1e-9, atol=1e-12)
    assert [r["out_of_distribution"] for r in on_spark] == \
        expected["out_of_distribution"].tolist()
    # Spark models → local (a GMM assigns the most probable component on both engines)
    for algorithm in ("kmeans", "gmm"):
        spark_model = load_model(fit_spark(
            spark, sdf, FEATURES, k=3, seed=0, algorithm=algorithm, id_column="customer_id"
        ).save(tmp_path / f"spark-{algorithm}.json"))
        on_spark = assign_spark(spark, spark_model, new).orderBy("customer_id").collect()
        local_view = spark_model.assign(new_local)
        assert [r["segment"] for r in on_spark] == local_view["segment"].tolist(), algorithm
        np.testing.assert_allclose([r["margin"] for r in on_spark], local_view["margin"],
                                   rtol=1e-9, atol=1e-12)
        if algorithm == "gmm":
            np.testing.assert_allclose([r["probability"] for r in on_spark],
                                       spark_model.predict_proba(new_local).max(axis=1),
                                       rtol=1e-9)
        # the models found the same three groups
        assert adjusted_rand_score(spark_model.predict(new_local),
                                   local_model.predict(new_local)) == 1.0


# -------------------------------------------------------------------- reading and the job


def test_reader_matches_the_local_reader(spark, dirty_csv):
    local = read_table(dirty_csv)
    read = spark_read(spark, str(dirty_csv))
    rows = read.frame.orderBy("__cs_line").collect()
    assert [r["__cs_line"] for r in rows] == local.line_numbers.tolist()
    for c in local.frame.columns:
        assert [r[c] for r in rows] == [None if pd.isna(v) else v for v in local.frame[c]], c
    rej = read.rejects.collect()
    assert [(r["line"], r["reason"], r["detail"], r["raw_line"]) for r in rej] == \
        list(zip(local.rejects["line"], local.rejects["reason"], local.rejects["detail"],
                 local.rejects["raw"], strict=True))
    assert read.info["blank_lines"] == local.info["blank_lines"]


def test_segment_job_accounts_for_rows_as_the_local_one(spark, dirty_csv, tmp_path):
    opts = SegmentOptions(k=3, seed=0, n_init=1, force=True)
    local = run_segment(dirty_csv, tmp_path / "local", opts)
    out = tmp_path / "spark"
    summary = run_segment_spark(str(dirty_csv), out, opts, spark=spark)
    for k in ("rows_read", "rows_segmented", "rows_rejected", "rejects_by_reason",
              "imputed_by_feature", "id_column", "features", "excluded_columns", "k"):
        assert summary[k] == local[k], k
    assert summary["rows_read"] == summary["rows_segmented"] + summary["rows_rejected"]
    assert summary["engine"] == "spark" and local["engine"] == "local"
    assert set(summary) >= set(local) - {"transactions"}
    spark_rejects = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False)
                               for p in sorted((out / "rejects.csv").glob("part-*.csv"))])
    local_rejects = pd.read_csv(tmp_path / "local" / "rejects.csv", dtype=str,
                                keep_default_na=False)
    key = ["line", "reason", "detail"]
    assert sorted(map(tuple, spark_rejects[key].to_numpy())) == \
        sorted(map(tuple, local_rejects[key].to_numpy()))
    segments = pd.concat([pd.read_csv(p, dtype={"customer_id": str})
                          for p in sorted((out / "segments.csv").glob("part-*.csv"))])
    assert segments["customer_id"].is_unique and len(segments) == summary["rows_segmented"]
    local_segments = pd.read_csv(tmp_path / "local" / "segments.csv",
                                 dtype={"customer_id": str})
    assert segments["customer_id"].tolist() == local_segments["customer_id"].tolist()
    assert adjusted_rand_score(segments["segment"], local_segments["segment"]) == 1.0
    model = load_model(out / "model.json")
    assert model.engine == "spark"
    for name in ("profiles.csv", "summary.json", "report.html", "report_sample.parquet"):
        assert (out / name).is_file(), name


def test_numbers_parse_as_the_local_parser(spark):
    from custseg.engines._spark_numeric import numeric_columns
    from custseg.prep import parse_numeric

    columns = {
        "plain": ["1", "2.5", "-3e2", "+.5", "", "NA", "n/a", " 7 ", "inf", "abc", "1,234.5",
                  "$12", "12€", "1 000", "0x10", "1.5d", None],
        "comma": ["1,5", "2,25", "", "3", "1.234,5", "-", "x", "7", "8", "9", "10", "11",
                  "12", "13", "14", "15", "16"],
    }
    frame = pd.DataFrame(columns, dtype=object)
    sdf = spark.createDataFrame([tuple(r) for r in frame.itertuples(index=False)],
                                "plain string, comma string")
    parsed = numeric_columns(sdf, list(columns))
    rows = sdf.select(*[e for c, p in parsed.items() for e in (
        p.value.alias(f"{c}_v"), p.missing.alias(f"{c}_m"), p.invalid.alias(f"{c}_i"))]).collect()
    for c in columns:
        local = parse_numeric(frame[c])
        got_v = np.array([np.nan if r[f"{c}_v"] is None else r[f"{c}_v"] for r in rows])
        np.testing.assert_array_equal(got_v, local.values, err_msg=c)
        assert [r[f"{c}_m"] for r in rows] == local.missing.tolist(), c
        assert [r[f"{c}_i"] for r in rows] == local.invalid.tolist(), c


def test_date_candidates_parse_as_duckdb(spark):
    """Every local date candidate, as Spark SQL, against DuckDB on generated spellings."""
    import duckdb
    from pyspark.sql import functions as F

    from custseg.engines._spark_dates import candidate_sql
    from custseg.features import _dates as local

    rng = np.random.default_rng(5)
    values = set()
    for _ in range(1500):
        y = str(rng.choice([rng.integers(1990, 2031), rng.integers(0, 100)]))
        a, b = str(rng.integers(0, 33)), str(rng.integers(0, 14))
        sep = str(rng.choice(["/", "-", "."]))
        date = str(rng.choice([f"{a}{sep}{b}{sep}{y}", f"{y}{sep}{b}{sep}{a}",
                               f"{rng.integers(1990, 2031)}-{b}-{a}"]))
        h, m, s = rng.integers(0, 25), rng.integers(0, 61), rng.integers(0, 61)
        time = str(rng.choice(["", f" {h}:{m:02d}", f" {h:02d}:{m:02d}:{s:02d}",
                               f"T{h:02d}:{m:02d}:{s:02d}", f" {h % 13}:{m:02d} PM",
                               f" {h}:{m:02d}:{s:02d}.{rng.integers(0, 10**7)}",
                               f" {h:02d}:{m:02d}:{s:02d}+01:00", f" {h:02d}:{m:02d}Z"]))
        values.add(str(rng.choice(["", " "])) + date + time)
    for _ in range(100):
        values.add(str(rng.choice([rng.integers(10**9, 10**11), rng.integers(10**11, 10**14),
                                   rng.integers(10000101, 99991231)])))
    values = sorted(values)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE s (v VARCHAR)")
    con.executemany("INSERT INTO s VALUES (?)", [(v,) for v in values])
    sdf = spark.createDataFrame([(v,) for v in values], "v string").cache()
    for offsets in (False, True):
        for name, sql, _ in local._candidates("v", offsets=offsets):
            duck = dict(con.execute(f"SELECT v, epoch_us({sql}) FROM s").fetchall())
            helpers: dict[str, str] = {}
            expr = candidate_sql(name, "v", offsets, helpers)
            staged = sdf.select("v", *[F.expr(e).alias(h) for h, e in helpers.items()])
            got = dict(staged.select("v", F.expr(
                f"unix_micros(CAST(({expr}) AS TIMESTAMP))").alias("t")).collect())
            differ = [(v, duck[v], got[v]) for v in values if duck[v] != got[v]]
            assert not differ, (name, offsets, differ[:5])


def test_rfm_choose_k_and_assign_jobs(spark, tmp_path, customers_frame):
    """The jobs behind ``custseg rfm|choose-k|assign --engine spark`` against the local ones."""
    from rfm_log import LOG_CSV

    from custseg._assign_job import run_assign
    from custseg.engines import run_assign_spark, run_choose_k_spark, run_rfm_spark
    from custseg.features import rfm_scores

    log = tmp_path / "log.csv"
    log.write_text(LOG_CSV)
    summary = run_rfm_spark(str(log), str(tmp_path / "rfm" / "features.parquet"), spark=spark)
    got = pd.read_parquet(tmp_path / "rfm" / "features.parquet")  # a folder of part files
    want = rfm_scores(rfm(log).features)
    for c in ("r_score", "f_score", "m_score", "rfm_segment"):
        assert got[c].tolist() == want[c].tolist(), c
    assert summary["lines_excluded"] == 5
    assert (tmp_path / "rfm" / "features.summary.json").is_file()
    assert (tmp_path / "rfm" / "features.rejects.csv").is_dir()

    csv = tmp_path / "customers.csv"
    customers_frame.to_csv(csv, index=False)
    choice, info = run_choose_k_spark(str(csv), SegmentOptions(features=FEATURES,
                                                               k_range=(2, 4)), spark=spark)
    assert choice.k == 3 and info["rows"] == 300 and info["engine"] == "spark"

    model = Segmenter(features=FEATURES, k=3, random_state=0).fit(customers_frame).save(
        tmp_path / "model.json")
    local = run_assign(model, csv, tmp_path / "local.csv")
    remote = run_assign_spark(model, str(csv), str(tmp_path / "spark.csv"), spark=spark)
    for key in ("rows_read", "rows_assigned", "rows_rejected", "segments",
                "out_of_distribution"):
        assert remote[key] == local[key], key


def test_small_tables_and_partitions_stay_in_the_jvm(spark, customers_frame):
    """Helper tables are built from literals (no Python RDD), and the persisted customer table
    the clustering iterates over is not left in 200 shuffle partitions."""
    from custseg.engines._spark import local_frame
    from custseg.engines._spark_fit import scaled_frame

    t = local_frame(spark, [("a", 1, 2.5), ("b", None, None)], "f STRING, n BIGINT, x DOUBLE")
    assert [tuple(r) for r in t.collect()] == [("a", 1, 2.5), ("b", None, None)]
    assert t.schema.simpleString() == "struct<f:string,n:bigint,x:double>"
    # (spark.createDataFrame of Python rows would plan a "Scan ExistingRDD")
    assert "ExistingRDD" not in t._jdf.queryExecution().executedPlan().toString()
    empty = local_frame(spark, [], "line BIGINT, reason STRING")
    assert empty.count() == 0 and empty.columns == ["line", "reason"]

    many = to_spark(spark, customers_frame).repartition(50)
    Z, _, n = scaled_frame(many, FEATURES, keep=["customer_id"])
    try:
        assert n == 300
        assert Z.rdd.getNumPartitions() <= spark.sparkContext.defaultParallelism
    finally:
        Z.unpersist()
