"""Nothing is lost: the checks that every row a stage was given comes back kept or rejected (and every row a run
read, approved or rejected once), and putting back a row a reviewer said to keep.

Its own module, because the executor, both engines and the streamed pieces run the same checks: each imports
them from here.
"""

from __future__ import annotations

import polars as pl

from curate.core.columns import AUGMENTED_FROM, DETAIL, ID, REASON, REVIEW_KEEP, STAGE
from curate.core.errors import ConservationError
from curate.core.stage import StageResult, count_reasons
from curate.io.blocks import Rows, columns_of


def row_ids(rows: Rows) -> pl.Series:
    """The `id` column of rows in memory or on disk (no rows may lack it)."""
    return columns_of(rows, ID)[ID] if rows.height else pl.Series(ID, [], dtype=pl.String)


def check_stage_conservation(stage: str, given: pl.DataFrame, result: StageResult) -> int:
    """Raise unless kept + rejected == given + generated rows; return how many rows were generated."""
    out = pl.concat([row_ids(result.kept), row_ids(result.rejected)])
    if out.is_duplicated().any():
        twice = out.filter(out.is_duplicated()).unique().head(5).to_list()
        raise ConservationError(f"stage returned rows twice (ids {twice})", stage)
    given_ids = pl.DataFrame({ID: row_ids(given)})
    out_ids = pl.DataFrame({ID: out})
    missing = given_ids.join(out_ids, on=ID, how="anti")
    if missing.height:
        raise ConservationError(
            f"{missing.height} of {given.height} rows are neither kept nor rejected (ids {missing[ID].head(5).to_list()})",
            stage,
        )
    new = result.kept.join(given_ids, on=ID, how="anti")
    if new.height and (AUGMENTED_FROM not in new.columns or new[AUGMENTED_FROM].null_count()):
        raise ConservationError(f"{new.height} new rows do not say which row they were generated from", stage)
    invented = result.rejected.join(given_ids, on=ID, how="anti")
    if invented.height:
        raise ConservationError(f"rejected {invented.height} rows it was never given", stage)
    return new.height


def check_run_conservation(input_ids: pl.Series, approved: Rows, rejected: Rows) -> None:
    """Every input row is approved or rejected exactly once; generated rows are the only extras."""
    approved, rejected = (
        columns_of(rows, *[c for c in (ID, AUGMENTED_FROM) if c in rows.columns]) for rows in (approved, rejected)
    )
    original = approved.filter(pl.col(AUGMENTED_FROM).is_null()) if AUGMENTED_FROM in approved.columns else approved
    original_rejected = (
        rejected.filter(pl.col(AUGMENTED_FROM).is_null()) if AUGMENTED_FROM in rejected.columns else rejected
    )
    accounted = pl.concat([row_ids(original), row_ids(original_rejected)])
    if accounted.len() != input_ids.len() or accounted.is_duplicated().any() or not input_ids.is_in(accounted).all():
        raise ConservationError(
            f"{input_ids.len()} input rows, but {original.height} approved + {original_rejected.height} rejected "
            f"({accounted.n_unique()} distinct ids)",
            "run",
        )


def restore_kept_by_review(result: StageResult) -> dict[str, int]:
    """Put back the rows a reviewer said to keep that this stage rejected; returns how many, by reason.

    Here, not in each stage, so that every stage (and every engine) honours a reviewer's `keep` the same way."""
    if result.rejected.is_empty() or REVIEW_KEEP not in result.rejected.columns:
        return {}
    pinned = result.rejected[REVIEW_KEEP].fill_null(False)
    if not pinned.any():
        return {}
    restored = result.rejected.filter(pinned)
    result.rejected = result.rejected.filter(~pinned)
    result.kept = pl.concat([result.kept, restored.drop(STAGE, REASON, DETAIL)], how="diagonal_relaxed")
    return count_reasons(restored)
