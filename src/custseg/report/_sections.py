"""The sections of the report, as HTML fragments.

Every value from the data goes through :func:`~._text.esc`; the only markup is written here.
Charts are empty ``<div>`` placeholders whose figures are collected in a :class:`Charts` registry
and embedded once, as JSON, at the end of the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _charts
from ._assets import segment_colour
from ._load import PROBABILITY_COLUMN, ReportData, Segment
from ._text import esc, esc_wrap, fmt_int, fmt_num, fmt_pct, is_number, join_plain

#: |standardised difference| thresholds of the words in the cards (as in segment names)
NOTABLE = 0.5
VERY = 1.5
CARD_FEATURES = 8  # key numbers shown per card (most distinguishing first)

SCALE_WORDS = {
    "standard": "standardised (mean 0, standard deviation 1; population sd)",
    "sample": "standardised with the sample standard deviation (as R's scale())",
    "robust": "robust scaling (median 0, interquartile range 1)",
    "minmax": "rescaled to the range 0–1",
    None: "not scaled (original units)",
}

SILHOUETTE_WORDS = ((0.7, "strong"), (0.5, "good"), (0.25, "fair"), (float("-inf"), "weak"))


@dataclass
class Charts:
    """Chart placeholders and their figures, in page order."""

    figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: str, figure: dict[str, Any] | None, label: str,
            css: str = "chart") -> str:
        """Register ``figure`` under a generated id; return its placeholder (or '')."""
        if figure is None:
            return ""
        div_id = f"chart-{len(self.figures)}-{key}"
        self.figures[div_id] = figure
        return f'<div class="{css}" id="{div_id}" role="img" aria-label="{esc(label)}"></div>'


def _section(sid: str, title: str, lead: str, body: str) -> str:
    lead_html = f'<p class="lead">{lead}</p>' if lead else ""
    return (f'<section class="panel" id="{sid}"><h2>{esc(title)}</h2>{lead_html}{body}'
            "</section>")


def _kv(pairs: list[tuple[str, str]]) -> str:
    """A definition list; keys are plain text, values already-escaped HTML."""
    items = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in pairs)
    return f'<dl class="kv">{items}</dl>'


def _level_word(d: float, index: Any = None) -> str:
    """Direction and strength of a difference, in words: from the index (ratio of averages,
    how a marketer reads it) when known, else from the standardised difference."""
    if is_number(index) and index > 0:
        direction = "higher" if index >= 100 else "lower"
        ratio = index / 100 if index >= 100 else 100 / index
        if ratio >= 2:
            return f"much {direction}"
        return direction if ratio >= 1.2 else f"slightly {direction}"
    direction = "higher" if d >= 0 else "lower"
    if abs(d) >= VERY:
        return f"much {direction}"
    return direction if abs(d) >= NOTABLE else f"slightly {direction}"


def _index_cell(idx: Any) -> str:
    if not is_number(idx):
        return '<td class="n">–</td>'
    cls = ' idx-hi' if idx >= 120 else (' idx-lo' if idx <= 80 else "")
    return f'<td class="n{cls}">{idx:.0f}</td>'


def silhouette_word(value: Any) -> str:
    """Kaufman & Rousseeuw's reading of an average silhouette width."""
    if not is_number(value):
        return ""
    return next(word for bound, word in SILHOUETTE_WORDS if float(value) >= bound)


# ---------------------------------------------------------------------------------------------
def header(data: ReportData) -> str:
    """Title, the input and the date the model was made."""
    s = data.summary
    src = (s.get("input") or {}).get("path") if isinstance(s.get("input"), dict) else None
    parts = []
    if src:
        parts.append(f"from {esc(Path(str(src)).name or src)}")
    if is_number(s.get("rows_segmented")):
        parts.append(f"{fmt_int(s['rows_segmented'])} customers")
    n_real = sum(seg.id >= 0 for seg in data.segments)
    if n_real:
        parts.append(f"{n_real} segments")
    created = (data.model or {}).get("created")
    if created:
        parts.append(f"model made {esc(str(created)[:10])}")
    sub = " · ".join(parts)
    return (f'<header class="top"><div class="wrap"><h1>Customer segments</h1>'
            f'<p class="sub">{sub}</p></div></header>')


