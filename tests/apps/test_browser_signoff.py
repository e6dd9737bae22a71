"""The review round trip in headless Chromium: sign off, relabel, restore, mark a row bad; the sign-off and the export
are refused until a run applies the decisions; after the rerun the sign-off reads stale with exactly the changed rows;
signed again, the export ships without the row marked bad."""

import json
import shutil

import polars as pl
from typer.testing import CliRunner

from curate.cli.main import app
from curate.io.review import stale_signoff
from curate.pipeline.runner import run_recipe
from curate.recipe import load_recipe
from tests.apps.test_browser import ARTIFACTS, chromium_page, needs_chromium, served
from tests.apps.test_review_page import small_run

STATE = ("status", "label", "split", "stage", "reason")


def states(run) -> dict[str, tuple]:
    """Each row of a run, by hand: what a reviewer would call a change (generated rows also by their text)."""
    rows = pl.concat(
        [
            pl.read_parquet(run / "approved.parquet").with_columns(pl.lit("approved").alias("status")),
            pl.read_parquet(run / "rejected.parquet").with_columns(pl.lit("rejected").alias("status")),
        ],
        how="diagonal_relaxed",
    )
    return {
        row["id"]: tuple(row.get(c) for c in STATE) + ((row["text"],) if row.get("augmented_from") else ())
        for row in rows.iter_rows(named=True)
    }


def export(run, out):
    return CliRunner().invoke(app, ["export", str(run), "--out", str(out), "--require-review", "--split", "all"])


def open_row(page, row_id: str) -> None:
    box = page.get_by_label("row id")
    box.fill(row_id)
    box.press("Enter")
    page.get_by_text(f"{row_id} ·").first.wait_for(timeout=60_000)


def record(page, row_id: str, what: str) -> None:
    page.get_by_role("button", name="record decision").click()
    page.get_by_text(f"recorded: {what} {row_id}").wait_for(timeout=60_000)


def sign(page, name: str, expect: str) -> None:
    box = page.get_by_role("textbox", name="your name")
    box.fill(name)
    page.get_by_role("button", name="sign off this run").click()
    page.get_by_text(expect).first.wait_for(timeout=60_000)


@needs_chromium
def test_relabel_restore_mark_bad_sign_off_rerun_stale_with_the_diff_and_export(tmp_path):
    run, recipe = small_run(tmp_path)
    approved = pl.read_parquet(run / "approved.parquet").filter(pl.col("augmented_from").is_null())
    relabel, bad = approved.row(0, named=True), approved.row(1, named=True)
    other = sorted(set(approved["label"]) - {relabel["label"]})[0]
    restore = pl.read_parquet(run / "rejected.parquet").filter(pl.col("stage") == "quality").row(0, named=True)
    out = tmp_path / "export.jsonl"
    with served(run) as url, chromium_page() as page:
        try:
            page.goto(url, wait_until="networkidle")
            page.get_by_role("link", name="Review", exact=True).click()
            page.get_by_label("row id").wait_for(timeout=60_000)
            sign(page, "ana", "signed off by ana")  # the run as it came out, before any decision
            open_row(page, relabel["id"])
            page.locator('[data-testid="stSelectbox"]').first.click()
            page.keyboard.type(other)
            page.keyboard.press("Enter")
            page.wait_for_function(  # the action follows the label
                "() => [...document.querySelectorAll('input[type=radio]')].some("
                "r => r.checked && r.closest('label').innerText.includes('fix label'))",
                timeout=60_000,
            )
            reviewer = page.get_by_role("textbox", name="reviewer", exact=True)
            reviewer.fill("ana")
            reviewer.press("Enter")
            record(page, relabel["id"], f"fix label to {other}")
            page.get_by_text(f"decided: relabel to {other} by ana").first.wait_for(timeout=60_000)
            open_row(page, restore["id"])
            record(page, restore["id"], "keep")  # the name is remembered
            open_row(page, bad["id"])
            page.get_by_text("reject", exact=True).click()
            record(page, bad["id"], "reject")
            sign(page, "ana", "are not applied yet")
            assert export(run, out).exit_code == 3 and not out.exists()

            before = states(run)
            shutil.copytree(run, tmp_path / "before")
            run_recipe(load_recipe(recipe))  # a run applies the decisions
            after = states(run)
            changed = {i for i in before.keys() | after.keys() if before.get(i) != after.get(i)}
            assert {relabel["id"], restore["id"], bad["id"]} <= changed
            _, changes = stale_signoff(run)
            assert set(changes.changed_ids) == changed
            assert (changes.ids("relabelled"), changes.ids("rejected_to_approved")) == (
                [relabel["id"]],
                [restore["id"]],
            )
            assert bad["id"] in changes.ids("approved_to_rejected")
            assert export(run, out).exit_code == 3

            page.goto(url, wait_until="networkidle")
            page.get_by_role("link", name="Review", exact=True).click()
            page.get_by_text("STALE sign-off").first.wait_for(timeout=60_000)
            page.get_by_text(f"{len(changed)} row(s) changed since").first.wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "review-stale-signoff.png"), full_page=True)
            page.get_by_role("link", name="Changes", exact=True).click()
            page.get_by_text("rows changed").first.wait_for(timeout=60_000)
            shown = page.locator('[data-testid="stMetricValue"]').first.inner_text()
            assert shown == f"{len(changed):,}"
            page.get_by_role("link", name="Review", exact=True).click()
            page.get_by_label("row id").wait_for(timeout=60_000)
            sign(page, "ana", "signed off by ana")
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "review-round-trip-failed.png"), full_page=True)
            raise
    result = export(run, out)
    assert result.exit_code == 0, result.output
    exported = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert bad["id"] not in exported and restore["id"] in exported and exported[relabel["id"]]["label"] == other
