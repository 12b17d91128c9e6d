"""segmenter_html: the notebook summary of a Segmenter."""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest

from custseg import Segmenter
from custseg.report import segmenter_html


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    assert set(p.tags) <= {"div", "b", "span", "table", "thead", "tbody", "tr", "th", "td",
                           "code"}, p.tags
    return p


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "<b>spend</b>": [10, 12, 11, 13, 200, 210, 190, 205],
        "visits": [1, 2, 1, 2, 9, 8, 10, 9],
    })


def test_unfitted_shows_its_parameters() -> None:
    html = segmenter_html(Segmenter(k=3, features=["<script>x</script>"]))
    p = _parse(html)
    text = "".join(p.text)
    assert "not fitted" in text
    assert "['<script>x</script>']" in text and "<script>" not in html
    assert "random_state" in text


def test_fitted_shows_segments_sizes_and_inertia(frame: pd.DataFrame) -> None:
    seg = Segmenter(k=2, random_state=0).fit(frame)
    seg.rename({0: "<img src=x onerror=alert(1)>"})
    html = segmenter_html(seg)
    p = _parse(html)
    text = "".join(p.text)
    assert "2 segments of 8 customers, 2 features" in text
    assert "inertia" in text
    assert "<img src=x onerror=alert(1)>" in text and "<img" not in html
    assert "<b>spend</b>" in text  # a feature name, as text
    assert text.count("50.0%") == 2
    assert "ID column: customer_id" in text


def test_long_lists_are_cut() -> None:
    cols = {f"f{i}": list(range(30)) for i in range(20)}
    seg = Segmenter(k=13, random_state=0, n_init=1).fit(pd.DataFrame(cols))
    text = "".join(_parse(segmenter_html(seg)).text)
    assert "(+8)" in text  # 12 of 20 features listed
    assert "1 more segments" in text


_HOOKED = "_repr_mimebundle_" in vars(Segmenter) or "_repr_html_" in vars(Segmenter)


@pytest.mark.skipif(not _HOOKED, reason="Segmenter does not define _repr_html_ / "
                    "_repr_mimebundle_ yet (hook to be added in _segmenter.py)")
def test_jupyter_shows_segmenter_html(frame: pd.DataFrame) -> None:
    seg = Segmenter(k=2, random_state=0).fit(frame)
    assert seg._repr_html_() == segmenter_html(seg)
    bundle = seg._repr_mimebundle_()
    assert bundle["text/html"] == segmenter_html(seg) and "text/plain" in bundle