def nav(links: list[tuple[str, str]]) -> str:
    items = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title in links)
    return f'<nav class="toc" aria-label="Sections"><div class="wrap">{items}</div></nav>'


def kpis(data: ReportData) -> str:
    s = data.summary
    tiles = [(fmt_int(s.get("rows_segmented")), "customers segmented"),
             (str(sum(seg.id >= 0 for seg in data.segments)), "segments")]
    noise = next((seg for seg in data.segments if seg.id < 0), None)
    if noise is not None and noise.size:
        tiles.append((fmt_int(noise.size), f"in no segment (noise, {fmt_pct(noise.share)})"))
    rej = s.get("rows_rejected")
    if is_number(rej):
        read = s.get("rows_read")
        share = f" ({fmt_pct(rej / read)})" if is_number(read) and read else ""
        tiles.append((fmt_int(rej), f"rows not segmented{share}"))
    sil = (s.get("metrics") or {}).get("silhouette") if isinstance(s.get("metrics"), dict) \
        else None
    if is_number(sil):
        tiles.append((f"{sil:.2f}", f"separation (silhouette): {silhouette_word(sil)}"))
    body = "".join(f'<div class="kpi"><div class="v">{esc(v)}</div><div class="l">{esc(lbl)}'
                   "</div></div>" for v, lbl in tiles)
    return f'<div class="kpis">{body}</div>'


def callouts(data: ReportData) -> str:
    out = []
    ks = data.k_selection or {}
    if ks.get("clear_segmentation") is False or data.summary.get("clear_segmentation") is False:
        see = (' See <a href="#k">How the number of segments was chosen</a>.'
               if data.k_selection else "")
        out.append('<div class="callout"><b>No clear segment structure.</b> The customers do '
                   "not fall into well-separated groups; treat the segments below as a useful "
                   f"way to divide a continuum, not as natural groups.{see}</div>")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
def overview(data: ReportData, charts: Charts) -> str:
    chart = charts.add("sizes", _charts.sizes_figure(data.segments),
                       "Bar chart of the number of customers in each segment")
    body = kpis(data) + callouts(data) + ("<h3>Segment sizes</h3>" + chart if chart else "")
    return _section("overview", "Overview",
                    "Segments are numbered by size, largest first; each keeps its colour in "
                    "every chart.", body)


def _distinguishing_rows(seg: Segment) -> str:
    rows = []
    for f, d in seg.distinguishing[:5]:
        width = min(abs(d), 2.5) / 2.5 * 50
        left = 50 if d >= 0 else 50 - width
        idx = seg.stats.get(f, {}).get("index")
        lift = seg.levels.get(f, {}).get("lift")
        if is_number(idx):
            amount = f"{idx - 100:+.0f}%"
        elif is_number(lift):
            amount = f"{lift:.1f}× as common"
        else:
            amount = f"{d:+.1f} sd"
        rows.append(f'<span class="f">{esc_wrap(f)}</span>'
                    f'<span class="bar" title="{esc(f"{d:+.2f} standard deviations")}">'
                    f'<i style="left:{left:.1f}%;width:{width:.1f}%"></i></span>'
                    f'<span class="w">{esc(_level_word(d, idx))} · {esc(amount)}</span>')
    return "".join(rows)


def _top_levels(seg: Segment, categorical: list[str]) -> str:
    """Per categorical column, its most over-represented level in the segment."""
    items = []
    for col in categorical:
        prefix = f"{col}="
        levels = [(k[len(prefix):], v) for k, v in seg.levels.items() if k.startswith(prefix)
                  and is_number(v.get("lift")) and is_number(v.get("share"))
                  and v["share"] >= 0.05]
        if not levels:
            continue
        level, v = max(levels, key=lambda kv: kv[1]["lift"])
        items.append(f"<tr><td>{esc(col)}</td><td>{esc(level)}</td>"
                     f'<td class="n">{fmt_pct(v["share"], 0)}</td>'
                     f'<td class="n">{v["lift"]:.1f}×</td></tr>')
    if not items:
        return ""
    return ('<h4>Most typical categories</h4><table><thead><tr><th>Column</th><th>Level</th>'
            '<th class="n">Of segment</th><th class="n" title="share in the segment / share '
            f'among all customers">Lift</th></tr></thead><tbody>{"".join(items)}</tbody>'
            "</table>")


