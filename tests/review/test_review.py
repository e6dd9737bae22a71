"""A reviewer's decisions: stored append-only, applied by the review stage on the next run, honoured by
every later stage through the executor, and a sign-off that train and export can require."""

import json
from datetime import datetime, timezone

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.core.context import RunContext
from curate.core.errors import GateFailed, InputError
from curate.io.review import append_decisions, decisions_path, new_decision, read_decisions, review_problem, sign_off
from curate.pipeline.executor import run_stages
from curate.pipeline.guards import check_trainable
from curate.stages.augment.checks import CandidateChecks
from curate.stages.clean.clean import Clean
from curate.stages.dedup.exact import ExactDedup
from curate.stages.quality.quality import Quality
from curate.stages.review import DECISIONS_KEY, Review
from tests.conftest import frame

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def log(*decisions) -> pl.DataFrame:
    return pl.concat([new_decision(*d[:2], **d[2] if len(d) > 2 else {}) for d in decisions])


def test_the_log_only_grows_and_bad_entries_are_refused_with_the_file(tmp_path):
    path = tmp_path / "review" / "decisions.parquet"
    assert read_decisions(path).is_empty()  # no review yet is not an error
    append_decisions(path, log(("r1", "reject", {"reviewer": "ana", "at": T0})))
    append_decisions(path, log(("r1", "keep"), ("r2", "relabel", {"label": "b"})))
    assert read_decisions(path).select("id", "action", "reviewer").rows() == [
        ("r1", "reject", "ana"),
        ("r1", "keep", None),
        ("r2", "relabel", None),
    ]
    with pytest.raises(Exception, match="needs the new label"):
        new_decision("r3", "relabel")
    pl.DataFrame({"id": ["r1", "r2"], "action": ["keep", "delete"]}).write_parquet(tmp_path / "bad.parquet")
    with pytest.raises(InputError) as error:
        read_decisions(tmp_path / "bad.parquet")
    assert "decision 1 (id 'r2', action 'delete')" in str(error.value) and "bad.parquet" in str(error.value)
    (tmp_path / "text.parquet").write_text("id,action\n")
    with pytest.raises(InputError, match="cannot read the decisions file"):
        read_decisions(tmp_path / "text.parquet")


def test_the_latest_keep_or_reject_and_the_latest_label_stand():
    rows = frame(
        ["where is my parcel", "cancel my order", "reset my password", "hi"], ["track", "track", "account", "greet"]
    )
    decisions = log(
        ("r0", "reject", {"note": "spam", "reviewer": "bo"}),
        ("r0", "keep"),  # changed their mind
        ("r1", "relabel", {"label": "wrong"}),
        ("r1", "relabel", {"label": "cancel"}),
        ("r2", "reject", {"reviewer": "bo", "note": "test ticket"}),
        ("gone", "keep"),
    )
    result = Review().apply(rows, RunContext(datasets={DECISIONS_KEY: decisions}))
    kept = {r["id"]: r for r in result.kept.iter_rows(named=True)}
    assert set(kept) == {"r0", "r1", "r3"} and result.rejected["id"].to_list() == ["r2"]
    assert kept["r0"]["review_keep"] and not kept["r3"]["review_keep"] and kept["r3"]["review_decision"] is None
    assert (kept["r1"]["label"], kept["r1"]["label_before_review"], kept["r1"]["review_decision"]) == (
        "cancel",
        "track",
        "relabel",
    )
    assert (
        result.rejected.row(0, named=True)["reason"] == "reviewer_rejected" and "by bo" in result.rejected["detail"][0]
    )
    assert "test ticket" in result.rejected["detail"][0]
    assert result.stats["not_in_this_run"] == 1 and "gone" in result.stats["findings"][0]


