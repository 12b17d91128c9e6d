"""Plotly figures of the report, as plain ``{"data": [...], "layout": {...}}`` dicts.

Every string that Plotly draws passes through :func:`~._text.plotly_text` (or
:func:`~._text.plotly_wrap`); user-supplied strings never go into a ``hovertemplate`` (whose
``%{…}`` would be interpreted) — they travel in ``text``/``customdata`` instead. Categorical axes
are numeric positions with ``ticktext``, so two long names that shorten to the same label still get
their own row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._assets import FONT_STACK, GRID, INK, MUTED, segment_colour
from ._load import PROBABILITY_COLUMN, ReportData, Segment, segment_order
from ._text import fmt_int, fmt_num, fmt_pct, is_number, plotly_text, plotly_wrap

Figure = dict[str, Any]

HOVER_FEATURES = 6  # feature values shown when hovering a customer on the map
MAX_BOXES = 12  # feature distributions drawn (those that differ most between segments)
MAP_POINTS = 3000  # customers drawn on the map (SVG stays fast below a few thousand points)

# k-selection metrics, in the order they are drawn: label and which direction is better
METRICS: dict[str, tuple[str, str]] = {
    "inertia": ("Inertia (spread within segments)", "lower; look for the bend"),
    "silhouette": ("Silhouette", "higher is better"),
    "calinski_harabasz": ("Calinski–Harabasz", "higher is better"),
    "davies_bouldin": ("Davies–Bouldin", "lower is better"),
    "gap": ("Gap statistic", "higher is better"),
    "bic": ("BIC (Gaussian mixture)", "lower is better"),
    "stability": ("Stability (bootstrap agreement)", "higher is better"),
    "min_share": ("Smallest segment's share", "too small is hard to act on"),
}
#: k-selection table columns that are not drawn as curves
NOT_DRAWN = frozenset({"k", "gap_se", "votes"})


def seg_label(seg: Segment, max_len: int = 44) -> str:
    """``"2 · High income · Low recency"`` for Plotly (escaped, shortened)."""
    prefix = "Noise" if seg.id < 0 else str(seg.id)
    return plotly_text(f"{prefix} · {seg.name}", max_len=max_len)


def _axis(**kw: Any) -> dict[str, Any]:
    base = {"gridcolor": GRID, "zeroline": False, "linecolor": "#c5ccd3", "automargin": True,
            "tickfont": {"size": 12, "color": MUTED}, "title": {"font": {"size": 13}}}
    for key, value in kw.items():
        if key == "title":
            base["title"] = {"text": value, "font": {"size": 13, "color": INK}}
        else:
            base[key] = value
    return base


def _layout(height: int, **kw: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "height": height,
        "autosize": True,
        "margin": {"l": 10, "r": 16, "t": 36, "b": 10},
        "font": {"family": FONT_STACK, "size": 13, "color": INK},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"font": {"family": FONT_STACK, "size": 12}, "align": "left"},
        "showlegend": False,
    }
    layout.update(kw)
    return layout


def _title(text: str) -> dict[str, Any]:
    return {"text": text, "x": 0, "xanchor": "left", "xref": "paper",
            "font": {"size": 14, "color": INK}}


def _round(values: np.ndarray, digits: int = 4) -> list[float | None]:
    """Values to ``digits`` significant digits (smaller JSON), NaN → None."""
    arr = np.asarray(values, dtype=np.float64)
    out: list[float | None] = []
    for v in arr.tolist():
        if not math.isfinite(v):
            out.append(None)
        elif v == 0:
            out.append(0.0)
        else:
            out.append(float(f"{v:.{digits}g}"))
    return out


# ---------------------------------------------------------------------------------------------
def sizes_figure(segments: list[Segment]) -> Figure | None:
    """Horizontal bars: customers per segment, largest first, labelled with count and share."""
    segs = [s for s in segments if s.size is not None]
    if not segs:
        return None
    pos = list(range(len(segs)))
    return {
        "data": [{
            "type": "bar", "orientation": "h", "y": pos, "x": [s.size for s in segs],
            "marker": {"color": [segment_colour(s.id) for s in segs]},
            "text": [f"{fmt_int(s.size)} ({fmt_pct(s.share)})" for s in segs],
            "textposition": "outside", "cliponaxis": False,
            "customdata": [f"<b>{seg_label(s, 80)}</b><br>{fmt_int(s.size)} customers, "
                           f"{fmt_pct(s.share)} of all" for s in segs],
            "hovertemplate": "%{customdata}<extra></extra>",
        }],
        "layout": _layout(
            max(160, 50 + 38 * len(segs)),
            margin={"l": 10, "r": 30, "t": 10, "b": 10},
            bargap=0.28,
            xaxis=_axis(title="Customers", tickformat=",",
                        range=[0, 1.22 * max(s.size or 0 for s in segs) or 1]),
            yaxis=_axis(tickvals=pos, ticktext=[seg_label(s) for s in segs],
                        autorange="reversed", gridcolor="rgba(0,0,0,0)",
                        tickfont={"size": 13, "color": INK}),
        ),
    }


# ---------------------------------------------------------------------------------------------
def heatmap_figure(segments: list[Segment], features: list[str]) -> Figure | None:
    """Features × segments, coloured by the index vs. all customers (100 = average).

    The colour is ``log2(index / 100)`` clipped to ±2 (index 25 … 400), centred at 0, so "half
    the average" and "twice the average" are equally strong; each cell shows the index itself.
    """
    if not segments or not features:
        return None
    z, text, hover = [], [], []
    any_value = False
    for f in features:
        zr, tr, hr = [], [], []
        for s in segments:
            st = s.stats.get(f, {})
            idx = st.get("index")
            if is_number(idx) and idx > 0:
                zr.append(round(max(-2.0, min(2.0, (math.log2(idx) - math.log2(100.0)))), 4))
                tr.append(f"{idx:.0f}")
                any_value = True
            else:
                zr.append(None)
                tr.append("–" if not is_number(idx) else f"{idx:.0f}")
            hr.append(f"<b>{plotly_text(f, 60)}</b><br>{seg_label(s, 80)}<br>"
                      f"index {tr[-1]} (100 = all customers)<br>"
                      f"segment average {fmt_num(st.get('mean'))}, "
                      f"median {fmt_num(st.get('median'))}")
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    if not any_value:
        return None
    xs = list(range(len(segments)))
    ys = list(range(len(features)))
    colours = [[0.0, "#2b6cb0"], [0.25, "#90bde6"], [0.5, "#f7f7f7"], [0.75, "#f6b26b"],
               [1.0, "#c05621"]]
    return {
        "data": [{
            "type": "heatmap", "x": xs, "y": ys, "z": z, "text": text, "customdata": hover,
            "texttemplate": "%{text}", "textfont": {"size": 12},
            "hovertemplate": "%{customdata}<extra></extra>",
            "zmin": -2, "zmax": 2, "zmid": 0, "colorscale": colours, "xgap": 2, "ygap": 2,
            "colorbar": {"title": {"text": "Index", "side": "top"}, "thickness": 12,
                         "len": min(1.0, max(0.4, 220 / (60 + 34 * len(features)))),
                         "tickvals": [-2, -1, 0, 1, 2],
                         "ticktext": ["≤25", "50", "100", "200", "≥400"], "outlinewidth": 0},
        }],
        "layout": _layout(
            max(220, 90 + 34 * len(features)),
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            xaxis=_axis(tickvals=xs, ticktext=[plotly_wrap(f"{s.id} · {s.name}", 20)
                                               for s in segments],
                        side="top", showgrid=False, tickfont={"size": 12, "color": INK}),
            yaxis=_axis(tickvals=ys, ticktext=[plotly_text(f, 32) for f in features],
                        autorange="reversed", showgrid=False, tickfont={"size": 12, "color": INK}),
        ),
    }


# ---------------------------------------------------------------------------------------------
def scaled_sample(data: ReportData) -> tuple[np.ndarray, str] | None:
    """The sample's features in the scaled units the clustering saw, and how they were scaled.

    Uses model.json's preprocessing (imputation, log transform, clipping, centre and scale);
    without it, standardises the sample itself (median-imputed z-scores).
    """
    sample = data.sample
    feats = [f for f in data.features if sample is not None and f in sample.columns]
    if sample is None or len(feats) != len(data.features) or not feats or len(sample) < 3:
        return None
    M = sample[feats].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    pre_dict = (data.model or {}).get("preprocessing")
    if isinstance(pre_dict, dict):
        try:
            from ..prep import Preprocessor

            pre = Preprocessor.from_dict(pre_dict)
            if list(pre.feature_names_) == feats:
                Z = pre.transform_matrix(M)
                if np.isfinite(Z).all():
                    return Z, "the model's scaling"
        except Exception:  # noqa: BLE001 - fall back to the sample's own standardisation
            pass
    med = np.nanmedian(np.where(np.isfinite(M), M, np.nan), axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    M = np.where(np.isfinite(M), M, med)
    sd = M.std(axis=0)
    Z = (M - M.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return Z, "standardised sample values"


def axis_words(loadings: np.ndarray, features: list[str]) -> list[tuple[str, str]]:
    """The (at most two) features that weigh most on a map axis: ``[("more", f), ("less", g)]``."""
    order = np.argsort(-np.abs(loadings), kind="stable")[:2]
    return [("more" if loadings[j] > 0 else "less", features[j]) for j in order
            if abs(loadings[j]) >= 0.2]


def map_figure(data: ReportData) -> Figure | None:
    """Customers on the two main axes of variation (PCA of the scaled sample), by segment,
    with each segment's centre marked."""
    got = scaled_sample(data)
    if got is None or len(data.features) < 2:
        return None
    Z, _ = got
    sample = data.sample
    if sample is None:
        return None
    mean = Z.mean(axis=0)
    _, S, Vt = np.linalg.svd(Z - mean, full_matrices=False)
    Vt = Vt[:2]
    # deterministic orientation: the largest loading of each axis is positive
    signs = np.sign(Vt[np.arange(len(Vt)), np.argmax(np.abs(Vt), axis=1)])
    Vt = Vt * np.where(signs == 0, 1.0, signs)[:, None]
    coords = (Z - mean) @ Vt.T
    var = S**2
    explained = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    feats = data.features
    by_id = {s.id: s for s in data.segments}
    labels = sample["segment"].to_numpy()
    shown = _map_rows(labels, MAP_POINTS)
    hover_feats = feats[:HOVER_FEATURES]
    hover_vals = sample[hover_feats].apply(pd.to_numeric, errors="coerce").to_numpy(
        dtype=np.float64)
    # feature names are escaped (``%`` included), so they are inert inside the template
    template = "<br>".join(f"{plotly_text(f, 30)}: %{{customdata[{j}]:,.4~r}}"
                           for j, f in enumerate(hover_feats))
    traces: list[dict[str, Any]] = []
    for sid in sorted(set(labels.tolist()), key=segment_order):
        seg = by_id.get(sid, Segment(id=sid, name=f"Segment {sid}"))
        rows = shown[labels[shown] == sid]
        traces.append({
            "type": "scatter", "mode": "markers", "name": seg_label(seg, 40),
            "legendgroup": str(sid),
            "x": _round(coords[rows, 0]), "y": _round(coords[rows, 1]),
            "marker": {"color": segment_colour(sid), "size": 5, "opacity": 0.6,
                       "line": {"width": 0}},
            "customdata": [_round(r) for r in hover_vals[rows]],
            "hovertemplate": f"<b>{seg_label(seg, 60)}</b><br>{template}<extra></extra>",
        })
    # numeric features come first in centroid_scaled (one-hot categories, if any, follow)
    centres = [s for s in data.segments if s.centroid_scaled is not None
               and len(s.centroid_scaled) >= Z.shape[1]]
    if centres:
        C = np.array([s.centroid_scaled[:Z.shape[1]] for s in centres], dtype=np.float64)
        if np.isfinite(C).all():
            cc = (C - mean) @ Vt.T
            traces.append({
                "type": "scatter", "mode": "markers+text", "name": "Segment centres",
                "x": _round(cc[:, 0]), "y": _round(cc[:, 1]),
                "text": [str(s.id) for s in centres], "textposition": "top center",
                "textfont": {"size": 13, "color": INK},
                "marker": {"symbol": "diamond", "size": 13,
                           "color": [segment_colour(s.id) for s in centres],
                           "line": {"width": 1.5, "color": INK}},
                "customdata": [f"<b>Centre of {seg_label(s, 60)}</b>" for s in centres],
                "hovertemplate": "%{customdata}<extra></extra>",
            })
    xr, yr, outside = _frame(coords[shown])
    return {
        "data": traces,
        "layout": _layout(
            520, showlegend=True,
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            legend={"title": {"text": "Segment"}, "itemsizing": "constant",
                    "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 12}},
            xaxis=_axis(title=f"Map axis 1 ({100 * explained[0]:.0f}% of the variation)",
                        showticklabels=False, zeroline=True, zerolinecolor=GRID, range=xr),
            yaxis=_axis(title=f"Map axis 2 ({100 * explained[1]:.0f}% of the variation)",
                        showticklabels=False, zeroline=True, zerolinecolor=GRID, range=yr),
            hovermode="closest",
        ),
        "config": {"modeBarButtons": [["toImage", "zoom2d", "pan2d", "autoScale2d",
                                       "resetScale2d"]]},
        "axes": [axis_words(Vt[0], feats), axis_words(Vt[1], feats) if len(Vt) > 1 else []],
        "outside": outside,
    }


def _frame(xy: np.ndarray) -> tuple[list[float] | None, list[float] | None, int]:
    """Axis ranges that frame the bulk of the customers (1%–99% quantiles, padded) when a
    few extreme ones would otherwise squeeze everyone else into a corner (the full extent is
    over 1.5 times the frame); and how many customers fall outside. ``None``: show everyone."""
    if len(xy) < 50:
        return None, None, 0
    lo = np.quantile(xy, 0.01, axis=0)
    hi = np.quantile(xy, 0.99, axis=0)
    bulk = hi - lo
    if not np.all(bulk > 0):
        return None, None, 0
    lo, hi = lo - 0.25 * bulk, hi + 0.25 * bulk  # ±3.5 sd for a normal cloud
    full = xy.max(axis=0) - xy.min(axis=0)
    if np.all(full <= 1.5 * (hi - lo)):  # everyone fits without squeezing the bulk
        return None, None, 0
    outside = int((np.any(xy < lo, axis=1) | np.any(xy > hi, axis=1)).sum())
    return ([round(float(lo[0]), 4), round(float(hi[0]), 4)],
            [round(float(lo[1]), 4), round(float(hi[1]), 4)], outside)


def _map_rows(labels: np.ndarray, limit: int) -> np.ndarray:
    """Row indices to draw: all, or a fixed random sample of ``limit`` (every segment kept)."""
    n = len(labels)
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(n, size=limit, replace=False))


