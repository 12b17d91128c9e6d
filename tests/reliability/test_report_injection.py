"""The HTML report escapes everything it shows: hostile column names, category values, IDs and
segment names, rendered by the real pipeline, opened in headless Chromium with the network off.

Every payload, if it ran, would set ``window.__pwned``, open an alert, or leave an element marked
``data-pwned``; none may happen, and the page may not request anything.
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from reliability_helpers import fuzz_settings

from custseg import SegmentOptions, run_segment

pytestmark = [pytest.mark.browser, pytest.mark.fuzz]

PAYLOADS = [
    "<script>window.__pwned=1;alert(1)</script>",
    "</script><script>window.__pwned=2</script>",
    "<img src=x data-pwned=1 onerror=\"window.__pwned=3;alert(3)\">",
    "\"'><svg data-pwned=1 onload=\"window.__pwned=4\">",
    "<iframe data-pwned=1 srcdoc=\"<script>parent.__pwned=5</script>\"></iframe>",
    "<a data-pwned=1 href=\"javascript:window.__pwned=6\">x</a>",
    "javascript:window.__pwned=7",
    "<style>body{background:url(x)}</style><b data-pwned=1>",
    "${window.__pwned=8}", "{{constructor.constructor('window.__pwned=9')()}}",
    "%{x}<b data-pwned=1>", "$\\alert(1)$", "x\u2028</script>\u2029<script>window.__pwned=10"
    "</script>", "<!--", "]]>", "&lt;script&gt;window.__pwned=11&lt;/script&gt;",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=12>",
]

_payload = st.sampled_from(PAYLOADS)
_name = st.one_of(_payload, st.builds(lambda a, p: a + p, st.sampled_from(["spend ", "x", ""]),
                                      _payload))


def _hostile_table(path: Path, features: list[str], levels: list[str], n: int = 60) -> Path:
    rng = np.random.default_rng(0)
    g = np.arange(n) % 3
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["customer_id", *features, "channel"])
        for i in range(n):
            values = [f"{10 * g[i] + j + rng.normal(0, 1):.3f}" for j in range(len(features))]
            cid = PAYLOADS[i % len(PAYLOADS)] + f"#{i}"
            w.writerow([cid, *values, levels[i % len(levels)]])
    return path


def _open(driver, page: Path, timeout: float = 60.0) -> None:
    driver.get(page.resolve().as_uri())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script(
            "return document.body && document.body.getAttribute('data-charts-rendered')")
        if state:
            break
        time.sleep(0.05)
    time.sleep(0.2)  # let onload/onerror handlers of anything injected fire


def _assert_inert(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - raises when no dialog is open
    js = driver.execute_script
    assert js("return typeof window.__pwned") == "undefined"
    assert js("return document.querySelectorAll('[data-pwned]').length") == 0
    assert js("return document.querySelectorAll('iframe,embed,object,img,svg[onload]').length") \
        == 0
    handlers = js("""return Array.from(document.querySelectorAll('*')).filter(function (e) {
        return Array.from(e.attributes).some(function (a) { return /^on/i.test(a.name); });
    }).length""")
    assert handlers == 0
    assert js("return Array.from(document.querySelectorAll('a[href]')).filter(function (a) {"
              " return /^javascript:/i.test(a.getAttribute('href')); }).length") == 0


@fuzz_settings(5)
@given(features=st.lists(_name, min_size=2, max_size=3, unique=True),
       levels=st.lists(_name, min_size=2, max_size=3, unique=True),
       names=st.lists(_payload, min_size=1, max_size=2, unique=True))
@example(features=PAYLOADS[:3], levels=PAYLOADS[3:6], names=PAYLOADS[6:8])
def test_hostile_report_runs_nothing(offline_browser, features: list[str], levels: list[str],
                                     names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = _hostile_table(Path(tmp) / "c.csv", features, levels)
        out = Path(tmp) / "out"
        run_segment(src, out, SegmentOptions(
            k=3, n_init=1, seed=0, include_ids=True, categorical=["channel"],
            features=[*features, "channel"], id_column="customer_id",
            names={i: n for i, n in enumerate(names)}))
        page = out / "report.html"
        _open(offline_browser, page)
        _assert_inert(offline_browser)
        text = offline_browser.execute_script(
            "var b = document.body.cloneNode(true);"
            "b.querySelectorAll('script,style').forEach(function (e) { e.remove(); });"
            "return b.textContent;")
        for shown in [*features, *names]:  # shown literally, as text
            assert shown.strip() in text, shown


def test_the_check_catches_an_injection(offline_browser, tmp_path: Path) -> None:
    """The same checks on a page that does run a payload: they fail (so they can)."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body data-charts-rendered=1><img src=x data-pwned=1 "
                    "onerror=\"window.__pwned=3\"></body></html>", encoding="utf-8")
    _open(offline_browser, page, timeout=5)
    with pytest.raises(AssertionError):
        _assert_inert(offline_browser)
