"""A sign-off bound to the data: refused while decisions are pending, stale after a rerun with exactly the changed
rows listed, and `export --require-review` refusing anything but the rows signed off."""

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.core.errors import CurateError, GateFailed
from curate.io.review import (
    append_decisions,
    check_signed,
    data_hash,
    decisions_path,
    read_signoff,
    review_problem,
    sign_off,
    stale_signoff,
)
from tests.review.test_review import log


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_signing_is_refused_while_decisions_are_pending(tiny_run):
    _, run = tiny_run()
    append_decisions(decisions_path(run), log(("d", "reject", {"reviewer": "ana"})))
    with pytest.raises(CurateError, match="1 review decision\\(s\\) are not applied yet"):
        sign_off(run, "ana")
    result = cli("review", run, "--sign-off", "--reviewer", "ana")
    assert result.exit_code == 2 and "not applied yet" in result.output and read_signoff(run) is None
    tiny_run()  # the run applies it
    record = sign_off(run, "ana")
    assert record["decisions"] == 1 and record["approved"]["rows"] == 2  # a, c: b is a duplicate, d rejected
    assert record["approved"]["sha256"]["all"] == data_hash(pl.read_parquet(run / "approved.parquet"))
    assert review_problem(run) is None


def test_the_hash_is_of_the_rows_not_their_order_and_moves_with_one_label():
    rows = pl.DataFrame({"id": ["a", "b"], "text": ["x", "y"], "label": ["p", "q"], "score": [0.1, 0.2]})
    assert data_hash(rows) == data_hash(rows.reverse()) == data_hash(rows.with_columns(pl.col("score") * 2))
    assert data_hash(rows) != data_hash(rows.with_columns(pl.Series("label", ["p", "p"])))
    assert data_hash(rows) != data_hash(rows.head(1))


def test_a_rerun_shows_the_sign_off_stale_with_exactly_the_changed_rows_and_export_waits_for_a_new_one(
    tiny_run, tmp_path
):
    _, run = tiny_run()  # a, c approved; b an exact duplicate of a; d approved
    sign_off(run, "ana", "first look")
    out = tmp_path / "export.jsonl"
    assert cli("export", run, "--out", out, "--require-review").exit_code == 0
    append_decisions(
        decisions_path(run),
        log(("b", "keep"), ("c", "relabel", {"label": "refund"}), ("d", "reject", {"note": "spam"})),
    )
    result = cli("export", run, "--out", out, "--require-review")
    assert result.exit_code == 3 and "made after ana signed it off" in result.output
    tiny_run()  # the rerun applies them
    problem = review_problem(run)
    assert "STALE" in problem and "3 row(s) changed since" in problem
    record, changes = stale_signoff(run)
    assert record["reviewer"] == "ana" and changes.changed_ids == ["b", "c", "d"]
    assert (changes.ids("rejected_to_approved"), changes.ids("relabelled"), changes.ids("approved_to_rejected")) == (
        ["b"],
        ["c"],
        ["d"],
    )
    by_id = {row["id"]: row for row in changes.changes.iter_rows(named=True)}
    assert (by_id["c"]["label_a"], by_id["c"]["label_b"], by_id["c"]["stage"]) == ("order", "refund", "review")
    assert (by_id["d"]["stage"], by_id["d"]["reason"]) == ("review", "reviewer_rejected")
    assert (by_id["b"]["stage"], by_id["b"]["decision"]) == ("dedup:exact", "keep")
    shown = cli("review", run)
    assert "STALE" in shown.output and "rejected_to_approved" in shown.output and "reviewed: no" in shown.output
    result = cli("export", run, "--out", out, "--require-review")
    assert result.exit_code == 3 and "STALE" in result.output
    tiny_run()  # a rerun that nobody signed keeps the last sign-off, still stale
    assert stale_signoff(run)[0]["note"] == "first look"
    assert "signed off by bo" in cli("review", run, "--sign-off", "--reviewer", "bo").output
    result = cli("export", run, "--out", out, "--require-review")
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in exported) == ["a", "b", "c"]  # d, marked bad, is not shipped


def test_export_refuses_rows_other_than_those_signed(tiny_run):
    _, run = tiny_run()
    sign_off(run, "ana")
    approved = pl.read_parquet(run / "approved.parquet")
    check_signed(run, approved, "all")
    check_signed(run, approved, "train")  # a run without splits is all train
    with pytest.raises(GateFailed, match="not the ones ana signed off"):
        check_signed(run, approved.head(1), "all")
    signoff = json.loads((run / "review/signoff.json").read_text())
    signoff["approved"]["sha256"]["all"] = "0" * 64
    (run / "review/signoff.json").write_text(json.dumps(signoff))
    assert "not the ones ana signed off" in review_problem(run)


def test_a_run_made_from_a_reviewed_one_carries_its_sign_off(tiny_run, tmp_path):
    _, run = tiny_run()
    sign_off(run, "ana")
    append_decisions(decisions_path(run), log(("a", "reject")))
    _, other = tiny_run(stages=f"{{review: {{decisions: {decisions_path(run)}}}}}", out="other")
    record, changes = stale_signoff(other)
    assert record["reviewer"] == "ana" and changes.changed_ids == ["a", "b"]  # a rejected; b kept (no dedup here)
    assert "STALE" in review_problem(other)
