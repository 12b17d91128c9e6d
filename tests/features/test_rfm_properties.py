"""Property tests: on random logs with every kind of bad line, nothing vanishes and custseg
agrees with the independent pandas implementation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rfm_reference import reference_rfm

from custseg.features import rfm

DATES = ["2024-01-03 10:00:00", "2024-01-03 18:30:00", "2024-02-10 09:15:00",
         "2024-03-01 00:00:00", "2024-03-31 23:59:59", "garbage", None]

line = st.fixed_dictionaries({
    "CustomerID": st.sampled_from(["1", "2", "3.0", "3", "17", None, ""]),
    "InvoiceNo": st.sampled_from(["100", "101", "102", "C103", "C104", "105"]),
    "InvoiceDate": st.sampled_from(DATES),
    "Quantity": st.sampled_from(["1", "2", "12", "-1", "-3", "0", "x"]),
    "UnitPrice": st.sampled_from(["0.5", "2.55", "10", "0", "-1", None]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=1, max_size=25))
def test_accounting_and_reference(rows: list[dict]) -> None:
    log = pd.DataFrame(rows, dtype=object)
    ref, totals = reference_rfm(log)
    if totals["lines_used"] == 0:
        return  # rfm raises SchemaError then: tested elsewhere
    res = rfm(log)
    s = res.summary
    # Nothing vanishes: every line is used or excluded with one reason, and shows in rejects.
    assert s["lines_read"] == len(log) == s["lines_used"] + s["lines_excluded"]
    assert len(res.rejects) == s["lines_excluded"]
    assert sorted(res.rejects["line"]) == sorted(set(res.rejects["line"]))
    assert {k: v for k, v in s["lines_excluded_by_reason"].items() if v} == \
        totals["excluded_by_reason"]
    # Money is conserved (a positive line on a cancellation invoice counts -|value|).
    assert res.features["monetary"].sum() + s["excluded_net_value"] == pytest.approx(
        totals["file_total"] - 2 * totals["positive_cancellations"], abs=1e-9)
    # Same customers and values as the pandas groupby.
    ours = res.features.set_index("CustomerID")
    assert ours.index.tolist() == ref.index.tolist()
    for col in ("recency_days", "tenure_days", "frequency", "n_lines", "n_returns"):
        assert ours[col].tolist() == ref[col].tolist(), col
    np.testing.assert_allclose(ours["monetary"], ref["monetary"], atol=1e-9)
    # Defined values, never NaN, in documented ranges.
    num = ours.drop(columns=["first_purchase", "last_purchase"])
    assert not num.isna().any().any()
    assert ours["return_rate"].between(0, 1).all()
    assert (ours["mean_days_between_orders"] <= s["window_days"]).all()
    assert (ours["recency_days"] <= ours["tenure_days"]).all()
