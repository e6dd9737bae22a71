"""The review stage: a person's decisions from the explorer (or `curate review`) applied on the next run.

Put it first in a recipe, so that a fixed label is what every later check sees. `keep` marks a row
that later stages may not drop: the executor puts it back whenever one does, and the report counts it
(`restored_by_review`). `reject` drops a row here, with the reviewer and note as its detail.
`relabel` replaces the label and keeps the old one beside it. `bad_generation` tells augmentation
never to keep that text as a paraphrase of that row again. Per row, the latest keep-or-reject and the
latest relabel stand; a decision about a row this run does not have is counted and named, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from curate.core.columns import (
    ID,
    LABEL,
    LABEL_BEFORE_REVIEW,
    REVIEW_BAD_GENERATIONS,
    REVIEW_DECISION,
    REVIEW_KEEP,
    TEXT,
)
from curate.core.context import RunContext
from curate.core.stage import REJECT_DETAIL, REJECT_REASON, Spread, Stage, StageResult

DECISIONS_KEY = "review.decisions"


def latest(decisions: pl.DataFrame, actions: tuple[str, ...]) -> pl.DataFrame:
    """The last decision per row among `actions` (the log is in the order the decisions were made)."""
    return decisions.filter(pl.col("action").is_in(actions)).unique(ID, keep="last", maintain_order=True)


def apply_decisions(rows: pl.DataFrame, decisions: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Rows with the decisions applied, rejected ones marked by `_reject_reason`; and counts that add up across blocks."""
    membership = latest(decisions, ("keep", "reject")).select(
        ID,
        pl.col("action").alias("_membership"),
        pl.format(
            "by {} on {}{}",
            pl.col("reviewer").fill_null("a reviewer"),
            pl.col("at"),
            pl.when(pl.col("note").is_not_null()).then(pl.lit(": ") + pl.col("note")).otherwise(pl.lit("")),
        ).alias("_why"),
    )
    relabels = latest(decisions, ("relabel",)).select(ID, pl.col(LABEL).alias("_new_label"))
    bad = (
        decisions.filter(pl.col("action") == "bad_generation")
        .group_by(ID, maintain_order=True)
        .agg(pl.col(TEXT).unique(maintain_order=True).alias(REVIEW_BAD_GENERATIONS))
    )
    marked = rows.join(membership, on=ID, how="left").join(relabels, on=ID, how="left").join(bad, on=ID, how="left")
    relabelled = pl.col("_new_label").is_not_null() & (pl.col("_new_label") != pl.col(LABEL).fill_null(""))
    label_before = pl.col(LABEL_BEFORE_REVIEW) if LABEL_BEFORE_REVIEW in rows.columns else pl.lit(None, pl.String)
    marked = marked.with_columns(
        pl.when(relabelled).then(pl.col(LABEL)).otherwise(label_before).alias(LABEL_BEFORE_REVIEW),
        pl.when(relabelled).then(pl.col("_new_label")).otherwise(pl.col(LABEL)).alias(LABEL),
        pl.concat_str(
            [pl.col("_membership"), pl.when(relabelled).then(pl.lit("relabel"))], separator="+", ignore_nulls=True
        )
        .replace("", None)
        .alias(REVIEW_DECISION),
        (pl.col("_membership") == "keep").fill_null(False).alias(REVIEW_KEEP),
        pl.when(pl.col("_membership") == "reject").then(pl.lit("reviewer_rejected")).alias(REJECT_REASON),
        pl.when(pl.col("_membership") == "reject").then(pl.col("_why")).alias(REJECT_DETAIL),
    ).drop("_membership", "_why", "_new_label")
    stats = {
        "relabelled": int(
            marked.select(
                (pl.col(LABEL_BEFORE_REVIEW).is_not_null() & pl.col(REVIEW_DECISION).str.contains("relabel")).sum()
            ).item()
        ),
        "rejected": int(marked[REJECT_REASON].is_not_null().sum()),
        "kept_by_reviewer": int(marked[REVIEW_KEEP].sum()),
    }
    return marked, stats


def decision_stats(decisions: pl.DataFrame, present: pl.DataFrame) -> dict[str, Any]:
    """What is said once about the log: its size, bad generations, and the decisions about rows not `present` here."""
    unmatched = decisions.select(ID).unique(maintain_order=True).join(present, on=ID, how="anti")[ID].to_list()
    stats: dict[str, Any] = {
        "decisions": decisions.height,
        "bad_generations": int(decisions.filter(pl.col("action") == "bad_generation").height),
        "not_in_this_run": len(unmatched),
    }
    if unmatched:
        stats["findings"] = [
            f"{len(unmatched)} decision(s) name rows this run does not have at this stage "
            f"(rejected at ingest, or generated later): {', '.join(unmatched[:5])}"
        ]
    return stats


@dataclass
class Review(Stage):
    # None: `review/decisions.parquet` in the recipe's own output folder, which the explorer writes and
    # every run carries forward. A path: a decision log kept elsewhere (under version control, say).
    decisions: str | None = None

    name: ClassVar[str] = "review"  # not row-local: "decisions about rows this run lacks" looks at every row
    produces: ClassVar[tuple[str, ...]] = (REVIEW_DECISION, REVIEW_KEEP, LABEL_BEFORE_REVIEW)

    def datasets(self) -> dict[str, dict[str, Any]]:
        return {"decisions": {"path": self.decisions, "reader": "decisions"}}

    # Decisions about rows this run lacks are found from all rows: each block says which decided rows it holds.
    @property
    def spread(self) -> Spread:
        """Per block with the totals of every block's `partial`; the stats once (`finish_stats`)."""
        return Spread.by_totals(self.partial, self.apply_given, self.finish_stats)

    def partial(self, rows: pl.DataFrame, ctx: RunContext) -> pl.DataFrame:
        """The ids of this block's rows that some decision names."""
        decisions = ctx.datasets.get(DECISIONS_KEY)
        if decisions is None or decisions.is_empty():
            return pl.DataFrame(schema={ID: pl.String})
        return rows.select(ID).join(decisions.select(ID).unique(), on=ID, how="semi")

    def apply_given(self, rows: pl.DataFrame, totals: pl.DataFrame, ctx: RunContext) -> StageResult:
        decisions = ctx.datasets.get(DECISIONS_KEY)
        if decisions is None or decisions.is_empty():
            marked = rows.with_columns(
                pl.lit(None, pl.String).alias(REVIEW_DECISION),
                pl.lit(False).alias(REVIEW_KEEP),
                pl.lit(None, pl.String).alias(LABEL_BEFORE_REVIEW),
                pl.lit(None, pl.String).alias(REJECT_REASON),
            )
            return self.split_marked(marked, {})
        marked, stats = apply_decisions(rows, decisions)
        return self.split_marked(marked, stats)

    def finish_stats(self, stats: dict[str, Any], totals: pl.DataFrame, ctx: RunContext) -> dict[str, Any]:
        decisions = ctx.datasets.get(DECISIONS_KEY)
        if decisions is None or decisions.is_empty():
            return {"decisions": 0, "findings": ["no review decisions yet"]}
        said_once = decision_stats(decisions, totals)
        findings = said_once.pop("findings", [])
        return {
            "decisions": said_once.pop("decisions"),
            **stats,
            **said_once,
            **({"findings": findings} if findings else {}),
        }