# ---------------------------------------------------------------------------------------------
def _box_stats(values: np.ndarray) -> dict[str, float] | None:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return None
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    lo = v[v >= q1 - 1.5 * iqr].min()
    hi = v[v <= q3 + 1.5 * iqr].max()
    return {"q1": q1, "median": med, "q3": q3, "lowerfence": lo, "upperfence": hi,
            "mean": float(v.mean()), "n": int(v.size)}


def box_features(data: ReportData, limit: int = MAX_BOXES) -> list[str]:
    """The features whose distributions are drawn: all, or the ``limit`` that differ most
    between segments (largest standardised difference of any segment), in table order."""
    feats = [f for f in data.features if data.sample is not None and f in data.sample.columns]
    if len(feats) <= limit:
        return feats
    spread = dict.fromkeys(feats, 0.0)
    for seg in data.segments:
        for f, d in seg.distinguishing:
            if f in spread:
                spread[f] = max(spread[f], abs(d))
        for f in feats:  # features never listed: fall back on the index
            idx = seg.stats.get(f, {}).get("index")
            if is_number(idx) and idx > 0:
                spread[f] = max(spread[f], abs(math.log2(idx) - math.log2(100.0)) / 2)
    keep = set(sorted(feats, key=lambda f: -spread[f])[:limit])
    return [f for f in feats if f in keep]