def _card(seg: Segment, features: list[str], ids: list[str] | None,
          categorical: list[str]) -> str:
    colour = segment_colour(seg.id)
    tag = "Noise" if seg.id < 0 else f"Segment {seg.id}"
    size = (f"<b>{fmt_int(seg.size)}</b> customers · {fmt_pct(seg.share)}"
            if seg.size is not None else "")
    share_bar = (f'<div class="share"><i style="width:{100 * seg.share:.1f}%"></i></div>'
                 if is_number(seg.share) else "")
    desc = f'<p class="desc">{esc(seg.description)}</p>' if seg.description else ""
    dist = _distinguishing_rows(seg)
    dist_html = f'<h4>What sets them apart</h4><div class="dist">{dist}</div>' if dist else ""
    order = [f for f, _ in seg.distinguishing if f in features]
    order += [f for f in features if f not in order]
    shown = [f for f in order if f in seg.stats][:CARD_FEATURES]
    numbers = ""
    if shown:
        rows = "".join(
            f'<tr><td>{esc_wrap(f)}</td><td class="n">{fmt_num(seg.stats[f].get("median"))}</td>'
            f'<td class="n">{fmt_num(seg.stats[f].get("mean"))}</td>'
            f'{_index_cell(seg.stats[f].get("index"))}</tr>' for f in shown)
        more = (f'<p class="note">{len(shown)} of {len(features)} features; all are in the '
                'profile table.</p>' if len(features) > len(shown) else "")
        numbers = ('<h4>Key numbers</h4><table><thead><tr><th>Feature</th><th class="n">Median'
                   '</th><th class="n">Average</th><th class="n" title="100 = all customers">'
                   f"Index</th></tr></thead><tbody>{rows}</tbody></table>{more}")
    numbers += _top_levels(seg, categorical)
    examples = ""
    if ids:
        examples = (f'<h4>Most typical customers</h4><p class="desc"><span class="code">'
                    f'{join_plain(ids)}</span></p>')
    return (f'<article class="card" id="segment-{seg.id}" data-segment="{seg.id}" '
            f'style="--c:{colour}"><div class="tag"><span><span class="sw"></span>{tag}</span>'
            f"<span>{size}</span></div><h3>{esc(seg.name)}</h3>{share_bar}{desc}{dist_html}"
            f"{numbers}{examples}</article>")


def cards(data: ReportData, example_ids: dict[int, list[str]] | None) -> str:
    body = "".join(_card(s, data.features, (example_ids or {}).get(s.id), data.categorical)
                   for s in data.segments)
    lead = ("Who is in each segment. <i>Index</i> compares the segment's average with all "
            "customers: 100 = the same, 150 = 50% higher, 50 = half.")
    if example_ids is not None:
        lead += (" <b>Customer IDs are shown</b> (the report was made with --include-ids): "
                 "handle this file as personal data.")
    return _section("segments", "The segments", lead, f'<div class="cards">{body}</div>')


