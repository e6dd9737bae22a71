"""The one contract data flows through.

A stage takes a polars frame of rows and returns a `StageResult`: the rows it keeps, the rows it
rejects (each with the stage name, a reason code and a readable detail) and its stats. The pipeline,
not the stage, checks that kept + rejected accounts for every row the stage was given.

Stages are dataclasses: the constructor stores parameters and nothing else, so a recipe entry maps
onto a stage by keyword arguments, and a stage never knows where it runs (one process, batches, a
cluster). Stages that are `row_local` decide each row on its own, so an executor may split the
frame into batches for them freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl

from curate.columns import DETAIL, REASON, STAGE

# Columns a stage may add to mark a drop; `split_marked` turns them into rejected rows.
REJECT_REASON = "_reject_reason"
REJECT_DETAIL = "_reject_detail"


@dataclass
class StageResult:
    kept: pl.DataFrame
    rejected: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    # Extra frames for the run directory, e.g. {"clusters": ...}; the pipeline concatenates by name.
    artifacts: dict[str, pl.DataFrame] = field(default_factory=dict)
    # Set by a stage that must stop the recipe (a failed gate): the reason, said to the user.
    halt: str | None = None


class Stage:
    """Base class of every stage. Subclasses are dataclasses and implement `apply`."""

    name: ClassVar[str] = "stage"
    row_local: ClassVar[bool] = False

    @property
    def label(self) -> str:
        """How the stage is named in reports: its recipe name, plus its method where it has one."""
        method = getattr(self, "method", None)
        return f"{self.name}:{method}" if method else self.name

    def apply(self, rows: pl.DataFrame) -> StageResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def reject(self, rows: pl.DataFrame, reason: str, detail: str | pl.Expr = "") -> pl.DataFrame:
        """Mark `rows` as rejected by this stage with one reason (helper for stages that reject whole groups)."""
        detail_expr = detail if isinstance(detail, pl.Expr) else pl.lit(detail)
        return rows.with_columns(
            pl.lit(self.label).alias(STAGE), pl.lit(reason).alias(REASON), detail_expr.cast(pl.String).alias(DETAIL)
        )

    def split_marked(self, marked: pl.DataFrame, stats: dict[str, Any] | None = None) -> StageResult:
        """Split a frame whose `_reject_reason` column is null for kept rows into a StageResult."""
        if REJECT_DETAIL not in marked.columns:
            marked = marked.with_columns(pl.lit("").alias(REJECT_DETAIL))
        is_rejected = pl.col(REJECT_REASON).is_not_null()
        kept = marked.filter(~is_rejected).drop(REJECT_REASON, REJECT_DETAIL)
        rejected = (
            marked.filter(is_rejected)
            .with_columns(
                pl.lit(self.label).alias(STAGE),
                pl.col(REJECT_REASON).alias(REASON),
                pl.col(REJECT_DETAIL).fill_null("").cast(pl.String).alias(DETAIL),
            )
            .drop(REJECT_REASON, REJECT_DETAIL)
        )
        return StageResult(kept=kept, rejected=rejected, stats=stats or {})


def empty_rejected(like: pl.DataFrame) -> pl.DataFrame:
    """A rejected frame with no rows and the schema of `like` plus stage/reason/detail."""
    return like.clear().with_columns(
        pl.lit(None, pl.String).alias(STAGE), pl.lit(None, pl.String).alias(REASON), pl.lit(None, pl.String).alias(DETAIL)
    )


def count_reasons(rejected: pl.DataFrame) -> dict[str, int]:
    """Rejected rows by reason, most common first."""
    if rejected.is_empty():
        return {}
    counts = rejected.group_by(REASON).len().sort(["len", REASON], descending=[True, False])
    return dict(zip(counts[REASON].to_list(), counts["len"].to_list()))


__all__ = ["Stage", "StageResult", "count_reasons", "empty_rejected"]
