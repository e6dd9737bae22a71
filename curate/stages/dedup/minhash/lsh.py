"""LSH banding over MinHash signatures: which rows share a bucket, so only those pairs are compared."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import polars as pl

from curate.core.spread import KEY, ROW, candidate_pairs, components
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


def band_memberships(signatures: np.ndarray, rows: pl.Series | np.ndarray, threshold: float) -> Iterator[pl.DataFrame]:
    """A linked stage's `keys`: per LSH band tuned to Jaccard `threshold`, each row's bucket (`KEY`, `ROW`), a band at a
    time (at a million rows, 25 bands of memberships at once would be 500 MB)."""
    bands, rows_per_band = lsh_params(threshold, signatures.shape[1])
    for band in range(bands):
        yield pl.DataFrame({KEY: band_keys(signatures, band, rows_per_band), ROW: rows})


def candidate_edges(signatures: np.ndarray, threshold: float) -> np.ndarray:
    """Distinct row pairs (i, j), j < i, that share a bucket in some LSH band tuned to Jaccard `threshold`: the linked
    stages' candidates (`core/spread.py`'s `candidate_pairs`) for signatures of rows numbered 0..n-1."""
    n = len(signatures)
    return candidate_pairs(band_memberships(signatures, np.arange(n, dtype=np.int64), threshold), n)


def near_duplicate_clusters(signatures: np.ndarray, threshold: float) -> np.ndarray:
    """A component label per row (-1 for rows with no near duplicate), from LSH candidates whose estimated Jaccard
    reaches `threshold`."""
    edges = candidate_edges(signatures, threshold)
    return components(len(signatures), edges[agreement(signatures, edges[:, 0], edges[:, 1]) >= threshold])
