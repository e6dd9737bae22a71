"""`rebalance`: move the training split toward a target class distribution.

Large classes are undersampled, dropping first the rows other stages flagged (likely mislabelled,
quality flags), then rows with a near duplicate in their split group, then at random (seeded);
each is rejected with the reason `undersampled`. Small classes reach their target: first by checked
augmentation where a recipe asks for it (`methods`, at most `max_generated_share` of a class
generated), then by `fill`: copies of the class's own rows (the default: copies never change what a
text is about, and back-translation that is checked to keep it keeps only 4-10% of its candidates, too
few to reach a ratio), a `sample_weight` column for trainers that take weights, or nothing. Runs on
the training split only, after `split`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from curate.stages.augment.checks import CandidateChecks
from curate.stages.augment.augment import (
    DETERMINISTIC_METHODS,
    augment_stats,
    augmentable,
    generate_checked,
    training_pool,
)
from curate.core.columns import (
    AUGMENT_DROPPED_ARTIFACT,
    AUGMENTED_FROM,
    AUGMENT_METHOD,
    ID,
    LABEL,
    LABEL_ISSUE,
    QUALITY_FLAGS,
    SAMPLE_WEIGHT,
    SPLIT,
    SPLIT_GROUP,
    TRAIN,
)
from curate.core.params import AtLeastOne, Count, Positive, Seed, Share
from curate.core.stage import REJECT_DETAIL, REJECT_REASON, RunContext, Stage, StageResult


def with_weights(rows: pl.DataFrame, goals: dict[str, int]) -> pl.DataFrame:
    """A `sample_weight` column: a training row of a class below its target weighs target / rows, so the class counts
    as much as its target in a weighted loss; held-out rows and classes at their target weigh 1. A weight the rows
    already carry (the copies dedup counted, `copies: weight`) is multiplied, not replaced."""
    pool = training_pool(rows)
    have = dict(pool.group_by(LABEL).len().iter_rows())
    weight = {label: max(1.0, goals.get(label, n) / n) for label, n in have.items() if n}
    in_train = pl.col(SPLIT) == TRAIN if SPLIT in rows.columns else pl.lit(True)
    before = pl.col(SAMPLE_WEIGHT).cast(pl.Float64).fill_null(1.0) if SAMPLE_WEIGHT in rows.columns else pl.lit(1.0)
    return rows.with_columns(
        (before * pl.when(in_train).then(pl.col(LABEL).replace_strict(weight, default=1.0, return_dtype=pl.Float64)))
        .fill_null(before)
        .round(4)
        .alias(SAMPLE_WEIGHT)
    )


def target_counts(
    counts: dict[str, int], target: str | dict[str, int], max_ratio: float, size: int | None
) -> dict[str, int]:
    if isinstance(target, dict):
        return {label: int(target.get(label, n)) for label, n in counts.items()}
    if target == "uniform":
        goal = size or int(np.median(list(counts.values())))
        return {label: goal for label in counts}
    floor = math.ceil(max(counts.values()) / max_ratio)  # max_ratio: lift small classes, leave the rest
    return {label: max(n, floor) for label, n in counts.items()}


@dataclass
class Rebalance(Stage):
    target: Literal["uniform", "max_ratio"] | dict[str, int] = "max_ratio"
    max_ratio: AtLeastOne = 3.0
    size: Positive | None = None
    methods: list[Literal["synonym", "eda", "backtranslate", "paraphrase"]] = field(
        default_factory=list
    )  # checked augmentation first
    max_rounds: Count = 3
    fill: Literal["copies", "weight", "none"] = (
        "copies"  # what closes the gap augmentation leaves (see the module's docstring)
    )
    max_generated_share: Share = (
        0.5  # at most this share of a class's training rows may be generated (copies are not generated)
    )
    copy_suspects: bool = False  # copy rows the label check flagged like any other (False: only while none else)
    engine: Literal["bergamot", "marian", "apertium"] = "bergamot"
    min_similarity: Share = 0.75
    max_similarity: Share = 0.985
    seed: Seed | None = None  # None: the recipe's seed

    name: ClassVar[str] = "rebalance"

    def undersample(self, rows: pl.DataFrame, pool: pl.DataFrame, goals: dict[str, int], seed: int) -> pl.DataFrame:
        """Mark rows to drop from classes above their goal, least valuable first."""
        rng = np.random.default_rng(seed)
        priority = pl.lit(0)
        if LABEL_ISSUE in pool.columns:
            priority = priority + pl.col(LABEL_ISSUE).fill_null(False).cast(pl.Int32) * 4
        if QUALITY_FLAGS in pool.columns:
            priority = priority + (pl.col(QUALITY_FLAGS).list.len() > 0).cast(pl.Int32) * 2
        if SPLIT_GROUP in pool.columns:
            priority = priority + (pl.len().over(SPLIT_GROUP) > 1).cast(pl.Int32)
        ranked = pool.with_columns(priority.alias("_priority"), pl.Series("_random", rng.random(pool.height)))
        ranked = ranked.sort(["_priority", "_random"], descending=[True, False]).with_columns(
            pl.int_range(pl.len()).over(LABEL).alias("_position"), pl.len().over(LABEL).alias("_size")
        )
        goal = pl.col(LABEL).replace_strict(goals, default=None, return_dtype=pl.Int64)
        drop = ranked.filter(pl.col("_position") < pl.col("_size") - goal).select(
            ID,
            pl.format("class '{}' reduced from {} to {} rows", pl.col(LABEL), pl.col("_size"), goal).alias(
                REJECT_DETAIL
            ),
        )
        return rows.join(drop, on=ID, how="left", maintain_order="left").with_columns(
            pl.when(pl.col(REJECT_DETAIL).is_not_null()).then(pl.lit("undersampled")).alias(REJECT_REASON)
        )

    def oversample(
        self,
        pool: pl.DataFrame,
        existing: pl.DataFrame,
        goals: dict[str, int],
        seed: int,
        ctx: RunContext | None = None,
    ) -> tuple[pl.DataFrame, dict, pl.DataFrame]:
        checks = CandidateChecks(self.min_similarity, self.max_similarity)  # label and length checks on by default
        ctx = ctx or RunContext()
        originals = Counter(pool[LABEL].to_list())
        have = Counter(originals)
        added, reasons, by_method = [], Counter(), Counter()
        cap = (
            self.max_generated_share / (1 - self.max_generated_share) if self.max_generated_share < 1 else float("inf")
        )
        room = {
            label: int(originals[label] * cap) for label in goals
        }  # generated rows a class may take: originals keep their share
        for round_ in range(self.max_rounds):
            short = {
                label: min(goal - have[label], room[label] - (have[label] - originals[label]))
                for label, goal in goals.items()
                if goal > have[label]
            }
            short = {label: n for label, n in short.items() if n > 0}
            if not short or not self.methods or (round_ and DETERMINISTIC_METHODS.issuperset(self.methods)):
                break
            sources = augmentable(pool).filter(pl.col(LABEL).is_in(list(short)))
            kept, dropped, methods = generate_checked(
                sources,
                pl.concat([existing, *added], how="diagonal_relaxed"),
                self.methods,
                1,
                checks,
                seed + 101 * round_,
                self.engine,
                lambda what, done, total: ctx.report(self.name, f"round {round_ + 1}: {what}", done, total),
            )
            kept = kept.with_columns(pl.col(ID) + f"r{round_}").filter(
                pl.int_range(pl.len()).over(LABEL) < pl.col(LABEL).replace_strict(short, default=0)
            )
            reasons.update(dropped)
            by_method.update(Counter(kept[AUGMENT_METHOD].to_list()))
            have.update(kept[LABEL].to_list())
            added.append(kept)
        generated = pl.concat(added, how="diagonal_relaxed") if added else pool.clear()
        stats = augment_stats(pool.height, generated, reasons, by_method, checks.skipped)
        short = {label: goal - have[label] for label, goal in goals.items() if goal > have[label]}
        copied = self.copies(pool, short, seed, self.copy_suspects) if self.fill == "copies" else pool.clear()
        stats["random_copies"] = copied.height
        if copied.height:
            stats["findings"].insert(
                1, f"{copied.height} copies of real rows fill the small classes to their targets (random oversampling)"
            )
        return pl.concat([generated, copied], how="diagonal_relaxed"), stats, checks.dropped_frame()

    @staticmethod
    def copies(pool: pl.DataFrame, short: dict[str, int], seed: int, copy_suspects: bool = False) -> pl.DataFrame:
        """`short[label]` copies of each small class's rows: every row copied as often as every other, the remainder
        drawn at random without replacement (seeded), so no row weighs more than one copy over another. Generated
        rows, and unless `copy_suspects` rows suspected of a wrong label, are not copied while the class has others."""
        rng = np.random.default_rng(seed)
        sources = augmentable(pool.drop(LABEL_ISSUE, strict=False) if copy_suspects else pool)
        copies = []
        for label, missing in sorted(short.items()):
            members = sources.filter(pl.col(LABEL) == label)
            if members.height == 0:
                members = pool.filter(pl.col(LABEL) == label)
            if members.height == 0 or missing <= 0:
                continue
            rounds, rest = divmod(missing, members.height)
            picks = np.r_[np.tile(np.arange(members.height), rounds), rng.permutation(members.height)[:rest]].astype(
                np.int64
            )
            copies.append(
                members[picks.tolist()]
                .with_row_index("_k")
                .with_columns(
                    pl.col(ID).alias(AUGMENTED_FROM),
                    (pl.col(ID) + "~copy" + pl.col("_k").cast(pl.String)).alias(ID),
                    pl.lit("random_oversample").alias(AUGMENT_METHOD),
                )
                .drop("_k")
            )
        return pl.concat(copies, how="diagonal_relaxed") if copies else pool.clear()

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        pool = training_pool(rows)
        before = dict(
            sorted(pool.group_by(LABEL).len().iter_rows())
        )  # sorted: the seeded draws must not depend on group order
        goals = target_counts(before, self.target, self.max_ratio, self.size)
        seed = (ctx or RunContext()).seed_for(self.seed)
        marked = self.undersample(rows, pool, goals, seed)
        remaining_pool = training_pool(marked.filter(pl.col(REJECT_REASON).is_null()))
        generated, stats, dropped = self.oversample(
            remaining_pool, marked.filter(pl.col(REJECT_REASON).is_null()), goals, seed, ctx
        )
        if SPLIT in rows.columns:
            generated = generated.with_columns(pl.lit(TRAIN).alias(SPLIT))
        result = self.split_marked(marked)
        result.kept = pl.concat(
            [result.kept, generated.drop(REJECT_REASON, REJECT_DETAIL, strict=False)], how="diagonal_relaxed"
        )
        if self.fill == "weight":
            result.kept = with_weights(result.kept, goals)
        after = dict(training_pool(result.kept).group_by(LABEL).len().iter_rows())
        stats.update(
            {
                "before": dict(sorted(before.items())),
                "after": dict(sorted(after.items())),
                "targets": dict(sorted(goals.items())),
                "undersampled": result.rejected.height,
            }
        )
        ratio_before = max(before.values()) / max(min(before.values()), 1)
        ratio_after = max(after.values()) / max(min(after.values()), 1)
        stats["findings"].insert(
            0,
            f"training split: largest/smallest class {ratio_before:.1f} before, {ratio_after:.1f} after; "
            f"{result.rejected.height} rows undersampled, {generated.height} added",
        )
        result.stats = stats
        result.artifacts = {AUGMENT_DROPPED_ARTIFACT: dropped.with_columns(pl.lit(self.name).alias("stage"))}
        return result
