"""`dedup: {method: minhash}`: near duplicates by MinHash signatures and LSH banding.

LSH bands only propose candidate pairs; each candidate is then verified, by default on its edit
similarity (normalised Levenshtein, rapidfuzz, all cores) rather than its estimated Jaccard: a
resent ticket with a few typos loses a third of its character shingles but few of its characters.
Verified pairs become clusters by scipy's connected components. The stage is spread as linked rows
(`core/spread.py`): the same functions run on one frame and, past a block, over blocks on any engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl

from curate.core.columns import CLUSTER, LABEL, SIMILARITY, TEXT
from curate.core.params import NgramSize, Positive, Seed
from curate.core.spread import ROW, gather
from curate.core.stage import RunContext, Spread, Stage, StageResult
from curate.stages.dedup.clusters import (
    ConflictPolicy,
    CopiesPolicy,
    KeepPolicy,
    mark_clusters,
    resolve_clusters,
    same_label,
)
from curate.stages.dedup.minhash.keys import number_keys, without_pii_clauses
from curate.stages.dedup.minhash.lsh import band_memberships, lsh_params
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
    copies: CopiesPolicy = "drop"  # weight: a removed copy counts in the kept row's sample_weight
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

    @property
    def spread(self) -> Spread:
        """Near duplicates are linked rows: rows that share an LSH band bucket are candidates, `holds` verifies them,
        `recheck` drops pairs that differ by a common word, and each cluster keeps one row (`resolve`); a row linked to
        nothing stands alone and is kept (`alone`). Edit similarity reads texts, not signatures: an engine need not
        keep the signatures (512 bytes a row) after the buckets."""
        return Spread.linked(
            features=self.features,
            keys=self.band_keys,
            holds=self.holds,
            recheck=self.recheck,
            resolve=self.resolve,
            carry=("_normalised", "_numbers", "_label") if self.similarity == "edit" else None,
            alone=self.alone,
        )

    def features(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> pl.DataFrame:
        """Per row (any block, anywhere): the normalised text, its signature and the key of the numbers it names. The
        numbers come from the whole text: a contact clause left out of the comparison ("(order 1268292) my email is
        [EMAIL]") may hold the order number that tells two tickets apart."""
        original = rows[TEXT].fill_null("")
        texts = without_pii_clauses(original) if self.ignore_pii_clauses else original
        normalised = normalize_for_shingles(texts)
        signatures = MinHasher(self.num_perm, self.ngram, self.unit, self.seed).signatures_of_normalised(
            normalised.to_list(), ctx.reporter(self.display_name, "signatures") if ctx else None
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

    def band_keys(self, features: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """One membership per (LSH band, bucket) a row falls in: rows that share one are candidates."""
        return band_memberships(features["_signature"].to_numpy(), features[ROW], self.thresholds()[1])

    def holds(self, found: pl.DataFrame, pairs: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
        """The candidates with the same label (unless `across_labels`) and numbers that are similar enough."""
        if not self.across_labels:
            pairs = same_label(pairs, found["_label"])
        return self.similar(pairs, found, self.thresholds()[0]), {"candidate_pairs": len(pairs)}

    def recheck(self, features: pl.DataFrame | Any, pairs: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
        """Similar pairs that differ by a word the column uses often are not duplicates (`distinct_words`): how often
        is counted over every row's features, once."""
        if self.distinct_words and len(pairs):
            found, local = gather(features, pairs)
            involved = np.unique(local)  # only these texts become Python strings
            texts = dict(zip(involved.tolist(), found["_normalised"].gather(involved).to_list()))
            pairs = pairs[~distinct_pairs(texts, local, features.lazy().select("_normalised"))]
        return pairs, {"verified_pairs": len(pairs)}

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

    def similarity_of(self, features: pl.DataFrame):
        """The pairs' similarity under `self.similarity`, for positions in `features`; `at_least` lets edit distance
        stop early."""
        if self.similarity == "edit":
            normalised = features["_normalised"]
            return lambda i, j, at_least=None: edit_similarity(normalised, i, j, at_least)
        signatures = features["_signature"].to_numpy()
        return lambda i, j, at_least=None: agreement(signatures, i, j)

    def alone(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Rows without a duplicate are in no cluster: kept, with the columns `resolve` gives such rows."""
        marked = rows.with_columns(pl.lit(None, pl.String).alias(CLUSTER), pl.lit(None, pl.Float32).alias(SIMILARITY))
        return resolve_clusters(
            marked, self.display_name, "near_duplicate", self.keep, self.on_label_conflict, copies=self.copies
        )[0]

    def resolve(
        self, rows: pl.DataFrame, groups: np.ndarray, features: pl.DataFrame, ctx: RunContext | None = None
    ) -> StageResult:
        """Keep one row per cluster (`groups`: each row's, -1 for none; `features`: the rows' own, in their order)."""
        threshold, candidate_threshold = self.thresholds()
        marked = mark_clusters(rows, groups, self.keep, self.similarity_of(features), threshold)
        measure = "edit similarity" if self.similarity == "edit" else "estimated Jaccard"
        kept, rejected, clusters, stats = resolve_clusters(
            marked, self.display_name, "near_duplicate", self.keep, self.on_label_conflict, measure, self.copies
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
