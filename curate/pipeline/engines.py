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
  memberships cut by the group's hash, one task per partition turns whole groups into candidate pairs, the
  pairs are cut by the blocks of their two rows and checked by one task per block pair (`Stage.pairs_that_hold`,
  with those two blocks' mapped rows), and the driver clusters those that hold (`Stage.finish`);
- every other stage (semantic dedup, labels, rebalance, the gate, training) on the driver over the collected
  frame, as locally, except that embeddings a stage asks its `RunContext` for are encoded by a pool of actors
  holding the model (`ActorEncoders`; a GPU each where the cluster has GPUs) (docs/scale.md: what is next).
Rows come back in the order they went in (a row number travels with each row); stats add up.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import polars as pl

from curate.core.context import RunContext
from curate.core.stage import ROW, Stage, StageResult, merge_stats
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


class EncoderActor:
    """A Ray actor that holds one embedding model and encodes chunks of texts with it."""

    def __init__(self, model: str) -> None:
        from curate.core.embed import load_sentence_model

        self.encoder = load_sentence_model(model)

    def encode(self, texts: list[str], batch_size: int):
        from curate.core.embed import encode_chunk

        return encode_chunk(self.encoder, texts, batch_size)


@dataclass
class ActorEncoders:
    """The Ray engine's `ChunkEncoder` (core/embed.py): a model stage on the driver has its embedding chunks encoded by
    a pool of actors that load the model once each and live until the stage ends (they hold the cluster's CPUs, which
    the next stage's tasks need), one per GPU where the cluster has GPUs, else one per CPU. A single chunk is encoded
    on the driver: starting actors would cost more than it."""

    actors: dict[str, list] = field(default_factory=dict)
    chunks_sent: int = 0

    def __call__(self, model: str, chunks: list[list[str]], batch_size: int, on_chunk) -> list:
        from curate.core.embed import encode_in_process

        if len(chunks) < 2:
            return encode_in_process(model, chunks, batch_size, on_chunk)
        from ray.util import ActorPool

        parts = []
        pool = ActorPool(self.pool(model, len(chunks)))
        for chunk, vectors in zip(chunks, pool.map(lambda actor, chunk: actor.encode.remote(chunk, batch_size), chunks)):
            parts.append(vectors)
            on_chunk(len(chunk))
        self.chunks_sent += len(chunks)
        return parts

    @property
    def on_gpu(self) -> bool:
        import ray

        return ray.cluster_resources().get("GPU", 0) >= 1

    def pool(self, model: str, wanted: int) -> list:
        import ray

        if model not in self.actors:
            resources = ray.cluster_resources()
            per_actor = {"num_gpus": 1} if self.on_gpu else {"num_cpus": 1}
            count = int(resources.get("GPU", 0)) if self.on_gpu else max(1, int(resources.get("CPU", 1)))
            self.actors[model] = [ray.remote(**per_actor)(EncoderActor).remote(model) for _ in range(min(count, wanted))]
        return self.actors[model]

    def describe(self) -> str:
        count = sum(len(a) for a in self.actors.values())
        return f"driver; embeddings by {count} {'GPU' if self.on_gpu else 'CPU'} actor{'s' if count > 1 else ''}"

    def close(self) -> None:
        import ray

        for actors in self.actors.values():
            for actor in actors:
                ray.kill(actor)
        self.actors = {}


def _pairs_that_hold(stage: Stage, pairs, rows: int, *mapped) -> tuple:
    """On a worker: the pairs between two blocks (or within one) that hold, checked with those blocks' mapped rows."""
    import pyarrow as pa

    held, stats = stage.pairs_that_hold(pl.from_arrow(pa.concat_tables(mapped)).sort(ROW), pl.from_arrow(pairs), rows)
    return held.to_arrow(), stats


@dataclass
class RayEngine:
    """Row-local stages as Ray tasks over Arrow blocks; stages with a partition key (exact dedup) as a shuffle
    by that key, then one task per partition; every other stage on the driver."""

    address: str | None = None  # None: start a local cluster (a laptop, CI); "auto" or ray://host:10001 for an existing one
    block_rows: int = 50_000
    name: str = "ray"
    _started: bool = field(default=False, init=False)
    placement: dict[str, str] = field(default_factory=dict, init=False)  # per stage: where it ran (in the report)
    encoders: ActorEncoders = field(default_factory=ActorEncoders, init=False)

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
            # one block, or a stage that looks across all rows: on the driver, its embeddings (if any) on actors
            sent = self.encoders.chunks_sent
            try:
                result = stage.apply(rows, replace(ctx, encode_chunks=self.encoders))
                self.placement[stage.display_name] = self.encoders.describe() if self.encoders.chunks_sent > sent else "driver"
            finally:
                self.encoders.close()  # the actors hold the cluster's CPUs: later stages' tasks need them back
            return result
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
        pairs = pl.concat([pl.from_arrow(table) for table in ray.get(reduced)])
        # As when streamed locally: the pairs cut by the blocks of their two rows (a pair found in several bands is
        # checked once), each part checked by a task that gets the mapped rows of those two blocks from the object store.
        keyed = pairs.with_columns((pl.col("i") // self.block_rows).alias("_bi"), (pl.col("j") // self.block_rows).alias("_bj"))
        checker = ray.remote(_pairs_that_hold)
        checks = [checker.remote(stage_ref, piece.drop("_bi", "_bj").to_arrow(), numbered.height,
                                 *[outputs[b][0] for b in sorted({bi, bj})])
                  for (bi, bj), piece in sorted(keyed.partition_by("_bi", "_bj", as_dict=True).items())]
        checked = ray.get(checks)
        mapped = pl.concat([pl.from_arrow(table) for table in ray.get([out[0] for out in outputs])]).sort(ROW)
        held = pl.concat([pl.from_arrow(table) for table, _ in checked]) if checked else pairs
        pair_stats = merge_stats([stats for _, stats in checked]) if checked else stage.pairs_that_hold(mapped, pairs, numbered.height)[1]
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

        if ray.is_initialized():
            self.encoders.close()
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
