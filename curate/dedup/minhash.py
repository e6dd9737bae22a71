"""`dedup: {method: minhash}`: near duplicates by MinHash signatures and LSH banding.

The signatures are datasketch's (same seed, same `affine32` permutations, same MurmurHash3
pre-mix), computed for a whole batch of documents at once instead of a Python loop per shingle:
texts become one array of code points, shingle hashes come from a rolling polynomial over that
array (numpy), and a small numba kernel takes each document's minimum per permutation on all
cores. Feeding the same shingle hashes to `datasketch.MinHash` gives identical signatures (tested).

LSH bands come from datasketch's band/row optimiser for the threshold; candidate pairs are
verified on their signatures and joined into clusters with scipy's connected components.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from curate.columns import TEXT
from curate.dedup.clusters import (
    ConflictPolicy,
    KeepPolicy,
    components,
    mark_clusters,
    resolve_clusters,
)
from curate.dedup.exact import normalized_text
from curate.stage import Stage, StageResult

_ROLL = np.uint32(0x01000193)  # FNV prime: multiplier of the rolling shingle hash


def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of datasketch's affine32 scheme for this seed (`MinHash(...).permutations`)."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def normalize_for_shingles(texts: pl.Series) -> pl.Series:
    """Casefold and reduce to letters, digits and single spaces, so shingles ignore formatting."""
    return texts.fill_null("").to_frame(TEXT).select(normalized_text(TEXT)).to_series()


def shingle_hashes(texts: list[str], ngram: int, unit: Literal["char", "word"]) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every shingle of every text, and each text's first index into them.

    Each text yields at least one shingle (a text shorter than `ngram` is one shingle).
    """
    if unit == "char":
        padding = "\0" * ngram
        codes = np.frombuffer((padding.join(texts) + padding).encode("utf-32-le"), dtype=np.uint32)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    else:
        tokens = [t.split(" ") if t else [""] for t in texts]
        flat = pl.Series([w for words in tokens for w in words + [""] * ngram], dtype=pl.String)
        codes = (flat.hash(seed=0).to_numpy() & 0xFFFFFFFF).astype(np.uint32)
        lengths = np.fromiter((len(words) for words in tokens), dtype=np.int64, count=len(texts))
    spans = lengths + ngram  # each text is followed by `ngram` padding units, so no window reaches the next text
    doc_start = np.concatenate([[0], np.cumsum(spans)[:-1]])
    usable = len(codes) - ngram + 1
    rolled = np.zeros(max(usable, 0), dtype=np.uint32)
    for k in range(ngram):  # polynomial hash over a window of `ngram` units; uint32 wraps
        rolled = rolled * _ROLL + codes[k : k + usable]
    shingles_per_doc = np.maximum(lengths - ngram + 1, 1)
    # Positions of each doc's shingles: doc_start .. doc_start + shingles_per_doc.
    offsets = np.concatenate([[0], np.cumsum(shingles_per_doc)[:-1]])
    positions = np.repeat(doc_start - offsets, shingles_per_doc) + np.arange(shingles_per_doc.sum())
    return rolled[positions], offsets


def _signature_kernel():
    """The per-document loop, compiled once by numba (cached on disk) and run in parallel over documents."""
    import numba

    @numba.njit(parallel=True, cache=True, nogil=True)
    def kernel(hashes, offsets, a, b, out):  # pragma: no cover - compiled
        for d in numba.prange(len(offsets) - 1):
            for p in range(len(a)):
                out[d, p] = 0xFFFFFFFF
            for s in range(offsets[d], offsets[d + 1]):
                h = numba.uint64(hashes[s])
                h ^= h >> 16
                h = (h * 0x85EBCA6B) & 0xFFFFFFFF
                h ^= h >> 13
                h = (h * 0xC2B2AE35) & 0xFFFFFFFF
                h ^= h >> 16
                for p in range(len(a)):
                    v = (numba.uint64(a[p]) * h + numba.uint64(b[p])) & 0xFFFFFFFF
                    if v < out[d, p]:
                        out[d, p] = v

    return kernel


_KERNEL = None


