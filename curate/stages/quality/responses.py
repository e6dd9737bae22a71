"""`responses`: checks on the answer of a prompt → response pair, in quality's score-then-keep style.

Every check writes its score as an `r_*` column first; a row is dropped by the first failing check whose action is
`drop` and every failing `flag` check is listed in `response_flags`. The set-relative checks (length, the same answer
to many prompts) read a word-count histogram and answer counts that every block contributes (`partial`), so a
streamed run decides each block with the totals of all of them.

Slots: `{{Order Number}}`, `<Agent Name>` (quality's `TEMPLATE_SLOT`) are a template's syntax; `[Customer Support Phone
Number]` is a placeholder a writer or a model left. Curate's own redaction writes `[EMAIL]`, `[PHONE_2]`...: such a
token is curate's when the row's `pii` column (written by `redact`) lists that kind, and a leftover placeholder
otherwise: a `[NAME]` on a row where redact found no name was put there by someone else.

Conversations: `turns: last` checks the `response` view (the last assistant turn) against the `text` view (the user
turns); `turns: every` checks each assistant turn of the `messages` against the user messages before it, and a
conversation is dropped by its first failing turn, the detail naming the message (`message 4 (assistant): ends
mid-sentence`); its score columns are that turn's (the last turn's when it is kept, `r_turn` says which) and its flags
those of every turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

import polars as pl
from annotated_types import Gt

from curate.core import messages as chat
from curate.core.columns import DETAIL, ID, MESSAGES, PII, REASON, RESPONSE, RESPONSE_FLAGS, TEXT
from curate.core.errors import CurateError
from curate.core.params import Count, Positive, Share
from curate.core.pii import PII_KINDS
from curate.core.stage import REJECT_DETAIL, REJECT_REASON, Check, Filter, RunContext, Spread, StageResult
from curate.core.text import normalized_text
from curate.stages.quality.quality import BARE_HTML_TAG, TEMPLATE_SLOT, flag_examples, flag_findings, identify_languages

Action = Literal["drop", "flag", "off"]
# What each check does unless the recipe's `actions` says otherwise. Slots and placeholders flag: a set of templates
# (Bitext: 65% of its answers carry `{{...}}` by design) is filled downstream, and dropping would empty it.
DEFAULT_ACTIONS: dict[str, Action] = {
    "empty_response": "drop",
    "cut_off": "drop",
    "refusal": "drop",
    "copies_prompt": "drop",
    "other_language": "drop",
    "short_response": "drop",
    "long_response": "drop",
    "template_slot": "flag",
    "bracket_placeholder": "flag",
    "canned_answer": "flag",
}
# An answer that stops on a comma, a colon, an opening bracket, an empty list item or a word that cannot end an
# English sentence (without a full stop after it: "what you are looking for." is whole).
CUT_OFF = (
    r"(?i)(?:[,:\-–]|(?:^|[^:;=])[(\[{]|(?:^|\s)(?:and|or|but|the|a|an|to|of|your|our|my|from|because|if|than|which|these)"
    r"|\n\s*(?:\d+[.)]|[-*•]))\s*$"
)  # `:(` is a face, `var=1;` code, "nothing to test it with" whole, "type in uname -a" a command
# An answer that ends on a letter or digit ("5. Save the changes to apply the up") is cut off where nearly every
# answer of the set ends with punctuation (Bitext: all 4,514); in a set of chat replies signed "^JD" it says nothing.
UNTERMINATED = r"[\p{L}\p{N}]\s*$"
TERMINATED_SET_SHARE = 0.95
# A refusal or an assistant speaking about itself, said near the start of the answer (a refusal leads with it).
REFUSAL = (
    r"(?i)\bas an ai\b|\bai (?:language )?model\b|\bi am an ai\b|\bi'?m an ai\b|^.{0,80}\b(?:i(?:'m| am) (?:sorry|afraid),? but "
    r"i (?:can(?:no|')t|am unable to|'m unable to|am not able to) (?:help|assist|provide|comply|fulfil|answer|share|do that)|i(?:'m| am) (?:unable|not able) to (?:assist|help) with (?:this|that|your)"
    r"|i can(?:no|')t (?:assist|help) (?:you )?with (?:this|that))"
)
REFUSAL_HEAD = 300  # a refusal says so in the answer's first sentences
# `[Customer Support Phone Number]`, `[X]`, `[continue answering ...]`: a bracketed phrase that is no markdown link
# (`[here](url)`), no footnote (`[1]`) and no checkbox (`[ ]`, `[x]`).
BRACKETED = r"\[[^\[\]\n]{1,80}\](?:[^(]|$)"
CHECKBOX_OR_FOOTNOTE = r"^\[\s*(?:\d+|x|X)?\s*\]|\{\{"  # `[{{Website Name}}]` is counted as a template slot
LOG_SCALE_FLOOR = 0.1  # a set of near-identical lengths would make every small difference an outlier
COPY_NGRAM = 3
MENTION = r"(?:^|\s)@\w+"


def answer_histogram(rows: pl.DataFrame) -> pl.DataFrame:
    """Per block: answers by word count, and answers by (answer, prompt) hash; summed over blocks they are the totals."""
    words = response_words().alias("key")
    answered = rows.filter(pl.col(RESPONSE).str.contains(r"[\p{L}\p{N}]").fill_null(False))
    lengths = (
        answered.group_by(words.cast(pl.UInt64))
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .with_columns(pl.lit("words").alias("kind"), pl.lit(None, pl.UInt64).alias("prompt"))
    )
    pairs = (
        answered.group_by(answer_key().alias("key"), normalized_text(TEXT).hash().alias("prompt"))
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .with_columns(pl.lit("answer").alias("kind"))
    )
    unterminated = pl.DataFrame(
        {
            "kind": ["unterminated"],
            "key": [None],
            "prompt": [None],
            "n": [answered[RESPONSE].str.contains(UNTERMINATED).sum()],
        },
        schema={"kind": pl.String, "key": pl.UInt64, "prompt": pl.UInt64, "n": pl.Int64},
    )
    return pl.concat(
        [lengths.select("kind", "key", "prompt", "n"), pairs.select("kind", "key", "prompt", "n"), unterminated]
    )


def answer_key() -> pl.Expr:
    """What makes two answers the same answer: their normalised text without @mentions (a chat reply addresses its
    asker: "@kim Please send us an email at ..." is the same canned answer as "@lee Please send us ...")."""
    return normalized_text(pl.col(RESPONSE).str.replace_all(MENTION, "")).hash()


def response_words() -> pl.Expr:
    return pl.col(RESPONSE).str.count_matches(r"\S+").fill_null(0)


def log_length_centre(totals: pl.DataFrame) -> tuple[float, float] | None:
    """Median of log(words) and its robust scale (1.4826 × MAD, at least `LOG_SCALE_FLOOR`), from the histogram."""
    lengths = totals.filter(pl.col("kind") == "words", pl.col("key") > 0).group_by("key").agg(pl.col("n").sum())
    if lengths.is_empty():
        return None
    logs = lengths.select(pl.col("key").cast(pl.Float64).log().alias("x"), "n")
    centre = weighted_median(logs)
    spread = weighted_median(logs.select((pl.col("x") - centre).abs().alias("x"), "n"))
    return centre, max(1.4826 * spread, LOG_SCALE_FLOOR)


def weighted_median(values: pl.DataFrame) -> float:
    ordered = values.sort("x").with_columns(pl.col("n").cum_sum().alias("below"))
    half = ordered["n"].sum() / 2
    return float(ordered.filter(pl.col("below") >= half)["x"][0])


@dataclass
class ResponseChecks(Filter):
    """Empty, cut-off, refused, copied, other-language, out-of-distribution and templated answers."""

    max_length_deviation: Annotated[float, Gt(0)] = (
        6.0  # robust z of log(words) against the set: 6 ≈ 4.5× from the median on Bitext
    )
    min_rows_for_length: Positive = 50  # fewer answers cannot show a distribution: the length checks stay silent
    max_prompt_copy: Share = 0.8  # share of the answer's word 3-grams found in the prompt
    canned_min_prompts: Positive = 5  # the same answer to this many different prompts is canned
    languages: list[str] = field(
        default_factory=lambda: ["en"]
    )  # expected where a prompt is too short to tell its language
    language_min_chars: Count = 25
    language_min_confidence: Share = 0.9
    actions: dict[str, Action] = field(default_factory=dict)  # check → drop | flag | off, over DEFAULT_ACTIONS
    turns: Literal["last", "every"] = "last"  # every: each assistant turn of a conversation (its `messages`)

    name: ClassVar[str] = "responses"
    flag_column: ClassVar[str] = RESPONSE_FLAGS
    # The response is checked when the stage runs: ingest's declared columns do not say whether the input maps one.
    requires: ClassVar[tuple[str, ...]] = (ID, TEXT)
    produces: ClassVar[tuple[str, ...]] = (RESPONSE_FLAGS,)

    @property
    def spread(self) -> Spread:
        """Per block with the totals of every block's `partial`; the stats once (`finish_stats`)."""
        return Spread.by_totals(self.partial, self.apply_given, self.finish_stats)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.actions) - set(DEFAULT_ACTIONS))
        if unknown:
            raise ValueError(f"unknown check(s) {', '.join(unknown)} in actions; checks: {', '.join(DEFAULT_ACTIONS)}")

    def action(self, check: str) -> Action:
        return self.actions.get(check, DEFAULT_ACTIONS[check])

    def partial(self, rows: pl.DataFrame, ctx: RunContext) -> pl.DataFrame:
        if RESPONSE not in rows.columns:
            raise CurateError(
                "the responses stage needs a `response` column",
                "responses",
                hint=f"map it in the recipe's input (`response: answer`), or read OpenAI chat JSONL; columns: {', '.join(rows.columns)}",
            )
        return answer_histogram(self.answers(rows))

    def answers(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows the checks score: the rows themselves, or with `turns: every` one per assistant turn."""
        return assistant_turn_rows(rows) if self.turns == "every" and MESSAGES in rows.columns else rows

    def apply_given(self, rows: pl.DataFrame, totals: pl.DataFrame, ctx: RunContext) -> StageResult:
        answers = self.answers(rows)
        decided = self.decide(self.scores(answers, totals), ctx)
        return decided if answers is rows else self.fold_turns(rows, decided, ctx)

    def fold_turns(self, rows: pl.DataFrame, decided: StageResult, ctx: RunContext) -> StageResult:
        """Each conversation decided by its turns: dropped by its first rejected turn, flagged with every turn's flags."""
        scores = [c for c in decided.kept.columns if c.startswith("r_") and c != "r_turn"]
        turns = pl.concat([decided.kept, decided.rejected], how="diagonal_relaxed").select(
            TURN_ROW, "r_turn", REASON, DETAIL, RESPONSE_FLAGS, *scores
        )
        first_rejected = turns.filter(pl.col(REASON).is_not_null()).sort("r_turn").group_by(TURN_ROW).first()
        last = turns.sort("r_turn", nulls_last=False).group_by(TURN_ROW).last()
        deciding = pl.concat([first_rejected, last.filter(~pl.col(TURN_ROW).is_in(first_rejected[TURN_ROW].implode()))])
        flags = turns.group_by(TURN_ROW).agg(
            pl.col(RESPONSE_FLAGS).list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True)
        )
        named = pl.when(pl.col("r_turn").is_not_null()).then(
            pl.format("message {} (assistant): {}", pl.col("r_turn"), pl.col(DETAIL))
        )
        marked = (
            rows.with_row_index(TURN_ROW)
            .join(deciding.drop(RESPONSE_FLAGS), on=TURN_ROW, how="left", maintain_order="left")
            .join(flags, on=TURN_ROW, how="left", maintain_order="left")
            .with_columns(pl.col(REASON).alias(REJECT_REASON), named.otherwise(pl.col(DETAIL)).alias(REJECT_DETAIL))
            .drop(TURN_ROW, REASON, DETAIL)
        )
        result = self.split_marked(marked)
        counts = result.kept[RESPONSE_FLAGS].explode().drop_nulls().value_counts(sort=True)
        result.stats = {
            "flagged": dict(zip(counts[RESPONSE_FLAGS].to_list(), counts["count"].to_list())),
            **self.summarize(result.kept, ctx),
            "assistant_turns_checked": decided.kept.height + decided.rejected.height,
        }
        return result

    def scores(self, rows: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
        response = pl.col(RESPONSE).fill_null("")
        answered_rows = int(totals.filter(pl.col("kind") == "words")["n"].sum() or 0)
        enough = answered_rows >= self.min_rows_for_length
        centre = log_length_centre(totals) if enough else None
        unterminated = int(totals.filter(pl.col("kind") == "unterminated")["n"].sum() or 0)
        punctuated_set = enough and 1 - unterminated / answered_rows >= TERMINATED_SET_SHARE
        length_z = (
            ((response_words().cast(pl.Float64).log() - centre[0]) / centre[1]).round(2)
            if centre
            else pl.lit(None, pl.Float64)
        )
        prompts_per_answer = (
            totals.filter(pl.col("kind") == "answer")
            .group_by("key")
            .agg(pl.col("prompt").n_unique().cast(pl.Int64).alias("r_same_answer_prompts"))
        )
        # `[EMAIL]` is curate's redaction where redact found an e-mail in this row (its `pii` column), a placeholder otherwise
        unredacted = response
        if PII in rows.columns:
            kinds = pl.col(PII).fill_null("").str.split(",")
            for kind in PII_KINDS:
                unredacted = (
                    pl.when(kinds.list.contains(kind))
                    .then(unredacted.str.replace_all(rf"\[{kind}(?:_\d+)?\]", ""))
                    .otherwise(unredacted)
                )
        placeholders = unredacted.str.extract_all(BRACKETED).list.eval(
            pl.element().filter(~pl.element().str.contains(CHECKBOX_OR_FOOTNOTE))
        )
        answer_grams, prompt_grams = word_ngrams(RESPONSE), word_ngrams(TEXT)
        scored = rows.with_columns(
            response_words().alias("r_words"),
            length_z.alias("r_length_z"),
            response.str.strip_chars().str.slice(-30).alias("r_ending"),
            (
                response.str.strip_chars().str.contains(CUT_OFF)
                | (pl.lit(punctuated_set) & response.str.contains(UNTERMINATED))
            ).alias("r_cut_off"),
            response.str.slice(0, REFUSAL_HEAD).str.contains(REFUSAL).alias("r_refusal"),
            response.str.replace_all(BARE_HTML_TAG, "").str.count_matches(TEMPLATE_SLOT).alias("r_template_slots"),
            placeholders.list.len().alias("r_bracket_placeholders"),
            pl.when(answer_grams.list.len() > 0)
            .then(answer_grams.list.set_intersection(prompt_grams).list.len() / answer_grams.list.len())
            .otherwise(0.0)
            .round(3)
            .alias("r_prompt_copy"),
            answer_key().alias("_answer_key"),
        )
        scored = scored.join(
            prompts_per_answer, left_on="_answer_key", right_on="key", how="left", maintain_order="left"
        )
        # lower case: langid takes a shouted German prompt for Nigerian Pidgin (0.02), its lower case for German
        prompt_language, prompt_confidence = identify_languages(
            scored[TEXT].str.to_lowercase(), self.languages, self.language_min_chars
        )
        answer_language, answer_confidence = identify_languages(
            scored[RESPONSE].fill_null("").str.to_lowercase(), self.languages, self.language_min_chars
        )
        sure = self.language_min_confidence
        return scored.with_columns(
            prompt_language.alias("r_prompt_language"),
            answer_language.alias("r_language"),
            pl.Series(known(prompt_language, prompt_confidence, sure)).alias("_prompt_known"),
            pl.Series(known(answer_language, answer_confidence, sure)).alias("_answer_known"),
        ).drop("_answer_key")

    def checks(self) -> list[Check]:
        def detail(template: str, *columns: str) -> pl.Expr:
            return pl.format(template, *[pl.col(c) for c in columns])

        blank = pl.col(RESPONSE).is_null() | ~pl.col(RESPONSE).str.contains(r"[\p{L}\p{N}]")
        deviation = self.max_length_deviation
        checks = [
            (
                "empty_response",
                blank,
                pl.when(pl.col(RESPONSE).is_null())
                .then(pl.lit("no response"))
                .otherwise(pl.lit("a response without a letter or digit")),
            ),
            (
                "copies_prompt",
                pl.col("r_prompt_copy") >= self.max_prompt_copy,
                detail(
                    f"{{}} of the answer's word {COPY_NGRAM}-grams are the prompt's (maximum {self.max_prompt_copy})",
                    "r_prompt_copy",
                ),
            ),
            ("cut_off", pl.col("r_cut_off"), detail("ends mid-sentence: “…{}”", "r_ending")),
            ("refusal", pl.col("r_refusal"), pl.lit("a refusal or an assistant speaking of itself as an AI")),
            # against the prompt's language; where langid is unsure of the prompt or it is too short, against its guess and
            # the expected `languages` both (a German answer to a German prompt langid is unsure of stays)
            (
                "other_language",
                pl.col("_answer_known")
                & pl.col("r_language").ne_missing(pl.col("r_prompt_language"))
                & (pl.col("_prompt_known") | ~pl.col("r_language").is_in(self.languages)),
                pl.format(
                    "answer in {}, prompt in {}",
                    pl.col("r_language"),
                    pl.when(pl.col("_prompt_known"))
                    .then(pl.col("r_prompt_language"))
                    .otherwise(
                        pl.format(
                            f"{{}} (unsure or too short to tell; expected {', '.join(self.languages)})",
                            pl.col("r_prompt_language").fill_null("?"),
                        )
                    ),
                ),
            ),
            (
                "short_response",
                pl.col("r_length_z") < -deviation,
                detail(f"{{}} words: length z {{}} (limit -{deviation:g})", "r_words", "r_length_z"),
            ),
            (
                "long_response",
                pl.col("r_length_z") > deviation,
                detail(f"{{}} words: length z {{}} (limit {deviation:g})", "r_words", "r_length_z"),
            ),
            (
                "template_slot",
                pl.col("r_template_slots") > 0,
                detail("{} unfilled template slot(s)", "r_template_slots"),
            ),
            (
                "bracket_placeholder",
                pl.col("r_bracket_placeholders") > 0,
                detail("{} bracketed placeholder(s) left", "r_bracket_placeholders"),
            ),
            (
                "canned_answer",
                pl.col("r_same_answer_prompts") >= self.canned_min_prompts,
                detail("the same answer to {} different prompts", "r_same_answer_prompts"),
            ),
        ]
        return [
            Check(reason, ~blank & fails if reason != "empty_response" else fails, why, self.action(reason))
            for reason, fails, why in checks
            if self.action(reason) != "off"
        ]

    def decide(self, scored: pl.DataFrame, ctx: RunContext) -> StageResult:
        result = super().decide(scored, ctx)
        result.kept, result.rejected = (
            frame.drop("_prompt_known", "_answer_known") for frame in (result.kept, result.rejected)
        )
        return result

    def summarize(self, kept: pl.DataFrame, ctx: RunContext) -> dict:
        return flag_examples(kept, RESPONSE_FLAGS, RESPONSE)

    def finish_stats(self, stats: dict, totals: pl.DataFrame, ctx: RunContext) -> dict:
        stats = dict(stats)
        examples = stats.pop("flag_examples", {})
        centre = log_length_centre(totals)
        if centre:
            stats["median_response_words"] = round(math.exp(centre[0]))
        if stats.get("flagged"):
            stats["findings"] = flag_findings(stats["flagged"], examples, "responses")
        return stats


TURN_ROW = "_turn_row"


def assistant_turn_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per assistant turn (`r_turn`: its first message's number; `text`: the user messages before it;
    `response`: the turn) of each conversation, and the row itself where it has no messages or no assistant turn. Every
    row keeps its id and `pii`, and `_turn_row` its position. The JSON is read in Python, once per conversation."""
    records = []
    conversations = rows[MESSAGES].to_list()
    responses = rows[RESPONSE].to_list() if RESPONSE in rows.columns else [None] * rows.height
    for position, (conversation, text, response) in enumerate(
        zip(conversations, rows[TEXT].to_list(), responses, strict=True)
    ):
        turns = chat.assistant_turns(chat.load(conversation)) if conversation else []
        records += [(position, n, prompt, answer) for n, prompt, answer in turns] or [(position, None, text, response)]
    schema = {TURN_ROW: pl.UInt32, "r_turn": pl.Int64, TEXT: pl.String, RESPONSE: pl.String}
    turns = pl.DataFrame(records, schema=schema, orient="row")
    carried = rows.select(ID, *[c for c in (PII,) if c in rows.columns]).with_row_index(TURN_ROW)
    return turns.join(carried, on=TURN_ROW, how="left", maintain_order="left")


def word_ngrams(column: str) -> pl.Expr:
    """The distinct word 3-grams of a column (its normalised words when shorter)."""
    words = normalized_text(column).fill_null("").str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
    grams = words.list.eval(
        pl.concat_str([pl.element().shift(-k) for k in range(COPY_NGRAM)], separator=" ").drop_nulls()
    )
    whole = pl.concat_list([words.list.join(" ")])
    return pl.when(words.list.len() < COPY_NGRAM).then(whole).otherwise(grams).list.unique()


def known(codes: pl.Series, confidence: pl.Series, sure: float) -> list[bool]:
    """A language counts when the English shortcut named it (confidence null) or langid is sure enough."""
    return [
        code is not None and (conf is None or conf >= sure)
        for code, conf in zip(codes.to_list(), confidence.to_list(), strict=True)
    ]
