"""`dedup: {method: minhash}`: near duplicates by MinHash signatures and LSH banding.

LSH bands only propose candidate pairs; each candidate is then verified, by default on its edit
similarity (normalised Levenshtein, rapidfuzz, all cores) rather than its estimated Jaccard: a
resent ticket with a few typos loses a third of its character shingles but few of its characters.
Verified pairs become clusters by scipy's connected components.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from curate.core.columns import CLUSTER, LABEL, SIMILARITY, TEXT
from curate.core.params import NgramSize, Positive, Seed
from curate.core.stage import ROW, RunContext, Stage, StageResult
from curate.stages.dedup.clusters import (
    ConflictPolicy,
    KeepPolicy,
    components,
    mark_clusters,
    resolve_clusters,
    same_label,
)
from curate.stages.dedup.minhash.keys import number_keys, without_pii_clauses
from curate.stages.dedup.minhash.lsh import (
    PAIRS_PER_CHUNK,
    as_pairs,
    band_memberships,
    bucket_pairs,
    candidate_edges,
    gather,
    lsh_params,
    pairs_of,
)
from curate.stages.dedup.minhash.signatures import MinHasher, normalize_for_shingles
from curate.stages.dedup.minhash.similarity import agreement, edit_similarity
from curate.stages.dedup.minhash.words import distinct_pairs

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
    num_perm: Positive = 128
    ngram: NgramSize = 3
    unit: Literal["char", "word"] = "char"
    seed: Seed = 1  # the permutations' seed (datasketch's default), not a source of randomness
    same_numbers: bool = True
    distinct_words: bool = True  # pairs that differ by a common content word ("debit" / "credit") are not duplicates
    ignore_pii_clauses: bool = True
    keep: KeepPolicy = "first"
    on_label_conflict: ConflictPolicy = "majority"
    across_labels: bool = False  # True: rows of different labels may be duplicates (then label conflicts decide)

    name: ClassVar[str] = "dedup"

    def __post_init__(self) -> None:
        for key in ("threshold", "candidate_threshold"):
            value = getattr(self, key)
            if value is not None and not 0 < value <= 1:
                raise ValueError(f"{key} must be in (0, 1], got {value}")

    def thresholds(self) -> tuple[float, float]:
        """(threshold, candidate_threshold) with the defaults of the chosen similarity filled in."""
        threshold = DEFAULT_THRESHOLD[self.similarity] if self.threshold is None else self.threshold
        if self.candidate_threshold is not None:
            return threshold, self.candidate_threshold
        return threshold, threshold if self.similarity == "jaccard" else DEFAULT_CANDIDATE_THRESHOLD

    shuffles_groups: ClassVar[bool] = (
        True  # on Ray: signatures per block, a shuffle on LSH band keys, the rest on the driver
    )

    def map_rows(self, rows: pl.DataFrame, on_progress=None) -> pl.DataFrame:
        """Per row (any block, anywhere): the normalised text, its signature and the key of the numbers it names. The
        numbers come from the whole text: a contact clause left out of the comparison ("(order 1268292) my email is
        [EMAIL]") may hold the order number that tells two tickets apart."""
        original = rows[TEXT].fill_null("")
        texts = without_pii_clauses(original) if self.ignore_pii_clauses else original
        normalised = normalize_for_shingles(texts)
        signatures = MinHasher(self.num_perm, self.ngram, self.unit, self.seed).signatures_of_normalised(
            normalised.to_list(), on_progress
        )
        return pl.DataFrame(
            {
                ROW: rows[ROW].cast(pl.Int64),
                "_normalised": normalised,
                "_signature": signatures,
                "_numbers": number_keys(original) if self.same_numbers else np.zeros(rows.height, np.uint64),
                "_label": rows[LABEL].cast(pl.String)
                if LABEL in rows.columns
                else pl.repeat(None, rows.height, dtype=pl.String, eager=True),
            }
        )

    def group_keys(self, mapped: pl.DataFrame) -> pl.DataFrame:
        """One membership per (LSH band, bucket) a row falls in: rows that share one are candidates."""
        return band_memberships(mapped["_signature"].to_numpy(), mapped[ROW], self.thresholds()[1])

    def reduce_groups(self, memberships: pl.DataFrame) -> pl.DataFrame:
        return bucket_pairs(memberships)

    def for_finish(self, mapped: pl.DataFrame) -> pl.DataFrame:
        """Edit-similarity verification reads texts, not signatures (512 bytes a row that need not travel)."""
        return mapped.drop("_signature") if self.similarity == "edit" else mapped

    def pairs_that_hold(
        self, mapped: pl.DataFrame | pl.LazyFrame, reduced: pl.DataFrame, rows: int
    ) -> tuple[pl.DataFrame, dict]:
        """The candidates with the same label (unless `across_labels`) and numbers that are similar enough, a chunk
        of candidates at a time, each reading only its rows of `mapped` (on disk in a streamed run)."""
        threshold, _ = self.thresholds()
        candidates, verified, considered = pairs_of(reduced, rows), [], 0
        for start in range(0, len(candidates), PAIRS_PER_CHUNK):
            found, local = gather(mapped, candidates[start : start + PAIRS_PER_CHUNK])
            if not self.across_labels:
                local = same_label(local, found["_label"])
            considered += len(local)
            verified.append(found[ROW].to_numpy()[self.similar(local, found, threshold)].reshape(-1, 2))
        return as_pairs(np.concatenate(verified) if verified else np.empty((0, 2), dtype=np.int64)), {
            "candidate_pairs": considered
        }

    def pairs_that_hold_together(
        self, mapped: pl.DataFrame | pl.LazyFrame, held: pl.DataFrame, rows: int
    ) -> tuple[pl.DataFrame, dict]:
        """Similar pairs that differ by a word the column uses often are not duplicates (`distinct_words`): how often
        is counted over every row of `mapped`, once."""
        verified = pairs_of(held, rows)
        if self.distinct_words and len(verified):
            found, local = gather(mapped, verified)
            involved = np.unique(local)  # only these texts become Python strings
            texts = dict(zip(involved.tolist(), found["_normalised"].gather(involved).to_list()))
            verified = verified[~distinct_pairs(texts, local, mapped.lazy().select("_normalised"))]
        return as_pairs(verified), {"verified_pairs": len(verified)}

    def similar(self, edges: np.ndarray, found: pl.DataFrame, threshold: float) -> np.ndarray:
        """The pairs (positions in `found`) with the same numbers (when asked) whose similarity reaches `threshold`."""
        if self.same_numbers:
            numbers = found["_numbers"].to_numpy()
            edges = edges[numbers[edges[:, 0]] == numbers[edges[:, 1]]]
        if (
            self.similarity == "edit"
        ):  # edit similarity can't exceed shorter / longer length: skip pairs that can't pass
            lengths = found["_normalised"].str.len_chars().to_numpy()
            a, b = lengths[edges[:, 0]], lengths[edges[:, 1]]
            edges = edges[np.minimum(a, b) >= threshold * np.maximum(a, b)]
        return edges[self.similarity_of(found)(edges[:, 0], edges[:, 1], threshold) >= threshold]

    def similarity_of(self, mapped: pl.DataFrame):
        """The pairs' similarity under `self.similarity`, for positions in `mapped`; `at_least` lets edit distance stop early."""
        if self.similarity == "edit":
            normalised = mapped["_normalised"]
            return lambda i, j, at_least=None: edit_similarity(normalised, i, j, at_least)
        signatures = mapped["_signature"].to_numpy()
        return lambda i, j, at_least=None: agreement(signatures, i, j)

    def finish(
        self, rows: pl.DataFrame, mapped: pl.DataFrame, reduced: pl.DataFrame, ctx: RunContext | None = None
    ) -> StageResult:
        """Clusters of the pairs that hold (rows and `mapped` in row order, numbered 0..n-1; `reduced`: the pairs
        `pairs_that_hold` kept)."""
        return self.decide(rows, mapped, pairs_of(reduced, rows.height))

    def unpaired(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Rows without a duplicate are in no cluster: kept, with the columns `decide` gives such rows."""
        marked = rows.with_columns(pl.lit(None, pl.String).alias(CLUSTER), pl.lit(None, pl.Float32).alias(SIMILARITY))
        return resolve_clusters(marked, self.display_name, "near_duplicate", self.keep, self.on_label_conflict)[0]

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        mapped = self.map_rows(rows.with_row_index(ROW), ctx.reporter(self.display_name, "signatures") if ctx else None)
        candidates = as_pairs(candidate_edges(mapped["_signature"].to_numpy(), self.thresholds()[1]))
        held, pair_stats = self.pairs_that_hold(mapped, candidates, rows.height)
        held, more_stats = self.pairs_that_hold_together(mapped, held, rows.height)
        result = self.finish(rows, mapped, held, ctx)
        result.stats.update(pair_stats | more_stats)
        return result

    def decide(self, rows: pl.DataFrame, mapped: pl.DataFrame, verified: np.ndarray) -> StageResult:
        """Cluster the verified pairs and keep one row per cluster."""
        threshold, candidate_threshold = self.thresholds()
        marked = mark_clusters(
            rows, components(rows.height, verified), self.keep, self.similarity_of(mapped), threshold
        )
        measure = "edit similarity" if self.similarity == "edit" else "estimated Jaccard"
        kept, rejected, clusters, stats = resolve_clusters(
            marked, self.display_name, "near_duplicate", self.keep, self.on_label_conflict, measure
        )
        bands, rows_per_band = lsh_params(candidate_threshold, self.num_perm)
        stats.update(
            {
                "similarity": self.similarity,
                "threshold": threshold,
                "candidate_threshold": candidate_threshold,
                "bands": bands,
                "rows_per_band": rows_per_band,
            }
        )
        return StageResult(kept=kept, rejected=rejected, stats=stats, artifacts={"clusters": clusters})
