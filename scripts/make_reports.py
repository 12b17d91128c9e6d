"""Generate the example reports (``make reports``) and measure each one: size, and the time a
headless Chromium takes, offline, from navigation to every chart drawn.

Datasets: the bundled demo, and from ../shared/data (when present) Mall Customers, Wholesale
customers and Online Retail (an order log: RFM). Writes ``reports/<name>/`` and prints a table;
``reports/measurements.json`` keeps the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from custseg import SegmentOptions, run_segment
from custseg.demo import demo_customers_path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def datasets() -> list[tuple[str, Path, SegmentOptions]]:
    out = [("demo", demo_customers_path(), SegmentOptions(seed=0, force=True))]
    shared = [
        ("mall", DATA / "mall_customers" / "Mall_Customers.csv",
         SegmentOptions(features=["Annual Income (k$)", "Spending Score (1-100)"], k=5,
                        scale=None, seed=0, force=True)),
        ("wholesale", DATA / "wholesale_customers" / "Wholesale customers data.csv",
         SegmentOptions(categorical=["Channel", "Region"], log_transform="auto", seed=0,
                        force=True)),
        ("online_retail", DATA / "online_retail" / "online_retail.csv.gz",
         SegmentOptions(transactions=True, seed=0, force=True)),
    ]
    return out + [d for d in shared if d[1].exists()]


def open_time_ms(driver, page: Path) -> float:
    """Milliseconds from navigation start until every chart holds a drawn SVG."""
    driver.get(page.as_uri())
    deadline = time.time() + 60
    while time.time() < deadline:
        done = driver.execute_script(
            "var c=document.querySelectorAll('div.chart');"
            "return c.length>0 && Array.from(c).every(function(e){"
            "var s=e.querySelector('svg.main-svg');return s && s.getBoundingClientRect().width>0;})"
            " ? performance.now() : null;")
        if done is not None:
            return float(done)
        time.sleep(0.02)
    raise TimeoutError(f"{page}: charts not drawn within 60 s")


def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        return None
    options = Options()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1366,900",
                 f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    return driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "reports")
    args = parser.parse_args()
    driver = browser()
    rows = []
    try:
        for name, source, opts in datasets():
            out = args.out / name
            t = time.perf_counter()
            run_segment(source, out, opts)
            seconds = time.perf_counter() - t
            page = out / "report.html"
            row = {"report": name, "size_mb": round(page.stat().st_size / 1e6, 2),
                   "segment_seconds": round(seconds, 1)}
            if driver is not None:  # the first open compiles Plotly; a second open is warm
                row["open_ms"] = round(open_time_ms(driver, page))
                row["open_ms_again"] = round(open_time_ms(driver, page))
            rows.append(row)
            print(json.dumps(row))
    finally:
        if driver is not None:
            driver.quit()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "measurements.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
