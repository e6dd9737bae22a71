"""Where a stage's `apply` runs: in this process (`local`), or over a Ray cluster (`ray`).

The executor asks its engine to apply each stage and checks what comes back the same way whichever
engine it is (conservation, redaction of examples, artifacts), so a stage never knows where it runs.

Both engines hold a small input as one frame and apply each stage to it whole. Past `block_rows` rows, the source
(ingest) writes what it reads to Parquet blocks a batch at a time, and every stage whose `spread` allows it
(`core/spread.py`: by rows, by totals, by key, linked rows) runs over the blocks through
`streaming.py`, the same code for both engines: the local engine runs its pieces one after another in this process,
the Ray engine as Ray tasks on every worker (`RayPieces`), which read their blocks from the files and write what they
keep as files, so the rows never pass through the driver or the object store. The output is the same row for row.
Stages that need every row at once (semantic dedup, labels, rebalance, the gate, training) run on the rows collected
into one frame; on Ray, on the driver, with the embeddings a stage asks its `RunContext` for encoded by a pool of
actors holding the model (`ActorEncoders`; a GPU each where the cluster has GPUs).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import polars as pl

from curate.core.context import RunContext
from curate.core.stage import Stage, StageResult
from curate.io.blocks import Blocks, Pile, Rows
from curate.pipeline.conservation import check_stage_conservation, restore_kept_by_review
from curate.pipeline.streaming import InProcess, Pieces, stream_stage, streamed_as

ENGINES = ("local", "ray")


class Engine(Protocol):
    name: str

    def apply(self, stage: Stage, rows: Rows, ctx: RunContext) -> StageResult: ...

    def pile(self) -> Pile: ...  # where rows that gather over a run (rejected rows, clusters) are held

    def close(self) -> None: ...


@dataclass
class LocalEngine:
    """Every stage in this process: on the whole frame, or, past `block_rows` rows, streamed through Parquet blocks on
    disk (`streaming.py`) for every stage that can stream, so memory follows the block rather than the input."""

    # Up to a million rows the whole frame is faster (86 s against 124 s for the benchmark's million) in 2.5 GB.
    block_rows: int = 1_000_000
    name: str = "local"
    blocks_dir: Path | None = None  # where blocks live while the run lasts (None: a fresh folder in TMPDIR)
    placement: dict[str, str] = field(
        default_factory=dict, init=False
    )  # per streamed stage: how it streamed (in the report)
    _spill: Path | None = field(default=None, init=False)

    @property
    def pieces(self) -> Pieces:
        return InProcess()

    def apply(self, stage: Stage, rows: Rows, ctx: RunContext) -> StageResult:
        if stage.is_source:
            return self.read(stage, ctx)
        kind = streamed_as(stage)
        if kind is None or (isinstance(rows, pl.DataFrame) and rows.height <= self.block_rows):
            return self.in_one_piece(stage, rows, ctx)
        self.placement[stage.display_name] = self.streamed_label(kind)
        blocks = rows if isinstance(rows, Blocks) else self.to_blocks(rows)
        result = stream_stage(stage, blocks, ctx, self.spill, self.pieces)
        blocks.delete()  # every piece was checked against them; the stage's kept blocks replace them
        return result

    def streamed_label(self, kind: str) -> str:
        return f"streamed: {kind}"

    def in_one_piece(self, stage: Stage, rows: Rows, ctx: RunContext) -> StageResult:
        """A stage on one frame (a model stage, the gate): in memory, whichever shape its rows came in."""
        if isinstance(rows, Blocks):
            self.placement[stage.display_name] = "in memory"
        return self.whole(stage, rows, ctx)

    def whole(self, stage: Stage, rows: Rows, ctx: RunContext) -> StageResult:
        """`apply` on every row in one frame: the rows as they are, or blocks collected (and checked here, as they are
        deleted before the executor could read them)."""
        if isinstance(rows, pl.DataFrame):
            return stage.apply(rows, ctx)
        return self.collected(stage, rows, ctx)

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
                self.placement[stage.display_name] = self.streamed_label("read in blocks")
            if blocks is None:
                held.append(part.kept)
            else:
                blocks.append(part.kept)
        rejected_rows = pl.concat(rejected, how="diagonal_relaxed")
        return StageResult(
            kept=blocks if blocks is not None else pl.concat(held, how="diagonal_relaxed"),
            rejected=rejected_rows,
            stats=stats,
        )

    @property
    def spill(self) -> Path:
        """Where blocks live while the run lasts (removed by `close`)."""
        if self._spill is None:
            if self.blocks_dir is not None:
                Path(self.blocks_dir).mkdir(parents=True, exist_ok=True)
            self._spill = Path(tempfile.mkdtemp(prefix="curate-stream-", dir=self.blocks_dir))
        return self._spill

    def pile(self) -> Pile:
        """Where rows that gather over the run (rejected rows, clusters) are held: in memory up to `block_rows`, then on
        disk beside the blocks."""
        return Pile(lambda: self.spill, self.block_rows)

    def to_blocks(self, rows: pl.DataFrame) -> Blocks:
        blocks = Blocks.create(self.spill)
        for start in range(0, rows.height, self.block_rows):
            blocks.append(rows.slice(start, self.block_rows))
        return blocks

    def collected(self, stage: Stage, blocks: Blocks, ctx: RunContext) -> StageResult:
        rows = blocks.collect()
        blocks.delete()
        result = stage.apply(rows, ctx)
        result.checked = (check_stage_conservation(stage.display_name, rows, result), restore_kept_by_review(result))
        return result

    def close(self) -> None:
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None


class RayPieces:
    """A streamed stage's pieces as Ray tasks, on every worker of the cluster; what every piece reads is put in the
    object store once. Workers get a context without the run's output folder or progress callback."""

    def map(
        self, fn: Callable, stage: Stage, ctx: RunContext, items: Sequence[tuple], what: str, shared: tuple = ()
    ) -> list:
        import ray

        task = ray.remote(fn)
        common = [ray.put(value) for value in (stage, RunContext(seed=ctx.seed, datasets=ctx.datasets), *shared)]
        refs = [task.remote(*common, *item) for item in items]
        waiting = list(refs)
        while waiting:
            _, waiting = ray.wait(waiting, num_returns=1)
            ctx.report(stage.display_name, what, len(refs) - len(waiting), len(refs))
        return ray.get(refs)


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
        for chunk, vectors in zip(
            chunks, pool.map(lambda actor, chunk: actor.encode.remote(chunk, batch_size), chunks)
        ):
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
            self.actors[model] = [
                ray.remote(**per_actor)(EncoderActor).remote(model) for _ in range(min(count, wanted))
            ]
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


