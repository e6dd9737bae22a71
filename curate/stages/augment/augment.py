"""`augment`: generate rows for chosen classes, keep only those that pass every check.

Generated rows carry `augmented_from` (the source id), `augment_method` and `augment_similarity`;
candidates that fail a check are counted by reason in the stats (they were never input rows, so
they are not in the rejected set). With a `split` column only training rows are augmented, and
the new rows join the training split, so nothing generated leaks into validation or test.
Of conversations only prompt → response pairs are sources: the user message is reworded (and checked as any
text is), the assistant's answer and the system prompt stay, and the generated row's `messages` say so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import polars as pl

from curate.core import messages as chat
from curate.stages.augment.checks import CandidateChecks
from curate.core.columns import (
    AUGMENT_DROPPED_ARTIFACT,
    AUGMENTED_FROM,
    AUGMENT_METHOD,
    ID,
    LABEL,
    LABEL_ISSUE,
    MESSAGES,
    SPLIT,
    TEXT,
    TRAIN,
)
from curate.core.params import Positive, Seed, Share
from curate.core.stage import RunContext, Stage, StageResult, empty_rejected

PAIRS_IN_REPORT = 8
# Methods that give the same output for the same input every time (greedy decoding): a second round over the
# same sources can only repeat the first (it did: every round-2 candidate on CFPB was a duplicate of round 1's).
DETERMINISTIC_METHODS = frozenset({"backtranslate"})


def build_method(name: str, seed: int, engine: str):
    from curate.stages.augment.methods import BackTranslator, Paraphraser, SynonymAugmenter

    if name == "synonym":
        return SynonymAugmenter(seed=seed)
    if name == "eda":
        return SynonymAugmenter(seed=seed, operations=["swap", "insert", "delete"], name="eda")
    if name == "backtranslate":
        return BackTranslator(engine=engine)
    if name == "paraphrase":
        return Paraphraser(seed=seed)
    raise ValueError(f"unknown augmentation method '{name}'")


def training_pool(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.filter(pl.col(SPLIT) == TRAIN) if SPLIT in rows.columns else rows


def augmentable(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows worth copying the meaning of: written by a person (never a generated row) and not suspected of a wrong label;
    of conversations, only prompt → response pairs (one user message: the text reworded, the answer kept)."""
    if AUGMENTED_FROM in rows.columns:
        rows = rows.filter(pl.col(AUGMENTED_FROM).is_null())
    if MESSAGES in rows.columns:
        pairs = [m is None or chat.single_prompt(chat.load(m)) for m in rows[MESSAGES].to_list()]
        rows = rows.filter(pl.Series(pairs, dtype=pl.Boolean))
    return rows.filter(~pl.col(LABEL_ISSUE).fill_null(False)) if LABEL_ISSUE in rows.columns else rows


GENERATION_CHUNK = 64  # source rows per progress report


def generate_checked(
    sources: pl.DataFrame,
    existing: pl.DataFrame,
    methods: list[str],
    per_row: int,
    checks: CandidateChecks,
    seed: int = 0,
    engine: str = "bergamot",
    report: Callable[[str, int, int | None], None] | None = None,
) -> tuple[pl.DataFrame, Counter, Counter]:
    """Candidates from every method for every source row, checked; returns (kept rows, drops by reason, kept by method).
    `report(what, done, total)` hears of candidates generated, chunk by chunk, then of how many the checks kept."""
    candidates = []
    rounds = {m: 1 if m in DETERMINISTIC_METHODS else per_row for m in methods}  # a second round would repeat the first
    total, done = sources.height * sum(rounds.values()), 0
    source_texts = sources[TEXT].to_list()
    for method_name in methods:
        for round_ in range(rounds[method_name]):
            method = build_method(method_name, seed + round_, engine)
            texts = []
            for start in range(0, len(source_texts), GENERATION_CHUNK):
                texts += method.generate(source_texts[start : start + GENERATION_CHUNK])
                done += len(source_texts[start : start + GENERATION_CHUNK])
                if report:
                    report(f"candidates generated ({method_name})", done, total)
            candidates.append(
                sources.with_columns(
                    pl.col(TEXT).alias("source_text"),
                    pl.Series(TEXT, texts, dtype=pl.String),
                    pl.col(ID).alias(AUGMENTED_FROM),
                    (pl.col(ID) + f"~{method_name}{round_}").alias(ID),
                    pl.lit(method_name).alias(AUGMENT_METHOD),
                )
            )
    if not candidates:
        return sources.clear(), Counter(), Counter()
    kept, reasons = checks.check(pl.concat(candidates, how="diagonal_relaxed"), existing)
    if report:
        report(f"candidates checked ({kept.height} kept)", total, total)
    by_method = Counter(kept[AUGMENT_METHOD].to_list())
    if MESSAGES in kept.columns:  # a conversation's user message becomes the checked rewording; its answer stays
        conversations = [
            chat.with_prompt(m, text) if m is not None else None
            for m, text in zip(kept[MESSAGES].to_list(), kept[TEXT].to_list(), strict=True)
        ]
        kept = kept.with_columns(pl.Series(MESSAGES, conversations, dtype=pl.String))
    return kept.drop("source_text"), reasons, by_method


