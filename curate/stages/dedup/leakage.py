"""Near duplicates between two datasets (say a user's train and test files), by MinHash.

The same two steps as `dedup: {method: minhash}`: LSH buckets propose cross pairs, then the
estimated Jaccard (default here, the gate's measure) or the edit similarity decides.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from curate.core.columns import ID, TEXT
from curate.stages.dedup.minhash import (
    DEFAULT_CANDIDATE_THRESHOLD,
    DEFAULT_THRESHOLD,
    MinHasher,
    agreement,
    band_keys,
    edit_similarity,
    lsh_params,
    normalize_for_shingles,
)


def cross_candidates(signatures: np.ndarray, side: np.ndarray, threshold: float) -> np.ndarray:
    """Distinct pairs (i in side 0, j in side 1) that share a bucket of an LSH tuned to Jaccard `threshold`."""
    bands, rows = lsh_params(threshold, signatures.shape[1])
    found = []
    for band in range(bands):
        frame = pl.DataFrame({"key": band_keys(signatures, band, rows), "i": np.arange(len(signatures)), "side": side})
        left, right = frame.filter(pl.col("side") == 0), frame.filter(pl.col("side") == 1)
        joined = left.join(right, on="key", suffix="_b").select("i", "i_b")
        if joined.height:
            found.append(joined)
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return pl.concat(found).unique().sort("i", "i_b").to_numpy()


def find_leakage(
    a: pl.DataFrame,
    b: pl.DataFrame,
    threshold: float | None = None,
    hasher: MinHasher | None = None,
    similarity: Literal["jaccard", "edit"] = "jaccard",
) -> pl.DataFrame:
    """Every pair of a row of `a` and a row of `b` whose texts are near duplicates, most similar first.

    `threshold` defaults to 0.8 for the estimated Jaccard and 0.9 for edit similarity (candidates at 0.5).
    """
    threshold = DEFAULT_THRESHOLD[similarity] if threshold is None else threshold
    hasher = hasher or MinHasher()
    normalised = normalize_for_shingles(pl.concat([a[TEXT], b[TEXT]])).to_list()
    signatures = hasher.signatures_of_normalised(normalised)
    side = np.r_[np.zeros(a.height, dtype=np.int8), np.ones(b.height, dtype=np.int8)]
    if similarity == "jaccard":
        pairs = cross_candidates(signatures, side, threshold)
        scores = agreement(signatures, pairs[:, 0], pairs[:, 1])
    else:
        pairs = cross_candidates(signatures, side, min(DEFAULT_CANDIDATE_THRESHOLD, threshold))
        scores = edit_similarity(normalised, pairs[:, 0], pairs[:, 1])
    keep = scores >= threshold
    pairs, scores = pairs[keep], scores[keep]
    j = pairs[:, 1] - a.height
    return pl.DataFrame(
        {
            "id_a": a[ID].gather(pairs[:, 0]),
            "id_b": b[ID].gather(j),
            "similarity": np.round(scores, 4),
            "text_a": a[TEXT].gather(pairs[:, 0]),
            "text_b": b[TEXT].gather(j),
        }
    ).sort(["similarity", "id_a", "id_b"], descending=[True, False, False])
