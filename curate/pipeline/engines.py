"""Where a stage's `apply` runs: in this process (`local`), or over a Ray cluster (`ray`).

The executor asks its engine to apply each stage and checks what comes back the same way whichever
engine it is (conservation, redaction of examples, artifacts), so a stage never knows where it runs.

The Ray engine spreads a stage by what it declares (`core/stage.py`; the local engine streams by the same
declarations, `streaming.py`), and the output is the local engine's row for row:
- row-local stages (`Stage.row_local`: clean, redact) as Ray tasks over Arrow blocks in the object
  store, on every worker of the cluster;
- `Stage.aggregates` (quality, review): each block's `partial` as a task, then each block decided with the totals;
- stages with a partition key (`Stage.partition_by`: exact dedup, by the normalised text) as a
  shuffle: map tasks cut each block by the key's hash, one task per partition applies the stage to
  every row with those keys, and `Stage.combine` joins the partitions' results;
- stages that group rows by keys (`Stage.shuffles_groups`: MinHash dedup and split, by LSH band bucket) as
  map, shuffle, reduce: each block's rows mapped (signatures) where the block is, their group
  memberships cut by the group's hash, one task per partition turns whole groups into candidate pairs,
  and the driver checks the pairs (`Stage.pairs_that_hold`) and clusters those that hold (`Stage.finish`);
- every other stage (semantic dedup, labels, rebalance, the gate, training) on the driver over the collected
  frame, as locally (docs/scale.md: what is next).
Rows come back in the order they went in (a row number travels with each row); stats add up.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from curate.core.context import RunContext
from curate.core.stage import ROW, Stage, StageResult
from curate.io.blocks import Blocks
from curate.pipeline.streaming import group_key, split_by_hash, stream_stage, streamed_as

ENGINES = ("local", "ray")


class Engine(Protocol):
    name: str

    def apply(self, stage: Stage, rows: pl.DataFrame, ctx: RunContext) -> StageResult: ...

    def close(self) -> None: ...


@dataclass
class LocalEngine:
    """Every stage in this process: on the whole frame, or, past `block_rows` rows, streamed through Parquet blocks on
    disk (`streaming.py`) for every stage that can stream, so memory follows the block rather than the input."""

    # Up to a million rows the whole frame is faster (86 s against 124 s for the benchmark's million) in 2.5 GB.
    block_rows: int = 1_000_000
    name: str = "local"
    placement: dict[str, str] = field(default_factory=dict, init=False)  # per streamed stage: how it streamed (in the report)
    _spill: Path | None = field(default=None, init=False)

    def apply(self, stage: Stage, rows: pl.DataFrame | Blocks, ctx: RunContext) -> StageResult:
        if stage.is_source:
            return self.read(stage, ctx)
        kind = streamed_as(stage)
        if isinstance(rows, pl.DataFrame) and (rows.height <= self.block_rows or kind is None):
            return stage.apply(rows, ctx)
        if kind is None:  # a stage that needs every row at once (a model stage, the gate): the blocks collected
            self.placement[stage.display_name] = "in memory"
            return self.collected(stage, rows, ctx)
        self.placement[stage.display_name] = f"streamed: {kind}"
        blocks = rows if isinstance(rows, Blocks) else self.to_blocks(rows)
        result = stream_stage(stage, blocks, ctx, self.spill)
        blocks.delete()  # every piece was checked against them; the stage's kept blocks replace them
        return result

    def read(self, stage: Stage, ctx: RunContext) -> StageResult:
        """A source stage's rows, read a block at a time: held as one frame while they fit in `block_rows`, written to
        blocks from the first batch past it."""
        held: list[pl.DataFrame] = []
        rejected: list[pl.DataFrame] = []
        blocks: Blocks | None = None
        for part in stage.read_in_batches(self.block_rows, ctx):
            rejected.append(part.rejected)
            stats = part.stats
            if blocks is None and sum(frame.height for frame in held) + part.kept.height > self.block_rows:
                blocks = Blocks.create(self.spill)
                for frame in held:
                    blocks.append(frame)
                held = []
                self.placement[stage.display_name] = "streamed: read in blocks"
            if blocks is None:
                held.append(part.kept)
            else:
                blocks.append(part.kept)
        rejected_rows = pl.concat(rejected, how="diagonal_relaxed")
        return StageResult(kept=blocks if blocks is not None else pl.concat(held, how="diagonal_relaxed"), rejected=rejected_rows, stats=stats)

    @property
    def spill(self) -> Path:
        """Where blocks live while the run lasts (TMPDIR; removed by `close`)."""
        if self._spill is None:
            self._spill = Path(tempfile.mkdtemp(prefix="curate-stream-"))
        return self._spill

    def to_blocks(self, rows: pl.DataFrame) -> Blocks:
        blocks = Blocks.create(self.spill)
        for start in range(0, rows.height, self.block_rows):
            blocks.append(rows.slice(start, self.block_rows))
        return blocks

    def collected(self, stage: Stage, blocks: Blocks, ctx: RunContext) -> StageResult:
        from curate.pipeline.executor import check_stage_conservation, restore_kept_by_review

        rows = blocks.collect()
        blocks.delete()
        result = stage.apply(rows, ctx)
        result.checked = (check_stage_conservation(stage.display_name, rows, result), restore_kept_by_review(result))
        return result

    def close(self) -> None:
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None


def _apply_block(stage: Stage, ctx: RunContext, *blocks) -> StageResult:
    """On a worker: one Arrow block, or the pieces of one shuffle partition, through the stage."""
    import pyarrow as pa

    rows = pl.from_arrow(pa.concat_tables(blocks) if len(blocks) > 1 else blocks[0])
    result = stage.apply(rows, ctx)
    return StageResult(kept=result.kept, rejected=result.rejected, stats=result.stats,
                       artifacts={k: v for k, v in result.artifacts.items() if isinstance(v, pl.DataFrame)})


def _partial(stage: Stage, ctx: RunContext, block) -> pl.DataFrame:
    """On a worker: one block's share of an `aggregates` stage's totals."""
    return stage.partial(pl.from_arrow(block), ctx)


def _apply_given(stage: Stage, ctx: RunContext, totals: pl.DataFrame, block) -> StageResult:
    """On a worker: one block of an `aggregates` stage, decided with the totals of every block."""
    result = stage.apply_given(pl.from_arrow(block), totals, ctx)
    return StageResult(kept=result.kept, rejected=result.rejected, stats=result.stats,
                       artifacts={k: v for k, v in result.artifacts.items() if isinstance(v, pl.DataFrame)})


def _split_by_key(block, key: pl.Expr, partitions: int) -> list:
    """On a worker (the map side of a shuffle): one block's rows, cut into `partitions` pieces by the key's hash."""
    pieces = [piece.to_arrow() for piece in split_by_hash(pl.from_arrow(block), key, partitions)]
    return pieces if partitions > 1 else pieces[0]


def _map_and_split(stage: Stage, block, partitions: int) -> list:
    """On a worker (the map side of a group shuffle): the block's rows mapped, then their group memberships cut
    into `partitions` pieces by the group's hash; returns [mapped, piece 0, ..., piece partitions-1]."""
    mapped = stage.map_rows(pl.from_arrow(block))
    pieces = split_by_hash(stage.group_keys(mapped), group_key(), partitions)
    return [stage.for_finish(mapped).to_arrow(), *(piece.to_arrow() for piece in pieces)]


