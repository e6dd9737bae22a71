"""Where a stage's `apply` runs: in this process (`local`), or over a Ray cluster (`ray`).

The executor asks its engine to apply each stage and checks what comes back the same way whichever
engine it is (conservation, redaction of examples, artifacts), so a stage never knows where it runs.

The Ray engine runs the stages that decide each row on its own (`Stage.row_local`: clean, redact) as Ray tasks over Arrow blocks in the object store, on every worker of the cluster, and puts
the blocks back in order; a row's result depends on that row alone, so the output is the local
engine's, row for row (stats are summed over blocks). Stages that look
across rows (quality's class-relative rules, dedup, labels, split, rebalance, the gate, training) run
on the driver over the collected frame, as locally: distributing those needs shuffles by key (the
normalised-text hash for exact dedup, band keys for MinHash, the label for split and rebalance), the
next step of issue "scale" (docs/scale.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

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


def merge_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Stats of one stage over several blocks: integer counts add up (also inside dicts), findings are joined
    without repeats, any other value is the first block's (a row-local stage reports counts)."""
    merged: dict[str, Any] = {}
    for stats in parts:
        for key, value in stats.items():
            if key not in merged:
                merged[key] = dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value
            elif isinstance(value, bool) or not isinstance(value, (int, dict, list)):
                continue
            elif isinstance(value, int):
                merged[key] += value
            elif isinstance(value, dict):
                merged[key] = merge_stats([merged[key], value])
            else:
                merged[key] += [v for v in value if v not in merged[key]]
    return merged


def _apply_block(stage: Stage, ctx: RunContext, block) -> tuple[Any, Any, dict[str, Any]]:
    """Run on a worker: one Arrow block through the stage; returns kept and rejected rows (Arrow) and stats."""
    result = stage.apply(pl.from_arrow(block), ctx)
    return result.kept.to_arrow(), result.rejected.to_arrow(), result.stats


@dataclass
class RayEngine:
    """Row-local stages as Ray tasks over Arrow blocks of `block_rows`, in order; every other stage on the driver."""

    address: str | None = None  # None: start a local cluster (a laptop, CI); "auto" or ray://host:10001 for an existing one
    block_rows: int = 50_000
    name: str = "ray"
    _started: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            self._started = True
        self._remote = ray.remote(_apply_block)

    def apply(self, stage: Stage, rows: pl.DataFrame, ctx: RunContext) -> StageResult:
        if not stage.row_local or rows.height <= self.block_rows:
            return stage.apply(rows, ctx)  # one block, or a stage that looks across rows: on the driver
        import ray

        worker_ctx = ray.put(RunContext(seed=ctx.seed, datasets=ctx.datasets))  # no output folder or progress callback there
        stage_ref = ray.put(stage)
        futures = [self._remote.remote(stage_ref, worker_ctx, rows.slice(start, self.block_rows).to_arrow())
                   for start in range(0, rows.height, self.block_rows)]
        parts = ray.get(futures)  # in block order: the rows come back in the order they went out
        kept = pl.concat([pl.from_arrow(k) for k, _, _ in parts], how="diagonal_relaxed")
        rejected = pl.concat([pl.from_arrow(r) for _, r, _ in parts], how="diagonal_relaxed")
        return StageResult(kept=kept, rejected=rejected, stats=merge_stats([stats for _, _, stats in parts]))

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