def test_a_kept_row_survives_every_later_stage_that_would_drop_it():
    rows = frame(
        ["I need to change my delivery address please", "I need to change my delivery address please", "<p></p>", "ok"],
        ["address"] * 4,
    )
    decisions = log(("r1", "keep"), ("r2", "keep"))
    ctx = RunContext(datasets={DECISIONS_KEY: decisions})
    result = run_stages([Review(), Clean(), ExactDedup(), Quality()], ctx, rows=rows)
    by_stage = {s.stage: s for s in result.stages}
    assert by_stage["dedup:exact"].stats["restored_by_review"] == {"exact_duplicate": 1}
    assert by_stage["clean"].stats["restored_by_review"] == {"empty_after_clean": 1}
    assert sorted(result.approved["id"]) == ["r0", "r1", "r2"] and result.rejected["id"].to_list() == [
        "r3"
    ]  # not kept: dropped
    without = run_stages(
        [Review(), Clean(), ExactDedup(), Quality()], RunContext(), rows=rows
    )  # the same run without decisions
    assert sorted(without.rejected["id"]) == ["r1", "r2", "r3"]


def test_a_generation_marked_bad_is_not_kept_again():
    candidates = pl.DataFrame(
        {
            "id": ["s1~backtranslate0", "s2~backtranslate0"],
            "text": ["a bad paraphrase here", None],
            "source_text": ["a fine source text", "another source"],
            "label": ["x", "x"],
            "review_bad_generations": [["a bad paraphrase here"], None],
        }
    )
    kept, reasons = CandidateChecks(label_check=False).check(
        candidates, pl.DataFrame(schema={"id": pl.String, "text": pl.String})
    )
    assert (
        kept.is_empty() and reasons["marked_bad_by_reviewer"] == 1 and reasons["no_output_or_lost_protected_span"] == 1
    )


def test_decisions_made_on_a_run_reach_the_next_run_and_travel_with_it(tiny_run, tmp_path):
    report, run = tiny_run()
    assert report["review"] == {"decisions_file": None, "decisions": 0}
    append_decisions(decisions_path(run), log(("b", "keep"), ("c", "relabel", {"label": "refund"})))
    report, run = tiny_run()
    approved = pl.read_parquet(run / "approved.parquet")
    assert (
        sorted(approved["id"]) == ["a", "b", "c", "d"]
        and approved.filter(pl.col("id") == "c")["label"].item() == "refund"
    )
    assert read_decisions(decisions_path(run)).height == 2 and report["review"]["decisions"] == 2
    elsewhere = tmp_path / "kept-in-git.parquet"
    append_decisions(elsewhere, log(("d", "reject")))
    report, run = tiny_run(stages=f"{{review: {{decisions: {elsewhere}}}}}", out="other")
    assert report["review"]["decisions_file"] == str(elsewhere.resolve())
    assert pl.read_parquet(run / "rejected.parquet")["id"].to_list() == ["d"]


def test_sign_off_is_required_when_asked_and_goes_stale(tiny_run, tmp_path):
    report, run = tiny_run()
    assert check_trainable(run) is not None  # never gated: a warning, not a refusal
    with pytest.raises(GateFailed, match="not been signed off"):
        check_trainable(run, require_review=True)
    result = CliRunner().invoke(app, ["export", str(run), "--out", str(tmp_path / "x.jsonl"), "--require-review"])
    assert result.exit_code == 3 and "not reviewed" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(
        app, ["review", str(run), "--sign-off", "--reviewer", "ana", "--note", "looked at all 4"]
    )
    assert result.exit_code == 0 and "signed off by ana" in result.output and "reviewed: yes" in result.output
    assert "Signed off by **ana**" in (run / "report.md").read_text()
    assert review_problem(run) is None
    result = CliRunner().invoke(
        app, ["export", str(run), "--out", str(tmp_path / "x.jsonl"), "--require-review", "--split", "all"]
    )
    assert result.exit_code == 0, result.output
    append_decisions(decisions_path(run), log(("a", "reject")))
    assert "made after ana signed it off" in review_problem(run)
    tiny_run()  # a rerun replaces the run: the sign-off was for the one before
    assert "sign-off by ana" in review_problem(run) and "STALE" in review_problem(run)
    result = CliRunner().invoke(app, ["review", str(run)])
    assert "1 decision(s)" in result.output and "this run applied 1" in result.output and "reject: 1" in result.output
    with pytest.raises(Exception, match="reviewer's name"):
        sign_off(run, "  ")
    assert json.loads((run / "report.json").read_text())["review"]["decisions"] == 1
