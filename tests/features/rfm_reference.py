"""An independent RFM in plain pandas (groupby), to check custseg.features.rfm against.

It follows the documented definitions line by line and shares no code with custseg.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def reference_rfm(log: pd.DataFrame, *, customer: str = "CustomerID", invoice: str = "InvoiceNo",
                  date: str = "InvoiceDate", quantity: str = "Quantity",
                  price: str = "UnitPrice", prefix: str = "C") -> tuple[pd.DataFrame, dict]:
    """Features per customer (index: the ID as text) and a few totals.

    ``log`` holds the raw columns; IDs may be text ("17850.0") or numbers, dates text or
    timestamps. Lines are excluded in the documented order; returns are negative lines or
    lines of invoices starting with ``prefix``.
    """
    ids = log[customer]
    if ids.dtype.kind == "f":
        ids = ids.map(lambda v: None if pd.isna(v) else str(int(v)))
    else:
        ids = ids.map(lambda v: None if pd.isna(v) or str(v).strip() == "" else str(v))
        if ids.dropna().str.fullmatch(r"[0-9]+(\.0+)?").all():
            ids = ids.str.replace(r"\.0+$", "", regex=True)
    ts = pd.to_datetime(log[date], errors="coerce", format="mixed")
    qty = pd.to_numeric(log[quantity], errors="coerce")
    unit = pd.to_numeric(log[price], errors="coerce")
    inv = log[invoice].astype(str)

    reason = pd.Series(None, index=log.index, dtype=object)
    for name, bad in (("missing_customer_id", ids.isna()), ("invalid_date", ts.isna()),
                      ("invalid_quantity", qty.isna()), ("invalid_price", unit.isna()),
                      ("non_positive_price", unit <= 0), ("zero_value", qty == 0)):
        reason = reason.where(reason.notna() | ~bad, name)
    used = reason.isna()
    if not used.any():
        return pd.DataFrame(), {"lines_used": 0}
    value = qty * unit
    is_ret = (qty < 0) | inv.str.startswith(prefix)

    lines = pd.DataFrame({"id": ids, "ts": ts, "inv": inv, "value": value, "is_ret": is_ret})
    u = lines[used]
    signed = np.where(u["is_ret"], -u["value"].abs(), u["value"])
    u = u.assign(signed=signed, day=u["ts"].dt.normalize())
    as_of = lines["ts"].max().normalize() + pd.Timedelta(days=1)  # latest valid date + 1 day
    window = (as_of - u["day"].min()).days

    purchases = u[~u["is_ret"]]
    g_all = u.groupby("id")
    g_p = purchases.groupby("id")
    universe = set(lines.loc[used | (reason != "missing_customer_id"), "id"].dropna())
    plain = all(i.isdigit() and (i == "0" or not i.startswith("0")) for i in universe)
    universe = sorted(universe, key=(lambda i: (len(i), i)) if plain else None)
    out = pd.DataFrame(index=pd.Index(universe, name="id"))
    out["monetary"] = g_all["signed"].sum()
    out["frequency"] = g_p["inv"].nunique()
    out["last"] = g_p["day"].max()
    out["first"] = g_p["day"].min()
    out["n_lines"] = g_all.size()
    out["n_returns"] = g_all["is_ret"].sum()
    out = out.fillna({"monetary": 0.0, "frequency": 0, "n_lines": 0, "n_returns": 0})
    out["recency_days"] = (as_of - out["last"]).dt.days.fillna(window).astype(int)
    out["tenure_days"] = (as_of - out["first"]).dt.days.fillna(window).astype(int)
    out = out.astype({"frequency": int, "n_lines": int, "n_returns": int})
    totals = {
        "as_of": as_of,
        "lines_used": int(used.sum()),
        "excluded_by_reason": reason.value_counts().to_dict(),
        "file_total": float(value.sum()),
        # Lines of cancellation invoices with a positive value count -|value|, not +value.
        "positive_cancellations": float(u.loc[u["is_ret"] & (u["value"] > 0), "value"].sum()),
        "cancellation_invoices": int(u.loc[u["inv"].str.startswith(prefix), "inv"].nunique()),
    }
    return out, totals
