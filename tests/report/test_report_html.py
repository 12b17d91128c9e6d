"""render_report: sections, escaping, offline-ness, IDs and missing files (markup only)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import (
    XSS_FEATURE,
    XSS_SEGMENT,
    assert_plotly_strings_inert,
    parse,
    synthetic_folder,
    without_plotly,
)

from custseg import InputFileError
from custseg.report import render_report
from custseg.report._assets import CSP, PALETTE, plotly_js
from custseg.report._html import PLOTLY_BEGIN
from custseg.report._text import plotly_text

SECTIONS = ["overview", "segments", "profiles", "map", "distributions", "rfm", "confidence",
            "k", "dendrogram", "data"]


def _section_ids(html: str) -> list[str]:
    page = parse(html)
    return [a["id"] for t, a in page.tags if t == "section"]


def test_every_section_renders_when_the_data_is_there(demo_report: str) -> None:
    assert _section_ids(demo_report) == SECTIONS
    figures = parse(demo_report).figures
    keys = {k.split("-", 2)[2] for k in figures}
    assert {"sizes", "profile", "map", "rfm", "confidence", "k", "dendrogram"} <= keys
    assert sum(k.startswith("box") for k in keys) == 6  # one per feature


def test_page_is_self_contained_with_a_strict_csp(demo_report: str) -> None:
    head = demo_report[:demo_report.index("<style>")]
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in head
    assert demo_report.count(PLOTLY_BEGIN) == 1
    assert demo_report.count(plotly_js()) == 1  # the library, inlined once
    assert demo_report.count("* plotly.js (cartesian - minified) v") == 1  # the charts-only build
    assert len(demo_report.encode("utf-8")) < 10 * 2**20
    parse(demo_report)  # no external reference outside the library (see _markup.parse)


def test_hostile_names_are_text_in_markup_and_inert_in_json(demo_report: str) -> None:
    page = parse(demo_report)
    text = page.all_text
    assert XSS_FEATURE in text and XSS_SEGMENT in text
    rest = without_plotly(demo_report)
    assert "<script>alert" not in rest and "<img" not in rest
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rest
    raw = rest[rest.index('id="custseg-figures">'):]
    raw = raw[:raw.index("</script>")]
    assert "\u2028" not in raw and "<" not in raw.split(">", 1)[1]
    blob = json.dumps(page.figures, ensure_ascii=False)
    assert plotly_text(XSS_FEATURE) in blob
    assert XSS_FEATURE not in blob  # Plotly only ever sees the escaped label
    assert "%{x}" not in blob.replace("%{x}<br>", "")  # a name's "%{x}" stays escaped


def test_plotly_sees_no_markup_latex_or_template_from_names(demo_report: str) -> None:
    """Every string handed to Plotly holds only our own tags and template fields; names arrive
    escaped (``<``, ``&``, ``$`` and ``%`` included)."""
    figures = parse(demo_report).figures
    assert_plotly_strings_inert(figures)
    hover = [t["hovertemplate"] for t in figures[next(k for k in figures if "map" in k)]["data"]
             if "customdata[0]" in t.get("hovertemplate", "")]
    assert any(plotly_text(XSS_FEATURE, 30) in h for h in hover)
    assert any("&#36;x&#36; &#37;{x}" in h for h in hover)  # the hostile segment's label


def test_one_card_per_segment_with_its_palette_colour(demo_out: Path, demo_report: str) -> None:
    summary = json.loads((demo_out / "summary.json").read_text("utf-8"))
    page = parse(demo_report)
    cards = [a for t, a in page.tags if t == "article"]
    assert [int(a["data-segment"]) for a in cards] == [s["segment"] for s in summary["segments"]]
    for a in cards:
        assert f"--c:{PALETTE[int(a['data-segment'])]}" in a["style"]
    for s in summary["segments"]:
        assert s["description"] in page.all_text


def test_ids_never_appear_unless_asked(demo_out: Path, demo_report: str) -> None:
    """Demo IDs look like C00042: none without include_ids; with it, exactly the five most
    typical customers (nearest the centre) of each segment."""
    id_like = re.compile(r"C\d{5}")
    assert not id_like.search(without_plotly(demo_report))
    assert "Most typical customers" not in demo_report
    with_ids = render_report(demo_out, include_ids=True)
    page = parse(with_ids)
    assert "Most typical customers" in page.all_text
    segments = pd.read_csv(demo_out / "segments.csv", dtype={"customer_id": str})
    typical = {i for _, part in segments.groupby("segment")
               for i in part.nsmallest(5, "distance")["customer_id"]}
    assert set(id_like.findall(without_plotly(with_ids))) == typical
    assert len(typical) == 5 * segments["segment"].nunique()


def test_include_ids_without_an_id_column_shows_none(tmp_path: Path) -> None:
    out = synthetic_folder(tmp_path / "o", ["a", "b"], ["x", "y"], id_column=None)
    html = render_report(out, include_ids=True)
    assert "Most typical customers" not in html and "CUST-" not in html


def test_sample_with_an_id_column_never_shows_it(tmp_path: Path) -> None:
    out = synthetic_folder(tmp_path / "o", ["a", "b"], ["x", "y"])
    sample = pd.read_parquet(out / "report_sample.parquet")
    sample["customer_id"] = [f"SECRET-{i}" for i in range(len(sample))]
    sample.to_parquet(out / "report_sample.parquet")
    assert "SECRET-" not in render_report(out)


@pytest.mark.parametrize("missing", ["model.json", "profiles.csv", "report_sample.parquet"])
def test_missing_optional_files_leave_sections_out(tmp_path: Path, missing: str) -> None:
    out = synthetic_folder(tmp_path / "o", ["spend", "visits", "age"], ["A", "B", "C"])
    (out / missing).unlink()
    html = render_report(out)
    page = parse(html)
    ids = [a["id"] for t, a in page.tags if t == "section"]
    assert {"overview", "segments", "data"} <= set(ids)
    assert missing in page.all_text  # the absence is noted
    if missing == "report_sample.parquet":
        assert "map" not in ids and "distributions" not in ids
    else:
        assert "map" in ids
    assert "k" not in ids and "rfm" not in ids and "confidence" not in ids


def test_only_summary_is_enough(tmp_path: Path) -> None:
    out = synthetic_folder(tmp_path / "o", ["a"], ["x", "y"], with_model=False,
                           with_profiles=False, with_sample=False)
    page = parse(render_report(out))
    assert [a["id"] for t, a in page.tags if t == "section"] == ["overview", "segments", "data"]
    assert len([t for t, _ in page.tags if t == "article"]) == 2


def test_a_folder_without_summary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a custseg output folder.*summary.json"):
        render_report(tmp_path)
    (tmp_path / "summary.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(InputFileError, match="cannot be read as JSON"):
        render_report(tmp_path)


def test_unreadable_optional_files_are_noted_not_fatal(tmp_path: Path) -> None:
    out = synthetic_folder(tmp_path / "o", ["a", "b"], ["x", "y"])
    (out / "model.json").write_text("{not json", encoding="utf-8")
    (out / "report_sample.parquet").write_bytes(b"PAR1 broken")
    page = parse(render_report(out))
    assert "model.json could not be read" in page.all_text
    assert "report_sample.parquet could not be read" in page.all_text


def test_unclear_segmentation_and_noise_are_shown(tmp_path: Path) -> None:
    out = synthetic_folder(tmp_path / "o", ["a", "b"], ["x", "y"])
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    summary["k_selection"] = {"k": 2, "clear_segmentation": False, "reasons": ["flat <curves>"],
                              "table": [{"k": 2, "silhouette": 0.1, "knee": False},
                                        {"k": 3, "silhouette": 0.12, "knee": True}]}
    summary["segments"].append({"segment": -1, "name": "Unclustered (noise)", "size": 4,
                                "share": 0.06, "description": "noise"})
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    page = parse(render_report(out))
    assert "No clear segment structure" in page.all_text
    assert "flat <curves>" in page.all_text
    assert [a["data-segment"] for t, a in page.tags if t == "article"] == ["0", "1", "-1"]


def test_output_is_deterministic(demo_out: Path, demo_report: str) -> None:
    assert render_report(demo_out) == demo_report


def test_pipeline_output_renders(pipeline_out: Path) -> None:
    """The real ``run_segment`` output folder (k chosen automatically)."""
    html = (pipeline_out / "report.html").read_text("utf-8")
    assert html == render_report(pipeline_out)
    ids = _section_ids(html)
    assert {"overview", "segments", "profiles", "map", "distributions", "k", "data"} <= set(ids)
    summary = json.loads((pipeline_out / "summary.json").read_text("utf-8"))
    for reason in summary["k_selection"]["reasons"]:
        assert reason in parse(html).all_text


def test_many_features_draw_the_most_distinct_distributions(tmp_path: Path) -> None:
    feats = [f"feature_{i:02d}" for i in range(15)]
    out = synthetic_folder(tmp_path / "o", feats, ["A", "B", "C"], n=90)
    page = parse(render_report(out))
    boxes = [k for k in page.figures if "-box" in k]
    assert len(boxes) == 12
    assert "12 of 15 features are drawn" in page.all_text
    assert all(f in page.all_text for f in feats)  # every feature is still in the tables


def test_map_frames_the_bulk_when_a_few_customers_are_extreme(tmp_path: Path) -> None:
    out = synthetic_folder(tmp_path / "o", ["spend", "visits"], ["A", "B"], n=400)
    sample = pd.read_parquet(out / "report_sample.parquet")
    sample.loc[:2, "spend"] = 1e6  # three extreme spenders
    sample.to_parquet(out / "report_sample.parquet")
    page = parse(render_report(out))
    fig = next(v for k, v in page.figures.items() if k.endswith("-map"))
    assert fig["layout"]["xaxis"]["range"] is not None
    assert "3 customers with extreme values are outside the frame" in page.all_text


def test_card_words_follow_the_index() -> None:
    from custseg.report._sections import _level_word

    assert _level_word(-0.4, 20) == "much lower"  # -80%: a skewed feature, small in sd
    assert _level_word(0.3, 175) == "higher"
    assert _level_word(0.1, 105) == "slightly higher"
    assert _level_word(-1.6) == "much lower" and _level_word(0.2) == "slightly higher"
