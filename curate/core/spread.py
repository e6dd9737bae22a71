"""How a stage may be spread over blocks of rows: one typed value per stage (`Stage.spread`), which the engines read and
the stage never acts on. Five kinds, made by `Spread`'s constructors and checked when made:

- `Spread.none()`: the stage needs every row in one frame (semantic dedup, the gate, training);
- `Spread.source()`: the stage reads rows instead of taking them (ingest), a batch at a time (`read_in_batches`);
- `Spread.by_rows()`: each row's result depends on that row alone (clean, redact): any block, anywhere;
- `Spread.by_totals(partial, decide, summarize)`: per-row decisions that need a few numbers about all rows (quality's
  class shares, review's decisions about absent rows): `partial` per block, the partials together are the totals,
  `decide` per block with them, `summarize` the stats once;
- `Spread.by_key(key)`: rows with different keys never affect each other (exact dedup: the normalised text);
- `Spread.linked(...)`: rows are linked when they share a key and the pair holds (LSH bands for MinHash dedup and
  split); the links' connected components are a group per row, which the stage resolves (`link_rows` below).

`by_totals` and `linked` hold the steps themselves, so a stage's `apply` is those steps run on one frame (`apply` on the
spread) and a streaming engine runs the same functions a block, a partition or a pair partition at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import polars as pl

from curate.core.result import StageResult, merge_stats

if TYPE_CHECKING:
    from curate.core.context import RunContext

# The row's place in a stage's input: an engine numbers rows with it before cutting them into blocks; linked rows are
# named by it.
ROW = "_curate_row"
# A membership of a linked stage: rows with the same key of the same kind are candidates to link (MinHash: a bucket of
# one LSH band). A stage's `keys` gives (`KEY`, `ROW`) frames, one per kind; an engine adds `KIND` when it mixes them.
KIND, KEY = "_group_kind", "_group_key"
PAIRS_PER_CHUNK = 1_000_000  # candidate pairs checked at once: their rows are gathered together (at most two per pair)


class Spread:
    """How a stage may be spread out; make one with the constructors below."""

    label: ClassVar[str | None] = None  # how an engine that spreads the stage names it (None: it does not)

    @staticmethod
    def none() -> Whole:
        return Whole()

    @staticmethod
    def source() -> Source:
        return Source()

    @staticmethod
    def by_rows() -> ByRows:
        return ByRows()

    @staticmethod
    def by_totals(
        partial: Callable[[pl.DataFrame, RunContext], pl.DataFrame],
        decide: Callable[[pl.DataFrame, pl.DataFrame, RunContext], StageResult],
        summarize: Callable[[dict[str, Any], pl.DataFrame, RunContext], dict[str, Any]] | None = None,
    ) -> ByTotals:
        return ByTotals(partial, decide, summarize)

    @staticmethod
    def by_key(key: pl.Expr, order: Callable[[pl.DataFrame], pl.DataFrame] | None = None) -> ByKey:
        return ByKey(key, order)

    @staticmethod
    def linked(
        features: Callable[[pl.DataFrame, RunContext | None], pl.DataFrame],
        keys: Callable[[pl.DataFrame], Iterable[pl.DataFrame]],
        resolve: Callable[[pl.DataFrame, np.ndarray, Any, RunContext | None], StageResult],
        holds: Callable[[pl.DataFrame, np.ndarray], tuple[np.ndarray, dict[str, int]]] | None = None,
        recheck: Callable[[Any, np.ndarray], tuple[np.ndarray, dict[str, int]]] | None = None,
        carry: tuple[str, ...] | None = None,
        reads: tuple[str, ...] | None = None,
        alone: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    ) -> Linked:
        return Linked(features, keys, resolve, holds, recheck, carry, reads, alone)


def _callable(owner: str, **fields: Any) -> None:
    for name, value in fields.items():
        if value is not None and not callable(value):
            raise TypeError(f"{owner}: `{name}` must be a function, not {type(value).__name__}")


def _columns(owner: str, **fields: Any) -> None:
    for name, value in fields.items():
        if value is not None and not (isinstance(value, tuple) and all(isinstance(c, str) for c in value)):
            raise TypeError(f"{owner}: `{name}` must be a tuple of column names, not {value!r}")


@dataclass(frozen=True)
class Whole(Spread):
    """Every row in one frame."""


@dataclass(frozen=True)
class Source(Spread):
    """Reads the run's rows (given none): the rows it returns are the ones every later check accounts for."""

    label: ClassVar[str] = "read in blocks"


