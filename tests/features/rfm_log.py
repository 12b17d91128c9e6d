"""A hand-computed transaction log, small enough to check every feature by eye.

Shared by the tests of custseg.features (imported as ``rfm_log``; the fixtures are in conftest.py).

Columns as in UCI Online Retail. Line numbers count the header as line 1.

line invoice cust date              qty  price  value  what
 2   1001    101  2024-01-02 09:00    2   5.00  10.00  A: purchase
 3   1001    101  2024-01-02 09:00    1   3.50   3.50  A: same invoice
 4   1002    101  2024-01-10 10:00    4   2.50  10.00  A
 5   C1003   101  2024-01-12 11:00   -1   5.00  -5.00  A: cancellation invoice
 6   1004    101  2024-01-20 12:00    1  20.00  20.00  A
 7   1005    102  2024-01-05 08:00   10   1.00  10.00  B
 8   1006    102  2024-01-25 08:00    5   2.00  10.00  B
 9   1006    102  2024-01-25 08:00   -2   2.00  -4.00  B: return on a purchase invoice
10   1007    103  2024-01-31 15:30    3   4.00  12.00  C: one order, the latest date
11   1008    --   2024-01-15 12:00    1   9.99   9.99  excluded: missing_customer_id
12   1009    104  not a date          2   3.00   6.00  excluded: invalid_date
13   1010    104  2024-01-08 14:00    6   2.00  12.00  D
14   1010    104  2024-01-08 14:00    1   0.00   0.00  excluded: non_positive_price
15   1011    104  2024-01-22 16:00    1   6.00   6.00  D
16   1012    --   2024-01-16 10:00    2   0.00   0.00  excluded: missing_customer_id (wins
                                                      over the zero price)
17   C1013   105  2024-01-18 10:00   -2   7.50 -15.00  E: returns only (bought before the log)
18   1014    106  2024-01-19 09:00    3   0.00   0.00  F: only a free item -> row, no usable line

as_of = 2024-02-01 (the day after 2024-01-31); the usable log starts 2024-01-02, so
window_days = 30.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
LINES = [
    "1001,85123A,WHITE HANGING HEART,2,2024-01-02 09:00:00,5.00,101,United Kingdom",
    "1001,71053,WHITE METAL LANTERN,1,2024-01-02 09:00:00,3.50,101,United Kingdom",
    "1002,84406B,CREAM CUPID HEARTS,4,2024-01-10 10:00:00,2.50,101,United Kingdom",
    "C1003,85123A,WHITE HANGING HEART,-1,2024-01-12 11:00:00,5.00,101,United Kingdom",
    "1004,22423,REGENCY CAKESTAND,1,2024-01-20 12:00:00,20.00,101,United Kingdom",
    "1005,21730,GLASS STAR LANTERN,10,2024-01-05 08:00:00,1.00,102,France",
    "1006,22752,SET 7 BABUSHKA,5,2024-01-25 08:00:00,2.00,102,France",
    "1006,22633,HAND WARMER,-2,2024-01-25 08:00:00,2.00,102,France",
    "1007,84879,ASSORTED BIRD ORNAMENT,3,2024-01-31 15:30:00,4.00,103,Germany",
    "1008,22728,ALARM CLOCK,1,2024-01-15 12:00:00,9.99,,United Kingdom",
    "1009,22727,ALARM CLOCK RED,2,not a date,3.00,104,EIRE",
    "1010,21754,HOME BUILDING BLOCK,6,2024-01-08 14:00:00,2.00,104,EIRE",
    "1010,POST,POSTAGE,1,2024-01-08 14:00:00,0.00,104,EIRE",
    "1011,21755,LOVE BUILDING BLOCK,1,2024-01-22 16:00:00,6.00,104,EIRE",
    "1012,22111,SCOTTIE DOG,2,2024-01-16 10:00:00,0.00,,United Kingdom",
    "C1013,22960,JAM MAKING SET,-2,2024-01-18 10:00:00,7.50,105,Spain",
    "1014,22961,JAM JAR,3,2024-01-19 09:00:00,0.00,106,Spain",
]
LOG_CSV = HEADER + "\n" + "\n".join(LINES) + "\n"

AS_OF = pd.Timestamp("2024-02-01")
WINDOW = 30
NAN = float("nan")
NAT = pd.NaT

#: The expected features, computed by hand (see the module docstring).
EXPECTED = pd.DataFrame(
    [
        # id, recency, freq, monetary, tenure, aov, mdbo, return_rate, lines, returns, first, last
        ("101", 12, 3, 38.5, 30, 14.5, 9.0, 5 / 43.5, 5, 1, "2024-01-02", "2024-01-20"),
        ("102", 7, 2, 16.0, 27, 10.0, 20.0, 0.2, 3, 1, "2024-01-05", "2024-01-25"),
        ("103", 1, 1, 12.0, 1, 12.0, 30.0, 0.0, 1, 0, "2024-01-31", "2024-01-31"),
        ("104", 10, 2, 18.0, 24, 9.0, 14.0, 0.0, 2, 0, "2024-01-08", "2024-01-22"),
        ("105", 30, 0, -15.0, 30, 0.0, 30.0, 1.0, 1, 1, None, None),
        ("106", 30, 0, 0.0, 30, 0.0, 30.0, 0.0, 0, 0, None, None),
    ],
    columns=["CustomerID", "recency_days", "frequency", "monetary", "tenure_days",
             "avg_order_value", "mean_days_between_orders", "return_rate", "n_lines",
             "n_returns", "first_purchase", "last_purchase"],
)
EXPECTED["first_purchase"] = pd.to_datetime(EXPECTED["first_purchase"])
EXPECTED["last_purchase"] = pd.to_datetime(EXPECTED["last_purchase"])

EXPECTED_REJECTS = [
    (11, "missing_customer_id"),
    (12, "invalid_date"),
    (14, "non_positive_price"),
    (16, "missing_customer_id"),
    (18, "non_positive_price"),
]
FILE_TOTAL = 85.49  # sum of Quantity * UnitPrice over every line


def assert_features_equal(actual: pd.DataFrame, expected: pd.DataFrame = EXPECTED,
                          id_column: str = "CustomerID") -> None:
    """Compare feature tables: same IDs (as text), integers exactly, floats to 1e-9."""
    actual = actual.reset_index(drop=True)
    assert list(actual.columns) == [id_column, *expected.columns[1:]]
    assert actual[id_column].astype(str).tolist() == expected.iloc[:, 0].astype(str).tolist()
    for col in expected.columns[1:]:
        a, e = actual[col], expected[col]
        if col in ("first_purchase", "last_purchase"):
            assert a.isna().tolist() == e.isna().tolist(), col
            assert (pd.to_datetime(a[a.notna()]).dt.normalize().tolist()
                    == pd.to_datetime(e[e.notna()]).tolist()), col
        elif e.dtype.kind in "iu":
            assert a.dtype.kind in "iu", (col, a.dtype)
            assert a.tolist() == e.tolist(), col
        else:
            np.testing.assert_allclose(a.to_numpy(float), e.to_numpy(float), rtol=1e-9,
                                       atol=1e-9, err_msg=col)
