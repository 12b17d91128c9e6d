"""Fixtures of the report tests (builders and checks live in report_helpers.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from report_helpers import XSS_SEGMENT, demo_frame, fitted_folder


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo customers segmented (k = 4) with every optional extra and a hostile column name."""
    out = tmp_path_factory.mktemp("demo") / "out"
    return fitted_folder(out, demo_frame(), k=4, id_column="customer_id", extras=True,
                         names={1: XSS_SEGMENT})


@pytest.fixture(scope="session")
def demo_report(demo_out: Path) -> str:
    from custseg.report import render_report

    return render_report(demo_out)


@pytest.fixture(scope="session")
def pipeline_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``custseg demo``'s output folder, written by the real pipeline (k chosen automatically)."""
    from custseg import SegmentOptions, run_segment
    from custseg.demo import demo_customers_path

    out = tmp_path_factory.mktemp("pipeline") / "demo"
    run_segment(demo_customers_path(), out, SegmentOptions(seed=0))
    return out


@pytest.fixture
def copy_of(tmp_path: Path):
    """Copy an output folder into the test's tmp_path, so it can be altered."""
    def _copy(src: Path) -> Path:
        dst = tmp_path / "copy"
        shutil.copytree(src, dst)
        return dst
    return _copy


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium for the whole run, offline: the network is emulated as down and
    every http(s)/ws(s) URL is blocked. Skipped when Chromium, chromedriver or selenium is
    missing."""
    from report_helpers import CHROMEDRIVER, CHROMIUM

    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.skip(f"{path} is absent (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--hide-scrollbars",
                 "--window-size=1366,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(60)
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": [
            "http://*", "https://*", "ws://*", "wss://*", "ftp://*"]})
        yield driver
    finally:
        driver.quit()