def profiles(data: ReportData, charts: Charts) -> str:
    chart = charts.add("profile", _charts.heatmap_figure(data.segments, data.features),
                       "Heatmap of each feature's index in each segment")
    feats = [f for f in data.features if any(f in s.stats for s in data.segments)]
    if not chart and not feats:
        return ""
    table = ""
    if feats:
        head = "".join(f'<th class="n"><span class="sw" style="--c:{segment_colour(s.id)}">'
                       f"</span>{s.id}</th>" for s in data.segments)
        rows = []
        for f in feats:
            cells = []
            for s in data.segments:
                st = s.stats.get(f, {})
                idx = st.get("index")
                idx_txt = f" <span class=\"note\">({idx:.0f})</span>" if is_number(idx) else ""
                cells.append(f'<td class="n">{fmt_num(st.get("mean"))}{idx_txt}</td>')
            rows.append(f"<tr><td>{esc_wrap(f)}</td>{''.join(cells)}</tr>")
        table = ('<h3>Profile table</h3><p class="note">Average per segment (index in '
                 'brackets).</p><div class="scroll"><table><thead><tr><th>Feature</th>'
                 f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
    return _section("profiles", "How the segments differ",
                    "Each cell compares a segment's average with all customers (index; 100 = "
                    "average). Orange: above average, blue: below. Hover a cell for the "
                    "numbers.", chart + table)


def _axis_caption(words: list[tuple[str, str]]) -> str:
    return " and ".join(f"{esc(direction)} <b>{esc(f)}</b>" for direction, f in words) or \
        "no single feature"


def customer_map(data: ReportData, charts: Charts) -> str:
    fig = _charts.map_figure(data)
    if fig is None:
        return ""
    x_words, y_words = fig.pop("axes")
    outside = fig.pop("outside")
    n_drawn = sum(len(t["x"]) for t in fig["data"] if t.get("name") != "Segment centres")
    chart = charts.add("map", fig, "Scatter map of customers coloured by segment")
    caption = (f'<p class="note">To the right: {_axis_caption(x_words)}. Upwards: '
               f"{_axis_caption(y_words)}."
               + (f" {fmt_int(outside)} customer{'s' if outside != 1 else ''} with extreme "
                  f"values {'are' if outside != 1 else 'is'} outside the frame; the chart's "
                  "autoscale button shows everyone." if outside else "") + "</p>")
    return _section("map", "Map of customers",
                    f"{fmt_int(n_drawn)} customers (a sample) placed so that similar customers "
                    "are close together: the two axes summarise all features (principal "
                    "components of the scaled values the segmentation used). Diamonds mark "
                    "segment centres. Overlap on this flat view does not mean the segments "
                    "overlap in all features.", chart + caption)


def distributions(data: ReportData, charts: Charts) -> str:
    figs = _charts.box_figures(data)
    if not figs:
        return ""
    body = "".join(charts.add(f"box{i}", fig, f"Box plot of {f} by segment")
                   for i, (f, fig) in enumerate(figs))
    n_numeric = len([f for f in data.features if data.sample is not None
                     and f in data.sample.columns])
    note = ""
    if len(figs) < n_numeric:
        note = (f'<p class="note">{len(figs)} of {n_numeric} features are drawn: those that '
                "differ most between segments (all are in the profile table).</p>")
    return _section("distributions", "Feature distributions by segment",
                    "Boxes span the middle half of each segment's customers; the line inside is "
                    "the median, the dotted line the mean; whiskers reach the typical range "
                    "(1.5 × the box length). The dashed line across is the median of all "
                    "customers. Computed on the report sample.",
                    f'<div class="grid2">{body}</div>{note}')


def rfm(data: ReportData, charts: Charts) -> str:
    if data.rfm is None:
        return ""
    chart = charts.add("rfm", _charts.rfm_figure(data.rfm),
                       "Heatmap of customers by recency and frequency score")
    if not chart:
        return ""
    return _section("rfm", "Recency × frequency grid",
                    "Customers by recency score (how recently they bought) and frequency score "
                    "(how often), each cell labelled with its most common RFM segment.", chart)


def confidence(data: ReportData, charts: Charts) -> str:
    fig = _charts.confidence_figure(data)
    if fig is None or data.sample is None:
        return ""
    p = data.sample[PROBABILITY_COLUMN].astype("float64")
    p = p[p.notna()]
    sure = float((p >= 0.9).mean()) if len(p) else float("nan")
    unsure = float((p < 0.6).mean()) if len(p) else float("nan")
    lead = (f"How sure the Gaussian mixture is of each customer's segment: {fmt_pct(sure)} of "
            f"customers belong to theirs with probability ≥ 90%, {fmt_pct(unsure)} with less "
            "than 60% (they sit between segments).")
    chart = charts.add("confidence", fig, "Histogram of segment membership probability")
    return _section("confidence", "Membership confidence", esc(lead), chart)


def k_selection(data: ReportData, charts: Charts) -> str:
    ks = data.k_selection
    if ks is None:
        return ""
    chart = charts.add("k", _charts.k_selection_figure(ks),
                       "Charts of the quality metrics for each number of segments")
    reasons = [r for r in (ks.get("reasons") or []) if isinstance(r, str | int | float)]
    reasons_html = ("<h3>Why this number</h3><ul class=\"reasons\">" +
                    "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>") if reasons else ""
    table = _k_table(ks)
    k = ks.get("k")
    lead = (f"custseg tried several numbers of segments and chose <b>{esc(fmt_int(k))}</b>. "
            "Each chart shows one way of scoring a segmentation; the orange dot is the choice."
            if is_number(k) else "The metrics custseg computed for each number of segments.")
    unclear = ""
    if ks.get("clear_segmentation") is False:
        unclear = ('<div class="callout">No number of segments stands out: the customers do '
                   "not fall into well-separated groups.</div>")
    return _section("k", "How the number of segments was chosen", lead,
                    unclear + chart + reasons_html + table)


K_COLUMNS = {
    "k": "k", "inertia": "Inertia", "silhouette": "Silhouette",
    "calinski_harabasz": "Calinski–Harabasz", "davies_bouldin": "Davies–Bouldin",
    "gap": "Gap (± s.e.)", "bic": "BIC", "stability": "Stability",
    "min_share": "Smallest segment", "knee": "Elbow", "admissible": "Large enough",
    "stable": "Stable", "votes": "Votes", "chosen": "Chosen",
}


def _k_cell(column: str, value: Any, row: dict[str, Any]) -> str:
    if column == "gap" and is_number(value) and is_number(row.get("gap_se")):
        return f'<td class="n">{fmt_num(value)} ± {float(row["gap_se"]):.2g}</td>'
    if isinstance(value, bool):
        return '<td class="n">✓</td>' if value else '<td class="n"></td>'
    if column == "min_share" and is_number(value):
        return f'<td class="n">{fmt_pct(value)}</td>'
    if is_number(value):
        return f'<td class="n">{fmt_num(value)}</td>'
    return f'<td class="n">{esc("" if value is None else value)}</td>'


def _k_table(ks: dict[str, Any]) -> str:
    rows = [r for r in (ks.get("table") or []) if isinstance(r, dict)]
    if not rows:
        return ""
    cols: list[str] = [c for c in K_COLUMNS if any(c in r for r in rows)]
    for r in rows:
        cols.extend(c for c in r if c not in cols and c != "gap_se")
    head = "".join(f'<th class="n">{esc(K_COLUMNS.get(c, c))}</th>' for c in cols)
    body = []
    for r in rows:
        chosen = r.get("chosen") is True or (
            "chosen" not in r and is_number(r.get("k")) and r.get("k") == ks.get("k"))
        style = ' style="background:#fff4e5;font-weight:600"' if chosen else ""
        body.append(f"<tr{style}>" + "".join(_k_cell(c, r.get(c), r) for c in cols) + "</tr>")
    return ('<h3>Metrics for each k</h3><div class="scroll"><table class="ktable"><thead><tr>'
            f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def dendrogram(data: ReportData, charts: Charts) -> str:
    L = _charts.linkage_matrix(data.model)
    if L is None:
        return ""
    k = data.summary.get("k")
    fig = _charts.dendrogram_figure(L, int(k) if is_number(k) else len(data.segments) or None)
    chart = charts.add("dendrogram", fig, "Dendrogram of the two-step clustering")
    return _section("dendrogram", "How the segments were formed",
                    "Two-step clustering first groups customers into many small, tight groups, "
                    "then merges the closest groups step by step (Ward's method). Cutting the "
                    "tree at the dashed line gives the segments.", chart)


# ---------------------------------------------------------------------------------------------
def data_summary(data: ReportData) -> str:
    s = data.summary
    pairs: list[tuple[str, str]] = []
    inp = s.get("input") if isinstance(s.get("input"), dict) else {}
    if inp.get("path"):
        pairs.append(("Input", f'<span class="code">{esc(inp["path"])}</span>'))
    if inp.get("format"):
        pairs.append(("Format", esc(inp["format"])))
    for key, label in (("rows_read", "Rows read"), ("rows_segmented", "Rows segmented"),
                       ("rows_rejected", "Rows not segmented")):
        if is_number(s.get(key)):
            pairs.append((label, esc(fmt_int(s[key]))))
    id_col = s.get("id_column")
    if id_col:
        how = "detected automatically" if s.get("id_column_detected") else "as given"
        pairs.append(("Customer ID column", f"{esc(id_col)} ({how})"))
    elif "id_column" in s:
        pairs.append(("Customer ID column", "none: customers are identified by line number"))
    algo = s.get("algorithm") if isinstance(s.get("algorithm"), dict) else \
        (data.model or {}).get("algorithm")
    if isinstance(algo, dict) and algo.get("name"):
        params = algo.get("params") if isinstance(algo.get("params"), dict) else {}
        shown = ", ".join(f"{esc(k)} {esc(v)}" for k, v in params.items()
                          if isinstance(v, str | int | float | bool) or v is None)
        pairs.append(("Algorithm", esc(algo["name"]) + (f" ({shown})" if shown else "")))
    if is_number(s.get("k")):
        req = s.get("k_requested")
        pairs.append(("Segments (k)", esc(fmt_int(s["k"])) + (
            f" (asked: {esc(req)})" if req is not None and str(req) != str(s["k"]) else "")))
    for key, label in (("engine", "Engine"), ("seed", "Random seed")):
        if s.get(key) is not None:
            pairs.append((label, esc(s[key])))
    metrics = s.get("metrics") if isinstance(s.get("metrics"), dict) else {}
    quality = []
    for key, label in (("silhouette", "silhouette"), ("calinski_harabasz", "Calinski–Harabasz"),
                       ("davies_bouldin", "Davies–Bouldin"), ("inertia", "inertia")):
        if is_number(metrics.get(key)):
            quality.append(f"{label} {fmt_num(metrics[key])}")
    if quality:
        n_sil = metrics.get("silhouette_sample_size")
        extra = (f" (silhouette on a sample of {fmt_int(n_sil)})" if is_number(n_sil) else "")
        pairs.append(("Quality", esc(", ".join(quality) + extra)))
    left = "<h3>Rows and method</h3>" + _kv(pairs)

    right = _rejects_table(s) + _features_table(data) + _excluded_table(s)
    left += _order_log(s)
    prep = _preprocessing(data)
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in data.notes)
    tech = _technical(s)
    return _section("data", "Data and method",
                    "What was read, what was used, and how it was prepared. Every row read is "
                    "either segmented or listed in rejects.csv with its reason.",
                    f'<div class="cols"><div>{left}{prep}</div><div>{right}</div></div>'
                    f"{notes}{tech}")


def _order_log(s: dict[str, Any]) -> str:
    """With --transactions: the log's lines, the reference date and the feature definitions."""
    tx = s.get("transactions")
    if not isinstance(tx, dict):
        return ""
    rfm = tx.get("rfm") if isinstance(tx.get("rfm"), dict) else {}
    pairs: list[tuple[str, str]] = []
    for key, label in (("lines_read", "Lines read"), ("lines_used", "Lines used"),
                       ("lines_excluded", "Lines excluded")):
        if is_number(tx.get(key)):
            pairs.append((label, esc(fmt_int(tx[key]))))
    by_reason = tx.get("lines_excluded_by_reason")
    if isinstance(by_reason, dict) and by_reason:
        pairs.append(("Excluded because", esc(", ".join(
            f"{k.replace('_', ' ')}: {fmt_int(v)}" for k, v in by_reason.items()))))
    if rfm.get("as_of"):
        source = f" ({rfm['as_of_source']})" if rfm.get("as_of_source") else ""
        pairs.append(("Reference date", esc(f"{str(rfm['as_of'])[:10]}{source}")))
    dates = rfm.get("date_range")
    if isinstance(dates, list) and len(dates) == 2:
        pairs.append(("Orders from", esc(f"{str(dates[0])[:10]} to {str(dates[1])[:10]}")))
    html = "<h3>Order log</h3>" + _kv(pairs) if pairs else ""
    defs = rfm.get("feature_definitions")
    used = set(s.get("features") or [])
    if isinstance(defs, dict) and any(k in used for k in defs):
        rows = "".join(f"<tr><td>{esc_wrap(k)}</td><td>{esc(v)}</td></tr>"
                       for k, v in defs.items() if k in used)
        html += ("<h3>Derived features used</h3><table><thead><tr><th>Feature</th><th>Definition"
                 f"</th></tr></thead><tbody>{rows}</tbody></table>")
    return html


def _rejects_table(s: dict[str, Any]) -> str:
    by_reason = s.get("rejects_by_reason")
    if not isinstance(by_reason, dict) or not by_reason:
        if is_number(s.get("rows_rejected")):
            return "<h3>Rows not segmented</h3><p>None: every row was segmented.</p>"
        return ""
    texts = s.get("reject_reasons") if isinstance(s.get("reject_reasons"), dict) else {}
    rows = "".join(f'<tr><td class="code">{esc(r)}</td><td>{esc(texts.get(r, ""))}</td>'
                   f'<td class="n">{fmt_int(n)}</td></tr>' for r, n in by_reason.items())
    return ("<h3>Rows not segmented, by reason</h3><table><thead><tr><th>Reason</th><th>Meaning"
            f'</th><th class="n">Rows</th></tr></thead><tbody>{rows}</tbody></table>')


def _features_table(data: ReportData) -> str:
    if not data.features:
        return ""
    s = data.summary
    imputed = s.get("imputed_by_feature") if isinstance(s.get("imputed_by_feature"), dict) else {}
    prep = s.get("preprocessing") if isinstance(s.get("preprocessing"), dict) else {}
    logged = set(prep.get("log1p_features") or [])
    if not logged:
        pre = (data.model or {}).get("preprocessing") or {}
        flags = (pre.get("transform") or {}).get("log1p") if isinstance(pre, dict) else None
        if isinstance(flags, list) and len(flags) == len(data.features):
            logged = {f for f, b in zip(data.features, flags, strict=True) if b}
    rows = "".join(
        f'<tr><td>{esc(f)}</td><td>{"log(1 + x)" if f in logged else "–"}</td>'
        f'<td class="n">{fmt_int(imputed.get(f)) if f in imputed else "–"}</td></tr>'
        for f in data.features)
    rows += "".join(f'<tr><td>{esc(c)}</td><td>categories</td><td class="n">–</td></tr>'
                    for c in data.categorical)
    n = len(data.features) + len(data.categorical)
    return (f"<h3>Features used ({n})</h3><table><thead><tr><th>Feature</th>"
            '<th>Transform</th><th class="n">Missing values filled</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _excluded_table(s: dict[str, Any]) -> str:
    excl = s.get("excluded_columns")
    if not isinstance(excl, dict) or not excl:
        return ""
    rows = "".join(f"<tr><td>{esc(c)}</td><td>{esc(r)}</td></tr>" for c, r in excl.items())
    return ("<h3>Columns not used</h3><table><thead><tr><th>Column</th><th>Why</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")


def _preprocessing(data: ReportData) -> str:
    s = data.summary
    prep = s.get("preprocessing") if isinstance(s.get("preprocessing"), dict) else {}
    model_pre = (data.model or {}).get("preprocessing")
    model_pre = model_pre if isinstance(model_pre, dict) else {}
    pairs: list[tuple[str, str]] = []
    scale_info = model_pre.get("scale") if isinstance(model_pre.get("scale"), dict) else {}
    if "scale" in prep or scale_info:
        scale = prep["scale"] if "scale" in prep else scale_info.get("method")
        pairs.append(("Scaling", esc(SCALE_WORDS.get(scale, str(scale)))))
    log_t = prep.get("log_transform")
    logged = prep.get("log1p_features") or []
    if log_t or logged:
        how = {"auto": " (chosen automatically: right-skewed features)",
               "all": " (every feature)"}.get(log_t, "") if isinstance(log_t, str) else ""
        pairs.append(("Log transform", "log(1 + x) of " + join_plain(logged) + esc(how)))
    clip = prep.get("clip")
    if clip:
        pairs.append(("Winsorized at quantiles", esc(", ".join(str(c) for c in clip))))
    impute = prep.get("impute")
    if not impute and isinstance(model_pre.get("impute"), dict):
        impute = model_pre["impute"].get("strategy")
    if impute:
        policy = s.get("missing_policy")
        how = f"filled with the {impute}" if policy != "reject" else "rows rejected"
        pairs.append(("Missing values", esc(how)))
    if not pairs:
        return ""
    return "<h3>Preparation</h3>" + _kv(pairs)


def _technical(s: dict[str, Any]) -> str:
    bits = []
    inp = s.get("input") if isinstance(s.get("input"), dict) else {}
    if inp.get("sha256"):
        bits.append(f'input SHA-256 <span class="code">{esc(inp["sha256"])}</span>')
    timings = s.get("timings_seconds")
    if isinstance(timings, dict) and timings:
        bits.append("time " + esc(", ".join(f"{k} {fmt_num(v)} s" for k, v in timings.items()
                                             if is_number(v))))
    versions = s.get("versions")
    if isinstance(versions, dict) and versions:
        bits.append("versions " + esc(", ".join(f"{k} {v}" for k, v in versions.items())))
    if not bits:
        return ""
    return '<p class="note">' + " · ".join(bits) + "</p>"