def box_figures(data: ReportData) -> list[tuple[str, Figure]]:
    """One box plot per feature: the spread of each segment (quartiles computed here from the
    sample, whiskers at 1.5 × IQR), with the median of all customers as a dashed line."""
    sample = data.sample
    if sample is None or not len(sample):
        return []
    by_id = {s.id: s for s in data.segments}
    ids = sorted(set(sample["segment"].tolist()), key=segment_order)
    labels = sample["segment"].to_numpy()
    out: list[tuple[str, Figure]] = []
    for f in box_features(data):
        if f not in sample.columns:
            continue
        col = pd.to_numeric(sample[f], errors="coerce").to_numpy(dtype=np.float64)
        traces = []
        for pos, sid in enumerate(ids):
            st = _box_stats(col[labels == sid])
            if st is None:
                continue
            seg = by_id.get(sid, Segment(id=sid, name=f"Segment {sid}"))
            colour = segment_colour(sid)
            traces.append({
                "type": "box", "x": [pos], "name": seg_label(seg, 40),
                "q1": _round([st["q1"]]), "median": _round([st["median"]]),
                "q3": _round([st["q3"]]), "lowerfence": _round([st["lowerfence"]]),
                "upperfence": _round([st["upperfence"]]), "mean": _round([st["mean"]]),
                "boxmean": True, "boxpoints": False, "width": 0.6,
                "marker": {"color": colour}, "line": {"color": colour, "width": 1.5},
                "fillcolor": colour + "55",
                "hoverinfo": "y+name",
            })
        if not traces:
            continue
        overall = np.nanmedian(col) if np.isfinite(col).any() else None
        shapes = []
        if overall is not None:
            shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                           "y0": float(overall), "y1": float(overall),
                           "line": {"color": MUTED, "width": 1, "dash": "dash"}})
        out.append((f, {
            "data": traces,
            "layout": _layout(
                300, title=_title(plotly_text(f, 60)),
                margin={"l": 10, "r": 10, "t": 40, "b": 10},
                shapes=shapes,
                xaxis=_axis(title="Segment", tickvals=list(range(len(ids))),
                            ticktext=[str(i) if i >= 0 else "Noise" for i in ids],
                            showgrid=False, range=[-0.6, len(ids) - 0.4]),
                yaxis=_axis(),
            ),
        }))
    return out


