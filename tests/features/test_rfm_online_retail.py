"""UCI Online Retail (../shared/data): known counts, the accounting identity, and agreement with
an independent pandas implementation on every customer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rfm_reference import reference_rfm

from custseg.features import RFMResult, rfm, rfm_scores

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def result(online_retail: Path) -> RFMResult:
    return rfm(online_retail)


@pytest.fixture(scope="module")
def reference(online_retail: Path) -> tuple[pd.DataFrame, dict]:
    raw = pd.read_csv(online_retail, dtype={"CustomerID": str, "InvoiceNo": str,
                                            "StockCode": str})
    return reference_rfm(raw)


def test_known_counts(result: RFMResult) -> None:
    s = result.summary
    assert s["customers"] == 4372 == len(result.features)
    assert s["lines_read"] == 541_909
    assert s["lines_excluded_by_reason"]["missing_customer_id"] == 135_080
    # 40 free items of known customers; the 2 negative prices (bad-debt adjustments) have
    # no customer, so they count as missing_customer_id.
    assert s["lines_excluded_by_reason"]["non_positive_price"] == 40
    assert s["lines_read"] == s["lines_used"] + s["lines_excluded"]
    assert s["customer_id_normalised"] is True  # "17850.0" -> "17850"
    assert result.features["CustomerID"].iloc[0] == "12346"
    assert s["as_of"] == "2011-12-10T00:00:00"
    assert s["date_range"] == ["2010-12-01T08:26:00", "2011-12-09T12:50:00"]
    # Cancellations are counted, not dropped: 8,905 lines on 3,654 "C" invoices of customers.
    assert s["returns_lines"] == 8_905
    assert s["cancellation_invoices"] == 3_654
    assert (result.rejects["reason"] == "missing_customer_id").sum() == 135_080
    # 13256 ordered only free items: it keeps a row, without purchase.
    row = result.features.set_index("CustomerID").loc["13256"]
    assert (row["n_lines"], row["frequency"], row["monetary"]) == (0, 0, 0.0)


def test_accounting_identity(result: RFMResult) -> None:
    s = result.summary
    total = result.features["monetary"].sum() + s["excluded_net_value"]
    assert round(total, 2) == 9_747_747.93
    assert abs(total - 9_747_747.934) < 1e-4
    assert s["net_value"] == pytest.approx(result.features["monetary"].sum(), abs=1e-6)
    assert s["gross_value"] - s["returned_value"] == pytest.approx(s["net_value"], abs=1e-6)


def test_agrees_with_pandas_groupby(result: RFMResult,
                                    reference: tuple[pd.DataFrame, dict]) -> None:
    ref, totals = reference
    ours = result.features.set_index("CustomerID")
    assert ours.index.tolist() == ref.index.tolist()
    assert (ours["recency_days"] == ref["recency_days"]).all()
    assert (ours["tenure_days"] == ref["tenure_days"]).all()
    assert (ours["frequency"] == ref["frequency"]).all()
    assert (ours["n_lines"] == ref["n_lines"]).all()
    assert (ours["n_returns"] == ref["n_returns"]).all()
    np.testing.assert_allclose(ours["monetary"], ref["monetary"], rtol=0, atol=1e-6)
    assert pd.Timestamp(result.summary["as_of"]) == totals["as_of"]
    assert result.summary["lines_used"] == totals["lines_used"]
    assert result.summary["cancellation_invoices"] == totals["cancellation_invoices"]
    assert result.summary["net_value"] + result.summary["excluded_net_value"] == pytest.approx(
        totals["file_total"], abs=1e-4)


def test_named_segments_on_real_customers(result: RFMResult) -> None:
    scored = rfm_scores(result.features)
    assert scored["rfm_segment"].notna().all()
    # The most recent, most frequent, biggest customers are Champions.
    best = scored.sort_values(["r_score", "f_score", "m_score"]).iloc[-1]
    assert best["rfm_segment"] == "Champions"
    assert scored.groupby("rfm_segment")["recency_days"].median()["Lost"] > 200
