"""`dedup: {method: pairs}`: prompt → response pairs grouped by their prompt, resolved by a stated policy.

Rows whose prompts are the same after normalisation (or near-same: MinHash candidates verified on edit similarity,
`prompts: near`) form a prompt group. Within a group, answers whose normalised texts reach `same_answer` edit
similarity are one answer. A group with one answer holds duplicates; a group with several holds an answer conflict,
the generative twin of a label conflict. Which row a group keeps is never decided by file order: the fewest response
checks fired (`response_flags`, from the `responses` stage), then the answer most rows of the group give, then the
longest answer, then the alphabetically first normalised answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from curate.core.columns import ID, RESPONSE, RESPONSE_FLAGS, STAGE, TEXT
from curate.core.errors import CurateError
from curate.core.params import Similarity
from curate.core.spread import packed
from curate.core.stage import RunContext, Spread, Stage, StageResult, stamp
from curate.core.text import normalized_text
from curate.stages.dedup.clusters import components

PROMPT_GROUP = "prompt_group"  # the id of the group's kept row
ANSWER_VARIANT = "answer_variant"  # which of its group's answers a row gives (0: the most common)
ANSWER_CONFLICT = "answer_conflict"
PAIR_GROUPS_ARTIFACT = "pair_groups"
DEFAULT_SAME_ANSWER = {
    "edit": 0.9,
    "semantic": 0.8,
}  # Bitext: two answers to one prompt have median cosine 0.87, 25% under 0.82
MAX_FUZZY_ANSWERS = 200  # a group with more distinct answers is compared on exact (normalised) answers only
ConflictPolicy = Literal["best_scored", "majority", "flag", "drop"]


def groups_in_order(groups: pl.DataFrame) -> pl.DataFrame:
    """The `pair_groups` artifact listed by group and id."""
    return groups.sort(PROMPT_GROUP, ID)


@dataclass
class PairDedup(Stage):
    """Same or near-same prompts: one answer → keep one row; different answers → `on_conflict`.

    `best_scored` keeps the group's best row whatever answer it gives; `majority` keeps the best row of the answer a
    strict majority of the group gives and drops the group on a tie; `flag` keeps every row of a conflicting group
    (`answer_conflict`) for review, its duplicates removed; `drop` drops conflicting groups whole.
    """

    method: Literal["pairs"] = "pairs"
    prompts: Literal["exact", "near"] = "exact"
    threshold: Similarity = 0.9  # `prompts: near`: edit similarity of normalised prompts (same numbers required)
    answers: Literal["edit", "semantic"] = (
        "edit"  # how two answers are compared: characters, or meaning (sentence embeddings)
    )
    same_answer: Similarity | None = None  # the similarity at which two answers are one: None: 0.9 edit, 0.8 cosine
    model: str | None = None  # `answers: semantic`: the sentence-embedding model (default: the packaged MiniLM)
    on_conflict: ConflictPolicy = "best_scored"

    name: ClassVar[str] = "dedup"
    produces: ClassVar[tuple[str, ...]] = (PROMPT_GROUP, ANSWER_CONFLICT)

    @property
    def spread(self) -> Spread:
        """Exact prompts: by the normalised prompt, the groups listed by group and id after, as one piece lists them.
        Near prompts may fall in any partition: every row at once."""
        return Spread.by_key(normalized_text(), order=groups_in_order) if self.prompts == "exact" else Spread.none()

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        if RESPONSE not in rows.columns:
            raise CurateError(
                "dedup: {method: pairs} needs a `response` column",
                "dedup.method",
                hint="map it in the recipe's input (`response: answer`), or read OpenAI chat JSONL",
            )
        groups = self.prompt_groups(rows)
        marked = rows.with_row_index("_order").with_columns(pl.Series("_group", groups).replace(-1, None))
        marked = marked.with_columns(pl.Series("_answer", self.answer_keys(marked, ctx or RunContext())))
        return self.resolve(marked)

    def prompt_groups(self, rows: pl.DataFrame) -> np.ndarray:
        """A group number per row (-1: its prompt stands alone)."""
        if self.prompts == "exact":
            keys = rows.select(normalized_text().alias("k")).with_columns(pl.col("k").rank("dense").alias("g"))
            return (
                keys.select(pl.when(pl.len().over("k") > 1).then(pl.col("g").cast(pl.Int64)).otherwise(-1))
                .to_series()
                .to_numpy()
            )
        from curate.stages.dedup.minhash import MinHashDedup

        linked = MinHashDedup(threshold=self.threshold, across_labels=True).spread  # its near duplicates' groups
        features, held, _ = linked.pairs(rows)
        return linked.groups(features, packed(held, rows.height), rows.height)[0]

    def answer_threshold(self) -> float:
        return self.same_answer if self.same_answer is not None else DEFAULT_SAME_ANSWER[self.answers]

    def answer_keys(self, marked: pl.DataFrame, ctx: RunContext) -> list[str | None]:
        """Per row of a group, the normalised answer that stands for its own and every answer `same_answer`-similar to it
        (the first, sorted, of their connected component)."""
        grouped = marked.filter(pl.col("_group").is_not_null()).with_columns(
            normalized_text(RESPONSE).fill_null("").alias("_normalised")
        )
        similarity = self.answer_similarity(grouped, ctx)
        threshold, keys = self.answer_threshold(), [None] * marked.height
        for (_,), group in grouped.group_by("_group", maintain_order=True):
            distinct = sorted(set(group["_normalised"].to_list()))
            canonical = {a: a for a in distinct}
            if 1 < len(distinct) <= MAX_FUZZY_ANSWERS:
                i, j = np.triu_indices(len(distinct), k=1)
                similar = similarity(distinct, i, j) >= threshold
                labels = components(len(distinct), np.stack([i[similar], j[similar]], axis=1))
                for k, label in enumerate(labels):
                    canonical[distinct[k]] = (
                        distinct[int(np.flatnonzero(labels == label)[0])] if label >= 0 else distinct[k]
                    )
            for order, answer in zip(group["_order"].to_list(), group["_normalised"].to_list(), strict=True):
                keys[order] = canonical[answer]
        return keys

    def answer_similarity(self, grouped: pl.DataFrame, ctx: RunContext):
        """`(answers, i, j) -> similarities` for pairs of one group's distinct normalised answers."""
        from curate.stages.dedup.minhash.similarity import edit_similarity

        if self.answers == "edit":
            return lambda answers, i, j: edit_similarity(answers, i, j, self.answer_threshold())
        # One encoding of every distinct answer in any group (the original text of its first row: casing and
        # punctuation carry meaning to the model), looked up by its normalised form.
        firsts = grouped.unique("_normalised", keep="first", maintain_order=True)
        vectors = np.asarray(
            ctx.embedder(self.model, on_progress=ctx.reporter(self.display_name, "answers encoded")).encode(
                firsts[RESPONSE].fill_null("")
            ),
            dtype=np.float32,
        )
        vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        position = {a: k for k, a in enumerate(firsts["_normalised"].to_list())}

        def cosine(answers: list[str], i: np.ndarray, j: np.ndarray) -> np.ndarray:
            rows = np.array([position[a] for a in answers])
            return (vectors[rows[i]] * vectors[rows[j]]).sum(axis=1)

        return cosine

    def resolve(self, marked: pl.DataFrame) -> StageResult:
        flags = pl.col(RESPONSE_FLAGS).list.len() if RESPONSE_FLAGS in marked.columns else pl.lit(0)
        grouped = marked.filter(pl.col("_group").is_not_null()).with_columns(
            flags.fill_null(0).alias("_flags"),
            pl.len().over("_group", "_answer").alias("_givers"),
            pl.col(RESPONSE).str.len_chars().fill_null(0).alias("_length"),
        )
        # The best row of each group, and of each answer within it: fewest checks fired, the most-given answer, the longest,
        # then the answer's normalised text and the id (identical prompts' ids are numbered in file order: they come last).
        ranked = grouped.sort(
            ["_flags", "_givers", "_length", "_answer", ID], descending=[False, True, True, False, False]
        ).with_columns(
            pl.int_range(pl.len()).over("_group").alias("_rank"),
            pl.int_range(pl.len()).over("_group", "_answer").alias("_answer_rank"),
            pl.col("_answer").n_unique().over("_group").alias("_answers"),
            pl.len().over("_group").alias("_size"),
            pl.col(ID).first().over("_group").alias(PROMPT_GROUP),
        )
        ranked = ranked.with_columns(  # answers numbered by how many rows give them, the most common 0
            pl.concat_str((1_000_000_000 - pl.col("_givers")).cast(pl.String).str.zfill(10), pl.col("_answer"))
            .rank("dense")
            .over("_group")
            .cast(pl.Int64)
            .sub(1)
            .alias(ANSWER_VARIANT),
            (pl.col("_givers").max().over("_group") * 2 > pl.col("_size")).alias("_has_majority"),
            (pl.col("_givers") == pl.col("_givers").max().over("_group")).alias("_is_majority"),
        )
        conflict = pl.col("_answers") > 1
        policy = self.on_conflict
        if policy == "best_scored":
            keep = pl.col("_rank") == 0
        elif policy == "majority":
            keep = (
                pl.when(conflict)
                .then(pl.col("_has_majority") & pl.col("_is_majority") & (pl.col("_answer_rank") == 0))
                .otherwise(pl.col("_rank") == 0)
            )
        elif policy == "flag":
            keep = pl.col("_answer_rank") == 0
        else:
            keep = ~conflict & (pl.col("_rank") == 0)
        ranked = ranked.with_columns(keep.alias("_keep"), conflict.alias(ANSWER_CONFLICT))
        ranked = ranked.with_columns(
            pl.col(ID).filter(pl.col("_keep")).first().over("_group").alias("_kept_id"),
            pl.col("_keep").any().over("_group", "_answer").alias("_answer_kept"),
        )
        outcome = (
            pl.when(pl.col("_kept_id").is_null())
            .then(pl.lit(f"none kept ({policy})"))
            .otherwise(pl.format(f"kept {{}} ({policy})", pl.col("_kept_id")))
        )
        rejected = stamp(
            ranked.filter(~pl.col("_keep")),
            self.display_name,
            pl.when(pl.col("_answer_kept")).then(pl.lit("duplicate_pair")).otherwise(pl.lit("answer_conflict")),
            pl.format(
                "prompt group {}: {} rows, {} different answer(s); {}",
                pl.col(PROMPT_GROUP),
                pl.col("_size"),
                pl.col("_answers"),
                outcome,
            ),
        )
        helper = [
            "_group",
            "_answer",
            "_flags",
            "_givers",
            "_rank",
            "_answer_rank",
            "_answers",
            "_size",
            "_has_majority",
            "_is_majority",
            "_keep",
            "_kept_id",
            "_answer_kept",
            "_length",
        ]
        singles = marked.filter(pl.col("_group").is_null()).with_columns(
            pl.lit(None, pl.String).alias(PROMPT_GROUP),
            pl.lit(None, pl.Int64).alias(ANSWER_VARIANT),
            pl.lit(False).alias(ANSWER_CONFLICT),
        )
        kept = pl.concat([singles, ranked.filter(pl.col("_keep"))], how="diagonal_relaxed").sort("_order")
        groups = ranked.select(
            pl.lit(self.display_name).alias(STAGE),
            PROMPT_GROUP,
            ID,
            TEXT,
            RESPONSE,
            ANSWER_VARIANT,
            ANSWER_CONFLICT,
            pl.col("_keep").alias("kept"),
            pl.col("_size").alias("size"),
        ).sort(PROMPT_GROUP, ID)
        stats = {
            "answers_compared_by": self.answers,
            "same_answer": self.answer_threshold(),
            "prompt_groups": int(ranked["_group"].n_unique()) if ranked.height else 0,
            "rows_in_groups": ranked.height,
            "answer_conflict_groups": int(ranked.filter(conflict)["_group"].n_unique()) if ranked.height else 0,
            "conflict_policy": policy,
        }
        return StageResult(
            kept=kept.drop([*helper, "_order"], strict=False),
            rejected=rejected.sort("_order").drop([*helper, "_order"], strict=False),
            stats=stats,
            artifacts={PAIR_GROUPS_ARTIFACT: groups},
        )
