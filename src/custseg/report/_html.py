"""The HTML report of an output folder: one self-contained, escaped, offline file."""

from __future__ import annotations

from pathlib import Path

from .._version import __version__
from . import _sections as sec
from ._assets import CSP, CSS, RENDER_JS, plotly_js
from ._load import load_report_data, read_example_ids
from ._text import clean_text, esc, script_json

#: Marks the start and end of the inlined Plotly library (tests strip it to check the rest).
PLOTLY_BEGIN = "<!-- plotly.js (inlined; MIT licence) -->"
PLOTLY_END = "<!-- end of plotly.js -->"


def render_report(out_dir: str | Path, include_ids: bool = False) -> str:
    """Render the HTML report of a custseg output folder.

    Reads ``summary.json`` (required), ``model.json``, ``profiles.csv``,
    ``report_sample.parquet`` and, when present, the RFM fields of ``features.parquet`` and the
    k-selection table of the summary. Missing optional files leave their sections out and are
    noted in the report.

    The result is one self-contained page: Plotly is inlined once, nothing is fetched (a
    Content-Security-Policy forbids it), every value from the data is escaped for where it is
    used (markup, Plotly labels, embedded JSON), and it prints cleanly.

    Parameters
    ----------
    out_dir : str or Path
        Output folder written by ``custseg segment`` (or :func:`custseg.run_segment`).
    include_ids : bool, default=False
        Show a few example customer IDs per segment (the customers nearest each segment's
        centre, read from ``segments.csv``/``segments.parquet``). Off by default: IDs are
        personal data, and without this flag no ID is read.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    InputFileError
        When ``out_dir`` holds no readable ``summary.json``.

    Examples
    --------
    >>> from custseg.report import render_report
    >>> html = render_report("custseg-demo/")  # doctest: +SKIP
    >>> _ = open("custseg-demo/report.html", "w", encoding="utf-8").write(html)  # doctest: +SKIP
    """
    data = load_report_data(out_dir)
    examples = None
    if include_ids:
        id_col = data.summary.get("id_column")
        examples = read_example_ids(data.out, id_col if isinstance(id_col, str) else None)

    charts = sec.Charts()
    parts: list[tuple[str, str, str]] = [  # (section id, nav title, html)
        ("overview", "Overview", sec.overview(data, charts)),
        ("segments", "Segments", sec.cards(data, examples)),
        ("profiles", "Profiles", sec.profiles(data, charts)),
        ("map", "Map", sec.customer_map(data, charts)),
        ("distributions", "Distributions", sec.distributions(data, charts)),
        ("rfm", "RFM grid", sec.rfm(data, charts)),
        ("confidence", "Confidence", sec.confidence(data, charts)),
        ("k", "Choosing k", sec.k_selection(data, charts)),
        ("dendrogram", "Dendrogram", sec.dendrogram(data, charts)),
        ("data", "Data and method", sec.data_summary(data)),
    ]
    parts = [p for p in parts if p[2]]
    body = "".join(html for _, _, html in parts)
    links = [(sid, title) for sid, title, _ in parts]
    title = "Customer segments"
    src = (data.summary.get("input") or {}).get("path") \
        if isinstance(data.summary.get("input"), dict) else None
    if src:
        title += f" — {Path(str(src)).name}"
    footer = (f'<footer><div class="wrap">Made with custseg {esc(__version__)} from the output '
              f"folder {esc(data.out.name or str(data.out))}. This file is self-contained and "
              "makes no network requests; charts are interactive (hover, zoom, download as "
              "PNG).</div></footer>")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="custseg {esc(__version__)}">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
{sec.header(data)}
{sec.nav(links)}
<main><div class="wrap">
<noscript><p class="callout">Charts need JavaScript; the tables and segment descriptions
below read without it.</p></noscript>
{body}
</div></main>
{footer}
<script type="application/json" id="custseg-figures">{script_json(charts.figures)}</script>
{PLOTLY_BEGIN}
<script>{plotly_js()}</script>
{PLOTLY_END}
<script>{RENDER_JS}</script>
</body>
</html>
"""
    return clean_text(page)
