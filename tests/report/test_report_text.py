"""Escaping and formatting helpers of the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from custseg.report._text import (
    esc,
    fmt_num,
    fmt_pct,
    plotly_text,
    plotly_wrap,
    script_json,
    to_jsonable,
)

HOSTILE = ["</script><script>alert(1)</script>", "<!--", "]]>", "a&b", "\u2028\u2029",
           '"><img src=x onerror=alert(1)>', "$x$", "%{x}", "<b>bold</b>", "\ud800"]


@pytest.mark.parametrize("value", HOSTILE)
def test_script_json_has_no_raw_markup_characters(value: str) -> None:
    text = script_json({"k": value, value: [value]})
    for ch in "<>&\u2028\u2029":
        assert ch not in text
    back = json.loads(text)
    expected = value.replace("\ud800", "\ufffd")
    assert back == {"k": expected, expected: [expected]}


def test_script_json_cleans_numbers() -> None:
    data = {"a": np.float64("nan"), "b": np.array([1.5, np.inf]), "c": np.int64(3),
            "d": np.bool_(True), "e": (1, None)}
    assert json.loads(script_json(data)) == {"a": None, "b": [1.5, None], "c": 3, "d": True,
                                             "e": [1, None]}
    assert to_jsonable(float("-inf")) is None


def test_esc_escapes_quotes_and_tags() -> None:
    assert esc('<a href="x">\'') == "&lt;a href=&quot;x&quot;&gt;&#x27;"
    assert esc(None) == "None"


def test_plotly_text_escapes_what_plotly_interprets() -> None:
    assert plotly_text("<br>$x$ & %{y}") == "&lt;br&gt;&#36;x&#36; &amp; &#37;{y}"
    assert plotly_text("abcdefghij", max_len=5) == "abcd…"


def test_plotly_wrap_breaks_only_between_escaped_pieces() -> None:
    wrapped = plotly_wrap("High <b>income</b> · Low recency days", width=12, max_lines=3)
    lines = wrapped.split("<br>")
    assert lines[:2] == ["High", "&lt;b&gt;income&lt;/b&gt;"]
    assert len(lines) == 3 and lines[2].endswith("…")
    assert "<b>" not in wrapped


@pytest.mark.parametrize(("value", "text"), [
    (1234567, "1,234,567"), (1234.4, "1,234"), (123.45, "123.5"), (12.345, "12.3"),
    (1.2345, "1.23"), (0.012345, "0.0123"), (0, "0"), (-5.5, "-5.50"), (None, "–"),
    (float("nan"), "–"), (True, "–"), ("x", "–"),
])
def test_fmt_num(value: object, text: str) -> None:
    assert fmt_num(value) == text


def test_fmt_pct() -> None:
    assert fmt_pct(0.3456) == "34.6%"
    assert fmt_pct(None) == "–"