# ---------------------------------------------------------------------------------------------
def _k_series(rows: list[dict[str, Any]]) -> list[tuple[str, list[tuple[float, float]]]]:
    names: list[str] = [m for m in METRICS if any(m in r for r in rows)]
    for r in rows:
        names.extend(c for c in r if c not in names and c not in NOT_DRAWN
                     and not isinstance(r[c], bool) and is_number(r[c]))
    series = []
    for m in names:
        pts = [(float(r["k"]), float(r[m])) for r in rows if is_number(r.get(m))]
        if len(pts) >= 2:
            series.append((m, pts))
    return series


def k_selection_figure(ks: dict[str, Any]) -> Figure | None:
    """One small chart per metric of the k-selection table, the chosen k highlighted (and the
    elbow of the inertia curve marked when the table flags it)."""
    table = ks.get("table")
    if not isinstance(table, list) or not table:
        return None
    rows = [r for r in table if isinstance(r, dict) and is_number(r.get("k"))]
    if len(rows) < 2:
        return None
    rows.sort(key=lambda r: float(r["k"]))
    chosen = ks.get("k")
    if not is_number(chosen):
        chosen = next((r["k"] for r in rows if r.get("chosen") is True), None)
    series = _k_series(rows)
    if not series:
        return None
    n = len(series)
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    traces, annotations = [], []
    layout_axes: dict[str, Any] = {}
    for i, (m, pts) in enumerate(series):
        ax = "" if i == 0 else str(i + 1)
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        label, better = METRICS.get(m, (m.replace("_", " ").capitalize(), ""))
        trace: dict[str, Any] = {
            "type": "scatter", "mode": "lines+markers", "x": xs, "y": _round(np.array(ys), 5),
            "xaxis": f"x{ax}", "yaxis": f"y{ax}", "line": {"color": "#4a5a6a", "width": 2},
            "marker": {"size": 6, "color": "#4a5a6a"},
            "customdata": [f"{plotly_text(label)}: {fmt_num(y)}" for y in ys],
            "hovertemplate": "k = %{x}<br>%{customdata}<extra></extra>",
        }
        if m == "gap":
            se = {float(r["k"]): float(r["gap_se"]) for r in rows if is_number(r.get("gap_se"))}
            if se:
                trace["error_y"] = {"type": "data", "array": _round(
                    np.array([se.get(x, np.nan) for x in xs])), "color": "#9aa5b1",
                    "thickness": 1.2, "width": 3}
        traces.append(trace)
        if is_number(chosen):
            hit = [(x, y) for x, y in pts if x == float(chosen)]
            if hit:
                traces.append({
                    "type": "scatter", "mode": "markers", "x": [hit[0][0]], "y": [hit[0][1]],
                    "xaxis": f"x{ax}", "yaxis": f"y{ax}", "hoverinfo": "skip",
                    "marker": {"size": 13, "color": "#f28e2b",
                               "line": {"width": 2, "color": "#fff"}},
                })
        if m == "inertia":
            knee = [float(r["k"]) for r in rows if r.get("knee") is True]
            hit = [(x, y) for x, y in pts if knee and x == knee[0]]
            if hit:
                annotations.append({"x": hit[0][0], "y": hit[0][1], "xref": f"x{ax}",
                                    "yref": f"y{ax}", "text": "elbow", "showarrow": True,
                                    "arrowhead": 0, "ax": 24, "ay": -26,
                                    "font": {"size": 11, "color": MUTED}})
        title = f"<b>{plotly_text(label, 40)}</b>" + (
            f"<br><span style='color:{MUTED}'>{plotly_text(better)}</span>" if better else "")
        annotations.append({"text": title, "xref": f"x{ax} domain", "yref": f"y{ax} domain",
                            "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom",
                            "align": "left", "showarrow": False, "font": {"size": 12}})
        bottom = i + cols >= n  # nothing drawn below this chart
        layout_axes[f"xaxis{ax}"] = _axis(dtick=1, title="Number of segments (k)"
                                          if bottom else None)
        layout_axes[f"yaxis{ax}"] = _axis(nticks=5, tickformat=".0%" if m == "min_share"
                                          else None)
    return {
        "data": traces,
        "layout": _layout(
            270 * nrows + 40,
            margin={"l": 10, "r": 10, "t": 44, "b": 10},
            grid={"rows": nrows, "columns": cols, "pattern": "independent",
                  "roworder": "top to bottom", "xgap": 0.14, "ygap": 0.45},
            annotations=annotations, **layout_axes,
        ),
    }


