"""`dedup: {method: minhash}`: near duplicates by MinHash signatures and LSH banding.

The signatures are datasketch's (same seed, same `affine32` permutations, same MurmurHash3
pre-mix), computed for a whole batch of documents at once instead of a Python loop per shingle:
texts become one array of code points, shingle hashes come from a rolling polynomial over that
array (numpy), and a small numba kernel takes each document's minimum per permutation on all
cores. Feeding the same shingle hashes to `datasketch.MinHash` gives identical signatures (tested).

LSH bands (datasketch's band/row optimiser) only propose candidate pairs; each candidate is then
verified, by default on its edit similarity (normalised Levenshtein, rapidfuzz, all cores) rather
than its estimated Jaccard: a resent ticket with a few typos loses a third of its character
shingles but few of its characters. Verified pairs become clusters by scipy's connected components.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from curate.clean.redact import PLACEHOLDER
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
        return self.signatures_of_normalised(normalize_for_shingles(texts).to_list())

    def signatures_of_normalised(self, normalised: list[str]) -> np.ndarray:
        """Signatures of texts already passed through `normalize_for_shingles`."""
        a, b = permutations(self.num_perm, self.seed)
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
    codes = _distinct(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)
    return np.stack([codes // n, codes % n], axis=1)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a plain sort: several times faster than `np.unique` on int64 here)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def agreement(signatures: np.ndarray, i: np.ndarray, j: np.ndarray, block: int = 200_000) -> np.ndarray:
    """Estimated Jaccard similarity of pairs: the share of permutations whose minima agree."""
    out = np.empty(len(i), dtype=np.float32)
    for start in range(0, len(i), block):
        s = slice(start, start + block)
        out[s] = (signatures[i[s]] == signatures[j[s]]).mean(axis=1)
    return out


def edit_similarity(texts: list[str], i: np.ndarray, j: np.ndarray, at_least: float | None = None, block: int = 500_000) -> np.ndarray:
    """1 - Levenshtein distance / length of the longer text, for each pair (texts[i], texts[j]).

    With `at_least`, pairs below it score 0: rapidfuzz then stops early (about 2x faster). Pairs
    go to rapidfuzz a block at a time, so memory does not grow with the number of candidates.
    """
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    out = np.empty(len(i), dtype=np.float32)
    most = None if at_least is None else 1 - at_least + 1e-9  # a pair exactly at the threshold passes despite 1 - 0.9 != 0.1
    for start in range(0, len(i), block):
        left = [texts[k] for k in i[start : start + block]]
        right = [texts[k] for k in j[start : start + block]]
        distance = process.cpdist(left, right, scorer=Levenshtein.normalized_distance, dtype=np.float64, workers=-1, score_cutoff=most)
        out[start : start + len(left)] = 1 - distance if most is None else np.where(distance <= most, 1 - distance, 0)
    return out


def without_pii_clauses(texts: pl.Series) -> pl.Series:
    """Drop each clause that holds a redaction placeholder ("..., my email is [EMAIL]").

    Contact details do not make a ticket a different request: a resend that leaves out (or
    changes) the "call me on [PHONE]" clause is still the same ticket. A text that would be left
    with no letters keeps all of it.
    """
    stripped = texts.str.replace_all(r"[^.,;:!?\n]*" + PLACEHOLDER.pattern + r"[^.,;:!?\n]*", " ")
    return pl.select(pl.when(stripped.str.contains(r"\p{L}")).then(stripped).otherwise(texts)).to_series()


def number_keys(texts: pl.Series) -> np.ndarray:
    """A hash of the set of numbers in each text (placeholders aside): tickets about different orders are not duplicates."""
    numbers = (texts.fill_null("").str.replace_all(PLACEHOLDER.pattern, " ").str.extract_all(r"\d+")
               .list.eval(pl.element().str.strip_chars_start("0")).list.unique().list.sort())
    return numbers.list.join(",").hash(seed=0).to_numpy()


def near_duplicate_clusters(signatures: np.ndarray, threshold: float) -> np.ndarray:
    """A component label per row (-1 for rows with no near duplicate), from LSH candidates whose
    estimated Jaccard reaches `threshold`."""
    edges = candidate_edges(signatures, threshold)
    return components(len(signatures), edges[agreement(signatures, edges[:, 0], edges[:, 1]) >= threshold])


DEFAULT_THRESHOLD = {"edit": 0.9, "jaccard": 0.8}
DEFAULT_CANDIDATE_THRESHOLD = 0.5


@dataclass
class MinHashDedup(Stage):
    """Near duplicates: LSH on MinHash signatures proposes pairs, `similarity` decides.

    `similarity: edit` (default) keeps a candidate whose normalised texts reach `threshold` (0.9)
    edit similarity, with candidates drawn at Jaccard `candidate_threshold` (0.5) so that typos do
    not hide a resend; `similarity: jaccard` is classic MinHash dedup: the estimated Jaccard
    reaches `threshold` (0.8), with candidates drawn at the same threshold.
    """

    method: Literal["minhash"] = "minhash"
    similarity: Literal["edit", "jaccard"] = "edit"
    threshold: float | None = None
    candidate_threshold: float | None = None
    num_perm: int = 128
    ngram: int = 3
    unit: Literal["char", "word"] = "char"
    seed: int = 1
    same_numbers: bool = True
    ignore_pii_clauses: bool = True
    keep: KeepPolicy = "first"
    on_label_conflict: ConflictPolicy = "flag"

    name: ClassVar[str] = "dedup"

    def __post_init__(self) -> None:
        if self.threshold is None:
            self.threshold = DEFAULT_THRESHOLD[self.similarity]
        if self.candidate_threshold is None:
            self.candidate_threshold = self.threshold if self.similarity == "jaccard" else DEFAULT_CANDIDATE_THRESHOLD
        for key in ("threshold", "candidate_threshold"):
            if not 0 < getattr(self, key) <= 1:
                raise ValueError(f"{key} must be in (0, 1], got {getattr(self, key)}")

    def apply(self, rows: pl.DataFrame) -> StageResult:
        texts = rows[TEXT].fill_null("")
        if self.ignore_pii_clauses:
            texts = without_pii_clauses(texts)
        normalised = normalize_for_shingles(texts).to_list()
        signatures = MinHasher(self.num_perm, self.ngram, self.unit, self.seed).signatures_of_normalised(normalised)

        def similarity(i: np.ndarray, j: np.ndarray, at_least: float | None = None) -> np.ndarray:
            """The pairs' similarity under `self.similarity`; `at_least` lets edit distance stop early."""
            return edit_similarity(normalised, i, j, at_least) if self.similarity == "edit" else agreement(signatures, i, j)

        candidates = candidate_edges(signatures, self.candidate_threshold)
        verified = self.verify(candidates, number_keys(texts) if self.same_numbers else None, normalised, similarity)
        marked = mark_clusters(rows, components(rows.height, verified), self.keep, similarity)
        measure = "edit similarity" if self.similarity == "edit" else "estimated Jaccard"
        kept, rejected, clusters, stats = resolve_clusters(marked, self.label, "near_duplicate", self.keep, self.on_label_conflict, measure)
        bands, rows_per_band = lsh_params(self.candidate_threshold, self.num_perm)
        stats.update({"similarity": self.similarity, "threshold": self.threshold, "candidate_threshold": self.candidate_threshold,
                      "bands": bands, "rows_per_band": rows_per_band, "candidate_pairs": len(candidates), "verified_pairs": len(verified)})
        return StageResult(kept=kept, rejected=rejected, stats=stats, artifacts={"clusters": clusters})

    def verify(self, edges: np.ndarray, numbers: np.ndarray | None, normalised: list[str], similarity) -> np.ndarray:
        """The candidate pairs that are duplicates: same numbers (when given), then similarity >= threshold."""
        if numbers is not None:
            edges = edges[numbers[edges[:, 0]] == numbers[edges[:, 1]]]
        if self.similarity == "edit":  # edit similarity can't exceed shorter / longer length: skip pairs that can't pass
            lengths = np.fromiter(map(len, normalised), dtype=np.int64, count=len(normalised))
            a, b = lengths[edges[:, 0]], lengths[edges[:, 1]]
            edges = edges[np.minimum(a, b) >= self.threshold * np.maximum(a, b)]
        return edges[similarity(edges[:, 0], edges[:, 1], at_least=self.threshold) >= self.threshold]
