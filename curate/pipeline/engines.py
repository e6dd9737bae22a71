"""Where a stage's `apply` runs: in this process (`local`), or over a Ray cluster (`ray`).

The executor asks its engine to apply each stage and checks what comes back the same way whichever
engine it is (conservation, redaction of examples, artifacts), so a stage never knows where it runs.

The Ray engine runs three kinds of stage three ways, and the output is the local engine's row for row:
- row-local stages (`Stage.row_local`: clean, redact) as Ray tasks over Arrow blocks in the object
  store, on every worker of the cluster;
- stages with a partition key (`Stage.partition_by`: exact dedup, by the normalised text) as a
  shuffle: map tasks cut each block by the key's hash, one task per partition applies the stage to
  every row with those keys, and `Stage.combine` joins the partitions' results;
- every other stage (quality's class-relative rules, MinHash and semantic dedup, labels, split,
  rebalance, the gate, training) on the driver over the collected frame, as locally. MinHash by a
  shuffle on band keys, and split and rebalance by label, are the next steps (docs/scale.md).
Rows come back in the order they went in (a row number travels with each row); stats add up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from curate.core.context import RunContext
from curate.core.stage import Stage, StageResult

ENGINES = ("local", "ray")


class Engine(Protocol):
    name: str

    def apply(self, stage: Stage, rows: pl.DataFrame, ctx: RunContext) -> StageResult: ...

    def close(self) -> None: ...


class LocalEngine:
    """Every stage in this process, on the whole frame."""

    name = "local"

    def apply(self, stage: Stage, rows: pl.DataFrame, ctx: RunContext) -> StageResult:
        return stage.apply(rows, ctx)

    def close(self) -> None:
        pass


ORDER = "_curate_row"  # the row's place in the stage's input, carried through a shuffle to put rows back in order


def _apply_block(stage: Stage, ctx: RunContext, *blocks) -> StageResult:
    """On a worker: one Arrow block, or the pieces of one shuffle partition, through the stage."""
    import pyarrow as pa

    rows = pl.from_arrow(pa.concat_tables(blocks) if len(blocks) > 1 else blocks[0])
    result = stage.apply(rows, ctx)
    return StageResult(kept=result.kept, rejected=result.rejected, stats=result.stats,
                       artifacts={k: v for k, v in result.artifacts.items() if isinstance(v, pl.DataFrame)})


def _split_by_key(block, key: pl.Expr, partitions: int) -> list:
    """On a worker (the map side of a shuffle): one block's rows, cut into `partitions` pieces by the key's hash."""
    rows = pl.from_arrow(block)
    bucket = rows.select((key.hash(seed=0) % partitions).alias("_bucket"))["_bucket"]
    pieces = [rows.filter(bucket == i).to_arrow() for i in range(partitions)]
    return pieces if partitions > 1 else pieces[0]


@dataclass
class RayEngine:
    """Row-local stages as Ray tasks over Arrow blocks; stages with a partition key (exact dedup) as a shuffle
    by that key, then one task per partition; every other stage on the driver."""

    address: str | None = None  # None: start a local cluster (a laptop, CI); "auto" or ray://host:10001 for an existing one
    block_rows: int = 50_000
    name: str = "ray"
    _started: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            self._started = True
        self._apply = ray.remote(_apply_block)

    def apply(self, stage: Stage, rows: pl.DataFrame, ctx: RunContext) -> StageResult:
        key = stage.partition_by()
        if rows.height <= self.block_rows or not (stage.row_local or key is not None):
            return stage.apply(rows, ctx)  # one block, or a stage that looks across all rows: on the driver
        import ray

        worker_ctx = ray.put(RunContext(seed=ctx.seed, datasets=ctx.datasets))  # no output folder or progress callback there
        stage_ref = ray.put(stage)
        numbered = rows.with_row_index(ORDER)
        blocks = [numbered.slice(start, self.block_rows).to_arrow() for start in range(0, numbered.height, self.block_rows)]
        if stage.row_local:
            inputs = [[block] for block in blocks]
        else:  # a shuffle: every block cut by the key's hash, then partition i gathers piece i of every block
            partitions = len(blocks)
            split = ray.remote(num_returns=partitions)(_split_by_key)
            pieces = [split.remote(block, key, partitions) for block in blocks]
            pieces = [p if isinstance(p, list) else [p] for p in pieces]
            inputs = [[piece[i] for piece in pieces] for i in range(partitions)]
        parts = ray.get([self._apply.remote(stage_ref, worker_ctx, *pieces) for pieces in inputs])
        combined = stage.combine(parts)
        combined.kept = combined.kept.sort(ORDER).drop(ORDER)  # back in the order the rows came in
        combined.rejected = combined.rejected.sort(ORDER).drop(ORDER)
        combined.artifacts = {name: frame.drop(ORDER, strict=False) for name, frame in combined.artifacts.items()}
        return combined

    def close(self) -> None:
        import ray

        if self._started and ray.is_initialized():
            ray.shutdown()


def make_engine(name: str = "local", address: str | None = None, block_rows: int | None = None) -> Engine:
    if name == "local":
        return LocalEngine()
    if name == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            from curate.core.errors import CurateError

            raise CurateError("the ray engine needs Ray", "--engine", hint="pip install 'curate[ray]' (ray[data])") from None
        return RayEngine(address=address, **({"block_rows": block_rows} if block_rows else {}))
    from curate.core.errors import CurateError

    raise CurateError(f"unknown engine '{name}'", "--engine", hint="local | ray")