# ---------------------------------------------------------------------------------------------
def rfm_figure(rfm: pd.DataFrame) -> Figure | None:
    """R score × F score: customers per cell, each labelled with its most common RFM segment."""
    r = pd.to_numeric(rfm["r_score"], errors="coerce")
    f = pd.to_numeric(rfm["f_score"], errors="coerce")
    ok = r.notna() & f.notna()
    if not ok.any():
        return None
    r, f = r[ok].astype(int), f[ok].astype(int)
    names = rfm.loc[ok, "rfm_segment"].astype("string") if "rfm_segment" in rfm.columns else None
    rs = list(range(int(r.min()), int(r.max()) + 1))
    fs = list(range(int(f.min()), int(f.max()) + 1))
    if len(rs) > 20 or len(fs) > 20:
        return None
    counts = pd.crosstab(f, r).reindex(index=fs, columns=rs, fill_value=0)
    top: dict[tuple[int, int], str] = {}
    if names is not None:
        frame = pd.DataFrame({"r": r, "f": f, "n": names}).dropna()
        if len(frame):
            mode = frame.groupby(["f", "r"])["n"].agg(lambda s: s.value_counts().index[0])
            top = {(int(a), int(b)): str(v) for (a, b), v in mode.items()}
    total = int(counts.to_numpy().sum())
    z, text, hover = [], [], []
    for fv in fs:
        zr, tr, hr = [], [], []
        for rv in rs:
            c = int(counts.loc[fv, rv])
            name = top.get((fv, rv), "")
            zr.append(c)
            tr.append("" if c == 0 else f"{plotly_wrap(name, 14, 2)}<br>{fmt_int(c)}" if name
                      else fmt_int(c))
            hr.append(f"R {rv}, F {fv}: {fmt_int(c)} customers ({fmt_pct(c / total)})"
                      + (f"<br>mostly {plotly_text(name, 60)}" if name else ""))
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    return {
        "data": [{
            "type": "heatmap", "x": rs, "y": fs, "z": z, "text": text, "customdata": hover,
            "texttemplate": "%{text}", "textfont": {"size": 11},
            "hovertemplate": "%{customdata}<extra></extra>", "xgap": 2, "ygap": 2,
            "colorscale": [[0, "#f1f5fa"], [1, "#2f5d8a"]],
            "colorbar": {"title": {"text": "Customers", "side": "top"}, "thickness": 12,
                         "outlinewidth": 0},
        }],
        "layout": _layout(
            max(320, 70 * len(fs) + 90),
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            xaxis=_axis(title="Recency score (higher = bought more recently)", dtick=1,
                        showgrid=False),
            yaxis=_axis(title="Frequency score (higher = buys more often)", dtick=1,
                        showgrid=False),
        ),
    }


