"""What changed between two runs, row by row: what a reviewer of a rerun needs to look at, and nothing else.

Both sides are row states (`row_states`): every row of a run, approved or rejected, with the few columns a change is
read from. The rows of a run directory, or the rows a sign-off certified (`review/signed/rows.parquet`, kept so that
a rerun can be compared with the run that was signed even after the run itself was replaced).

Changes, one line per row and kind (a row can change in several ways at once):

    added, removed                  a row of the input that only one side has
    generated_added/_removed        a generated row (augmentation, rebalancing copies) only one side has: swapped
    generated_changed               a generated row with the same id and another text
    approved_to_rejected            and its stage and reason on the new side
    rejected_to_approved            and the stage and reason that had rejected it
    rejected_differently            rejected on both sides, by another stage or for another reason
    relabelled                      another label (by the review stage, or in the input)
    moved_split                     approved on both sides, in another split
    text_changed                    another text (cleaning, redaction, the input), where both sides hold the text as
                                    the same stage left it (a rejected row holds it as its stage saw it)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.columns import (
    AUGMENTED_FROM,
    ID,
    LABEL,
    LABEL_BEFORE_REVIEW,
    REASON,
    RESPONSE,
    REVIEW_DECISION,
    SPLIT,
    STAGE,
    TEXT,
)

STATUS = "status"
APPROVED, REJECTED = "approved", "rejected"
CHANGE = "change"
# The columns a change is read from; a side lacks some (no split stage, no generated rows): they are null there.
STATE_COLUMNS = {
    ID: pl.String,
    STATUS: pl.String,
    TEXT: pl.String,
    RESPONSE: pl.String,
    LABEL: pl.String,
    SPLIT: pl.String,
    STAGE: pl.String,
    REASON: pl.String,
    AUGMENTED_FROM: pl.String,
    REVIEW_DECISION: pl.String,
    LABEL_BEFORE_REVIEW: pl.String,
}
CHANGES = (
    "added",
    "removed",
    "generated_added",
    "generated_removed",
    "generated_changed",
    "approved_to_rejected",
    "rejected_to_approved",
    "rejected_differently",
    "relabelled",
    "moved_split",
    "text_changed",
)
CHANGE_COLUMNS = (
    ID,
    CHANGE,
    STAGE,
    REASON,
    "status_a",
    "status_b",
    "label_a",
    "label_b",
    "split_a",
    "split_b",
    TEXT,
    AUGMENTED_FROM,
    "decision",
)


def _states(frame: pl.DataFrame, status: str) -> pl.DataFrame:
    have = frame.with_columns(pl.lit(status).alias(STATUS))
    return have.select(
        [
            (pl.col(c).cast(dtype) if c in have.columns else pl.lit(None, dtype)).alias(c)
            for c, dtype in STATE_COLUMNS.items()
        ]
    )


def row_states(approved: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """Every row of a run (approved, then rejected) with the columns a change is read from."""
    return pl.concat([_states(approved, APPROVED), _states(rejected, REJECTED)]).unique(
        ID, keep="first", maintain_order=True
    )


def run_states(run_dir: Path) -> pl.DataFrame:
    """The row states of a run directory (verified against its manifest)."""
    from curate.io.rundir import RunDir

    run = RunDir(Path(run_dir))
    return row_states(run.approved, run.rejected)


def diff_states(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """One line per changed row and kind of change, from side `a` (the older run) to side `b` (the newer)."""
    a, b = a.select(list(STATE_COLUMNS)), b.select(list(STATE_COLUMNS))
    both = a.join(b, on=ID, how="full", suffix="_b", coalesce=True).rename(
        {c: f"{c}_a" for c in STATE_COLUMNS if c != ID}
    )
    col = pl.col
    in_a, in_b = col("status_a").is_not_null(), col("status_b").is_not_null()
    generated = col("augmented_from_a").is_not_null() | col("augmented_from_b").is_not_null()
    same = in_a & in_b
    differs = lambda name: col(f"{name}_a").fill_null("\x00") != col(f"{name}_b").fill_null("\x00")  # noqa: E731
    relabel_by_review = col("review_decision_b").fill_null("").str.contains("relabel")
    kinds: list[tuple[str, pl.Expr, pl.Expr, pl.Expr]] = [  # change, when, stage, reason
        ("added", in_b & ~in_a & ~generated, col("stage_b").fill_null(APPROVED), col("reason_b").fill_null("")),
        ("removed", in_a & ~in_b & ~generated, col("stage_a").fill_null(APPROVED), col("reason_a").fill_null("")),
        ("generated_added", in_b & ~in_a & generated, col("stage_b").fill_null("generated"), pl.lit("")),
        ("generated_removed", in_a & ~in_b & generated, col("stage_a").fill_null("generated"), pl.lit("")),
        ("generated_changed", same & generated & differs("text"), pl.lit("generated"), pl.lit("another text")),
        (
            "approved_to_rejected",
            same & (col("status_a") == APPROVED) & (col("status_b") == REJECTED),
            col("stage_b"),
            col("reason_b"),
        ),
        (
            "rejected_to_approved",
            same & (col("status_a") == REJECTED) & (col("status_b") == APPROVED),
            col("stage_a"),
            col("reason_a"),
        ),
        (
            "rejected_differently",
            same
            & (col("status_a") == REJECTED)
            & (col("status_b") == REJECTED)
            & (differs("stage") | differs("reason")),
            col("stage_b"),
            pl.format("{} (was {}: {})", col("reason_b"), col("stage_a"), col("reason_a")),
        ),
        (
            "relabelled",
            same & differs("label"),
            pl.when(relabel_by_review).then(pl.lit("review")).otherwise(pl.lit("input")),
            pl.when(relabel_by_review).then(pl.lit("relabel")).otherwise(pl.lit("another label")),
        ),
        (
            "moved_split",
            same & (col("status_a") == APPROVED) & (col("status_b") == APPROVED) & differs("split"),
            pl.lit("split"),
            pl.format("{} → {}", col("split_a").fill_null("none"), col("split_b").fill_null("none")),
        ),
        (  # a row rejected at another stage holds its text as that stage saw it: not a change of its own
            "text_changed",
            same & ~generated & differs("text") & (col("status_a") == col("status_b")) & ~differs("stage"),
            pl.lit("text"),
            pl.lit("another text"),
        ),
    ]
    parts = [
        both.filter(when).select(
            ID,
            pl.lit(change).alias(CHANGE),
            stage.cast(pl.String).alias(STAGE),
            reason.cast(pl.String).alias(REASON),
            "status_a",
            "status_b",
            "label_a",
            "label_b",
            "split_a",
            "split_b",
            pl.coalesce("text_b", "text_a").alias(TEXT),
            pl.coalesce("augmented_from_b", "augmented_from_a").alias(AUGMENTED_FROM),
            col("review_decision_b").alias("decision"),
        )
        for change, when, stage, reason in kinds
    ]
    order = {change: i for i, change in enumerate(CHANGES)}
    return (
        pl.concat(parts)
        .with_columns(pl.col(CHANGE).replace_strict(order, return_dtype=pl.Int32).alias("_order"))
        .sort("_order", STAGE, REASON, ID)
        .drop("_order")
    )


def summarize(changes: pl.DataFrame) -> pl.DataFrame:
    """Rows per change, stage and reason, in the order of CHANGES."""
    order = {change: i for i, change in enumerate(CHANGES)}
    return (
        changes.group_by(CHANGE, STAGE, REASON)
        .agg(pl.len().alias("rows"))
        .with_columns(pl.col(CHANGE).replace_strict(order, return_dtype=pl.Int32).alias("_order"))
        .sort("_order", pl.col("rows"), STAGE, REASON, descending=[False, True, False, False])
        .drop("_order")
    )


@dataclass
class RunDiff:
    """The changes from run `a` to run `b`, and what they add up to."""

    a: str
    b: str
    changes: pl.DataFrame

    @property
    def summary(self) -> pl.DataFrame:
        return summarize(self.changes)

    @property
    def changed_ids(self) -> list[str]:
        return sorted(set(self.changes[ID].to_list()))

    def ids(self, change: str) -> list[str]:
        return sorted(self.changes.filter(pl.col(CHANGE) == change)[ID].to_list())

    def counts(self) -> dict[str, int]:
        return {change: len(self.ids(change)) for change in CHANGES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "changed_rows": len(self.changed_ids),
            "counts": self.counts(),
            "groups": self.summary.to_dicts(),
            "rows": self.changes.to_dicts(),
        }


def diff(a: pl.DataFrame, b: pl.DataFrame, name_a: str = "a", name_b: str = "b") -> RunDiff:
    return RunDiff(name_a, name_b, diff_states(a, b))


def diff_runs(run_a: Path, run_b: Path) -> RunDiff:
    """`curate diff RUN_A RUN_B`: the changes from the older run `run_a` to `run_b`."""
    return diff(run_states(run_a), run_states(run_b), str(run_a), str(run_b))
