"""`split`: train / validation / test, stratified by label, seeded, with near-duplicate groups kept
inside one split so that no test row has a near copy in training."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import polars as pl
import xxhash

from curate.core.columns import ID, LABEL, SPLIT, SPLIT_GROUP, TEST, TEXT, TRAIN, VALIDATION
from curate.core.params import Seed, Share, Similarity
from curate.core.spread import ROW
from curate.core.stage import RunContext, Spread, Stage, StageResult, empty_rejected
from curate.stages.dedup.minhash.lsh import band_memberships
from curate.stages.dedup.minhash.signatures import MinHasher
from curate.stages.dedup.minhash.similarity import agreement


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

    @property
    def spread(self) -> Spread:
        """Near duplicates are linked rows (MinHash signatures, LSH band buckets, estimated Jaccard at `group_threshold`);
        each group is assigned a split (`assign`), which reads only the ids and labels of every row."""
        return Spread.linked(
            features=self.features, keys=self.band_keys, holds=self.holds, resolve=self.assign, reads=(ID, LABEL)
        )

    def features(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> pl.DataFrame:
        return pl.DataFrame({ROW: rows[ROW].cast(pl.Int64), "_signature": MinHasher().signatures(rows[TEXT])})

    def band_keys(self, features: pl.DataFrame) -> Iterator[pl.DataFrame]:
        return band_memberships(features["_signature"].to_numpy(), features[ROW], self.group_threshold)

    def holds(self, found: pl.DataFrame, pairs: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
        """Candidates whose estimated Jaccard reaches `group_threshold`."""
        return pairs[agreement(found["_signature"].to_numpy(), pairs[:, 0], pairs[:, 1]) >= self.group_threshold], {}

    def near_duplicate_pairs(self, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(each row's features, the pairs i, j that split keeps together): the one definition of a near duplicate
        across splits, which the gate's `cross_split_near_duplicates` counts with too."""
        features, held, _ = self.spread.pairs(rows)
        return features, pl.DataFrame({"i": held[:, 0], "j": held[:, 1]}, schema={"i": pl.Int64, "j": pl.Int64})

    def assign(
        self, rows: pl.DataFrame, clusters: np.ndarray, features: Any = None, ctx: RunContext | None = None
    ) -> StageResult:
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