def signatures_from_hashes(hashes: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures (docs × num_perm, uint32) from shingle hashes grouped by `offsets`.

    Equals datasketch's affine32 `update_batch` on the same hashes: fmix32, then a*h+b mod 2^32, min.
    """
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _signature_kernel()
    bounds = np.append(offsets, len(hashes)).astype(np.int64)
    out = np.empty((len(offsets), len(a)), dtype=np.uint32)
    _KERNEL(hashes.astype(np.uint32), bounds, a, b, out)
    return out


@dataclass
class MinHasher:
    """Computes datasketch-compatible signatures for many texts at once, in batches, on all cores.

    Memory: the signatures (4 bytes × num_perm per row: 512 MB for a million rows at 128) plus one
    batch of shingle hashes.
    """

    num_perm: int = 128
    ngram: int = 3
    unit: Literal["char", "word"] = "char"
    seed: int = 1
    batch_size: int = 20_000

    def signatures(self, texts: pl.Series) -> np.ndarray:
        a, b = permutations(self.num_perm, self.seed)
        normalised = normalize_for_shingles(texts).to_list()
        out = np.empty((len(normalised), self.num_perm), dtype=np.uint32)
        for start in range(0, len(normalised), self.batch_size):  # batches bound the shingle arrays' memory
            hashes, offsets = shingle_hashes(normalised[start : start + self.batch_size], self.ngram, self.unit)
            out[start : start + len(offsets)] = signatures_from_hashes(hashes, offsets, a, b)
        return out


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives and negatives at the threshold (datasketch's optimiser)."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def band_keys(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """One 64-bit bucket key per row for an LSH band (a polynomial over the band's `rows` minima)."""
    key = np.zeros(len(signatures), dtype=np.uint64)
    for r in range(band * rows, (band + 1) * rows):
        key = key * np.uint64(0x100000001B3) + signatures[:, r].astype(np.uint64)
    return key


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> Iterator[np.ndarray]:
    """Per band, pairs (i, j) that share a bucket; j is the bucket's first member (linear, not quadratic)."""
    n = len(signatures)
    for band in range(bands):
        frame = pl.DataFrame({"key": band_keys(signatures, band, rows), "i": np.arange(n, dtype=np.int64)})
        firsts = frame.with_columns(pl.col("i").first().over("key").alias("j")).filter(pl.col("i") != pl.col("j"))
        if firsts.height:
            yield firsts.select("i", "j").to_numpy()


def agreement(signatures: np.ndarray, i: np.ndarray, j: np.ndarray, block: int = 200_000) -> np.ndarray:
    """Estimated Jaccard similarity of pairs: the share of permutations whose minima agree."""
    out = np.empty(len(i), dtype=np.float32)
    for start in range(0, len(i), block):
        s = slice(start, start + block)
        out[s] = (signatures[i[s]] == signatures[j[s]]).mean(axis=1)
    return out


def number_keys(texts: pl.Series) -> np.ndarray:
    """A hash of the set of numbers in each text: tickets about different orders are not duplicates."""
    numbers = texts.fill_null("").str.extract_all(r"\d+").list.eval(pl.element().str.strip_chars_start("0")).list.unique().list.sort()
    return numbers.list.join(",").hash(seed=0).to_numpy()


def near_duplicate_clusters(signatures: np.ndarray, threshold: float, must_match: np.ndarray | None = None) -> np.ndarray:
    """A component label per row (-1 for rows with no near duplicate), from verified LSH candidates.

    A candidate pair is kept when its estimated Jaccard reaches the threshold and, if `must_match`
    is given, both rows have the same key in it.
    """
    n = len(signatures)
    bands, rows = lsh_params(threshold, signatures.shape[1])
    pairs = [p for p in candidate_pairs(signatures, bands, rows)]
    if not pairs:
        return np.full(n, -1)
    edges = np.unique(np.concatenate(pairs), axis=0)
    verified = agreement(signatures, edges[:, 0], edges[:, 1]) >= threshold
    if must_match is not None:
        verified &= must_match[edges[:, 0]] == must_match[edges[:, 1]]
    return components(n, edges[verified])


@dataclass
class MinHashDedup(Stage):
    """Near duplicates: MinHash + LSH at a Jaccard `threshold` on word or character shingles."""

    method: Literal["minhash"] = "minhash"
    threshold: float = 0.8
    num_perm: int = 128
    ngram: int = 3
    unit: Literal["char", "word"] = "char"
    seed: int = 1
    same_numbers: bool = True
    keep: KeepPolicy = "first"
    on_label_conflict: ConflictPolicy = "flag"

    name: ClassVar[str] = "dedup"

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")

    def apply(self, rows: pl.DataFrame) -> StageResult:
        signatures = MinHasher(self.num_perm, self.ngram, self.unit, self.seed).signatures(rows[TEXT])
        labels = near_duplicate_clusters(signatures, self.threshold, number_keys(rows[TEXT]) if self.same_numbers else None)
        marked = mark_clusters(rows, labels, self.keep, lambda i, j: agreement(signatures, i, j))
        kept, rejected, clusters, stats = resolve_clusters(marked, self.label, "near_duplicate", self.keep, self.on_label_conflict)
        bands, rows_per_band = lsh_params(self.threshold, self.num_perm)
        stats.update({"threshold": self.threshold, "bands": bands, "rows_per_band": rows_per_band})
        return StageResult(kept=kept, rejected=rejected, stats=stats, artifacts={"clusters": clusters})
