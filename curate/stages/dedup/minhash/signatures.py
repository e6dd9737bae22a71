"""MinHash signatures, datasketch-compatible, for a whole batch of texts at once.

Same seed, same `affine32` permutations, same MurmurHash3 pre-mix as datasketch: texts become one
array of code points, shingle hashes come from a rolling polynomial over that array (numpy), and a
small numba kernel takes each document's minimum per permutation on all cores. Feeding the same
shingle hashes to `datasketch.MinHash` gives identical signatures (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from curate.core.columns import TEXT
from curate.core.text import normalized_text

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
        return self.signatures_of_normalised(normalize_for_shingles(texts).to_list())

    def signatures_of_normalised(
        self, normalised: list[str], on_progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Signatures of texts already passed through `normalize_for_shingles`; `on_progress(done, total)` per batch."""
        a, b = permutations(self.num_perm, self.seed)
        out = np.empty((len(normalised), self.num_perm), dtype=np.uint32)
        for start in range(0, len(normalised), self.batch_size):  # batches bound the shingle arrays' memory
            hashes, offsets = shingle_hashes(normalised[start : start + self.batch_size], self.ngram, self.unit)
            out[start : start + len(offsets)] = signatures_from_hashes(hashes, offsets, a, b)
            if on_progress is not None:
                on_progress(start + len(offsets), len(normalised))
        return out
