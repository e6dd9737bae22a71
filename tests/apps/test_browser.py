"""The explorer served for real and opened in headless Chromium (Debian's, driven by Playwright)."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make setup installs it as root)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(run: Path):
    """`streamlit run apps/explorer.py` on `run`, on a free local port; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "apps/explorer.py"),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--",
            str(run),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CURATE_RUN": str(run)},
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
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextlib.contextmanager
def chromium_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


@needs_chromium
def test_overview_renders_in_a_real_browser(sample_run):
    import json

    report = json.loads((sample_run / "report.json").read_text())
    ARTIFACTS.mkdir(exist_ok=True)
    with served(sample_run) as url, chromium_page() as page:
        page.goto(url, wait_until="networkidle")
        page.get_by_text("input rows").first.wait_for(timeout=60_000)
        metrics = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert metrics[:4] == [
            f"{report['totals']['input_rows']:,}",
            f"{report['totals']['approved']:,}",
            f"{report['totals']['rejected']:,}",
            "passed",
        ]
        page.get_by_text("Rejected rows by stage and reason").wait_for(timeout=60_000)
        page.locator('[data-testid="stDataFrame"]').first.wait_for(state="visible", timeout=60_000)
        page.locator('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]').first.wait_for(
            state="visible", timeout=60_000
        )
        page.wait_for_timeout(1500)  # let the chart finish drawing before the screenshot
        page.screenshot(path=str(ARTIFACTS / "explorer-overview.png"), full_page=True)
        page.get_by_role("link", name="Duplicates").click()
        page.get_by_text("Duplicate clusters").first.wait_for(timeout=60_000)
    assert (ARTIFACTS / "explorer-overview.png").stat().st_size > 10_000


# Streamlit keeps the elements of the previous script run on the page, marked stale, until the rerun replaces them:
# a second decision form's "reviewer" box and the first one's both exist for a moment (a strict-mode failure in CI).
LIVE = '[data-testid="stElementContainer"]:not([data-stale="true"])'


def settled(page):
    """The page once Streamlit has finished its script run; locate through the result to skip stale elements."""
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=120_000)
    return page.locator(LIVE)


def decide_in_browser(page, row_id: str, action: str, reviewer: str) -> None:
    """Open `row_id` on the Review page, choose `action` in the decision form and record it."""
    try:
        box = settled(page).get_by_label("row id")
        box.fill(row_id)
        box.press("Enter")
        page.get_by_text(f"{row_id} ·").first.wait_for(timeout=60_000)
        if action == "fix label":  # to the suggested label: the action follows it
            settled(page).get_by_role("button", name="use the suggestion").click()
        elif action != "keep":
            settled(page).get_by_text(action, exact=True).click()
        settled(page).get_by_text(action, exact=True).locator("xpath=ancestor::label").locator(
            "input:checked"
        ).wait_for(state="attached", timeout=60_000)
        name = settled(page).get_by_role("textbox", name="reviewer", exact=True)
        name.fill(reviewer)
        name.press("Enter")
        settled(page).get_by_role("button", name="record decision").click()
        page.get_by_text(f"recorded: {action}").filter(has_text=row_id).wait_for(timeout=60_000)
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / f"review-{action.replace(' ', '-')}-failed.png"), full_page=True
        )  # what the browser showed
        raise


@needs_chromium
def test_a_label_fixed_and_a_row_restored_in_the_browser_reach_the_next_run(sample_run, tmp_path):
    run = tmp_path / "tickets"
    shutil.copytree(sample_run, run)
    rejected = pl.read_parquet(run / "rejected.parquet")
    mislabelled = rejected.filter(
        (pl.col("reason") == "likely_mislabelled") & pl.col("label_suggested").is_not_null()
    ).row(0, named=True)
    short = rejected.filter(pl.col("stage") == "quality").row(0, named=True)
    with served(run) as url, chromium_page() as page:
        page.goto(url, wait_until="networkidle")
        page.get_by_role("link", name="Review", exact=True).click()
        page.get_by_label("row id").wait_for(timeout=60_000)
        decide_in_browser(page, mislabelled["id"], "fix label", "ana")
        decide_in_browser(page, short["id"], "keep", "ana")
    decisions = pl.read_parquet(run / "review" / "decisions.parquet")
    assert decisions.select("id", "action", "label").rows() == [
        (mislabelled["id"], "relabel", mislabelled["label_suggested"]),
        (mislabelled["id"], "keep", None),
        (short["id"], "keep", None),
    ]
    recipe = yaml.safe_load((ROOT / "recipes/tickets.yaml").read_text())
    recipe["stages"] = [
        s for s in recipe["stages"] if not (isinstance(s, dict) and "train" in s)
    ]  # the decisions, not the model, are tested
    recipe["output"] = str(run)
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    done = subprocess.run(
        [sys.executable, "-m", "curate.cli.main", "run", str(tmp_path / "recipe.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    approved = pl.read_parquet(run / "approved.parquet")
    fixed = approved.filter(pl.col("id") == mislabelled["id"]).row(0, named=True)
    assert (fixed["label"], fixed["label_before_review"]) == (mislabelled["label_suggested"], mislabelled["label"])
    restored = approved.filter(pl.col("id") == short["id"]).row(0, named=True)
    assert restored["review_keep"] and restored["text"] == short["text"]
    assert (
        pl.read_parquet(run / "review" / "decisions.parquet").height == 3
    )  # carried into the new run for the run after it


# Text cut by its box: a leaf element whose content is wider than the box that clips it (ellipsis or hidden overflow).
# Streamlit's "Skip to main content" link is hidden that way on purpose. Data grids draw on a canvas: their cells are
# read in screenshots, not here.
CUT_TEXT = """() => [...document.querySelectorAll('[data-testid="stMain"] *')].filter(el => {
  const style = getComputedStyle(el);
  return el.children.length === 0 && el.textContent.trim() && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1
    && (style.textOverflow === 'ellipsis' || style.overflowX === 'hidden');
}).map(el => el.textContent.trim().slice(0, 80))"""
PAGES = ["overview", "review", "changes", "queue", "map", "words", "labels", "duplicates", "rejected", "conversations"]
PAGES += ["augmentation", "training", "topics"]  # apps/pages/<name>.py, served at /<name> (the overview at /)


@needs_chromium
def test_no_page_cuts_its_text_at_1440_px(sample_run):
    """Every page of the explorer at 1,440 px: no metric, caption, label or heading cut by its box; a screenshot each."""
    ARTIFACTS.mkdir(exist_ok=True)
    cut = {}
    with served(sample_run) as url, chromium_page() as page:
        page.set_viewport_size({"width": 1440, "height": 1000})
        for name in PAGES:
            page.goto(f"{url}/{'' if name == 'overview' else name}", wait_until="networkidle")
            page.locator("h1").first.wait_for(timeout=60_000)
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=120_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / f"page-{name}-1440.png"))
            found = page.evaluate(CUT_TEXT)
            if found:
                cut[name] = found
    assert not cut, f"text cut by its box at 1,440 px: {cut}"
