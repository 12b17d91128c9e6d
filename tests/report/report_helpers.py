"""Helpers of the report tests: output folders written with the shapes ``run_segment`` writes,
and structural checks of a rendered page.

Two builders:

* :func:`fitted_folder` fits a real :class:`custseg.Segmenter` on a table and writes every file
  (optionally with the extras of other runs: a k-selection table, RFM scores, GMM membership
  probabilities, a two-step linkage);
* :func:`synthetic_folder` writes a small folder for any feature and segment names, without
  fitting (fast enough for property tests with hostile names).

Neither needs ``custseg.io``; both write the files directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custseg.report._html import PLOTLY_BEGIN, PLOTLY_END

XSS_FEATURE = "<script>alert(1)</script>"
XSS_SEGMENT = "</script><img src=x onerror=alert(2)> & \u2028 <!-- $x$ %{x}"


# ---------------------------------------------------------------------------------------------
def _write_json(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _summary(*, rows_read: int, kept: int, rejects_by_reason: dict[str, int], features: list[str],
             id_column: str | None, k: int, segments: list[dict[str, Any]],
             metrics: dict[str, Any], imputed: dict[str, int], log1p: list[str],
             excluded: dict[str, str] | None = None, src: str = "customers.csv"
             ) -> dict[str, Any]:
    return {
        "input": {"path": src, "format": "csv", "sha256": "0" * 64},
        "rows_read": rows_read,
        "rows_segmented": kept,
        "rows_rejected": rows_read - kept,
        "rejects_by_reason": rejects_by_reason,
        "reject_reasons": {"invalid_value": "a feature cell holds text that is not a number",
                           "duplicate_id": "the customer ID already appeared on an earlier row"},
        "missing_policy": "impute",
        "imputed_by_feature": imputed,
        "duplicate_ids": "reject",
        "id_column": id_column,
        "id_column_detected": id_column is not None,
        "features": features,
        "excluded_columns": excluded or {},
        "preprocessing": {"scale": "standard", "log_transform": None, "log1p_features": log1p,
                          "clip": None, "impute": "median"},
        "k": k,
        "k_requested": k,
        "algorithm": {"name": "kmeans", "params": {"method": "lloyd", "n_init": 3}},
        "metrics": metrics,
        "segments": segments,
        "engine": "local",
        "seed": 0,
        "versions": {"custseg": "test"},
        "timings_seconds": {"read": 0.01, "fit": 0.1, "write": 0.02},
    }


def fitted_folder(out: Path, frame: pd.DataFrame, *, k: int = 4, id_column: str | None = None,
                  features: list[str] | None = None, extras: bool = False,
                  rejected: int = 3, names: dict[int, str] | None = None) -> Path:
    """Fit a Segmenter on ``frame`` and write an output folder like ``run_segment`` does
    (``names`` renames segments, as ``--names`` would)."""
    from custseg import Segmenter
    from custseg._pipeline import quality_metrics
    from custseg.model import feature_matrix

    out.mkdir(parents=True, exist_ok=True)
    seg = Segmenter(features=features, id_column=id_column or False, k=k, n_init=3,
                    random_state=0).fit(frame)
    if names:
        seg.rename(names)
    ids = frame[id_column].to_numpy() if id_column else np.arange(2, len(frame) + 2)
    pd.DataFrame({id_column or "line": ids, "segment": seg.labels_,
                  "segment_name": [seg.model_.names[int(s)] for s in seg.labels_],
                  "distance": seg.distances_}).to_csv(out / "segments.csv", index=False)
    seg.profiles_.to_csv(out / "profiles.csv", index=False)
    M = feature_matrix(frame, seg.features_)[0]
    Z = seg.model_.preprocessor.transform_matrix(M)
    metrics = quality_metrics(Z, seg.labels_, seg.inertia_, 0)
    seg.model_.metrics = metrics
    model = json.loads(seg.model_.to_json())
    n = len(frame)
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(n, size=min(5000, n), replace=False))
    sample = pd.DataFrame(M[idx], columns=seg.features_)
    sample["segment"] = seg.labels_[idx]
    if extras:
        _add_extras(out, model, sample, Z, seg.labels_, idx, k)
    sample.to_parquet(out / "report_sample.parquet", index=False)
    _write_json(model, out / "model.json")
    segments = [{"segment": s["id"], "name": s["name"], "size": s["size"], "share": s["share"],
                 "description": s.get("description", "")} for s in model["segments"]]
    summary = _summary(
        rows_read=n + rejected, kept=n,
        rejects_by_reason={"invalid_value": rejected - 1, "duplicate_id": 1} if rejected else {},
        features=seg.features_, id_column=id_column, k=seg.n_clusters_, segments=segments,
        metrics=metrics, imputed=seg.n_imputed_, log1p=[],
        excluded={str(c): str(r) for c, r in seg.excluded_columns_.items()})
    if extras:
        summary["k_selection"] = _k_selection(Z, k)
    _write_json(_json_safe(summary), out / "summary.json")
    return out


def _k_selection(Z: np.ndarray, chosen: int) -> dict[str, Any]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    rows = []
    for k in range(2, 8):
        km = KMeans(n_clusters=k, n_init=2, random_state=0).fit(Z)
        rows.append({"k": k, "inertia": float(km.inertia_),
                     "silhouette": float(silhouette_score(Z[:800], km.labels_[:800])),
                     "calinski_harabasz": float(calinski_harabasz_score(Z, km.labels_)),
                     "davies_bouldin": float(davies_bouldin_score(Z, km.labels_)),
                     "stability": float(0.6 + 0.3 * np.exp(-abs(k - chosen)))})
    return {"table": rows, "k": chosen, "clear_segmentation": True,
            "reasons": [f"k = {chosen} has the highest stability (bootstrap agreement)",
                        "the inertia curve bends at k = 4 (knee)",
                        "every segment holds at least 5% of customers"]}


def _add_extras(out: Path, model: dict[str, Any], sample: pd.DataFrame, Z: np.ndarray,
                labels: np.ndarray, idx: np.ndarray, k: int) -> None:
    """GMM-like membership probabilities, RFM scores and a two-step linkage."""
    from scipy.cluster.hierarchy import linkage
    from sklearn.cluster import KMeans

    C = np.array([s["centroid_scaled"] for s in model["segments"]])
    d2 = ((Z[idx, None, :] - C[None, :, :]) ** 2).sum(-1)
    p = np.exp(-0.5 * d2)
    p /= p.sum(1, keepdims=True)
    sample["probability"] = p[np.arange(len(idx)), labels[idx]]
    rng = np.random.default_rng(1)
    r = rng.integers(1, 6, size=len(sample))
    f = np.clip(r + rng.integers(-1, 2, size=len(sample)), 1, 5)
    sample["r_score"] = r
    sample["f_score"] = f
    names = {5: "Champions", 4: "Loyal", 3: "Potential", 2: "At risk", 1: "Hibernating"}
    sample["rfm_segment"] = [names[int(round((a + b) / 2 - 0.01))] for a, b in zip(r, f,
                                                                                     strict=True)]
    micro = KMeans(n_clusters=60, n_init=1, random_state=0).fit(Z).cluster_centers_
    model["algorithm"]["linkage"] = linkage(micro, method="ward").tolist()


def synthetic_folder(out: Path, features: list[str], names: list[str], *, n: int = 60,
                     seed: int = 0, with_model: bool = True, with_profiles: bool = True,
                     with_sample: bool = True, id_column: str | None = "customer_id") -> Path:
    """A small output folder for any feature/segment names (no fitting)."""
    from custseg.prep import Preprocessor
    from custseg.profile import distinguishing_features, segment_profiles

    out.mkdir(parents=True, exist_ok=True)
    k = len(names)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    centres = rng.normal(0, 3, size=(k, len(features))) + 10
    X = centres[labels] + rng.normal(0, 1, size=(n, len(features)))
    pre = Preprocessor().fit(X, list(features))
    Z = pre.transform_matrix(X)
    values = pd.DataFrame(X, columns=features)
    name_of = dict(enumerate(names))
    prof = segment_profiles(values, labels, name_of)
    distinct = distinguishing_features(Z, labels, list(features))
    if with_profiles:
        prof.to_csv(out / "profiles.csv", index=False)
    ids = [f"CUST-{i:05d}" for i in range(n)]
    pd.DataFrame({id_column or "line": ids, "segment": labels,
                  "segment_name": [name_of[s] for s in labels],
                  "distance": np.linalg.norm(Z - Z.mean(0), axis=1)}).to_csv(
        out / "segments.csv", index=False)
    segs = []
    for s in range(k):
        row = prof.iloc[s]
        segs.append({
            "id": s, "name": names[s], "description": f"About {names[s]}.",
            "size": int(row["size"]), "share": float(row["share"]),
            "centroid": centres[s].tolist(),
            "centroid_scaled": Z[labels == s].mean(0).tolist(),
            "distinguishing": [{"feature": f, "std_diff": v} for f, v in distinct[s][:5]],
            "profile": {c: row[c] for c in prof.columns
                        if c not in ("segment", "segment_name", "size", "share")},
        })
    model = {"format": "custseg.model", "format_version": 1, "custseg_version": "test",
             "created": "2026-01-01T00:00:00+00:00", "engine": "local",
             "input": {"id_column": id_column,
                       "features": [{"name": f, "type": "numeric"} for f in features]},
             "derivation": None, "preprocessing": pre.to_dict(),
             "algorithm": {"name": "kmeans", "params": {}}, "metrics": {"inertia": 1.0},
             "segments": segs}
    if with_model:
        _write_json(_json_safe(model), out / "model.json")
    if with_sample:
        sample = values.copy()
        sample["segment"] = labels
        sample.to_parquet(out / "report_sample.parquet", index=False)
    summary = _summary(rows_read=n + 1, kept=n, rejects_by_reason={"invalid_value": 1},
                       features=list(features), id_column=id_column, k=k,
                       segments=[{"segment": s["id"], "name": s["name"], "size": s["size"],
                                  "share": s["share"], "description": s["description"]}
                                 for s in segs],
                       metrics={"inertia": 1.0, "silhouette": 0.4},
                       imputed={f: 0 for f in features}, log1p=[],
                       excluded={features[0] + " (copy)": "text column"}, src="c.csv")
    _write_json(_json_safe(summary), out / "summary.json")
    return out


# ---------------------------------------------------------------------------------------------
def demo_frame(xss: bool = True) -> pd.DataFrame:
    """The bundled demo customers, minus the rows ``run_segment`` would reject (text in a number
    column, blank or repeated IDs); with ``xss`` one feature is renamed to a script tag."""
    from custseg.demo import demo_customers_path

    frame = pd.read_csv(demo_customers_path(), dtype=str, keep_default_na=False)
    keep = np.ones(len(frame), dtype=bool)
    for col in frame.columns:
        if col in ("customer_id", "region"):
            continue
        text = frame[col].str.strip()
        parsed = pd.to_numeric(text, errors="coerce")
        keep &= ~(parsed.isna() & (text != "")).to_numpy()
        frame[col] = parsed
    ids = frame["customer_id"].str.strip()
    keep &= (ids != "").to_numpy() & ~ids.duplicated().to_numpy()
    frame = frame[keep].reset_index(drop=True)
    if xss:
        frame = frame.rename(columns={"web_visits_per_month": XSS_FEATURE})
    return frame


# ---------------------------------------------------------------------------------------------
# every element the report is allowed to contain
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "nav", "main", "footer",
    "section", "article", "div", "span", "p", "a", "b", "i", "code", "wbr", "h1", "h2", "h3", "h4",
    "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd", "ul", "li", "noscript",
    "script",
}


@dataclass
class Page:
    """What an HTML parser sees in a report."""

    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    scripts: list[tuple[dict[str, str | None], str]] = field(default_factory=list)

    @property
    def figures(self) -> dict:
        """The embedded figure JSON."""
        [content] = [body for attrs, body in self.scripts
                     if attrs.get("id") == "custseg-figures"]
        return json.loads(content)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._script: dict[str, str | None] | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        self.page.tags.append((tag, d))
        if tag == "script":
            self._script = d
            self._buffer = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.page.scripts.append((self._script, "".join(self._buffer)))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._buffer.append(data)
        else:
            self.page.text.append(data)


def without_plotly(html: str) -> str:
    """The report with the inlined Plotly library cut out (exactly one copy must be there)."""
    assert html.count(PLOTLY_BEGIN) == 1 and html.count(PLOTLY_END) == 1
    start = html.index(PLOTLY_BEGIN)
    end = html.index(PLOTLY_END) + len(PLOTLY_END)
    return html[:start] + html[end:]


def parse(html: str) -> Page:
    """Parse the report (Plotly cut out) and check its structure: the only scripts are the
    figure JSON and the renderer, only allowed tags, no event-handler attributes, no external
    reference of any kind."""
    rest = without_plotly(html)
    parser = _Parser()
    parser.feed(rest)
    parser.close()
    page = parser.page
    bad = {t for t, _ in page.tags} - ALLOWED_TAGS
    assert not bad, f"unexpected elements {bad}"
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "href"):
                assert tag == "a" and (value or "").startswith("#"), (tag, name, value)
    kinds = [(a.get("type"), a.get("id")) for a, _ in page.scripts]
    assert kinds == [("application/json", "custseg-figures"), (None, None)], kinds
    assert_offline(rest)
    return page


def assert_offline(rest: str) -> None:
    """No URL and no way to fetch one, outside the Plotly library."""
    low = rest.lower()
    for needle in ("http://", "https://", "<script src", "<link href", "<link", "@import",
                   "url(http", "url(", "<iframe", "<img", "<object", "<embed"):
        assert needle not in low, needle


# ---------------------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ALLOWED_PLOTLY_TAGS = {"<br>", "<b>", "</b>", "<extra>", "</extra>", "</span>",
                       "<span style='color:#5f6b7a'>"}
TEMPLATE_FIELD = re.compile(r"%\{(x|y|z|text|customdata(\[\d+\])?)(:[^}]*)?\}")


def figure_strings(obj: Any) -> list[str]:
    """Every string in a figure (keys excluded)."""
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in figure_strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in figure_strings(v)]
    return [obj] if isinstance(obj, str) else []


def assert_plotly_strings_inert(figures: dict) -> None:
    """Strings handed to Plotly hold no markup but ours, no LaTeX, no template field but ours."""
    for fig in figures.values():
        for text in figure_strings(fig):
            tags = set(re.findall(r"<[^>]*>", text))
            assert tags <= ALLOWED_PLOTLY_TAGS, (tags - ALLOWED_PLOTLY_TAGS, text[:200])
            assert "$" not in text, text[:200]
            assert "%{" not in TEMPLATE_FIELD.sub("", text), text[:200]


@dataclass
class Loaded:
    """A report opened in the browser."""

    rendered_ms: float  # navigation start → every chart drawn
    plotly_ready_ms: float  # navigation start → DOMContentLoaded (the library evaluated)
    severe: list[dict]  # console errors
    requests: list[str]  # every URL the page asked for
    charts: list[dict]  # per chart div: id, svg/canvas present, size, failed


_CHARTS_JS = """
return Array.from(document.querySelectorAll('div.chart')).map(function (el) {
  var svg = el.querySelector('svg.main-svg'), canvas = el.querySelector('canvas');
  var box = (svg || canvas) ? (svg || canvas).getBoundingClientRect() : {width: 0, height: 0};
  return {id: el.id, svg: !!svg, canvas: !!canvas, width: box.width, height: box.height,
          failed: el.classList.contains('chart-failed')};
});
"""


def open_report(driver: Any, path: Path, timeout: float = 60.0) -> Loaded:
    """Open ``path`` via file://, wait until every chart is drawn, collect logs and requests."""
    import time

    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    url = path.resolve().as_uri()
    driver.get(url)
    deadline = time.monotonic() + timeout
    rendered = None
    while time.monotonic() < deadline:
        rendered = driver.execute_script(
            "return document.body && document.body.getAttribute('data-charts-rendered')")
        if rendered:
            break
        time.sleep(0.05)
    assert rendered and rendered != "failed", f"charts not rendered: {rendered!r}"
    dcl = driver.execute_script(
        "var n = performance.getEntriesByType('navigation')[0];"
        "return n ? n.domContentLoadedEventEnd : -1;")
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    requests = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            requests.append(msg["params"]["request"]["url"])
    return Loaded(rendered_ms=float(rendered), plotly_ready_ms=float(dcl), severe=severe,
                  requests=requests, charts=driver.execute_script(_CHARTS_JS))


def assert_loaded_cleanly(loaded: Loaded, path: Path) -> None:
    """No console error, no request but the file itself (and Plotly's data: images), every
    chart drawn with a non-empty SVG or canvas."""
    assert loaded.severe == [], loaded.severe
    url = path.resolve().as_uri()
    other = [u for u in loaded.requests if u != url and not u.startswith("data:")]
    assert other == [], other
    assert loaded.charts, "no chart on the page"
    for chart in loaded.charts:
        assert not chart["failed"], chart
        assert chart["svg"] or chart["canvas"], chart
        assert chart["width"] > 50 and chart["height"] > 50, chart