# ---------------------------------------------------------------------------------------------
def linkage_matrix(model: dict[str, Any] | None) -> np.ndarray | None:
    """``model.json`` ``algorithm.linkage`` as a SciPy linkage matrix, or ``None``.

    Accepted: a list of ``[left, right, height, count]`` rows, or ``{"matrix": [...]}``.
    """
    algo = (model or {}).get("algorithm")
    if not isinstance(algo, dict):
        return None
    link = algo.get("linkage")
    if link is None and isinstance(algo.get("params"), dict):
        link = algo["params"].get("linkage")
    if isinstance(link, dict):
        link = link.get("matrix")
    if not isinstance(link, list) or not link:
        return None
    try:
        L = np.asarray(link, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if L.ndim != 2 or L.shape[1] != 4 or not np.isfinite(L).all():
        return None
    try:
        from scipy.cluster.hierarchy import is_valid_linkage

        if not is_valid_linkage(L):
            return None
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    return L


def dendrogram_figure(L: np.ndarray, k: int | None) -> Figure | None:
    """The merge tree of a two-step run (at most 40 leaves shown), the cut that gives k."""
    from scipy.cluster.hierarchy import dendrogram

    n_leaves = L.shape[0] + 1
    p = min(40, n_leaves)
    d = dendrogram(L, no_plot=True, truncate_mode="lastp" if n_leaves > p else None, p=p,
                   count_sort="descending")
    xs: list[float | None] = []
    ys: list[float | None] = []
    for ic, dc in zip(d["icoord"], d["dcoord"], strict=True):
        xs.extend([*ic, None])
        ys.extend([*dc, None])
    shapes, annotations = [], []
    heights = np.sort(L[:, 2])
    if k is not None and 2 <= k <= n_leaves:
        upper = heights[-(k - 1)]
        lower = heights[-k] if k < n_leaves else 0.0
        cut = (upper + lower) / 2
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": cut, "y1": cut,
                       "line": {"color": "#f28e2b", "width": 2, "dash": "dash"}})
        annotations.append({"xref": "paper", "x": 1, "y": cut, "xanchor": "right",
                            "yanchor": "bottom", "showarrow": False,
                            "text": f"cut here → {k} segments",
                            "font": {"color": "#c05621", "size": 12}})
    return {
        "data": [{"type": "scatter", "mode": "lines", "x": _round(np.array(xs, dtype=float)),
                  "y": _round(np.array(ys, dtype=float)), "line": {"color": "#4a5a6a",
                                                                    "width": 1.4},
                  "hoverinfo": "skip", "connectgaps": False}],
        "layout": _layout(
            360, shapes=shapes, annotations=annotations,
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            xaxis=_axis(title=f"Groups of similar customers (micro-clusters; {n_leaves:,} "
                        "in all)", showticklabels=False, showgrid=False),
            yaxis=_axis(title="Merge distance (Ward)", rangemode="tozero"),
        ),
    }


