"""Rows held as Parquet files on disk, a block of rows per file, in row order: how a streamed run passes rows from
stage to stage without holding them (`curate.pipeline.streaming`).

Blocks written by different pieces of a stage may type a column differently (a column that is all null in one
block); `schema` settles one type per column and every read is cast to it, so the blocks read as one table.

A block may be written by another process (a Ray worker: `write_block`) and added by the one that holds the `Blocks`
(`add`): files are named at random, and their order is the order they are added in. On a cluster the folder must be
storage every node reads (docs/scale.md).

A run's rows (`Rows`) are either shape: one frame in memory, or blocks. What reads them reads either through `batches`
or `columns_of`, and what keeps them once the engine closes through `lasting`, never asking which shape they are.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl

from curate.core.stage import ROW


@dataclass(frozen=True)
class BlockFile:
    """One written block: where it is and what a `Blocks` records about it without reading it again."""

    path: Path | None  # None: no rows, so no file; its schema is still what the rows were
    height: int
    schema: pl.Schema
    row_range: tuple[int, int] | None  # the smallest and largest `ROW` in it, when its rows carry one
    contiguous: bool  # holds every row number of its range once, in order


def write_block(rows: pl.DataFrame, folder: Path) -> BlockFile:
    """`rows` written as a block file in `folder`; no rows write no file, but say their schema (rows that every piece
    of a stage rejected still have the stage's columns)."""
    if not rows.height:
        return BlockFile(None, 0, rows.schema, None, False)
    path = Path(folder) / f"{uuid.uuid4().hex}.parquet"
    rows.write_parquet(path, compression="lz4", statistics=False)
    row_range, contiguous = None, False
    if ROW in rows.columns:
        low, high = int(rows[ROW].min()), int(rows[ROW].max())
        row_range = (low, high)
        contiguous = high - low + 1 == rows.height and rows[ROW].is_sorted() and rows[ROW].n_unique() == rows.height
    return BlockFile(path, rows.height, rows.schema, row_range, contiguous)


@dataclass
class Blocks:
    folder: Path
    paths: list[Path] = field(default_factory=list)
    heights: list[int] = field(default_factory=list)
    # Per block, the smallest and largest row number (`ROW`) it holds, when its rows carry one: `take` reads only the
    # blocks that can hold the rows asked for, and keeps the last two it read.
    row_ranges: list[tuple[int, int]] = field(default_factory=list)
    # Per such block, whether it holds every row number of its range once, in order: `take` then gathers by place.
    contiguous: list[bool] = field(default_factory=list)
    block_schemas: list[pl.Schema] = field(default_factory=list)  # each block's own columns and types, as written
    empty_schemas: list[pl.Schema] = field(default_factory=list)  # of the frames of no rows given: no block's schema
    _recent: dict[int, pl.DataFrame] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, spill: Path) -> Blocks:
        folder = Path(spill) / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        return cls(folder)

    def append(self, rows: pl.DataFrame) -> None:
        """Write `rows` as the next block (an empty frame is not a block, but its schema is kept)."""
        self.add(write_block(rows, self.folder))

    def add(self, block: BlockFile | None) -> None:
        """A block written by `write_block` (here or in a worker), as the next block."""
        if block is None:
            return
        self.__dict__.pop("schema", None)  # a new block may settle a column's type
        if block.path is None:
            if block.schema not in self.empty_schemas:  # each distinct one once: a shuffle writes many empty pieces
                self.empty_schemas.append(block.schema)
            return
        self.paths.append(block.path)
        self.heights.append(block.height)
        self.block_schemas.append(block.schema)
        if block.row_range is not None:
            self.row_ranges.append(block.row_range)
            self.contiguous.append(block.contiguous)

    def __getstate__(self) -> dict:
        """Sent to a worker without the blocks `take` keeps."""
        return {**self.__dict__, "_recent": {}}

    @property
    def height(self) -> int:
        return sum(self.heights)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def starts(self) -> np.ndarray:
        """Each block's first row number among all rows (blocks in row order)."""
        return np.cumsum([0, *self.heights[:-1]]).astype(np.int64)

    def block_of(self, rows: np.ndarray) -> np.ndarray:
        """The block each row number falls in."""
        return np.searchsorted(self.starts, rows, side="right") - 1

    @cached_property
    def schema(self) -> pl.Schema:
        """One type per column over every block, as `pl.concat(..., how="diagonal_relaxed")` would settle it (a Null column
        takes the other blocks' type, Int64 and Float64 make Float64); columns in first-seen order. With no block, the
        schema of the frames of no rows it was given: all rows rejected keep their columns."""
        schemas = self.block_schemas or self.empty_schemas
        if not schemas:
            return pl.Schema()
        return pl.concat([pl.DataFrame(schema=schema) for schema in schemas], how="diagonal_relaxed").schema

    @property
    def columns(self) -> list[str]:
        return list(self.schema)

    def read(self, i: int, columns: list[str] | None = None) -> pl.DataFrame:
        """Block `i`, cast to `schema` (only `columns`, when given)."""
        wanted = columns or self.columns
        block = pl.read_parquet(self.paths[i], columns=[c for c in wanted if c in self.block_schemas[i]])
        return block.select(
            [
                pl.col(c).cast(self.schema[c]) if c in block.columns else pl.lit(None, self.schema[c]).alias(c)
                for c in wanted
            ]
        )

    def __iter__(self) -> Iterator[pl.DataFrame]:
        return (self.read(i) for i in range(len(self.paths)))

    def select(self, *columns: str) -> pl.DataFrame:
        """These columns of every row, in one frame (ids, labels: narrow enough to hold): `columns_of`, as a frame's
        `select` for code that holds either shape."""
        return columns_of(self, *columns)

    def lazy(self) -> pl.LazyFrame:
        """Every block, as one lazy frame (read by polars as it needs)."""
        return pl.scan_parquet(self.paths)

    def take(self, rows: np.ndarray) -> pl.DataFrame:
        """The rows whose `ROW` is in `rows` (sorted, distinct), in that order, reading only the blocks that can hold
        them (by `row_ranges`; the last two blocks read are kept, as a caller asks for neighbouring rows again). Copies
        only the rows asked for, once: at 10M rows a block of signatures is 512 MB (benchmarks/RESULTS.md)."""
        parts = []
        for i, (low, high) in enumerate(self.row_ranges):
            wanted = rows[np.searchsorted(rows, low) : np.searchsorted(rows, high, side="right")]
            if len(wanted):
                if i not in self._recent:
                    self._recent = {k: v for k, v in list(self._recent.items())[-1:]} | {i: self.read(i)}
                block = self._recent[i]
                if self.contiguous[i]:  # every row from low to high, in order: gathered by place, without a search
                    parts.append(block.gather(wanted - low))
                else:
                    parts.append(block.filter(pl.col(ROW).is_in(pl.Series(wanted, dtype=pl.Int64).implode())))
        if not parts:
            return self.clear()
        found = pl.concat(parts, rechunk=False)
        return found if found[ROW].is_sorted() else found.sort(ROW)

    def collect(self) -> pl.DataFrame:
        return pl.concat(list(self)) if self.paths else self.clear()

    def clear(self) -> pl.DataFrame:
        """No rows, this schema."""
        return pl.DataFrame(schema=self.schema)

    def write_parquet(self, path: Path, compression: str = "zstd") -> None:
        """All blocks as one Parquet file, a block at a time."""
        import pyarrow.parquet as pq

        writer = None
        try:
            for block in self:
                table = block.to_arrow()
                writer = writer or pq.ParquetWriter(path, table.schema, compression=compression)
                writer.write_table(table)
            if writer is None:
                self.clear().write_parquet(path, compression=compression)
        finally:
            if writer is not None:
                writer.close()

    def forget(self) -> None:
        """Drop the blocks `take` keeps (at 10M rows two blocks of signatures are 1 GB), once no more are asked for."""
        self._recent = {}

    def delete(self) -> None:
        """The folder and everything in it (blocks that own their folder)."""
        self._recent = {}
        shutil.rmtree(self.folder, ignore_errors=True)

    def discard(self) -> None:
        """Only these blocks' files (blocks that share a folder with others: a shuffle's partitions)."""
        self._recent = {}
        for path in self.paths:
            path.unlink(missing_ok=True)


