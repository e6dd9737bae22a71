"""MinHash-LSH near-duplicate detection in four rooms: signatures, LSH candidates, pair similarity,
ticket-specific keys; `stage.py` puts them together as `dedup: {method: minhash}`."""

from curate.stages.dedup.minhash.keys import number_keys, without_pii_clauses
from curate.stages.dedup.minhash.lsh import band_keys, candidate_edges, lsh_params, near_duplicate_clusters
from curate.stages.dedup.minhash.signatures import (
    MinHasher,
    normalize_for_shingles,
    shingle_hashes,
    signatures_from_hashes,
)
from curate.stages.dedup.minhash.similarity import agreement, edit_similarity
from curate.stages.dedup.minhash.stage import DEFAULT_CANDIDATE_THRESHOLD, DEFAULT_THRESHOLD, MinHashDedup

__all__ = [
    "DEFAULT_CANDIDATE_THRESHOLD",
    "DEFAULT_THRESHOLD",
    "MinHashDedup",
    "MinHasher",
    "agreement",
    "band_keys",
    "candidate_edges",
    "edit_similarity",
    "lsh_params",
    "near_duplicate_clusters",
    "normalize_for_shingles",
    "number_keys",
    "shingle_hashes",
    "signatures_from_hashes",
    "without_pii_clauses",
]