# ---------------------------------------------------------------------------------------------
def confidence_figure(data: ReportData) -> Figure | None:
    """Histogram of each customer's membership probability in its segment (Gaussian mixture),
    stacked by segment."""
    sample = data.sample
    if sample is None or PROBABILITY_COLUMN not in sample.columns:
        return None
    p = pd.to_numeric(sample[PROBABILITY_COLUMN], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(p).any():
        return None
    edges = np.linspace(0.0, 1.0, 21)
    centres = (edges[:-1] + edges[1:]) / 2
    labels = sample["segment"].to_numpy()
    by_id = {s.id: s for s in data.segments}
    traces = []
    for sid in sorted(set(labels.tolist()), key=segment_order):
        v = p[(labels == sid) & np.isfinite(p)]
        counts, _ = np.histogram(np.clip(v, 0, 1), bins=edges)
        seg = by_id.get(sid, Segment(id=sid, name=f"Segment {sid}"))
        traces.append({
            "type": "bar", "x": _round(centres), "y": counts.tolist(), "width": 0.048,
            "name": seg_label(seg, 40), "marker": {"color": segment_colour(sid)},
            "customdata": [f"{seg_label(seg, 60)}<br>probability {lo:.2f}–{hi:.2f}: "
                           f"{fmt_int(c)} customers"
                           for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)],
            "hovertemplate": "%{customdata}<extra></extra>",
        })
    return {
        "data": traces,
        "layout": _layout(
            340, barmode="stack", showlegend=True,
            legend={"title": {"text": "Segment"}, "font": {"size": 12}},
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            xaxis=_axis(title="Probability of belonging to its segment", range=[0, 1.0],
                        tickformat=".0%"),
            yaxis=_axis(title="Customers (in the sample)"),
        ),
    }
