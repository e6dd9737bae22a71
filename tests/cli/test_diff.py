"""`curate diff RUN_A RUN_B` on two runs written by hand: every kind of change, with the ids expected by hand."""

import json

import polars as pl
from typer.testing import CliRunner

from curate.cli.main import app
from curate.io.rundir import write_run


def hand_run(folder, approved: list[tuple], rejected: list[tuple]):
    """A run directory holding these rows: approved (id, text, label, split, augmented_from), rejected (id, text,
    label, stage, reason)."""
    write_run(
        folder,
        {
            "approved": pl.DataFrame(approved, schema=["id", "text", "label", "split", "augmented_from"], orient="row"),
            "rejected": pl.DataFrame(rejected, schema=["id", "text", "label", "stage", "reason"], orient="row"),
        },
        {"totals": {}},
        "# a hand-built run\n",
    )
    return folder


def test_the_diff_of_two_hand_built_runs_names_each_changed_row(tmp_path):
    a = hand_run(
        tmp_path / "a",
        [
            ("same", "where is my parcel", "track", "train", None),
            ("relabel", "cancel it", "track", "train", None),
            ("moves", "refund me", "refund", "train", None),
            ("goes", "hello there", "greet", "train", None),
            ("dropped", "bad row", "greet", "test", None),
            ("reworded", "hi  there", "greet", "test", None),
            ("same~eda0", "where's my parcel", "track", "train", "same"),
        ],
        [
            ("back", "ok", "greet", "quality", "too_short"),
            ("other", "dup", "greet", "dedup:exact", "exact_duplicate"),
        ],
    )
    b = hand_run(
        tmp_path / "b",
        [
            ("same", "where is my parcel", "track", "train", None),
            ("relabel", "cancel it", "cancel", "train", None),
            ("moves", "refund me", "refund", "validation", None),
            ("new", "a new ticket", "greet", "train", None),
            ("back", "ok", "greet", "train", None),
            ("reworded", "hi there", "greet", "test", None),
            ("same~eda1", "where is the parcel", "track", "train", "same"),
        ],
        [
            ("dropped", "bad row", "greet", "review", "reviewer_rejected"),
            ("other", "dup", "greet", "dedup:minhash", "near_duplicate"),
        ],
    )
    result = CliRunner().invoke(app, ["diff", str(a), str(b), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    expected = {
        "added": ["new"],
        "removed": ["goes"],
        "generated_added": ["same~eda1"],
        "generated_removed": ["same~eda0"],
        "generated_changed": [],
        "approved_to_rejected": ["dropped"],
        "rejected_to_approved": ["back"],
        "rejected_differently": ["other"],
        "relabelled": ["relabel"],
        "moved_split": ["moves"],
        "text_changed": ["reworded"],
    }
    by_change = {change: sorted(r["id"] for r in found["rows"] if r["change"] == change) for change in expected}
    assert by_change == expected
    assert found["counts"] == {change: len(ids) for change, ids in expected.items()}
    assert found["changed_rows"] == 10
    groups = {(g["change"], g["stage"], g["reason"]): g["rows"] for g in found["groups"]}
    assert groups[("approved_to_rejected", "review", "reviewer_rejected")] == 1
    assert groups[("rejected_to_approved", "quality", "too_short")] == 1
    assert groups[("moved_split", "split", "train → validation")] == 1
    assert groups[("rejected_differently", "dedup:minhash", "near_duplicate (was dedup:exact: exact_duplicate)")] == 1
    relabelled = next(r for r in found["rows"] if r["change"] == "relabelled")
    assert (relabelled["label_a"], relabelled["label_b"]) == ("track", "cancel")

    table = CliRunner().invoke(app, ["diff", str(a), str(b)], terminal_width=200)
    assert table.exit_code == 0 and "10 row(s) changed" in table.output
    for ids in expected.values():
        assert all(i in table.output for i in ids)
    same = CliRunner().invoke(app, ["diff", str(a), str(a), "--json"])
    assert json.loads(same.output)["changed_rows"] == 0


def test_diff_of_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["diff", str(tmp_path), str(tmp_path)])
    assert result.exit_code == 2 and "not a run directory" in result.output and "Traceback" not in result.output
