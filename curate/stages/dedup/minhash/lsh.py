"""LSH banding over MinHash signatures: which rows share a bucket, so only those pairs are compared."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from curate.core.stage import GROUP_COLUMNS, ROW
from curate.stages.dedup.clusters import components
from curate.stages.dedup.minhash.similarity import agreement


# datasketch's answers for the usual settings (tests/dedup/test_minhash.py checks them against datasketch): importing
# datasketch, and through it scipy.integrate, costs a whole process about a second.
KNOWN_LSH_PARAMS = {
    (0.5, 64): (14, 4), (0.6, 64): (10, 6), (0.7, 64): (8, 8), (0.75, 64): (7, 9), (0.8, 64): (5, 11),
    (0.85, 64): (4, 15), (0.9, 64): (3, 21), (0.5, 128): (25, 5), (0.6, 128): (18, 7), (0.7, 128): (14, 9),
    (0.75, 128): (11, 11), (0.8, 128): (9, 13), (0.85, 128): (8, 16), (0.9, 128): (5, 25), (0.5, 256): (42, 6),
    (0.6, 256): (32, 8), (0.7, 256): (25, 10), (0.75, 256): (21, 12), (0.8, 256): (17, 15), (0.85, 256): (13, 19),
    (0.9, 256): (9, 28),
}  # fmt: skip


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives and negatives at the threshold (datasketch's optimiser)."""
    if (threshold, num_perm) in KNOWN_LSH_PARAMS:
        return KNOWN_LSH_PARAMS[threshold, num_perm]
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def band_keys(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """One 64-bit bucket key per row for an LSH band (a polynomial over the band's `rows` minima)."""
    key = np.zeros(len(signatures), dtype=np.uint64)
    for r in range(band * rows, (band + 1) * rows):
        key = key * np.uint64(0x100000001B3) + signatures[:, r].astype(np.uint64)
    return key


PENDING_PAIRS_PER_ROW = 16  # candidate pairs held before they are made distinct (8 bytes each)


def candidate_edges(signatures: np.ndarray, threshold: float) -> np.ndarray:
    """Distinct row pairs (i, j) that share a bucket in some LSH band tuned to Jaccard `threshold`.

    Per band each row pairs with its bucket's first member j (so j < i: one orientation per pair;
    linear, not quadratic in a bucket).
    Pairs are packed into one int64 each and made distinct whenever the pending ones outgrow
    `PENDING_PAIRS_PER_ROW` per row, so memory stays near the distinct pairs plus that.
    """
    n = len(signatures)
    bands, rows = lsh_params(threshold, signatures.shape[1])
    chunks: list[np.ndarray] = []
    pending = 0
    for band in range(bands):
        frame = pl.DataFrame({"key": band_keys(signatures, band, rows), "i": np.arange(n, dtype=np.int64)})
        pairs = frame.with_columns(pl.col("i").first().over("key").alias("j")).filter(pl.col("i") != pl.col("j"))
        chunks.append((pairs["i"] * n + pairs["j"]).to_numpy())
        pending += pairs.height
        if pending > PENDING_PAIRS_PER_ROW * max(n, 250_000):
            chunks = [_distinct(np.concatenate(chunks))]
            pending = len(chunks[0])
    return _pairs(_distinct(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64), n)


def _pairs(codes: np.ndarray, n: int) -> np.ndarray:
    """Pairs (i, j) from their packed codes i * n + j."""
    return np.stack([codes // n, codes % n], axis=1).reshape(-1, 2)


def band_memberships(signatures: np.ndarray, rows: pl.Series, threshold: float) -> pl.DataFrame:
    """For a group shuffle (`Stage.group_keys`): one (band, bucket key, row) per row and LSH band tuned to `threshold`."""
    bands, rows_per_band = lsh_params(threshold, signatures.shape[1])
    return pl.concat(
        [
            pl.DataFrame(
                {
                    GROUP_COLUMNS[0]: pl.repeat(band, len(rows), dtype=pl.Int32, eager=True),
                    GROUP_COLUMNS[1]: band_keys(signatures, band, rows_per_band),
                    ROW: rows,
                }
            )
            for band in range(bands)
        ]
    )


def bucket_pairs(memberships: pl.DataFrame) -> pl.DataFrame:
    """Candidate pairs (i, j) of whole buckets: each row with its bucket's first row, as `candidate_edges` pairs them."""
    first = pl.col(ROW).min().over(list(GROUP_COLUMNS))
    return memberships.select(pl.col(ROW).alias("i"), first.alias("j")).filter(pl.col("i") != pl.col("j")).unique()


def pairs_of(reduced: pl.DataFrame, n: int) -> np.ndarray:
    """The distinct pairs of every partition's `bucket_pairs`, sorted as `candidate_edges` returns them."""
    return _pairs(_distinct(reduced["i"].to_numpy() * n + reduced["j"].to_numpy()), n)


PAIRS_PER_CHUNK = 1_000_000  # pairs checked at once: their rows are gathered together (at most two per pair)


def gather(mapped: pl.DataFrame | pl.LazyFrame, pairs: np.ndarray) -> tuple[pl.DataFrame, np.ndarray]:
    """The rows of `mapped` that `pairs` name (by `ROW`), in row order, and the pairs as positions among them.
    `mapped` may be lazy, or blocks on disk with `take` (a streamed run's): only these rows are read."""
    if (
        isinstance(mapped, pl.DataFrame)
        and mapped.height
        and mapped[ROW][0] == 0
        and mapped[ROW][-1] == mapped.height - 1
    ):
        return mapped, pairs.reshape(-1, 2)  # every row, numbered 0..n-1 (sorted, distinct): positions are row numbers
    needed = np.unique(pairs)
    if hasattr(mapped, "take"):  # blocks on disk (a streamed run): only the blocks holding these rows are read
        found = mapped.take(needed)
        return found, np.searchsorted(found[ROW].to_numpy(), pairs).reshape(-1, 2)
    found = mapped.lazy().filter(pl.col(ROW).is_in(pl.Series(needed, dtype=pl.Int64).implode())).sort(ROW).collect()
    return found, np.searchsorted(found[ROW].to_numpy(), pairs).reshape(-1, 2)


def as_pairs(pairs: np.ndarray) -> pl.DataFrame:
    """Row pairs as `reduce_groups` gives them (columns i, j)."""
    return pl.DataFrame({"i": pairs[:, 0].astype(np.int64), "j": pairs[:, 1].astype(np.int64)})


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a plain sort: several times faster than `np.unique` on int64 here)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def near_duplicate_clusters(
    signatures: np.ndarray, threshold: float, candidates: np.ndarray | None = None
) -> np.ndarray:
    """A component label per row (-1 for rows with no near duplicate), from LSH candidates (found here unless
    given, e.g. by a group shuffle) whose estimated Jaccard reaches `threshold`."""
    edges = candidate_edges(signatures, threshold) if candidates is None else candidates
    return components(len(signatures), edges[agreement(signatures, edges[:, 0], edges[:, 1]) >= threshold])
