"""The explorer served for real and opened in headless Chromium (Debian's, driven by Playwright)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(sample_run):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "apps/explorer.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", str(sample_run)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "CURATE_RUN": str(sample_run)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the explorer did not start: " + process.stdout.read().decode(errors="replace")[-2000:])
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make setup installs it as root)")
def test_overview_renders_in_a_real_browser(server, sample_run):
    import json

    from playwright.sync_api import sync_playwright

    report = json.loads((sample_run / "report.json").read_text())
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server, wait_until="networkidle")
        page.get_by_text("input rows").first.wait_for(timeout=60_000)
        metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert metrics[:4] == [f"{report['totals']['input_rows']:,}", f"{report['totals']['approved']:,}", f"{report['totals']['rejected']:,}", "passed"]
        page.get_by_text("Rejected rows by stage and reason").wait_for(timeout=60_000)
        page.locator('[data-testid="stDataFrame"]').first.wait_for(state="visible", timeout=60_000)
        page.locator('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]').first.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(1500)  # let the chart finish drawing before the screenshot
        page.screenshot(path=str(ARTIFACTS / "explorer-overview.png"), full_page=True)
        page.get_by_role("link", name="Duplicates").click()
        page.get_by_text("Duplicate clusters").first.wait_for(timeout=60_000)
        browser.close()
    assert (ARTIFACTS / "explorer-overview.png").stat().st_size > 10_000
