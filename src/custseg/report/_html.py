"""The HTML report of an output folder: one self-contained, escaped, offline file."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd


def _table(frame: pd.DataFrame, float_fmt: str = "{:,.2f}") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, r in frame.iterrows():
        cells = []
        for v in r:
            text = float_fmt.format(v) if isinstance(v, float) else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_report(out_dir: str | Path, include_ids: bool = False) -> str:
    """Render ``report.html`` from the files of an output folder (summary, profiles)."""
    out = Path(out_dir)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    profiles = pd.read_csv(out / "profiles.csv", dtype={"segment_name": str})
    cols = ["segment", "segment_name", "size", "share"] + [
        c for c in profiles.columns if c.endswith("_mean") or c.endswith("_index")]
    acc = (f"{summary['rows_read']:,} rows read, {summary['rows_segmented']:,} segmented, "
           f"{summary['rows_rejected']:,} rejected")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>custseg report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head>
<body><h1>Customer segments</h1>
<p>{html.escape(acc)}; k = {int(summary['k'])}.</p>
<h2>Profiles</h2>{_table(profiles[cols])}
</body></html>
"""