Rows = pl.DataFrame | Blocks
"""A run's rows: one frame in memory, or a streamed run's blocks on disk (both have `height`, `columns`, `clear()` and
`write_parquet`). Read through `batches` and `columns_of`; changed a batch at a time through `rewritten`."""


def batches(rows: Rows, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
    """Every row, a frame at a time (a frame is one batch, each block another; only `columns`, when given)."""
    if isinstance(rows, Blocks):
        return (rows.read(i, columns) for i in range(len(rows)))
    return iter([rows if columns is None else rows.select(columns)])


def columns_of(rows: Rows, *columns: str) -> pl.DataFrame:
    """These columns of every row, in one frame (ids, labels: narrow enough to hold; blocks read only them)."""
    parts = list(batches(rows, list(columns)))
    return pl.concat(parts) if parts else rows.clear().select(columns)


def rewritten(rows: Rows, change: Callable[[pl.DataFrame], pl.DataFrame]) -> Rows:
    """`rows` with every batch passed through `change`, in the same shape: blocks are written anew beside the old ones,
    which are deleted."""
    if not isinstance(rows, Blocks):
        return change(rows)
    changed = Blocks.create(rows.folder.parent)
    for batch in batches(rows):
        changed.append(change(batch))
    rows.delete()
    return changed


def lasting(rows: Rows, written: Path | None) -> pl.DataFrame | pl.LazyFrame:
    """Rows that outlive the blocks' folder (gone when the engine closes): a frame as it is; blocks read lazily from the
    file they were `written` to, or collected when there is none."""
    if not isinstance(rows, Blocks):
        return rows
    return pl.scan_parquet(written) if written is not None else rows.collect()


@dataclass
class Pile:
    """Frames that gather over a run (rejected rows, a frame artifact such as clusters), held in memory until they pass
    `limit` rows and written to blocks in `spill()` from then on: a streamed run's rejected rows (a tenth of ten million
    tickets) and clusters need not sit in the driver until the run directory is written. `gathered` is what
    `pl.concat(frames, how="diagonal_relaxed")` would give, as a frame or as blocks."""

    spill: Callable[[], Path] | None = None  # None: always in memory
    limit: int = 1_000_000
    frames: list[pl.DataFrame] = field(default_factory=list)
    blocks: Blocks | None = None

    def add(self, frame: pl.DataFrame) -> None:
        if (
            self.blocks is None
            and self.spill is not None
            and sum(f.height for f in self.frames) + frame.height > self.limit
        ):
            self.blocks = Blocks.create(self.spill())
            for held in self.frames:
                self.blocks.append(held)
            self.frames = []
        if self.blocks is not None:
            self.blocks.append(frame)
        else:
            self.frames.append(frame)

    def __bool__(self) -> bool:
        return self.blocks is not None or bool(self.frames)

    def gathered(self) -> Rows:
        return self.blocks if self.blocks is not None else pl.concat(self.frames, how="diagonal_relaxed")
