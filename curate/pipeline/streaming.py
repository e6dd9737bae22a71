"""Streaming: rows past one block flow from stage to stage as Parquet blocks (`curate.io.blocks`), so memory follows
the block, not the input. The local engine and the Ray engine both run stages this way; they differ only in who runs
the pieces (`Pieces`): this process one after another, or Ray tasks on every worker (`engines.py`). A piece reads its
blocks from their files and writes what it keeps as new files, and sends back only what is small (rejected rows,
stats, the files it wrote), so neither the driver nor the object store holds the rows.

A stage runs the way its `spread` (`core/spread.py`) allows:
- `by_rows` (clean, redact): block by block;
- `by_totals` (quality, review): `partial` of every block, then each block decided with the totals;
- `by_key` (exact dedup): every block cut by the key's hash into partition files, the stage applied per partition,
  each partition's kept rows sent to the block they came from, then every block put back in row order;
- `linked` (MinHash dedup, split): `features` per block (what later steps read written to disk), the key memberships
  cut into partition files by key, the candidate pairs of each partition's keys cut by the blocks of their two rows
  and checked per block pair (`holds`), then on the driver `recheck` and the groups (connected components), and
  `resolve` gets only the rows in some group (a spread with `alone`: every other row passes through that) or the
  columns it `reads` of every row, and what it adds is joined back onto each block. These are the functions the
  spread's own `apply` runs on one frame.
Any other stage (the model stages, the gate, training) runs on the rows collected into one frame, as in memory.
Each piece's kept + rejected is checked to be exactly the rows it was given (the executor's check, per piece, where
the piece runs), and the executor's end-of-run check reads the ids of every block. Rejected rows and frame artifacts
come back to the driver: they are the few.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from curate.core.context import RunContext
from curate.core.spread import KEY, KIND, ROW, ByKey, ByRows, ByTotals, Linked, packed, unique_pairs
from curate.core.stage import Stage, StageResult, combine, merge_stats
from curate.io.blocks import BlockFile, Blocks, write_block
from curate.pipeline.conservation import check_stage_conservation, restore_kept_by_review

PLACE = "_curate_place"  # a linked row's number among all rows, while `resolve` numbers it among the linked ones


class Pieces(Protocol):
    """Who runs a streamed stage's pieces: `fn(stage, ctx, *shared, *item)` for each item, results in item order.
    `shared` is what every piece reads (sent once to a cluster); progress is reported as `what` per piece done."""

    def map(
        self, fn: Callable, stage: Stage, ctx: RunContext, items: Sequence[tuple], what: str, shared: tuple = ()
    ) -> list: ...


class InProcess:
    """Every piece in this process, one after another (the local engine)."""

    def map(
        self, fn: Callable, stage: Stage, ctx: RunContext, items: Sequence[tuple], what: str, shared: tuple = ()
    ) -> list:
        results = []
        for k, item in enumerate(items):
            results.append(fn(stage, ctx, *shared, *item))
            ctx.report(stage.display_name, what, k + 1, len(items))
        return results


def streamed_as(stage: Stage) -> str | None:
    """How a stage is spread over blocks, here or on Ray (None: it needs every row in one frame)."""
    return stage.spread.label


def split_by_hash(rows: pl.DataFrame, key: pl.Expr, partitions: int) -> list[pl.DataFrame]:
    """`rows` cut into `partitions` pieces by the hash of `key` (a shuffle's map side)."""
    bucket = rows.select((key.hash(seed=0) % partitions).alias("_bucket")).to_series()
    return [rows.filter(bucket == i) for i in range(partitions)]


def numbered_block(blocks: Blocks, i: int, columns: list[str] | None = None) -> pl.DataFrame:
    """Block `i` (only `columns`, when given) with `ROW`: each row's number among all rows."""
    start = int(blocks.starts[i])
    return blocks.read(i, columns).with_row_index(ROW, offset=start).with_columns(pl.col(ROW).cast(pl.Int64))


def each_block(blocks: Blocks) -> list[tuple[int]]:
    """One piece's item per block: its number."""
    return [(i,) for i in range(len(blocks))]


@dataclass
class Piece:
    """What a piece sends back: the file of rows it kept (if any), its rejected rows, stats and artifacts, and what the
    executor's checks found (rows generated, rows put back by review)."""

    kept: BlockFile | None
    rejected: pl.DataFrame
    stats: dict[str, Any]
    artifacts: dict[str, Any]
    added: int
    restored: dict[str, int]


def checked(stage: Stage, given: pl.DataFrame, result: StageResult, folder: Path | None) -> Piece:
    """The executor's checks on one piece's result (kept + rejected is exactly `given`, plus generated rows; review's
    keeps put back), its kept rows written to `folder` (None: `result.kept` is not written, the caller merges it)."""
    added = check_stage_conservation(stage.display_name, given, result)
    restored = restore_kept_by_review(result)
    return Piece(
        write_block(result.kept, folder) if folder is not None else None,
        result.rejected,
        result.stats,
        result.artifacts,
        added,
        restored,
    )


@dataclass
class Outcome:
    """A streamed stage's result as its pieces come in: kept files added to `kept` in order, the rest in memory."""

    stage: Stage
    kept: Blocks
    rejected: list[pl.DataFrame] = field(default_factory=list)
    results: list[StageResult] = field(default_factory=list)
    added: int = 0
    restored: Counter = field(default_factory=Counter)

    def take(self, piece: Piece) -> Piece:
        self.added += piece.added
        self.restored.update(piece.restored)
        self.rejected.append(piece.rejected)
        self.results.append(
            StageResult(kept=pl.DataFrame(), rejected=pl.DataFrame(), stats=piece.stats, artifacts=piece.artifacts)
        )
        self.kept.add(piece.kept)
        return piece

    def result(self, order: bool = False) -> StageResult:
        """One result: stats merged and frame artifacts joined by the stage's `combine`; rejected rows in row order when
        `order` (they carry `ROW`)."""
        combined = combine(self.results, self.stage.spread)
        rejected = (
            pl.concat([r for r in self.rejected if r.width], how="diagonal_relaxed")
            if any(r.width for r in self.rejected)
            else pl.DataFrame()
        )
        if order and ROW in rejected.columns:
            rejected = rejected.sort(ROW)
        artifacts = {
            k: v.drop(ROW, PLACE, strict=False) if isinstance(v, pl.DataFrame) else v
            for k, v in combined.artifacts.items()
        }
        return StageResult(
            kept=self.kept,
            rejected=rejected.drop(ROW, PLACE, strict=False),
            stats=combined.stats,
            artifacts=artifacts,
            checked=(self.added, dict(self.restored)),
        )


def stream_stage(
    stage: Stage, blocks: Blocks, ctx: RunContext, spill: Path, pieces: Pieces | None = None
) -> StageResult:
    """Run `stage` over `blocks`, each piece run by `pieces` (this process by default); its kept rows come back as new
    blocks in row order."""
    pieces = pieces or InProcess()
    outcome = Outcome(stage, Blocks.create(spill))
    spread = stage.spread
    every_block = each_block(blocks)
    if isinstance(spread, ByRows):
        for piece in pieces.map(
            _block_through, stage, ctx, every_block, "blocks", shared=(blocks, outcome.kept.folder)
        ):
            outcome.take(piece)
        return outcome.result()
    if isinstance(spread, ByTotals):
        totals = pl.concat(
            pieces.map(_block_partial, stage, ctx, every_block, "blocks counted", shared=(blocks,)),
            how="diagonal_relaxed",
        )
        for piece in pieces.map(
            _block_given, stage, ctx, every_block, "blocks", shared=(blocks, outcome.kept.folder, totals)
        ):
            outcome.take(piece)
        combined = outcome.result()
        combined.stats = spread.summarized(combined.stats, totals, ctx)
        return combined
    if isinstance(spread, ByKey):
        return shuffle_by_key(stage, blocks, ctx, spill, outcome, pieces)
    if isinstance(spread, Linked):
        return link_rows(stage, blocks, ctx, spill, outcome, pieces)
    raise ValueError(f"{stage.display_name}: a stage spread as {type(spread).__name__} is not streamed")


# Pieces: module functions, so that Ray can send them to workers. Each reads its blocks from their files.


def _block_through(stage: Stage, ctx: RunContext, blocks: Blocks, folder: Path, i: int) -> Piece:
    block = blocks.read(i)
    return checked(stage, block, stage.apply(block, ctx), folder)


def _block_partial(stage: Stage, ctx: RunContext, blocks: Blocks, i: int) -> pl.DataFrame:
    return stage.spread.partial(blocks.read(i), ctx)


def _block_given(stage: Stage, ctx: RunContext, blocks: Blocks, folder: Path, totals: pl.DataFrame, i: int) -> Piece:
    block = blocks.read(i)
    return checked(stage, block, stage.spread.decide(block, totals, ctx), folder)


def _cut_by_key(stage: Stage, ctx: RunContext, blocks: Blocks, folder: Path, i: int) -> list[BlockFile]:
    return [
        write_block(piece, folder) for piece in split_by_hash(numbered_block(blocks, i), stage.spread.key, len(blocks))
    ]


def _apply_partition(
    stage: Stage, ctx: RunContext, blocks: Blocks, folder: Path, partition: Blocks
) -> tuple[Piece, dict[int, BlockFile]]:
    """One partition through the stage; its kept rows cut by the block each came from, a file per block."""
    given = partition.collect()
    piece = checked(stage, given, result := stage.apply(given, ctx), None)
    partition.discard()
    home = blocks.block_of(result.kept[ROW].to_numpy())
    return piece, {b: write_block(result.kept.filter(pl.Series(home == b)), folder) for b in np.unique(home).tolist()}


def _in_row_order(stage: Stage, ctx: RunContext, folder: Path, parts: Blocks) -> BlockFile:
    """The kept rows of one block, gathered from every partition, in row order."""
    rows = parts.collect().sort(ROW).drop(ROW) if len(parts) else pl.DataFrame()
    parts.discard()
    return write_block(rows, folder)


def shuffle_by_key(
    stage: Stage, blocks: Blocks, ctx: RunContext, spill: Path, outcome: Outcome, pieces: Pieces
) -> StageResult:
    shuffled = Blocks.create(spill)  # the folder every piece of every partition is written to
    partitions = [Blocks(shuffled.folder) for _ in range(len(blocks))]
    for cut in pieces.map(_cut_by_key, stage, ctx, each_block(blocks), "blocks cut", shared=(blocks, shuffled.folder)):
        for partition, file in zip(partitions, cut, strict=True):
            partition.add(file)
    homes = [Blocks(shuffled.folder) for _ in range(len(blocks))]  # per block, its kept rows from every partition
    for piece, files in pieces.map(
        _apply_partition,
        stage,
        ctx,
        [(p,) for p in partitions if len(p)],
        "partitions",
        shared=(blocks, shuffled.folder),
    ):
        outcome.take(piece)
        for b, file in files.items():
            homes[b].add(file)
    for file in pieces.map(
        _in_row_order, stage, ctx, [(home,) for home in homes], "blocks put in order", shared=(outcome.kept.folder,)
    ):
        outcome.kept.add(file)
    shuffled.delete()
    return outcome.result(order=True)


def _features_of_block(
    stage: Stage, ctx: RunContext, blocks: Blocks, features_folder: Path, folder: Path, i: int
) -> tuple:
    """One block's `features` (what later steps read, written to disk), and its key memberships cut by the key's hash."""
    linked = stage.spread
    features = linked.features(numbered_block(blocks, i), ctx)
    memberships = pl.concat(
        [frame.select(pl.lit(kind, pl.Int32).alias(KIND), KEY, ROW) for kind, frame in enumerate(linked.keys(features))]
    )
    carried = features.select(ROW, *linked.carry) if linked.carry is not None else features
    return (
        write_block(carried, features_folder),
        [write_block(piece, folder) for piece in split_by_hash(memberships, pl.struct(KIND, KEY), len(blocks))],
    )


def _pairs_of_partition(
    stage: Stage, ctx: RunContext, blocks: Blocks, folder: Path, partition: Blocks
) -> dict[tuple[int, int], BlockFile]:
    """The candidate pairs one partition's keys make, cut by the blocks of their two rows (a pair found in several
    partitions, several LSH bands, meets its copies in one pair partition, which checks it once, so the counts add up)."""
    from curate.core.spread import pairs_sharing_a_key

    pairs = pairs_sharing_a_key(partition.collect())
    partition.discard()
    keyed = pairs.with_columns(
        pl.Series("_bi", blocks.block_of(pairs["i"].to_numpy())),
        pl.Series("_bj", blocks.block_of(pairs["j"].to_numpy())),
    )
    return {
        key: write_block(piece.drop("_bi", "_bj"), folder)
        for key, piece in keyed.partition_by("_bi", "_bj", as_dict=True).items()
    }


def _pairs_that_hold(
    stage: Stage, ctx: RunContext, features: Blocks, rows: int, pairs: Blocks
) -> tuple[np.ndarray, dict]:
    """The pairs of one pair partition that hold (`packed`); reads the features of its two blocks only."""
    found = pairs.collect()
    pairs.discard()
    held, counts = stage.spread.held(features, unique_pairs(np.stack([found["i"], found["j"]], axis=1), rows))
    return packed(held, rows), counts


def link_rows(
    stage: Stage, blocks: Blocks, ctx: RunContext, spill: Path, outcome: Outcome, pieces: Pieces
) -> StageResult:
    """A `linked` stage over blocks: its spread's steps, each spread over blocks, partitions or pair partitions as far as
    it can be, and `resolve` on the driver."""
    linked: Linked = stage.spread
    features, shuffled = Blocks.create(spill), Blocks.create(spill)
    partitions = [Blocks(shuffled.folder) for _ in range(len(blocks))]
    for features_file, cut in pieces.map(
        _features_of_block,
        stage,
        ctx,
        each_block(blocks),
        "blocks mapped",
        shared=(blocks, features.folder, shuffled.folder),
    ):
        features.add(features_file)
        for partition, file in zip(partitions, cut, strict=True):
            partition.add(file)
    pair_partitions: dict[tuple[int, int], Blocks] = {}
    for files in pieces.map(
        _pairs_of_partition,
        stage,
        ctx,
        [(p,) for p in partitions if len(p)],
        "partitions reduced",
        shared=(blocks, shuffled.folder),
    ):
        for key, file in files.items():
            pair_partitions.setdefault(key, Blocks(shuffled.folder)).add(file)
    checks = pieces.map(
        _pairs_that_hold,
        stage,
        ctx,
        [(pair_partitions[key],) for key in sorted(pair_partitions)],
        "pair partitions checked",
        shared=(features, blocks.height),
    )
    shuffled.delete()
    if not checks:  # no candidates: the counts of none
        checks = [(np.empty(0, dtype=np.int64), linked.held(features, np.empty((0, 2), dtype=np.int64))[1])]
    held = np.concatenate([codes for codes, _ in checks])
    counts = merge_stats([c for _, c in checks])
    del checks  # each partition's pairs are in `held` now (at 10M rows, 60M pairs: 0.5 GB each time they are held)
    features.forget()  # the two blocks of features `take` kept (1 GB at 10M rows); `recheck` reads what it needs
    groups, more = linked.groups(features, held, blocks.height)  # sorts `held` in place: no second copy
    del held
    features.forget()  # and the blocks `recheck` read
    counts |= more
    if linked.alone is not None:  # resolve sees the linked rows only; the others pass through `alone`
        paired = np.flatnonzero(groups >= 0).astype(np.int64)
        features_paired = features.take(paired)
        features.delete()
        rows = pl.concat([numbered_block(blocks, i).filter(_in(paired)) for i in range(len(blocks))])
        renumber = lambda column: pl.Series(np.searchsorted(paired, column.to_numpy()))  # noqa: E731
        rows = rows.with_columns(pl.col(ROW).alias(PLACE)).with_columns(renumber(rows[ROW]).alias(ROW))
        result = linked.resolve(
            rows, groups[paired], features_paired.with_columns(renumber(features_paired[ROW]).alias(ROW)), ctx
        )
        result.stats.update(counts)
        piece = checked(stage, rows, result, None)
        piece.rejected = piece.rejected.drop(ROW).rename({PLACE: ROW})  # named by their place among all rows again
        outcome.take(piece)
        kept_by_block = by_block(result.kept.drop(ROW).rename({PLACE: ROW}), blocks)
        del rows, result, features_paired  # the driver holds only what the next pieces need
        for piece in pieces.map(
            _merge_paired,
            stage,
            ctx,
            list(enumerate(kept_by_block)),
            "blocks merged",
            shared=(blocks, outcome.kept.folder, paired),
        ):
            outcome.take(piece)
        return outcome.result(order=True)
    reads = [c for c in linked.reads if c in blocks.columns] if linked.reads is not None else blocks.columns
    rows = pl.concat([numbered_block(blocks, i, reads) for i in range(len(blocks))])  # those columns only read
    result = linked.resolve(rows, groups, features, ctx)  # the features stay on disk
    result.stats.update(counts)
    outcome.take(checked(stage, rows, result, None))
    features.delete()
    # What resolve added to each kept row, and each rejected row's stamp, cut by block: a piece joins only its own.
    additions = by_block(result.kept.select(ROW, *[c for c in result.kept.columns if c not in rows.columns]), blocks)
    stamps = by_block(
        result.rejected.select(ROW, *[c for c in result.rejected.columns if c not in rows.columns]), blocks
    )
    del rows, result
    outcome.rejected.pop()  # the narrow rejected rows: each block's whole rows take their place
    for file, rejected in pieces.map(
        _join_back,
        stage,
        ctx,
        [(i, additions[i], stamps[i]) for i in range(len(blocks))],
        "blocks joined",
        shared=(blocks, outcome.kept.folder),
    ):
        outcome.kept.add(file)
        outcome.rejected.append(rejected)
    return outcome.result(order=True)


def _in(paired: np.ndarray) -> pl.Expr:
    return pl.col(ROW).is_in(pl.Series(paired, dtype=pl.Int64).implode())


def by_block(rows: pl.DataFrame, blocks: Blocks) -> list[pl.DataFrame]:
    """`rows` (with `ROW`) cut by the block each row is in, one frame per block (none: no rows)."""
    home = pl.Series("_block", blocks.block_of(rows[ROW].to_numpy()))
    parts = rows.with_columns(home).partition_by("_block", as_dict=True, include_key=False)
    return [parts.get((i,), rows.clear()) for i in range(len(blocks))]


def _join_back(
    stage: Stage, ctx: RunContext, blocks: Blocks, folder: Path, i: int, additions: pl.DataFrame, stamps: pl.DataFrame
) -> tuple[BlockFile, pl.DataFrame]:
    """What `resolve` added to block `i`'s kept rows, and its rejected rows' stamps, joined onto its whole rows."""
    block = numbered_block(blocks, i)
    kept = block.join(additions, on=ROW, how="inner", maintain_order="left").drop(ROW)
    return write_block(kept, folder), block.join(stamps, on=ROW, how="inner", maintain_order="left")


def _merge_paired(
    stage: Stage, ctx: RunContext, blocks: Blocks, folder: Path, paired: np.ndarray, i: int, mine: pl.DataFrame
) -> Piece:
    """Block `i`'s rows in no pair, passed through `alone`, with `mine`: the linked rows `resolve` kept from it."""
    alone = numbered_block(blocks, i).filter(~_in(paired))
    passed = stage.spread.alone(alone)
    piece = checked(stage, alone, StageResult(kept=passed, rejected=alone.clear()), None)
    piece.kept = write_block(pl.concat([passed, mine], how="diagonal_relaxed").sort(ROW).drop(ROW), folder)
    piece.rejected = pl.DataFrame()
    return piece
