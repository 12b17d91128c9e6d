"""Static parts of the report: the palette, the stylesheet and the chart-drawing script.

Nothing here refers to anything outside the file: no web fonts, no images, no ``url()``.
"""

from __future__ import annotations

from functools import lru_cache

#: Content-Security-Policy of the report: nothing may be fetched; only the inline script and
#: styles run; images only from ``data:``.
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

#: Qualitative palette for segments (Tableau 10, then lighter companions for segments 10–19).
#: Segment ``i`` always gets ``PALETTE[i % len(PALETTE)]``, in every chart and card.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    "#a0cbe8", "#ffbe7d", "#ff9d9a", "#86bcb6", "#8cd17d",
    "#f1ce63", "#d4a6c8", "#fabfd2", "#d7b5a6", "#79706e",
)
NOISE_COLOUR = "#9aa0a6"

FONT_STACK = ('-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", '
              '"Liberation Sans", "DejaVu Sans", Arial, sans-serif')

INK = "#1f2933"
MUTED = "#5f6b7a"
GRID = "#e4e7eb"
ACCENT = "#2f5d8a"


def segment_colour(segment_id: int) -> str:
    """The colour of a segment in every chart and card (grey for noise, id < 0)."""
    if segment_id < 0:
        return NOISE_COLOUR
    return PALETTE[segment_id % len(PALETTE)]


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The Plotly library, to be inlined once (read once per process).

    The report draws only bar, box, heatmap and scatter traces, so it inlines Plotly's
    *cartesian* build (1.5 MB, MIT licence in ``plotly-LICENSE.txt``; from the npm package
    ``plotly.js-cartesian-dist-min``, the same plotly.js version as the Python package's full
    build) instead of the full 4.8 MB library: the file is a third of the size and opens about
    twice as fast. The full build is the fallback.
    """
    from importlib import resources

    bundled = resources.files("custseg.report").joinpath("plotly-cartesian.min.js")
    if bundled.is_file():
        return bundled.read_text("utf-8")
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


CSS = """
:root{--ink:#1f2933;--muted:#5f6b7a;--line:#e4e7eb;--bg:#f5f6f8;--panel:#fff;--accent:#2f5d8a;
--warn-bg:#fff7e6;--warn-line:#f0b429}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 FONT_STACK;
font-variant-numeric:tabular-nums}
.wrap{max-width:1180px;margin:0 auto;padding:0 24px}
header.top{background:#1f3a56;color:#fff;padding:28px 0 22px}
header.top h1{margin:0 0 4px;font-size:28px;font-weight:650;letter-spacing:-.01em}
header.top .sub{margin:0;color:#c9d6e3;font-size:15px;overflow-wrap:anywhere}
nav.toc{background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:10}
nav.toc .wrap{display:flex;flex-wrap:wrap;gap:2px 18px;padding-top:9px;padding-bottom:9px}
nav.toc a{color:var(--accent);text-decoration:none;font-size:14px;white-space:nowrap}
nav.toc a:hover{text-decoration:underline}
main{padding:22px 0 8px}
section.panel{scroll-margin-top:52px;background:var(--panel);border:1px solid var(--line);border-radius:10px;
padding:22px 26px 24px;margin:0 0 22px}
section.panel>h2{margin:0 0 4px;font-size:21px;font-weight:650;letter-spacing:-.005em}
p.lead{margin:0 0 16px;color:var(--muted);max-width:80ch}
h3{font-size:16px;margin:18px 0 8px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px;margin:0 0 6px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:#fbfcfd}
.kpi .v{font-size:24px;font-weight:650;line-height:1.2}
.kpi .l{color:var(--muted);font-size:13px}
.callout{border-left:4px solid var(--warn-line);background:var(--warn-bg);padding:10px 14px;
border-radius:4px;margin:12px 0}
.callout a{color:var(--accent)}
.note{color:var(--muted);font-size:13px}
.chart{width:100%;min-height:120px;break-inside:avoid;page-break-inside:avoid}
.chart-failed{color:#b42318;padding:12px;border:1px dashed #b42318}
.grid2{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:8px 22px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(350px,1fr));gap:18px}
.card{border:1px solid var(--line);border-top:5px solid var(--c);border-radius:8px;
padding:14px 16px 12px;background:#fff;break-inside:avoid;page-break-inside:avoid}
.card .tag{display:flex;justify-content:space-between;align-items:baseline;gap:8px;
color:var(--muted);font-size:13px}
.card .tag b{color:var(--ink)}
.card h3{margin:4px 0 6px;font-size:17px;line-height:1.3;overflow-wrap:anywhere}
.card p.desc{margin:0 0 10px;color:#3e4c59;font-size:14px;overflow-wrap:anywhere}
.share{height:6px;background:#eef1f4;border-radius:3px;margin:2px 0 12px;overflow:hidden}
.share i{display:block;height:100%;background:var(--c)}
.card h4{margin:10px 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.06em;
color:var(--muted);font-weight:600}
.dist{display:grid;grid-template-columns:minmax(0,38%) 1fr auto;gap:3px 8px;align-items:center;
font-size:13px}
.dist .f{overflow-wrap:anywhere}
.dist .bar{position:relative;height:10px;background:#f1f3f5;border-radius:2px}
.dist .bar::before{content:"";position:absolute;left:50%;top:-2px;bottom:-2px;width:1px;
background:#9aa5b1}
.dist .bar i{position:absolute;top:0;bottom:0;background:var(--c);border-radius:2px}
.dist .w{color:var(--muted);white-space:nowrap;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13.5px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:#3e4c59;background:#f7f8fa}
td.n,th.n{text-align:right;white-space:nowrap}
td.code,span.code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px;
overflow-wrap:anywhere}
.scroll{overflow-x:auto}
table.ktable{font-size:12.5px}
table.ktable th{white-space:normal;vertical-align:bottom}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;font-size:14px;margin:0}
.kv dt{color:var(--muted)}
.kv dd{margin:0;overflow-wrap:anywhere}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:6px 30px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;background:var(--c);
margin-right:6px;vertical-align:baseline}
.idx-hi{color:#9a4a05;font-weight:600}
.idx-lo{color:#1f4e87;font-weight:600}
ul.reasons{margin:6px 0 0;padding-left:20px}
footer{color:var(--muted);font-size:12.5px;padding:6px 0 30px}
@media (max-width:640px){.grid2{grid-template-columns:1fr}.cards{grid-template-columns:1fr}
section.panel{padding:16px}}
@page{size:A4;margin:12mm}
@media print{
body{background:#fff;font-size:11pt}
nav.toc,.modebar-container{display:none!important}
header.top{background:#fff;color:var(--ink);padding:0 0 8px;border-bottom:2px solid var(--ink)}
header.top .sub{color:var(--muted)}
.wrap{max-width:none;padding:0}
section.panel{border:0;padding:0;margin:0 0 14px;break-inside:auto}
section.panel>h2{break-after:avoid;page-break-after:avoid}
.grid2{grid-template-columns:1fr 1fr}
.cards{grid-template-columns:1fr 1fr;gap:10px}
.card,.chart,.kpi,tr,.keep{break-inside:avoid;page-break-inside:avoid}
.chart{max-width:100%;overflow:hidden}
.scroll{overflow:visible}
table.ktable{font-size:9.5pt}
table.ktable td,table.ktable th{padding:3px 4px}
a{color:inherit;text-decoration:none}
}
""".replace("FONT_STACK", FONT_STACK)

#: Draws the figures of the embedded JSON with Plotly, in page order, one per task so the page
#: paints and scrolls meanwhile, and records when all are drawn in ``body[data-charts-rendered]``
#: (milliseconds since navigation start). Charts keep the height of their figure; their width
#: follows the page (window resizes, and the paper's width when printing). Plotly's own
#: ``responsive`` mode is not used: on a resize it also resets the height to the container's,
#: which collapses the charts when printing.
RENDER_JS = r"""
(function () {
  "use strict";
  var spec = document.getElementById("custseg-figures");
  var figures = spec ? JSON.parse(spec.textContent) : {};
  var ids = Object.keys(figures);
  var body = document.body;
  function fail(el, msg) {
    el.className += " chart-failed";
    el.textContent = "This chart could not be drawn (" + msg + ").";
  }
  if (typeof window.Plotly === "undefined") {
    ids.forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { fail(el, "the charting library did not load"); }
    });
    body.setAttribute("data-charts-rendered", "failed");
    return;
  }
  var base = {
    displaylogo: false,
    displayModeBar: "hover",
    responsive: false,
    scrollZoom: false,
    modeBarButtons: [["toImage"]],
    toImageButtonOptions: {format: "png", scale: 2}
  };
  function draw(id) {
    var el = document.getElementById(id);
    var fig = figures[id];
    if (!el || !fig) { return Promise.resolve(); }
    var config = Object.assign({}, base, fig.config || {});
    var layout = Object.assign({}, fig.layout, {width: Math.max(200, el.clientWidth)});
    try {
      return Promise.resolve(Plotly.newPlot(el, fig.data, layout, config))
        .catch(function (e) { fail(el, String(e)); console.error(e); });
    } catch (e) {
      fail(el, String(e));
      console.error(e);
      return Promise.resolve();
    }
  }
  var next = 0;
  function step() {
    if (next >= ids.length) {
      body.setAttribute("data-charts-rendered", String(Math.round(performance.now())));
      return;
    }
    draw(ids[next++]).then(function () { setTimeout(step, 0); });
  }
  step();
  function fit(scale) {  // set every drawn chart to its container's width (times scale)
    ids.forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || !el.data) { return; }
      var width = Math.max(200, Math.floor(el.clientWidth * (scale || 1)));
      if (!el._fullLayout || Math.abs(el._fullLayout.width - width) > 1) {
        Plotly.relayout(el, {width: width, height: figures[id].layout.height});
      }
    });
  }
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { fit(1); }, 150);
  });
  // printing: draw what is left, then fit the paper. The print styles may not apply yet at
  // "beforeprint", so charts are first narrowed to A4's printable width (about 700 px) in
  // proportion; the "print" media query fits them exactly once the styles apply.
  window.addEventListener("beforeprint", function () {
    while (next < ids.length) { draw(ids[next++]); }
    var wrap = document.querySelector("main .wrap");
    var width = wrap ? wrap.clientWidth : 700;
    fit(width > 700 ? 700 / width : 1);
  });
  window.addEventListener("afterprint", function () { fit(1); });
  if (window.matchMedia) {
    var mq = window.matchMedia("print");
    var onChange = function () { fit(1); };
    if (mq.addEventListener) { mq.addEventListener("change", onChange); }
    else if (mq.addListener) { mq.addListener(onChange); }
  }
})();
"""
