"""Property tests: hostile feature and segment names never escape their context."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_helpers import assert_plotly_strings_inert, parse, synthetic_folder

from custseg.report import render_report

PAYLOADS = [
    "<script>alert(1)</script>", "</script>", "</SCRIPT >", "<!--", "-->", "<![CDATA[", "]]>",
    "<img src=x onerror=alert(1)>", "\"'><svg onload=alert(1)>", "&amp;", "&lt;b&gt;", "&#60;",
    "\u2028", "\u2029", "${alert(1)}", "$x^2$", "%{x}", "%{customdata[0]}", "{{x}}", "<br>",
    "<b>", "<a href='javascript:alert(1)'>x</a>", "</style><style>*{}", "\\u003c", "`", "\\",
    "'; alert(1); '", "</textarea>", "<span style='x'>",
]
RESERVED = {"segment", "probability", "r_score", "f_score", "m_score", "rfm_segment",
            "customer_id"}

_chars = st.characters(blacklist_categories=("Cs", "Cc"))
_name = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(alphabet=_chars, min_size=1, max_size=24),
    st.builds(lambda a, b, c: a + b + c, st.text(alphabet=_chars, max_size=6),
              st.sampled_from(PAYLOADS), st.text(alphabet=_chars, max_size=6)),
).filter(lambda s: s.strip() != "" and s not in RESERVED)

features_st = st.lists(_name, min_size=1, max_size=3, unique=True)
names_st = st.lists(_name, min_size=2, max_size=3, unique=True)


def check_markup(features: list[str], names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = synthetic_folder(Path(tmp) / "out", features, names, n=30)
        html = render_report(out)
    page = parse(html)  # structure: only our scripts and tags, no handlers, no URL
    text = page.all_text
    for f in features:
        assert f in text, f
    for n in names:
        assert n in text, n
    assert_plotly_strings_inert(page.figures)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(features=features_st, names=names_st)
def test_hostile_names_stay_text_in_markup(features: list[str], names: list[str]) -> None:
    check_markup(features, names)