@dataclass(frozen=True)
class ByRows(Spread):
    label: ClassVar[str] = "blocks"


@dataclass(frozen=True)
class ByTotals(Spread):
    partial: Callable[[pl.DataFrame, RunContext], pl.DataFrame]  # a small frame per block; concatenated: the totals
    decide: Callable[[pl.DataFrame, pl.DataFrame, RunContext], StageResult]  # one block, given the totals
    summarize: Callable[[dict[str, Any], pl.DataFrame, RunContext], dict[str, Any]] | None = None  # stats, once

    label: ClassVar[str] = "blocks with totals"

    def __post_init__(self) -> None:
        if self.partial is None or self.decide is None:
            raise TypeError("Spread.by_totals needs `partial` and `decide`")
        _callable("Spread.by_totals", partial=self.partial, decide=self.decide, summarize=self.summarize)

    def apply(self, rows: pl.DataFrame, ctx: RunContext) -> StageResult:
        """The three steps on one frame: what the stage's `apply` is."""
        totals = self.partial(rows, ctx)
        result = self.decide(rows, totals, ctx)
        result.stats = self.summarized(result.stats, totals, ctx)
        return result

    def summarized(self, stats: dict[str, Any], totals: pl.DataFrame, ctx: RunContext) -> dict[str, Any]:
        return self.summarize(stats, totals, ctx) if self.summarize is not None else stats


@dataclass(frozen=True)
class ByKey(Spread):
    key: pl.Expr  # rows with different values never affect each other's result
    order: Callable[[pl.DataFrame], pl.DataFrame] | None = None  # a frame artifact put in order after partitions

    label: ClassVar[str] = "shuffle by key"

    def __post_init__(self) -> None:
        if not isinstance(self.key, pl.Expr):
            raise TypeError(f"Spread.by_key: `key` must be a polars expression, not {type(self.key).__name__}")
        _callable("Spread.by_key", order=self.order)


