"""What a stage gives back (`StageResult`), and how the stats of its pieces add up (`merge_stats`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

Artifact = pl.DataFrame | dict[str, Any]


class RowsOnDisk(Protocol):
    """Rows an engine holds on disk instead of in memory: a streamed stage's kept rows (`curate.io.blocks.Blocks`, which
    core does not import). A stage never makes them; what reads either shape reads it through `curate.io.blocks`'s
    `batches` and `columns_of`."""

    @property
    def height(self) -> int: ...

    @property
    def columns(self) -> list[str]: ...

    def clear(self) -> pl.DataFrame: ...

    def write_parquet(self, path: Path, compression: str = ...) -> None: ...


@dataclass
class StageResult:
    kept: pl.DataFrame | RowsOnDisk  # a stage's kept rows; rows on disk only from an engine that streamed the stage
    rejected: pl.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    # Frames are concatenated by name across stages and written as <name>.parquet; dicts are
    # written as <name>.json (the last stage to produce one wins).
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    # Set by a stage that must stop the recipe (a failed gate): the reason, said to the user.
    halt: str | None = None
    # Set by an engine that ran the executor's checks itself (on each piece of a streamed stage as it went, or on blocks
    # collected into one frame, deleted before the executor could read them): rows generated, rows put back by review.
    checked: tuple[int, dict[str, int]] | None = None


def merge_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Stats of one stage over several blocks: integer counts add up (also inside dicts), findings are joined
    without repeats, any other value is the first block's."""
    merged: dict[str, Any] = {}
    for stats in parts:
        for key, value in stats.items():
            if key not in merged:
                merged[key] = (
                    dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value
                )
            elif isinstance(value, bool) or not isinstance(value, (int, dict, list)):
                continue
            elif isinstance(value, int):
                merged[key] += value
            elif isinstance(value, dict):
                merged[key] = merge_stats([merged[key], value])
            else:
                merged[key] += [v for v in value if v not in merged[key]]
    return merged