@dataclass
class Augment(Stage):
    # WordNet synonyms have no word sense ("loan" -> "loanword"): asked for, never a default.
    methods: list[Literal["synonym", "eda", "backtranslate", "paraphrase"]] = field(
        default_factory=lambda: ["backtranslate"]
    )
    per_row: Positive = (
        1  # candidates per source and method; back-translation gives one (greedy decoding repeats itself)
    )
    classes: list[str] | None = None  # None: the classes smaller than the median class
    engine: Literal["bergamot", "marian", "apertium"] = "bergamot"
    min_similarity: Share = 0.75
    max_similarity: Share = 0.985
    label_check: bool = True
    fluency: bool | None = False  # the `less_fluent` check (SmolLM2); None: where its model is installed
    seed: Seed | None = None  # None: the recipe's seed

    name: ClassVar[str] = "augment"

    def checks(self) -> CandidateChecks:
        return CandidateChecks(
            self.min_similarity, self.max_similarity, label_check=self.label_check, fluency=self.fluency
        )

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        pool = training_pool(rows)
        counts = pool.group_by(LABEL).len()
        classes = (
            self.classes
            if self.classes is not None
            else counts.filter(pl.col("len") < counts["len"].median())[LABEL].to_list()
        )
        sources = augmentable(pool).filter(pl.col(LABEL).is_in(classes))
        checks = self.checks()
        ctx = ctx or RunContext()
        generated, reasons, by_method = generate_checked(
            sources,
            rows,
            self.methods,
            self.per_row,
            checks,
            ctx.seed_for(self.seed),
            self.engine,
            lambda what, done, total: ctx.report(self.name, what, done, total),
        )
        kept = pl.concat([rows, generated], how="diagonal_relaxed")
        return StageResult(
            kept=kept,
            rejected=empty_rejected(rows),
            stats=augment_stats(sources.height, generated, reasons, by_method, checks.skipped),
            artifacts={AUGMENT_DROPPED_ARTIFACT: checks.dropped_frame().with_columns(pl.lit(self.name).alias("stage"))},
        )


def augment_stats(
    sources: int, generated: pl.DataFrame, reasons: Counter, by_method: Counter, skipped: dict[str, str] | None = None
) -> dict:
    """`skipped`: checks that did not run (a missing optional model), with why; reported, never silent."""
    skipped = skipped or {}
    tried = generated.height + sum(reasons.values())
    pairs = generated.head(PAIRS_IN_REPORT) if AUGMENTED_FROM in generated.columns else generated.clear()
    return {
        "source_rows": sources,
        "candidates": tried,
        "kept": generated.height,
        "kept_share": round(generated.height / tried, 3) if tried else 0.0,
        "kept_by_method": dict(by_method),
        "dropped_by_reason": {r: n for r, n in reasons.most_common() if n},
        "skipped_checks": skipped,
        "findings": [
            f"{generated.height} of {tried} candidates kept; dropped: "
            + (", ".join(f"{r} {n}" for r, n in reasons.most_common() if n) or "none")
        ]
        + [f"check `{check}` skipped: {why}" for check, why in skipped.items()]
        + [
            f"`{r[AUGMENTED_FROM]}` → “{r[TEXT][:90]}” ({r[AUGMENT_METHOD]}, similarity {r['augment_similarity']:.3f})"
            for r in pairs.iter_rows(named=True)
        ],
    }
