"""`dedup: {method: semantic}`: rows that say the same thing in other words.

Embeddings (MiniLM by default, cached on disk) are compared by cosine similarity in blocks, so
memory stays bounded; above `exact_search_limit` rows the set is first split by k-means and rows
are compared within a partition (SemDeDup's scheme). Pairs at or above the threshold form
clusters by connected components, and the shared keep policy picks the row to keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from curate.core.columns import LABEL, TEXT
from curate.stages.dedup.clusters import (
    ConflictPolicy,
    CopiesPolicy,
    KeepPolicy,
    components,
    mark_clusters,
    resolve_clusters,
    same_label,
)
from curate.core.params import Positive, Seed, Similarity
from curate.core.stage import RunContext, Stage, StageResult


def similar_pairs(vectors: np.ndarray, threshold: float, block: int = 1024) -> np.ndarray:
    """All pairs (i < j) with cosine >= threshold, by blocked exact search (vectors normalised)."""
    found = []
    for start in range(0, len(vectors), block):
        sims = vectors[start : start + block] @ vectors.T
        i, j = np.nonzero(sims >= threshold)
        i = i + start
        upper = j > i
        found.append(np.stack([i[upper], j[upper]], axis=1))
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


def partitioned_pairs(vectors: np.ndarray, threshold: float, partition_size: int, seed: int) -> np.ndarray:
    """Pairs within k-means partitions: near-linear in rows; may miss pairs split across partitions."""
    from sklearn.cluster import MiniBatchKMeans

    k = max(2, len(vectors) // partition_size)
    labels = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096).fit_predict(vectors)
    found = []
    for part in range(k):
        members = np.flatnonzero(labels == part)
        if len(members) > 1:
            local = similar_pairs(vectors[members], threshold)
            found.append(members[local])
    return np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)


@dataclass
class SemanticDedup(Stage):
    """Semantic duplicates: cosine similarity of sentence embeddings at or above `threshold`."""

    method: Literal["semantic"] = "semantic"
    threshold: Similarity = 0.93
    model: str | None = None
    batch_size: Positive = 64
    exact_search_limit: Positive = 50_000
    partition_size: Positive = 5_000
    seed: Seed | None = None  # k-means partitions above exact_search_limit; None: the recipe's seed
    cache: bool = True
    keep: KeepPolicy = "first"
    on_label_conflict: ConflictPolicy = "majority"
    copies: CopiesPolicy = "drop"  # weight: a removed copy counts in the kept row's sample_weight
    across_labels: bool = False  # True: rows of different labels may be duplicates (then label conflicts decide)

    name: ClassVar[str] = "dedup"

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        ctx = ctx or RunContext()
        embedder = ctx.embedder(
            self.model,
            batch_size=self.batch_size,
            cache=self.cache,
            on_progress=ctx.reporter(self.display_name, "texts encoded"),
        )
        vectors = embedder.encode(rows[TEXT].fill_null(""))
        if len(vectors) <= self.exact_search_limit:
            pairs = similar_pairs(vectors, self.threshold)
        else:
            pairs = partitioned_pairs(vectors, self.threshold, self.partition_size, ctx.seed_for(self.seed))
        if not self.across_labels:
            pairs = same_label(pairs, rows[LABEL])
        labels = components(rows.height, pairs)
        marked = mark_clusters(
            rows, labels, self.keep, lambda i, j: np.einsum("ij,ij->i", vectors[i], vectors[j]), self.threshold
        )
        kept, rejected, clusters, stats = resolve_clusters(
            marked, self.display_name, "semantic_duplicate", self.keep, self.on_label_conflict, "cosine", self.copies
        )
        stats.update({"threshold": self.threshold, "model": self.model or "all-MiniLM-L6-v2", "pairs": int(len(pairs))})
        return StageResult(kept=kept, rejected=rejected, stats=stats, artifacts={"clusters": clusters})
