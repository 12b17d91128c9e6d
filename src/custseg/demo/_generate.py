"""Generate the bundled demo customer table (synthetic, deterministic, no personal data).

Run ``python -m custseg.demo._generate`` to rewrite ``customers.csv``; the file is shipped so the
demo reads a real CSV through the same path users' files take. Five planted groups of customers,
plus a few realistic defects so the demo shows row accounting: blank cells (imputed), a cell
that is not a number and a repeated customer ID (both rejected with a reason).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# name: (share, age, income k$, orders/year, avg basket $, days since last order, web visits/month)
GROUPS = {
    "young digital bargain hunters": (0.30, 27, 38, 14, 22, 12, 14),
    "affluent loyal families": (0.22, 44, 96, 22, 85, 9, 6),
    "occasional big spenders": (0.18, 52, 120, 3, 260, 95, 2),
    "lapsed low-value": (0.18, 38, 45, 1.5, 30, 260, 1),
    "retired regulars": (0.12, 70, 52, 16, 40, 20, 1),
}


def generate(n: int = 2000, seed: int = 20240101) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    shares = np.array([g[0] for g in GROUPS.values()])
    group = rng.choice(len(GROUPS), size=n, p=shares / shares.sum())
    params = np.array([g[1:] for g in GROUPS.values()])
    p = params[group]
    regions = np.array(["North", "South", "East", "West"])
    df = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(1, n + 1)],
        "age": np.clip(rng.normal(p[:, 0], 6), 18, 90).round().astype(int),
        "annual_income_k": np.clip(rng.normal(p[:, 1], p[:, 1] * 0.15), 8, None).round(1),
        "orders_per_year": np.clip(rng.poisson(p[:, 2]), 0, None),
        "avg_basket": np.clip(rng.lognormal(np.log(p[:, 3]), 0.25), 1, None).round(2),
        "days_since_last_order": np.clip(rng.normal(p[:, 4], p[:, 4] * 0.3 + 3), 0, 720).round()
        .astype(int),
        "web_visits_per_month": np.clip(rng.poisson(p[:, 5]), 0, None),
        "region": regions[rng.integers(0, 4, size=n)],
    })
    df = df.astype({"annual_income_k": object, "avg_basket": object})
    for i in rng.choice(n, size=12, replace=False):  # blanks: imputed
        df.loc[i, "annual_income_k"] = ""
    df.loc[17, "avg_basket"] = "unknown"  # not a number: rejected
    dup = df.iloc[[42]].copy()  # the same customer exported twice: rejected
    return pd.concat([df, dup], ignore_index=True)


def main() -> None:
    path = Path(__file__).with_name("customers.csv")
    generate().to_csv(path, index=False, lineterminator="\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