def _reduce_groups(stage: Stage, *pieces):
    """On a worker (the reduce side): every membership of some groups, from every block, through the stage."""
    import pyarrow as pa

    return stage.reduce_groups(pl.from_arrow(pa.concat_tables(pieces))).to_arrow()


@dataclass
class RayEngine:
    """Row-local stages as Ray tasks over Arrow blocks; stages with a partition key (exact dedup) as a shuffle
    by that key, then one task per partition; every other stage on the driver."""

    address: str | None = None  # None: start a local cluster (a laptop, CI); "auto" or ray://host:10001 for an existing one
    block_rows: int = 50_000
    name: str = "ray"
    _started: bool = field(default=False, init=False)
    placement: dict[str, str] = field(default_factory=dict, init=False)  # per stage: where it ran (in the report)

    def __post_init__(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            self._started = True
        self._apply = ray.remote(_apply_block)

    def apply(self, stage: Stage, rows: pl.DataFrame, ctx: RunContext) -> StageResult:
        if stage.is_source:  # read on the driver (docs/scale.md: what is next)
            return stage.apply(None, ctx)
        key = stage.partition_by()
        if rows.height <= self.block_rows or not (stage.row_local or key is not None or stage.shuffles_groups or stage.aggregates):
            self.placement[stage.display_name] = "driver"
            return stage.apply(rows, ctx)  # one block, or a stage that looks across all rows: on the driver
        self.placement[stage.display_name] = streamed_as(stage)
        import ray

        worker_ctx = ray.put(RunContext(seed=ctx.seed, datasets=ctx.datasets))  # no output folder or progress callback there
        stage_ref = ray.put(stage)
        numbered = rows.with_row_index(ROW)
        blocks = [numbered.slice(start, self.block_rows).to_arrow() for start in range(0, numbered.height, self.block_rows)]
        if stage.shuffles_groups:
            combined = self._map_shuffle_reduce(stage, stage_ref, numbered, blocks, ctx)
        elif stage.aggregates and not stage.row_local:  # every block's share of the totals, then every block decided with them
            totals = pl.concat(ray.get([ray.remote(_partial).remote(stage_ref, worker_ctx, block) for block in blocks]), how="diagonal_relaxed")
            totals_ref = ray.put(totals)
            combined = stage.combine(ray.get([ray.remote(_apply_given).remote(stage_ref, worker_ctx, totals_ref, block) for block in blocks]))
            combined.stats = stage.finish_stats(combined.stats, totals, ctx)
        else:
            combined = stage.combine(ray.get([self._apply.remote(stage_ref, worker_ctx, *pieces)
                                              for pieces in self._inputs(stage, key, blocks)]))
        combined.kept = combined.kept.sort(ROW).drop(ROW)  # back in the order the rows came in
        combined.rejected = combined.rejected.sort(ROW).drop(ROW)
        combined.artifacts = {name: frame.drop(ROW, strict=False) if isinstance(frame, pl.DataFrame) else frame
                              for name, frame in combined.artifacts.items()}
        return combined

    def _map_shuffle_reduce(self, stage: Stage, stage_ref, numbered: pl.DataFrame, blocks: list, ctx: RunContext) -> StageResult:
        import ray

        partitions = len(blocks)
        mapper = ray.remote(num_returns=partitions + 1)(_map_and_split)
        outputs = [mapper.remote(stage_ref, block, partitions) for block in blocks]
        reducer = ray.remote(_reduce_groups)
        reduced = [reducer.remote(stage_ref, *[out[1 + i] for out in outputs]) for i in range(partitions)]
        mapped = pl.concat([pl.from_arrow(table) for table in ray.get([out[0] for out in outputs])]).sort(ROW)
        pairs = pl.concat([pl.from_arrow(table) for table in ray.get(reduced)])
        held, pair_stats = stage.pairs_that_hold(mapped, pairs, numbered.height)
        held, more_stats = stage.pairs_that_hold_together(mapped, held, numbered.height)
        result = stage.finish(numbered, mapped, held, ctx)
        result.stats.update(pair_stats | more_stats)
        return result

    def _inputs(self, stage: Stage, key, blocks: list) -> list[list]:
        """Per task, the Arrow pieces it applies the stage to: a block (row-local), or one shuffle partition."""
        import ray

        if stage.row_local:
            return [[block] for block in blocks]
        # a shuffle: every block cut by the key's hash, then partition i gathers piece i of every block
        partitions = len(blocks)
        split = ray.remote(num_returns=partitions)(_split_by_key)
        pieces = [split.remote(block, key, partitions) for block in blocks]
        pieces = [p if isinstance(p, list) else [p] for p in pieces]
        return [[piece[i] for piece in pieces] for i in range(partitions)]

    def close(self) -> None:
        import ray

        if self._started and ray.is_initialized():
            ray.shutdown()


def make_engine(name: str = "local", address: str | None = None, block_rows: int | None = None) -> Engine:
    if name == "local":
        return LocalEngine(**({"block_rows": block_rows} if block_rows else {}))
    if name == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            from curate.core.errors import CurateError

            raise CurateError("the ray engine needs Ray", "--engine", hint="pip install 'curate[ray]' (ray[data])") from None
        return RayEngine(address=address, **({"block_rows": block_rows} if block_rows else {}))
    from curate.core.errors import CurateError

    raise CurateError(f"unknown engine '{name}'", "--engine", hint="local | ray")