@dataclass
class RayEngine(LocalEngine):
    """The local engine's streaming with its pieces as Ray tasks; stages that need every row on the driver, their
    embeddings encoded by actors. On a cluster of several machines `blocks_dir` must be storage every node reads."""

    address: str | None = (
        None  # None: start a local cluster (a laptop, CI); "auto" or ray://host:10001 for an existing one
    )
    block_rows: int = 250_000  # rows per block and per task
    name: str = "ray"
    _started: bool = field(default=False, init=False)
    encoders: ActorEncoders = field(default_factory=ActorEncoders, init=False)

    def __post_init__(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            self._started = True

    @property
    def pieces(self) -> Pieces:
        return RayPieces()

    def streamed_label(self, kind: str) -> str:
        return kind

    def in_one_piece(self, stage: Stage, rows: Rows, ctx: RunContext) -> StageResult:
        """On the driver; a model stage's embeddings (if any) on actors."""
        sent = self.encoders.chunks_sent
        on_actors = replace(ctx, encode_chunks=self.encoders)
        try:
            result = self.whole(stage, rows, on_actors)
            self.placement[stage.display_name] = (
                self.encoders.describe() if self.encoders.chunks_sent > sent else "driver"
            )
        finally:
            self.encoders.close()  # the actors hold the cluster's CPUs: later stages' tasks need them back
        return result

    def close(self) -> None:
        import ray

        if ray.is_initialized():
            self.encoders.close()
        super().close()
        if self._started and ray.is_initialized():
            ray.shutdown()


def make_engine(
    name: str = "local", address: str | None = None, block_rows: int | None = None, blocks_dir: str | Path | None = None
) -> Engine:
    options = ({"block_rows": block_rows} if block_rows else {}) | (
        {"blocks_dir": Path(blocks_dir)} if blocks_dir else {}
    )
    if name == "local":
        return LocalEngine(**options)
    if name == "ray":
        from curate.core.extras import require

        require("the ray engine (--engine ray)", "ray")
        return RayEngine(address=address, **options)
    from curate.core.errors import CurateError

    raise CurateError(f"unknown engine '{name}'", "--engine", hint="local | ray")