@dataclass(frozen=True)
class Linked(Spread):
    """Rows linked through shared keys, then resolved as groups: the one way a stage looks across rows by similarity.

    `features(rows, ctx)`: per row (rows numbered by `ROW`), `ROW` and what `keys`, `holds` and `resolve` read;
    `keys(features)`: (`KEY`, `ROW`) frames, one per kind of key: two rows sharing a key of one kind are a candidate pair;
    `holds(found, pairs)`: of candidate pairs (positions in `found`, some rows of `features`), those that hold, and
    counts for the stats (None: every candidate holds);
    `recheck(features, pairs)`: once, with every pair that held (by `ROW`) and every row's features, those that still
    hold, and counts (MinHash: a word the whole column uses often);
    `resolve(rows, groups, features, ctx)`: the result, given each row's group (connected components of the pairs; -1:
    linked to nothing) and the features of those rows, in their order.
    A streaming engine may keep only `carry` of the features after `keys`, and give `resolve` only the columns it
    `reads` of every row (it may add columns, not change these), or only the rows in a group when `alone` says what
    `resolve` makes of a row linked to nothing.
    """

    features: Callable[[pl.DataFrame, RunContext | None], pl.DataFrame]
    keys: Callable[[pl.DataFrame], Iterable[pl.DataFrame]]
    resolve: Callable[[pl.DataFrame, np.ndarray, Any, RunContext | None], StageResult]
    holds: Callable[[pl.DataFrame, np.ndarray], tuple[np.ndarray, dict[str, int]]] | None = None
    recheck: Callable[[Any, np.ndarray], tuple[np.ndarray, dict[str, int]]] | None = None
    carry: tuple[str, ...] | None = None
    reads: tuple[str, ...] | None = None
    alone: Callable[[pl.DataFrame], pl.DataFrame] | None = None

    label: ClassVar[str] = "map, shuffle by group, reduce"

    def __post_init__(self) -> None:
        if self.features is None or self.keys is None or self.resolve is None:
            raise TypeError("Spread.linked needs `features`, `keys` and `resolve`")
        _callable(
            "Spread.linked",
            features=self.features,
            keys=self.keys,
            resolve=self.resolve,
            holds=self.holds,
            recheck=self.recheck,
            alone=self.alone,
        )
        _columns("Spread.linked", carry=self.carry, reads=self.reads)
        if self.reads is not None and self.alone is not None:
            raise ValueError(
                "Spread.linked: give `reads` (resolve sees every row) or `alone` (only linked ones), not both"
            )

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        """Every step on one frame: what the stage's `apply` is, and what a streaming engine runs in pieces."""
        features, held, counts = self.pairs(rows, ctx)
        groups, more = self.groups(features, packed(held, rows.height), rows.height)
        result = self.resolve(rows, groups, features, ctx)
        result.stats.update(counts | more)
        return result

    def pairs(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> tuple[pl.DataFrame, np.ndarray, dict]:
        """On one frame: the rows' features, the candidate pairs that hold (by row number), and the counts of `holds`."""
        features = self.features(rows.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64)), ctx)
        held, counts = self.held(features, candidate_pairs(self.keys(features), rows.height))
        return features, held, counts

    def held(self, features: Any, pairs: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
        """The candidate `pairs` (by `ROW`, distinct) that hold, a chunk at a time, each gathering only its rows of
        `features` (a frame, or blocks on disk with `take`)."""
        held: list[np.ndarray] = []
        counts: list[dict[str, int]] = []
        for start in range(0, max(len(pairs), 1), PAIRS_PER_CHUNK):
            found, local = gather(features, pairs[start : start + PAIRS_PER_CHUNK])
            if self.holds is None:
                held.append(found[ROW].to_numpy()[local].reshape(-1, 2))
                continue
            holding, chunk_counts = self.holds(found, local)
            held.append(found[ROW].to_numpy()[holding].reshape(-1, 2))
            counts.append(chunk_counts)
        return np.concatenate(held).astype(np.int64), merge_stats(counts)

    def groups(self, features: Any, held: np.ndarray, n: int) -> tuple[np.ndarray, dict[str, int]]:
        """Each row's group among `n` (-1: none) from every pair that held, after `recheck`. `held` is `packed` and
        made distinct in its own memory (it is sorted in place): at ten million rows the pairs are 60 million, and as
        (i, j) rows with their sorted and distinct copies they took 3 GB here."""
        codes = _distinct_in_place(held)
        counts: dict[str, int] = {}
        if self.recheck is not None:
            pairs, counts = self.recheck(features, _unpacked(codes, n))
            codes = packed(pairs, n)
        return _components_of_codes(n, codes), counts


def candidate_pairs(memberships: Iterable[pl.DataFrame], n: int) -> np.ndarray:
    """Distinct row pairs (i, j), j < i, that share a key of some kind; `memberships` gives (`KEY`, `ROW`) frames.

    Each row pairs with its key's first row (linear, not quadratic, in a bucket). Pairs are packed into one int64 each
    and made distinct whenever the pending ones outgrow `PENDING_PAIRS_PER_ROW` per row, so memory stays near the
    distinct pairs plus that."""
    chunks: list[np.ndarray] = []
    pending = 0
    for frame in memberships:
        pairs = pairs_sharing_a_key(frame)
        chunks.append((pairs["i"] * n + pairs["j"]).to_numpy())
        pending += pairs.height
        if pending > PENDING_PAIRS_PER_ROW * max(n, 250_000):
            chunks = [_distinct(np.concatenate(chunks))]
            pending = len(chunks[0])
    return _unpacked(_distinct(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64), n)


PENDING_PAIRS_PER_ROW = 16  # candidate pairs held before they are made distinct (8 bytes each)


def pairs_sharing_a_key(memberships: pl.DataFrame) -> pl.DataFrame:
    """Candidate pairs (i, j) of whole keys: each row with its key's first row (keys are every column but `ROW`)."""
    keys = [c for c in memberships.columns if c != ROW]
    first = pl.col(ROW).min().over(keys)
    return memberships.select(pl.col(ROW).alias("i"), first.alias("j")).filter(pl.col("i") != pl.col("j"))


def unique_pairs(pairs: np.ndarray, n: int) -> np.ndarray:
    """`pairs` (i, j) among `n` rows, distinct and sorted."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return _unpacked(_distinct(pairs[:, 0] * n + pairs[:, 1]), n)


def packed(pairs: np.ndarray, n: int) -> np.ndarray:
    """Pairs (i, j) among `n` rows as one int64 each, i * n + j: half the memory of the pairs, and sortable."""
    if n > MAX_PACKED_ROWS:
        raise ValueError(f"{n:,} rows: pairs of more than {MAX_PACKED_ROWS:,} rows do not pack into one int64")
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0] * n + pairs[:, 1]


MAX_PACKED_ROWS = 3_037_000_499  # the largest n with n * n under 2**63


def _distinct_in_place(values: np.ndarray) -> np.ndarray:
    """`values` sorted and made distinct within its own memory (a view of its start), so no second sorted copy."""
    values.sort()
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    distinct = values[keep]
    values[: len(distinct)] = distinct
    return values[: len(distinct)]


def _unpacked(codes: np.ndarray, n: int) -> np.ndarray:
    """Pairs (i, j) from their packed codes i * n + j."""
    return np.stack([codes // max(n, 1), codes % max(n, 1)], axis=1).reshape(-1, 2)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a plain sort: several times faster than `np.unique` on int64 here)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def gather(features: Any, pairs: np.ndarray) -> tuple[pl.DataFrame, np.ndarray]:
    """The rows of `features` that `pairs` name (by `ROW`), in row order, and the pairs as positions among them.
    `features` may be lazy, or blocks on disk with `take` (a streamed run's): only these rows are read."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if (
        isinstance(features, pl.DataFrame)
        and features.height
        and features[ROW][0] == 0
        and features[ROW][-1] == features.height - 1
    ):
        return features, pairs  # every row, numbered 0..n-1 (sorted, distinct): positions are row numbers
    needed = np.unique(pairs)
    if hasattr(features, "take"):  # blocks on disk (a streamed run): only the blocks holding these rows are read
        found = features.take(needed)
    else:
        found = (
            features.lazy().filter(pl.col(ROW).is_in(pl.Series(needed, dtype=pl.Int64).implode())).sort(ROW).collect()
        )
    return found, np.searchsorted(found[ROW].to_numpy(), pairs).reshape(-1, 2)


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected components of the pair graph over `n` rows; -1 for rows in no pair."""
    pairs = np.asarray(pairs).reshape(-1, 2)
    return _graph_components(n, pairs[:, 0], pairs[:, 1])


def _components_of_codes(n: int, codes: np.ndarray) -> np.ndarray:
    """`components` of `packed` pairs, unpacked a column at a time into the graph's index type (never as a (k, 2)
    int64 array: 0.95 GB at 60 million pairs)."""
    index = _index_type(n)
    return _graph_components(n, (codes // max(n, 1)).astype(index), (codes % max(n, 1)).astype(index))


def _index_type(n: int) -> type:
    """int32 while row numbers fit (what scipy's sparse graph would turn int64 indices into anyway), else int64."""
    return np.int32 if n < 2**31 else np.int64


def _graph_components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not len(i):
        return np.full(n, -1)
    index = _index_type(n)
    edges = (np.asarray(i, dtype=index), np.asarray(j, dtype=index))
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), edges), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    return np.where(sizes[labels] > 1, labels, -1)
