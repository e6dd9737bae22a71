"""`dedup: {method: exact}`: rows whose normalised text is identical, or conversations whose
every message is (`key: conversation`; the same opening with other answers is not a duplicate conversation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import polars as pl

from curate.core.columns import CLUSTER, ID, MESSAGES, TEXT
from curate.core.errors import CurateError
from curate.core.text import normalized_text
from curate.stages.dedup.clusters import ConflictPolicy, CopiesPolicy, KeepPolicy, resolve_clusters, sort_clusters
from curate.core.stage import RunContext, Spread, Stage, StageResult


@dataclass
class ExactDedup(Stage):
    """Group rows by normalised (or raw) text and keep one per group."""

    method: Literal["exact"] = "exact"
    normalize: bool = True
    keep: KeepPolicy = "first"
    on_label_conflict: ConflictPolicy = "majority"
    copies: CopiesPolicy = "drop"  # weight: a removed copy counts in the kept row's sample_weight
    key: Literal["text", "conversation"] = "text"  # conversation: the whole `messages` (roles and every turn)

    name: ClassVar[str] = "dedup"

    @property
    def spread(self) -> Spread:
        """By the key rows are duplicates on: rows with different keys never meet; the clusters sorted after."""
        return Spread.by_key(self.duplicate_key(), order=sort_clusters)

    def duplicate_key(self) -> pl.Expr:
        if self.key == "conversation":  # a row without messages (a generated one) is keyed on its text
            return normalized_text(pl.coalesce(pl.col(MESSAGES), pl.col(TEXT)))
        return normalized_text() if self.normalize else pl.col(TEXT)

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        if self.key == "conversation" and MESSAGES not in rows.columns:
            raise CurateError(
                "dedup `key: conversation` needs conversations (a `messages` column)",
                "dedup.on",
                hint="read OpenAI chat JSONL, or use `key: text`",
            )
        key = self.duplicate_key()
        marked = (
            rows.with_columns(key.alias("_key"))
            .with_columns(pl.when(pl.len().over("_key") > 1).then(pl.col(ID).first().over("_key")).alias(CLUSTER))
            .drop("_key")
        )
        kept, rejected, clusters, stats = resolve_clusters(
            marked, self.display_name, "exact_duplicate", self.keep, self.on_label_conflict, copies=self.copies
        )
        return StageResult(kept=kept, rejected=rejected, stats=stats, artifacts={"clusters": clusters})
