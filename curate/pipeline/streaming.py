"""The local engine's streamed path: rows past one block flow from stage to stage as Parquet blocks on disk
(`curate.io.blocks`), so memory follows the block, not the input.

A stage runs the way its declarations in `core/stage.py` allow, the declarations the Ray engine reads too:
- row-local stages (clean, redact): block by block;
- `aggregates` (quality, review): `partial` of every block, then each block decided with the totals;
- `partition_by` (exact dedup): every block cut by the key's hash into partition files on disk, the stage applied
  per partition, the kept rows put back in row order;
- `shuffles_groups` (MinHash dedup, split): `map_rows` per block (what `finish` reads written to disk), the group
  memberships cut into partition files, `reduce_groups` per partition; then `finish` gets only the rows that are in
  some pair (a stage with `unpaired`: every other row passes through that) or the columns it reads (`finish_reads`)
  of every row, and what it adds is joined back onto each block.
Any other stage (the model stages, the gate, training) runs on the rows collected into one frame, as in memory.
Each piece's kept + rejected is checked to be exactly the rows it was given (the executor's check, per piece), and
the executor's end-of-run check reads the ids of every block. Rejected rows and frame artifacts are held in memory:
they are the few.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from curate.core.context import RunContext
from curate.core.stage import GROUP_COLUMNS, ROW, Stage, StageResult, merge_stats
from curate.io.blocks import Blocks

PLACE = "_curate_place"  # a paired row's number among all rows, while `finish` numbers it among the paired ones


def streamed_as(stage: Stage) -> str | None:
    """How a stage is spread over blocks, here or on Ray (None: it needs every row in one frame)."""
    if stage.row_local:
        return "blocks"
    if stage.aggregates:
        return "blocks with totals"
    if stage.partition_by() is not None:
        return "shuffle by key"
    if stage.shuffles_groups:
        return "map, shuffle by group, reduce"
    return None


def split_by_hash(rows: pl.DataFrame, key: pl.Expr, partitions: int) -> list[pl.DataFrame]:
    """`rows` cut into `partitions` pieces by the hash of `key` (a shuffle's map side, here and on Ray)."""
    bucket = rows.select((key.hash(seed=0) % partitions).alias("_bucket")).to_series()
    return [rows.filter(bucket == i) for i in range(partitions)]


def group_key() -> pl.Expr:
    return pl.struct(list(GROUP_COLUMNS))


def numbered(blocks: Blocks) -> list[tuple[int, Callable[[], pl.DataFrame]]]:
    """Per block: its first row's number among all rows, and a reader giving the block with `ROW`."""
    return [(start, lambda i=i, start=start: blocks.read(i).with_row_index(ROW, offset=start).with_columns(pl.col(ROW).cast(pl.Int64)))
            for i, start in enumerate(blocks.starts.tolist())]


@dataclass
class Outcome:
    """A streamed stage's result as its pieces come in: kept rows to disk, the rest in memory, every piece checked."""

    stage: Stage
    kept: Blocks
    rejected: list[pl.DataFrame] = field(default_factory=list)
    results: list[StageResult] = field(default_factory=list)
    added: int = 0
    restored: Counter = field(default_factory=Counter)

    def check(self, given: pl.DataFrame, result: StageResult) -> StageResult:
        """The executor's checks on one piece: kept + rejected is exactly `given` (plus generated rows); review's keeps."""
        from curate.pipeline.executor import check_stage_conservation, restore_kept_by_review

        self.added += check_stage_conservation(self.stage.display_name, given, result)
        self.restored.update(restore_kept_by_review(result))
        self.rejected.append(result.rejected)
        self.results.append(StageResult(kept=pl.DataFrame(), rejected=pl.DataFrame(), stats=result.stats, artifacts=result.artifacts))
        return result

    def result(self, order: bool = False) -> StageResult:
        """One result: stats merged and frame artifacts joined by the stage's `combine`; rejected rows in row order when
        `order` (they carry `ROW`)."""
        combined = self.stage.combine(self.results)
        rejected = pl.concat([r for r in self.rejected if r.width], how="diagonal_relaxed") if any(r.width for r in self.rejected) else pl.DataFrame()
        if order and ROW in rejected.columns:
            rejected = rejected.sort(ROW)
        artifacts = {k: v.drop(ROW, PLACE, strict=False) if isinstance(v, pl.DataFrame) else v for k, v in combined.artifacts.items()}
        return StageResult(kept=self.kept, rejected=rejected.drop(ROW, PLACE, strict=False), stats=combined.stats,
                           artifacts=artifacts, checked=(self.added, dict(self.restored)))


def stream_stage(stage: Stage, blocks: Blocks, ctx: RunContext, spill: Path) -> StageResult:
    """Run `stage` over `blocks`; its kept rows come back as new blocks in row order."""
    outcome = Outcome(stage, Blocks.create(spill))
    kind = streamed_as(stage)
    if kind == "blocks":
        for i, block in enumerate(blocks):
            outcome.kept.append(outcome.check(block, stage.apply(block, ctx)).kept)
            ctx.report(stage.display_name, "blocks", i + 1, len(blocks))
        return outcome.result()
    if kind == "blocks with totals":
        totals = pl.concat([stage.partial(block, ctx) for block in blocks], how="diagonal_relaxed")
        for i, block in enumerate(blocks):
            outcome.kept.append(outcome.check(block, stage.apply_given(block, totals, ctx)).kept)
            ctx.report(stage.display_name, "blocks", i + 1, len(blocks))
        combined = outcome.result()
        combined.stats = stage.finish_stats(combined.stats, totals, ctx)
        return combined
    if kind == "shuffle by key":
        return shuffle_by_key(stage, blocks, ctx, spill, outcome)
    return map_shuffle_reduce(stage, blocks, ctx, spill, outcome)


@dataclass
class InRowOrder:
    """Kept rows of pieces that mix blocks (shuffle partitions), each sent to the block it came from as the piece is
    done, then every block written back in row order (the rows carry `ROW`)."""

    blocks: Blocks
    destinations: list[Blocks]

    @classmethod
    def of(cls, blocks: Blocks, spill: Path) -> InRowOrder:
        return cls(blocks, [Blocks.create(spill) for _ in range(len(blocks))])

    def route(self, rows: pl.DataFrame) -> None:
        if rows.height:
            home = self.blocks.block_of(rows[ROW].to_numpy())
            for b in np.unique(home).tolist():
                self.destinations[b].append(rows.filter(pl.Series(home == b)))

    def write_to(self, kept: Blocks) -> None:
        for destination in self.destinations:
            if len(destination):
                kept.append(destination.collect().sort(ROW).drop(ROW))
            destination.delete()


def shuffle_by_key(stage: Stage, blocks: Blocks, ctx: RunContext, spill: Path, outcome: Outcome) -> StageResult:
    partitions = [Blocks.create(spill) for _ in range(len(blocks))]
    for _, read in numbered(blocks):
        for partition, piece in zip(partitions, split_by_hash(read(), stage.partition_by(), len(partitions)), strict=True):
            partition.append(piece)
    in_order = InRowOrder.of(blocks, spill)
    for i, partition in enumerate(partitions):
        if len(partition):
            given = partition.collect()
            in_order.route(outcome.check(given, stage.apply(given, ctx)).kept)
        partition.delete()
        ctx.report(stage.display_name, "partitions", i + 1, len(partitions))
    in_order.write_to(outcome.kept)
    return outcome.result(order=True)


def map_shuffle_reduce(stage: Stage, blocks: Blocks, ctx: RunContext, spill: Path, outcome: Outcome) -> StageResult:
    mapped, partitions = Blocks.create(spill), [Blocks.create(spill) for _ in range(len(blocks))]
    readers = numbered(blocks)
    for i, (_, read) in enumerate(readers):
        rows = stage.map_rows(read())
        mapped.append(stage.for_finish(rows))
        for partition, piece in zip(partitions, split_by_hash(stage.group_keys(rows), group_key(), len(partitions)), strict=True):
            partition.append(piece)
        ctx.report(stage.display_name, "blocks mapped", i + 1, len(blocks))
    # The pairs each partition makes, cut again by the blocks their two rows are in: a pair found in several
    # partitions (several LSH bands) meets its copies in one pair partition, which checks it once (so the counts of
    # the stats add up), and checking a pair partition reads the mapped rows of two blocks only.
    pair_partitions: dict[tuple[int, int], Blocks] = {}
    for partition in partitions:
        if len(partition):
            reduced = stage.reduce_groups(partition.collect())
            home = [blocks.block_of(reduced[c].to_numpy()) for c in ("i", "j")]
            keyed = reduced.with_columns(pl.Series("_bi", home[0]), pl.Series("_bj", home[1]))
            for (bi, bj), piece in keyed.partition_by("_bi", "_bj", as_dict=True).items():
                pair_partitions.setdefault((bi, bj), Blocks.create(spill)).append(piece.drop("_bi", "_bj"))
        partition.delete()
    held, pair_stats = [], []
    for k, key in enumerate(sorted(pair_partitions)):
        pairs, stats = stage.pairs_that_hold(mapped, pair_partitions[key].collect(), blocks.height)
        held.append(pairs)
        pair_stats.append(stats)
        pair_partitions[key].delete()
        ctx.report(stage.display_name, "pair partitions checked", k + 1, len(pair_partitions))
    pairs = pl.concat(held) if held else pl.DataFrame(schema={"i": pl.Int64, "j": pl.Int64})
    pair_stats = merge_stats(pair_stats) if pair_stats else stage.pairs_that_hold(mapped, pairs, blocks.height)[1]
    pairs, more_stats = stage.pairs_that_hold_together(mapped, pairs, blocks.height)
    pair_stats = pair_stats | more_stats
    paired = np.unique(np.concatenate([pairs["i"].to_numpy(), pairs["j"].to_numpy()])).astype(np.int64)
    in_pairs = pl.col(ROW).is_in(pl.Series(paired, dtype=pl.Int64).implode())
    if stage.unpaired(blocks.clear()) is not None:  # finish sees the paired rows only; the others pass through
        mapped_paired = mapped.take(paired)
        mapped.delete()
        rows = pl.concat([read().filter(in_pairs) for _, read in readers])
        renumber = lambda column: pl.Series(np.searchsorted(paired, column.to_numpy()))  # noqa: E731
        rows = rows.with_columns(pl.col(ROW).alias(PLACE)).with_columns(renumber(rows[ROW]).alias(ROW))
        result = stage.finish(rows, mapped_paired.with_columns(renumber(mapped_paired[ROW]).alias(ROW)),
                              pairs.with_columns(renumber(pairs["i"]).alias("i"), renumber(pairs["j"]).alias("j")), ctx)
        result.stats.update(pair_stats)
        result = outcome.check(rows, result)
        outcome.rejected[-1] = result.rejected.drop(ROW).rename({PLACE: ROW})
        return merge_paired(stage, outcome, readers, result.kept.drop(ROW).rename({PLACE: ROW}), in_pairs)
    reads = list(stage.finish_reads) if stage.finish_reads is not None else blocks.columns
    rows = pl.concat([read().select(ROW, *reads) for _, read in readers])
    result = stage.finish(rows, mapped, pairs, ctx)  # what map_rows made stays on disk
    result.stats.update(pair_stats)
    result = outcome.check(rows, result)
    mapped.delete()
    added = [c for c in result.kept.columns if c not in rows.columns]
    additions = result.kept.select(ROW, *added)
    stamps = result.rejected.select(ROW, *[c for c in result.rejected.columns if c not in rows.columns])
    rejected = []
    for _, read in readers:
        block = read()
        outcome.kept.append(block.join(additions, on=ROW, how="inner", maintain_order="left").drop(ROW))
        rejected.append(block.join(stamps, on=ROW, how="inner", maintain_order="left"))
    outcome.rejected[-1] = pl.concat(rejected, how="diagonal_relaxed")
    return outcome.result(order=True)


def merge_paired(stage: Stage, outcome: Outcome, readers, kept: pl.DataFrame, in_pairs: pl.Expr) -> StageResult:
    """Each block's rows in no pair, passed through `unpaired`, with the paired rows `finish` kept from that block."""
    for start, read in readers:
        block = read()
        alone = block.filter(~in_pairs)
        passed = outcome.check(alone, StageResult(kept=stage.unpaired(alone), rejected=alone.clear())).kept
        mine = kept.filter(pl.col(ROW).is_between(start, start + block.height - 1))
        outcome.kept.append(pl.concat([passed, mine], how="diagonal_relaxed").sort(ROW).drop(ROW))
    outcome.rejected = [r for r in outcome.rejected if r.height]
    return outcome.result(order=True)
