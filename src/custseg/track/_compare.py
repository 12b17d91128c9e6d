"""Who moved where: compare two runs' segment assignments customer by customer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._exceptions import InputFileError, SchemaError

NEW = "(new customer)"
LOST = "(lost customer)"


@dataclass
class Comparison:
    """The result of :func:`compare_runs`."""

    id_column: str
    migration: pd.DataFrame  # counts: old segment name (rows, + NEW) × new segment name (+ LOST)
    shares: pd.DataFrame  # each row of ``migration`` divided by its total
    moves: pd.DataFrame  # customers whose segment changed
    drift: pd.DataFrame  # per segment name: old size, new size, change
    counts: dict[str, int]


def read_segments(run_dir: str | Path) -> pd.DataFrame:
    """Read ``segments.csv`` (or ``segments.parquet``) of an output folder, IDs as text."""
    run = Path(run_dir)
    if (run / "segments.parquet").exists():
        return pd.read_parquet(run / "segments.parquet")
    path = run / "segments.csv"
    if not path.exists():
        raise InputFileError(f"{run} holds no segments.csv or segments.parquet; pass the --out "
                             "folder of a custseg segment run.")
    return pd.read_csv(path, dtype=str, keep_default_na=False).astype(
        {"segment": int, "distance": float})


def _id_column(frame: pd.DataFrame, where: Path) -> str:
    col = frame.columns[0]
    if col == "line":
        raise SchemaError(f"{where} was segmented without an ID column; runs can only be "
                          "compared customer by customer when they have one (--id).")
    return col


def compare_runs(old_dir: str | Path, new_dir: str | Path) -> Comparison:
    """Join two runs' customers by ID and count who moved between named segments."""
    old, new = read_segments(old_dir), read_segments(new_dir)
    oid, nid = _id_column(old, Path(old_dir)), _id_column(new, Path(new_dir))
    if oid != nid:
        raise SchemaError(f"The runs use different ID columns ({oid!r} and {nid!r}).")
    old = old.assign(**{oid: old[oid].astype(str)})
    new = new.assign(**{oid: new[oid].astype(str)})
    both = old[[oid, "segment", "segment_name"]].merge(
        new[[oid, "segment", "segment_name"]], on=oid, how="outer", suffixes=("_old", "_new"),
        indicator=True)
    both["from"] = both["segment_name_old"].fillna(NEW)
    both["to"] = both["segment_name_new"].fillna(LOST)
    migration = pd.crosstab(both["from"], both["to"])
    shares = migration.div(migration.sum(axis=1), axis=0)
    matched = both["_merge"] == "both"
    moved = matched & (both["segment_name_old"] != both["segment_name_new"])
    moves = both.loc[moved, [oid, "segment_old", "segment_name_old", "segment_new",
                             "segment_name_new"]].rename(columns={
        "segment_old": "old_segment", "segment_name_old": "old_segment_name",
        "segment_new": "new_segment", "segment_name_new": "new_segment_name"})
    moves = moves.astype({"old_segment": int, "new_segment": int}).reset_index(drop=True)
    old_sizes = old["segment_name"].value_counts()
    new_sizes = new["segment_name"].value_counts()
    drift = pd.DataFrame({"old_size": old_sizes, "new_size": new_sizes}).fillna(0).astype(int)
    drift["change"] = drift["new_size"] - drift["old_size"]
    drift["old_share"] = drift["old_size"] / max(len(old), 1)
    drift["new_share"] = drift["new_size"] / max(len(new), 1)
    drift.index.name = "segment_name"
    counts = {
        "customers_old": int(len(old)), "customers_new": int(len(new)),
        "in_both": int(matched.sum()), "stayed": int((matched & ~moved).sum()),
        "moved": int(moved.sum()), "new_customers": int((both["_merge"] == "right_only").sum()),
        "lost_customers": int((both["_merge"] == "left_only").sum()),
    }
    return Comparison(oid, migration, shares, moves, drift.reset_index(), counts)


def write_comparison(comp: Comparison, out_dir: str | Path) -> dict:
    """Write ``migration.csv`` (counts), ``migration_shares.csv``, ``moves.csv``, ``drift.csv``,
    ``compare.json`` and ``compare.html`` (a Sankey chart, self-contained) into ``out_dir``."""
    import html
    import json

    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    from ..io import write_csv, write_json, write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(comp.migration.reset_index(), out / "migration.csv")
    write_csv(comp.shares.reset_index(), out / "migration_shares.csv")
    write_csv(comp.moves, out / "moves.csv")
    write_csv(comp.drift, out / "drift.csv")
    summary = {"id_column": comp.id_column, **comp.counts}
    write_json(summary, out / "compare.json")

    sources = list(comp.migration.index)
    targets = list(comp.migration.columns)
    labels = [f"before: {s}" for s in sources] + [f"after: {t}" for t in targets]
    link_s, link_t, link_v = [], [], []
    for i, s in enumerate(sources):
        for j, t in enumerate(targets):
            v = int(comp.migration.loc[s, t])
            if v:
                link_s.append(i)
                link_t.append(len(sources) + j)
                link_v.append(v)
    fig = go.Figure(go.Sankey(node={"label": labels, "pad": 12},
                              link={"source": link_s, "target": link_t, "value": link_v}))
    fig.update_layout(title="Customers between segments, previous run → this run", height=600)
    spec = json.dumps(fig.to_plotly_json(), default=str)
    spec = (spec.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v:,}</td></tr>"
                   for k, v in comp.counts.items())
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>custseg: segment migration</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}td{{padding:2px 10px}}</style>
<script>{get_plotlyjs()}</script></head><body>
<h1>Segment migration</h1><table>{rows}</table><div id="sankey"></div>
<script>var f={spec};Plotly.newPlot("sankey",f.data,f.layout,{{displaylogo:false}});</script>
</body></html>"""
    write_text(page, out / "compare.html")
    return summary
