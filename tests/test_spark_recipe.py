"""The Spark MLlib recipe (VectorAssembler + KMeans(k=5, seed=1)) and its local counterpart.

Spark clusters raw units (no scaling) with k-means|| initialisation; custseg's counterpart is
``Segmenter(k=5, scale=None)``. The two start from different random centres, so the test compares
what matters: the partition (ARI) and the inertia reached.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from custseg import Segmenter

pytestmark = pytest.mark.spark

COLS = ["Annual Income (k$)", "Spending Score (1-100)"]


def test_spark_recipe_has_a_local_counterpart(spark, mall_csv):
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import VectorAssembler

    df = pd.read_csv(mall_csv, dtype={"CustomerID": str})
    sdf = spark.createDataFrame(df[["CustomerID", *COLS]].rename(
        columns={COLS[0]: "income", COLS[1]: "score"}))
    assembled = VectorAssembler(inputCols=["income", "score"], outputCol="features").transform(sdf)
    model = KMeans(k=5, seed=1).fit(assembled)
    spark_labels = (model.transform(assembled).select("CustomerID", "prediction").toPandas()
                    .set_index("CustomerID").loc[df["CustomerID"], "prediction"].to_numpy())
    spark_cost = model.summary.trainingCost

    seg = Segmenter(features=COLS, k=5, scale=None, random_state=1).fit(df)
    assert adjusted_rand_score(seg.labels_, spark_labels) >= 0.99
    assert seg.inertia_ == pytest.approx(spark_cost, rel=1e-3)
