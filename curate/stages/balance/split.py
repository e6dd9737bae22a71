"""`split`: train / validation / test, stratified by label, seeded, with near-duplicate groups kept
inside one split so that no test row has a near copy in training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl
import xxhash

from curate.core.columns import ID, LABEL, SPLIT, SPLIT_GROUP, TEST, TEXT, TRAIN, VALIDATION
from curate.stages.dedup.minhash.lsh import (
    PAIRS_PER_CHUNK,
    as_pairs,
    band_memberships,
    bucket_pairs,
    candidate_edges,
    gather,
    pairs_of,
)
from curate.stages.dedup.clusters import components
from curate.stages.dedup.minhash.signatures import MinHasher
from curate.stages.dedup.minhash.similarity import agreement
from curate.core.params import Seed, Share, Similarity
from curate.core.stage import ROW, RunContext, Stage, StageResult, empty_rejected


def assign_groups(groups: pl.DataFrame, validation: float, test: float, seed: int) -> pl.DataFrame:
    """Give each group (with `size`, `label` and `_key`, the id of its first row) a split so that each label's rows
    divide by the shares. Groups are ordered by a seeded hash of their key, not by one random permutation drawn for
    all labels: a rerun after a reviewer relabels or rejects a row moves only the groups at that label's cut points
    (a shared permutation moved 18 unrelated rows of a 150-row run after two decisions). The hash is xxh3, not polars'
    `Expr.hash`, which polars keeps only within one version: a polars upgrade must not move rows between splits."""
    out = []
    for label_groups in groups.partition_by(LABEL, maintain_order=True):
        order = [xxhash.xxh3_64_intdigest(key.encode(), seed=seed) for key in label_groups["_key"].cast(pl.String)]
        shuffled = (
            label_groups.with_columns(pl.Series("_order", order, pl.UInt64)).sort("_order", "_key").drop("_order")
        )
        total = shuffled["size"].sum()
        # A group goes to the split in which its first row falls, by cumulative size.
        start = (shuffled["size"].cum_sum() - shuffled["size"]).to_numpy() / max(total, 1)
        split = np.where(start < test, TEST, np.where(start < test + validation, VALIDATION, TRAIN))
        out.append(shuffled.with_columns(pl.Series(SPLIT, split)))
    return pl.concat(out)


SPLIT_CODES = {TRAIN: 0, VALIDATION: 1, TEST: 2}


@dataclass
class Split(Stage):
    """Add a `split` column; near duplicates (MinHash, `group_threshold`) share a split."""

    validation: Share = 0.1
    test: Share = 0.1
    seed: Seed | None = None  # None: the recipe's seed
    group_threshold: Similarity = 0.7

    def __post_init__(self) -> None:
        if self.validation + self.test >= 1:
            raise ValueError(
                f"validation + test is {self.validation + self.test:g}: nothing would be left for training (they must add up to less than 1)"
            )

    name: ClassVar[str] = "split"
    produces: ClassVar[tuple[str, ...]] = (SPLIT, SPLIT_GROUP)

    shuffles_groups: ClassVar[bool] = (
        True  # on Ray: signatures per block and LSH buckets by a shuffle, as MinHash dedup
    )

    def map_rows(self, rows: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame({ROW: rows[ROW].cast(pl.Int64), "_signature": MinHasher().signatures(rows[TEXT])})

    def group_keys(self, mapped: pl.DataFrame) -> pl.DataFrame:
        return band_memberships(mapped["_signature"].to_numpy(), mapped[ROW], self.group_threshold)

    def reduce_groups(self, memberships: pl.DataFrame) -> pl.DataFrame:
        return bucket_pairs(memberships)

    finish_reads: ClassVar[tuple[str, ...]] = (ID, LABEL)  # a streamed run hands `finish` these columns of every row

    def pairs_that_hold(
        self, mapped: pl.DataFrame | pl.LazyFrame, reduced: pl.DataFrame, rows: int
    ) -> tuple[pl.DataFrame, dict]:
        """Candidates whose estimated Jaccard reaches `group_threshold`, a chunk at a time, each gathering only its rows'
        signatures from `mapped` (lazy in a streamed run)."""
        pairs, held = pairs_of(reduced, rows), []
        for start in range(0, len(pairs), PAIRS_PER_CHUNK):
            chunk = pairs[start : start + PAIRS_PER_CHUNK]
            found, local = gather(mapped, chunk)
            held.append(
                chunk[agreement(found["_signature"].to_numpy(), local[:, 0], local[:, 1]) >= self.group_threshold]
            )
        return as_pairs(np.concatenate(held) if held else np.empty((0, 2), dtype=np.int64)), {}

    def finish(
        self,
        rows: pl.DataFrame,
        mapped: pl.DataFrame | pl.LazyFrame,
        reduced: pl.DataFrame,
        ctx: RunContext | None = None,
    ) -> StageResult:
        return self.assign(rows, components(rows.height, pairs_of(reduced, rows.height)), ctx)

    def near_duplicate_pairs(self, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(mapped rows, the pairs i, j that split keeps together): the one definition of a near duplicate across
        splits, which the gate's `cross_split_near_duplicates` counts with too."""
        mapped = self.map_rows(rows.with_row_index(ROW))
        held, _ = self.pairs_that_hold(
            mapped, as_pairs(candidate_edges(mapped["_signature"].to_numpy(), self.group_threshold)), rows.height
        )
        return mapped, held

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        mapped, held = self.near_duplicate_pairs(rows)
        return self.finish(rows, mapped, held, ctx)

    def assign(self, rows: pl.DataFrame, clusters: np.ndarray, ctx: RunContext | None) -> StageResult:
        """Rows in one near-duplicate cluster form a group, every other row a group of its own; groups are split by label,
        seeded. Groups are numbered (a cluster by its number, a lone row by `rows.height` + its place), not named by
        strings, so ten million rows are split in a few hundred MB."""
        n = rows.height
        # Unlabelled rows are split as one class (the shares still hold, and near duplicates still stay together).
        labels = rows[LABEL] if LABEL in rows.columns else pl.Series(LABEL, [None] * n, dtype=pl.String)
        clusters = np.asarray(clusters, dtype=np.int64)
        clustered = clusters >= 0
        key = np.where(clustered, clusters, n + np.arange(n, dtype=np.int64))
        members = pl.DataFrame(
            {"_group": key[clustered], "_first": np.flatnonzero(clustered), LABEL: labels.filter(pl.Series(clustered))}
        )
        shared = members.group_by("_group").agg(
            pl.col("_first").min(),
            pl.len().alias("size"),
            pl.col(LABEL).drop_nulls().mode().sort().first().fill_null(""),
        )
        alone = pl.DataFrame({"_group": key[~clustered], "_first": np.flatnonzero(~clustered)}).with_columns(
            pl.lit(1, pl.UInt32).alias("size"), labels.filter(pl.Series(~clustered)).fill_null("").alias(LABEL)
        )
        groups = pl.concat([shared, alone]).sort("_first")  # in the order of each group's first row
        groups = groups.with_columns(rows[ID].gather(groups["_first"]).alias("_key"))
        assigned = assign_groups(groups, self.validation, self.test, (ctx or RunContext()).seed_for(self.seed))
        code_of_group = np.zeros(2 * n, dtype=np.int8)
        code_of_group[assigned["_group"].to_numpy()] = (
            assigned[SPLIT].replace_strict(SPLIT_CODES, return_dtype=pl.Int8).to_numpy()
        )
        split = pl.Series(SPLIT, code_of_group[key]).replace_strict(
            {v: k for k, v in SPLIT_CODES.items()}, return_dtype=pl.String
        )
        kept = rows.with_columns(
            pl.when(pl.Series(clustered))
            .then(pl.Series(clusters).cast(pl.String))
            .otherwise(pl.col(ID))
            .alias(SPLIT_GROUP),
            split,
        )
        counts = kept.group_by(SPLIT).len()
        stats = {
            "rows": dict(zip(counts[SPLIT].to_list(), counts["len"].to_list())),
            "groups_with_near_duplicates": shared.height,
            "rows_in_such_groups": int(shared["size"].sum()),
        }
        return StageResult(kept=kept, rejected=empty_rejected(rows), stats=stats)
