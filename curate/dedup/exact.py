"""`dedup: {method: exact}`: rows whose normalised text is identical."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import polars as pl

from curate.columns import ID, TEXT
from curate.dedup.clusters import CLUSTER, ConflictPolicy, KeepPolicy, resolve_clusters
from curate.stage import Stage, StageResult


def normalized_text(column: str = TEXT) -> pl.Expr:
    """Casefolded letters and digits separated by single spaces: what "the same ticket" means."""
    return pl.col(column).str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()


@dataclass
class ExactDedup(Stage):
    """Group rows by normalised (or raw) text and keep one per group."""

    method: Literal["exact"] = "exact"
    normalize: bool = True
    keep: KeepPolicy = "first"
    on_label_conflict: ConflictPolicy = "flag"

    name: ClassVar[str] = "dedup"

    def apply(self, rows: pl.DataFrame) -> StageResult:
        key = normalized_text() if self.normalize else pl.col(TEXT)
        marked = rows.with_columns(key.alias("_key")).with_columns(
            pl.when(pl.len().over("_key") > 1).then(pl.col(ID).first().over("_key")).alias(CLUSTER)
        ).drop("_key")
        kept, rejected, clusters, stats = resolve_clusters(
            marked, self.label, "exact_duplicate", self.keep, self.on_label_conflict
        )
        return StageResult(kept=kept, rejected=rejected, stats=stats, artifacts={"clusters": clusters})
