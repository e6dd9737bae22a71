"""From cluster assignments to kept and rejected rows: the keep policy and label conflicts.

Every dedup method only says which rows belong together (a `cluster` column, null for rows that
stand alone) and, optionally, how similar each row is to its cluster; this module decides which
row stays, so identifying duplicates stays apart from removing them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from curate.core.columns import (
    CLUSTER,
    DUPLICATE_OF,
    ID,
    LABEL,
    LABEL_BEFORE_DEDUP,
    LABEL_CONFLICT,
    SAMPLE_WEIGHT,
    SIMILARITY,
    STAGE,
    TEXT,
)
from curate.core.spread import components  # noqa: F401 - the dedup stages' clusters, linked rows' groups
from curate.core.stage import stamp

KeepPolicy = Literal["first", "longest", "most_complete"]
ConflictPolicy = Literal["majority", "drop", "flag"]
# What a removed copy leaves behind: nothing (`drop`), or its count in the kept row's `sample_weight` (`weight`), so a
# trainer that takes weights learns from the same mass as before: CFPB's form letters, filed many times, are real
# frequency that its test split shares, and dropping their copies cost 0.2-1.0 macro-F1 point (benchmarks/RESULTS.md).
CopiesPolicy = Literal["drop", "weight"]


def _preference(frame: pl.DataFrame, keep: KeepPolicy) -> pl.DataFrame:
    """Add `_rank`: 0 for the row a cluster keeps under the policy, ties broken by file order."""
    frame = frame.with_row_index("_order")
    if keep == "first":
        keys, descending = ["_order"], [False]
    elif keep == "longest":
        frame = frame.with_columns(pl.col(TEXT).str.len_chars().alias("_length"))
        keys, descending = ["_length", "_order"], [True, False]
    else:  # most_complete: fewest empty fields, then longest
        frame = frame.with_columns(
            pl.sum_horizontal([pl.col(c).is_null().cast(pl.Int32) for c in frame.columns]).alias("_nulls"),
            pl.col(TEXT).str.len_chars().alias("_length"),
        )
        keys, descending = ["_nulls", "_length", "_order"], [False, True, False]
    ranked = frame.sort(keys, descending=descending).with_columns(pl.int_range(pl.len()).over(CLUSTER).alias("_rank"))
    return ranked.sort("_order").drop([c for c in ("_length", "_nulls", "_order") if c in ranked.columns])


def representatives(frame: pl.DataFrame, keep: KeepPolicy) -> pl.Series:
    """For each row, the id of the row its cluster keeps under the policy (null outside clusters)."""
    ranked = _preference(frame.with_columns(pl.col(CLUSTER).fill_null(pl.col(ID))), keep)
    rep = ranked.select(pl.col(ID).filter(pl.col("_rank") == 0).first().over(CLUSTER)).to_series()
    return pl.select(pl.when(frame[CLUSTER].is_not_null()).then(rep)).to_series().alias(DUPLICATE_OF)


def sort_clusters(clusters: pl.DataFrame) -> pl.DataFrame:
    """Largest cluster first, the kept row first in each; members keep their order (a stable sort, so the
    same clusters come out in the same order however the rows were partitioned)."""
    return clusters.sort(["size", CLUSTER, "kept"], descending=[True, False, True], maintain_order=True)


def resolve_clusters(
    frame: pl.DataFrame,
    stage: str,
    reason: str,
    keep: KeepPolicy = "first",
    on_label_conflict: ConflictPolicy = "flag",
    measure: str = "similarity",
    copies: CopiesPolicy = "drop",
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict]:
    """Keep one row per cluster; returns (kept, rejected, clusters, stats).

    `frame` has a `cluster` column (null: not a duplicate of anything) and may have `similarity`
    (each member's similarity to the row it duplicates, named `measure` in the detail). Rejected
    rows name the id they duplicate. With `copies: weight` every kept row carries a `sample_weight`: its own (1 when
    it has none) plus that of each removed member with the label the kept row ends with.
    """
    frame = frame.with_row_index("_input_order")
    if SIMILARITY not in frame.columns:
        frame = frame.with_columns(pl.when(pl.col(CLUSTER).is_not_null()).then(1.0).alias(SIMILARITY))
    singles = frame.filter(pl.col(CLUSTER).is_null())
    members = _preference(frame.filter(pl.col(CLUSTER).is_not_null()), keep)
    members = members.with_columns(
        pl.col(ID).filter(pl.col("_rank") == 0).first().over(CLUSTER).alias(DUPLICATE_OF),
        (pl.col(LABEL).drop_nulls().n_unique().over(CLUSTER) > 1).alias(LABEL_CONFLICT),
        pl.col(LABEL).drop_nulls().mode().sort().first().over(CLUSTER).alias("_majority"),
        # A strict majority: more rows carry the most common label than any other (a tie has none).
        (
            pl.col(LABEL)
            .drop_nulls()
            .value_counts(sort=True)
            .struct.field("count")
            .head(2)
            .over(CLUSTER, mapping_strategy="join")
            .list.eval(pl.element().first() > pl.element().last().filter(pl.len() > 1).fill_null(0))
            .list.first()
        ).alias("_has_majority"),
        pl.len().over(CLUSTER).alias("_size"),
    )
    conflicting = pl.col(LABEL_CONFLICT)
    # "majority" relabels the kept row when one label wins outright and drops the cluster on a tie:
    # a conflict is never settled by file order.
    unresolved = (
        conflicting
        if on_label_conflict == "drop"
        else (conflicting & ~pl.col("_has_majority"))
        if on_label_conflict == "majority"
        else pl.lit(False)
    )
    kept_members = members.filter((pl.col("_rank") == 0) & ~unresolved)
    if on_label_conflict == "majority":
        kept_members = kept_members.with_columns(
            pl.col(LABEL).alias(LABEL_BEFORE_DEDUP),
            pl.when(conflicting).then(pl.col("_majority")).otherwise(pl.col(LABEL)).alias(LABEL),
        )
    duplicates = stamp(
        members.filter((pl.col("_rank") > 0) & ~unresolved),
        stage,
        reason,
        pl.format(f"duplicate of {{}} ({measure} {{}})", pl.col(DUPLICATE_OF), pl.col(SIMILARITY).round(3)),
    )
    dropped = stamp(
        members.filter(unresolved),
        stage,
        "label_conflict",
        pl.format("cluster {} holds {} rows with different labels", pl.col(CLUSTER), pl.col("_size")),
    )
    helper = ["_rank", "_majority", "_has_majority", "_size"]
    if copies == "weight":
        singles, kept_members = with_own_weight(singles), counted_copies(kept_members, members)
    kept = pl.concat([singles, kept_members.drop(helper)], how="diagonal_relaxed").sort("_input_order")
    if LABEL_CONFLICT not in singles.columns:
        kept = kept.with_columns(pl.col(LABEL_CONFLICT).fill_null(False))
    rejected = pl.concat([duplicates.drop(helper), dropped.drop(helper)], how="diagonal_relaxed").sort("_input_order")
    clusters = sort_clusters(
        members.select(
            pl.lit(stage).alias(STAGE),
            CLUSTER,
            ID,
            LABEL,
            TEXT,
            SIMILARITY,
            (pl.col("_rank") == 0).alias("kept"),
            DUPLICATE_OF,
            LABEL_CONFLICT,
            pl.col("_size").alias("size"),
        )
    )
    n_conflicts = members.filter(conflicting)[CLUSTER].n_unique()
    stats = {
        "clusters": members[CLUSTER].n_unique(),
        "rows_in_clusters": members.height,
        "label_conflict_clusters": n_conflicts,
        "label_conflict_policy": on_label_conflict,
    }
    return kept.drop(CLUSTER, "_input_order"), rejected.drop("_input_order"), clusters, stats


def with_own_weight(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with each row's weight before dedup as `sample_weight`: its own, 1 where it has none."""
    weight = pl.col(SAMPLE_WEIGHT).cast(pl.Float64) if SAMPLE_WEIGHT in frame.columns else pl.lit(None, pl.Float64)
    return frame.with_columns(weight.fill_null(1.0).alias(SAMPLE_WEIGHT))


def counted_copies(kept_members: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """The kept rows with the summed weight of every member of their cluster that carries the label they end with (or
    none): a member whose label lost a conflict adds nothing to the label that won."""
    final = kept_members.select(CLUSTER, pl.col(LABEL).alias("_final"))
    weights = (
        with_own_weight(members)
        .join(final, on=CLUSTER, how="inner")
        .filter(pl.col(LABEL).eq_missing(pl.col("_final")) | pl.col(LABEL).is_null())
        .group_by(CLUSTER)
        .agg(pl.col(SAMPLE_WEIGHT).sum())
    )
    return kept_members.drop(SAMPLE_WEIGHT, strict=False).join(weights, on=CLUSTER, how="left", maintain_order="left")


def same_label(pairs: np.ndarray, labels: pl.Series) -> np.ndarray:
    """The pairs whose rows carry the same label (or either none): two intents are never one duplicate."""
    text = labels.cast(pl.String).fill_null("")
    codes = text.rank("dense").cast(pl.Int64).to_numpy()  # one number per label: compared as numbers, not strings
    none = (text == "").to_numpy()
    a, b = pairs[:, 0], pairs[:, 1]
    return pairs[(codes[a] == codes[b]) | none[a] | none[b]]


def mark_clusters(
    rows: pl.DataFrame, labels: np.ndarray, keep: KeepPolicy, similarity_to, threshold: float | None = None
) -> pl.DataFrame:
    """Add `cluster` and each member's `similarity` to the row its cluster keeps.

    `similarity_to(i, j)` scores row pairs given as index arrays; it is called for cluster members only.
    With `threshold`, a member less similar than that to the kept row leaves the cluster (no chaining:
    A~B and B~C do not remove C when C is far from A).
    """
    marked = rows.with_columns(pl.Series(CLUSTER, labels).cast(pl.String).replace("-1", None))
    members = np.flatnonzero(labels >= 0)
    similarity = np.full(rows.height, np.nan, dtype=np.float32)
    if len(members):
        reps = representatives(marked[members], keep).to_list()
        index = {row_id: i for i, row_id in zip(members.tolist(), rows[ID].gather(members).to_list())}
        similarity[members] = similarity_to(members, np.array([index[r] for r in reps], dtype=np.int64))
    marked = marked.with_columns(pl.Series(SIMILARITY, similarity).fill_nan(None).round(4))
    if threshold is not None:
        marked = marked.with_columns(
            pl.when(pl.col(SIMILARITY) >= threshold - 1e-6).then(pl.col(CLUSTER)).alias(CLUSTER)
        )
        marked = marked.with_columns(
            pl.when(pl.len().over(CLUSTER) > 1).then(pl.col(CLUSTER)).alias(CLUSTER),
            pl.when(pl.len().over(CLUSTER) > 1).then(pl.col(SIMILARITY)).alias(SIMILARITY),
        )
    # A cluster is named by its first row's id (as exact dedup names its clusters), not by a component number that
    # depends on how many rows were numbered: a streamed run, which numbers only the paired rows, names it the same.
    return marked.with_columns(
        pl.when(pl.col(CLUSTER).is_not_null()).then(pl.col(ID).first().over(CLUSTER)).alias(CLUSTER)
    )
