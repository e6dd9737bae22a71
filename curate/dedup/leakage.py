"""Near duplicates between two datasets (say a user's train and test files), by MinHash."""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.columns import ID, TEXT
from curate.dedup.minhash import MinHasher, agreement, band_keys, lsh_params


def cross_pairs(signatures: np.ndarray, side: np.ndarray, threshold: float) -> np.ndarray:
    """Pairs (i in side 0, j in side 1) sharing an LSH bucket with estimated Jaccard >= threshold."""
    bands, rows = lsh_params(threshold, signatures.shape[1])
    found = []
    for band in range(bands):
        frame = pl.DataFrame({"key": band_keys(signatures, band, rows), "i": np.arange(len(signatures)), "side": side})
        left, right = frame.filter(pl.col("side") == 0), frame.filter(pl.col("side") == 1)
        joined = left.join(right, on="key", suffix="_b").select("i", "i_b")
        if joined.height:
            found.append(joined.to_numpy())
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.unique(np.concatenate(found), axis=0)
    return pairs[agreement(signatures, pairs[:, 0], pairs[:, 1]) >= threshold]


def find_leakage(a: pl.DataFrame, b: pl.DataFrame, threshold: float = 0.8, hasher: MinHasher | None = None) -> pl.DataFrame:
    """Every pair of a row of `a` and a row of `b` whose texts are near duplicates, most similar first."""
    hasher = hasher or MinHasher()
    texts = pl.concat([a[TEXT], b[TEXT]])
    signatures = hasher.signatures(texts)
    side = np.r_[np.zeros(a.height, dtype=np.int8), np.ones(b.height, dtype=np.int8)]
    pairs = cross_pairs(signatures, side, threshold)
    similarity = agreement(signatures, pairs[:, 0], pairs[:, 1]) if len(pairs) else np.zeros(0, dtype=np.float32)
    j = pairs[:, 1] - a.height if len(pairs) else np.zeros(0, dtype=np.int64)
    return pl.DataFrame({
        "id_a": a[ID].gather(pairs[:, 0] if len(pairs) else []), "id_b": b[ID].gather(j),
        "similarity": np.round(similarity, 4), "text_a": a[TEXT].gather(pairs[:, 0] if len(pairs) else []), "text_b": b[TEXT].gather(j),
    }).sort(["similarity", "id_a", "id_b"], descending=[True, False, False])
