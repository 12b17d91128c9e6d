"""Generated transaction logs shaped like UCI Online Retail, for Spark/local parity tests and
``benchmarks/bench_spark.py``.

Every line is an invoice line: ``InvoiceNo`` (``C`` prefix on cancellations), ``StockCode``,
``Quantity`` (negative on cancellations and some returns), ``InvoiceDate`` (``12/1/2010 8:26``
style, month first and unpadded, as the UCI original), ``UnitPrice`` (2 decimals, some 0),
``CustomerID`` (float-as-text such as ``17850.0``, some blank) and ``Country``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HEADER = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
          "Country"]
COUNTRIES = np.array(["United Kingdom", "France", "Germany", "EIRE", "Spain", "Netherlands"])


def generate_log(n_lines: int, seed: int = 0, *, lines_per_invoice: int = 8,
                 first_invoice: int = 536365, n_customers: int | None = None) -> pd.DataFrame:
    """A transaction log of ``n_lines`` lines as a frame of text columns."""
    rng = np.random.default_rng(seed)
    n_inv = max(1, n_lines // lines_per_invoice)
    n_cust = n_customers or max(2, n_inv // 6)
    inv_of_line = np.sort(rng.integers(0, n_inv, n_lines))
    cust_of_inv = rng.integers(0, n_cust, n_inv)
    # customers buy at their own pace: a per-customer activity shifts their dates
    start = np.datetime64("2010-12-01T08:00")
    minutes = rng.integers(0, 365 * 24 * 60, n_inv)
    when = start + minutes.astype("timedelta64[m]")
    cancel_inv = rng.random(n_inv) < 0.03
    inv_no = np.char.add(np.where(cancel_inv, "C", ""), (first_invoice + np.arange(n_inv)).astype(str))

    qty = rng.integers(1, 25, n_lines)
    qty = np.where(cancel_inv[inv_of_line], -qty, qty)
    qty = np.where(rng.random(n_lines) < 0.005, -qty, qty)  # returns on purchase invoices
    qty = np.where(rng.random(n_lines) < 0.001, 0, qty)
    price = np.round(rng.gamma(2.0, 2.0, n_lines), 2)
    price = np.where(rng.random(n_lines) < 0.004, 0.0, price)
    cust = (12346 + cust_of_inv[inv_of_line]).astype(np.float64)
    cust_text = np.char.add(cust.astype(np.int64).astype(str), ".0")
    cust_text = np.where(rng.random(n_lines) < 0.02, "", cust_text)

    ts = pd.DatetimeIndex(when[inv_of_line])
    dates = (ts.month.astype(str) + "/" + ts.day.astype(str) + "/" + ts.year.astype(str) + " "
             + ts.hour.astype(str) + ":" + pd.Index(ts.minute).map("{:02d}".format))
    stock = np.char.add("S", rng.integers(10000, 99999, n_lines).astype(str))
    frame = pd.DataFrame({
        "InvoiceNo": inv_no[inv_of_line],
        "StockCode": stock,
        "Quantity": qty.astype(str),
        "InvoiceDate": np.asarray(dates),
        "UnitPrice": np.char.mod("%.2f", price),
        "CustomerID": cust_text,
        "Country": COUNTRIES[rng.integers(0, len(COUNTRIES), n_lines)],
    })
    return frame


def write_log(path: str | Path, n_lines: int, seed: int = 0, *, chunk: int = 1_000_000) -> Path:
    """Write a generated log as CSV (in chunks, so 10M lines fit in memory)."""
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(HEADER) + "\n")
        done = 0
        part = 0
        n_customers = max(2, n_lines // 8 // 6)
        while done < n_lines:
            n = min(chunk, n_lines - done)
            frame = generate_log(n, seed=seed * 1000 + part, first_invoice=536365 + done,
                                 n_customers=n_customers)
            frame.to_csv(fh, header=False, index=False, lineterminator="\n")
            done += n
            part += 1
    return path
