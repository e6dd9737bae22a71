"""`quality`: heuristic filters in the score-then-keep style.

Every check first writes its score as a `q_*` column (kept on approved and rejected rows alike, so
the explorer and reports can show why), then a row fails the first check whose threshold it
breaks, in the order below. Checks listed in `flag_only` mark rows (`quality_flags`) instead of
dropping them. All scores are polars expressions except language identification.
"""

from __future__ import annotations

from functools import lru_cache
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from curate.core.columns import ID, LABEL, QUALITY_FLAGS, TEXT
from curate.core.params import Count, Positive, Share
from curate.core.stage import Check, Filter, RunContext, Spread, StageResult
from curate.stages.clean.text import HTML_ELEMENTS

KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
AUTO_REPLY = (
    r"(?i)\b(out of (the )?office|automatic reply|auto-?reply|autoreply|do not reply to this|this is an automated"
    r"|delivery status notification|undeliverable|mail delivery (failed|subsystem)|i am away until)\b"
)
# Masks that sources put over personal data (CFPB's XXXX, XX/XX/2018): not the customer's repetition.
MASKS = r"X{2,}|x{4,}|\*{4,}"
AUTO_REPLY_HEAD = 160  # an automatic reply says so at its start: the phrase must stand in these first characters...
AUTO_REPLY_MAX_WORDS = 80  # ...of a short message, not in the middle of a customer's story
LONG_TEXT_WORDS = 40  # from here on, repetition is measured on word 5-grams (a long text repeats its common words)
CLASS_NORMAL_SHARE = (
    0.1  # a short or content-free text is normal for a class when at least this share of it is like that
)
SHORT_TEXT_LETTERS = 8  # "no!" is a third symbols: a share over so few characters says nothing
CHAR_RUN_SHARE = (
    0.3  # "sloooooooowly" in a sentence is emphasis; a run that is much of the text is junk ("aaaaaaaaaa!!")
)
CLASS_MIN_ROWS = 20  # smaller classes cannot show what is normal for them: the absolute rule applies
NO_CONTENT = r"(?i)^\W*(test(ing)?( test)*( ?\d+)*|hello\??|hi\??|hey\??|ok(ay)?|thanks?|thank you|\[(image|attachment|file)\]|lorem ipsum.*|n/?a|none|null|asdf\w*)\W*$"
# An angle-bracket slot is a name: one word (`<City>`, `<band>`, `<first_name>`) or up to four words of which the first
# is capitalised (`<Agent Name>`, `<All alarms>`). A lower-case clause in brackets is the customer's own aside (a CFPB
# narrative's "<call is disconnected>").
TEMPLATE_SLOT = (
    r"\{\{[^{}]{1,60}\}\}|\{[a-z_]{3,40}\}|\[\[[^\[\]]{1,60}\]\]"
    r"|<(?:[A-Za-z][A-Za-z_]{2,38}|[A-Z][A-Za-z_]{0,20}(?: [A-Za-z_]{1,20}){1,3})>"
)

BARE_HTML_TAG = "(?i)<(?:" + "|".join(HTML_ELEMENTS) + ")>"


def with_label(rows: pl.DataFrame) -> pl.DataFrame:
    return rows if LABEL in rows.columns else rows.with_columns(pl.lit(None, pl.String).alias(LABEL))


def class_shares(rows: pl.DataFrame, totals: pl.DataFrame, conditions: dict[str, str]) -> pl.DataFrame:
    """Per row, for each `conditions` entry (share column: count column of `totals`), the share of the row's class
    for which it holds; null without a label or in a class too small to show what is normal for it. `totals` holds
    per-block counts by label (`n` and the count columns), summed here."""
    classes = totals.group_by(LABEL).agg(pl.col("n").sum(), *(pl.col(c).sum() for c in conditions.values()))
    classes = classes.filter(pl.col(LABEL).is_not_null() & (pl.col("n") >= CLASS_MIN_ROWS)).select(
        LABEL, *((pl.col(count) / pl.col("n")).alias(share) for share, count in conditions.items())
    )
    return rows.join(classes, on=LABEL, how="left", maintain_order="left")


def unusual(share_column: str) -> pl.Expr:
    """True when the row's class does not normally look like this ("yes" is a whole intent in some data sets)."""
    return pl.col(share_column).is_null() | (pl.col(share_column) < CLASS_NORMAL_SHARE)


def no_content() -> pl.Expr:
    """A test, greeting, placeholder or keyboard mash and nothing else."""
    return pl.col(TEXT).str.contains(NO_CONTENT) | keyboard_mash()


def names_its_label() -> pl.Expr:
    """ "thank you" labelled thank_you, "hello" labelled hello: a short text that says its class's name is the class."""
    if_labelled = (
        pl.col(LABEL)
        .cast(pl.String)
        .fill_null("")
        .str.to_lowercase()
        .str.replace_all(r"[^a-z]+", " ")
        .str.strip_chars()
    )
    words = pl.col(TEXT).fill_null("").str.to_lowercase().str.extract_all(r"[a-z]+")
    return (if_labelled != "") & words.list.eval(pl.element().str.slice(0, 5)).list.set_intersection(
        if_labelled.str.split(" ").list.eval(pl.element().str.slice(0, 5))
    ).list.len().gt(0)


def keyboard_mash() -> pl.Expr:
    """A word of 5+ letters that runs along a keyboard row ("asdfgh", "qwertyuiop")."""
    runs = [row[i : i + 5] for row in KEYBOARD_ROWS for i in range(len(row) - 4)]
    return pl.col(TEXT).str.to_lowercase().str.contains("|".join(runs))


SCORE_BLOCK_ROWS = 100_000


@lru_cache(maxsize=1)
def language_identifier():
    """py3langid's model, loaded once per process (scoring runs block by block)."""
    import py3langid

    return py3langid.langid.LanguageIdentifier.from_model_file(py3langid.langid.MODEL_FILE, norm_probs=True)


# Words that make up much of any English sentence and little of other languages' ("the", "to", "my", "is").
ENGLISH_FUNCTION_WORDS = [
    "the",
    "a",
    "an",
    "to",
    "of",
    "and",
    "in",
    "on",
    "for",
    "with",
    "my",
    "i",
    "me",
    "you",
    "your",
    "is",
    "are",
    "was",
    "it",
    "this",
    "that",
    "can",
    "do",
    "how",
    "what",
    "i'm",
    "have",
    "has",
    "be",
    "not",
    "from",
    "at",
    "need",
    "want",
    "please",
    "help",
    "would",
    "could",
    "will",
    "there",
    "they",
    "we",
    "our",
    "if",
    "so",
    "but",
    "or",
    "when",
    "where",
    "why",
    "get",
    "am",
    "been",
    "did",
    "does",
    "about",
    "by",
    "as",
    "no",
]


def identify_languages(texts: pl.Series, expected: list[str], min_chars: int) -> tuple[pl.Series, pl.Series]:
    """Language code and confidence per text: py3langid on rows long enough to tell (its model ships in the wheel);
    others get null. When English is expected, plain-ASCII rows of five or more words of which 40% are English
    function words are English without asking the model (confidence null: not measured); langid was 85% of the
    quality stage's time on a million tickets."""
    long_enough = (texts.str.len_chars() >= min_chars).fill_null(False)
    english = pl.Series([False] * len(texts))
    if "en" in expected:
        words = texts.fill_null("").str.to_lowercase().str.extract_all(r"[a-z']+")
        english = (
            (words.list.len() >= 5)
            & texts.fill_null("").str.contains(r"^[\x00-\x7F]*$")
            & (words.list.eval(pl.element().is_in(ENGLISH_FUNCTION_WORDS)).list.mean() >= 0.4)
        ).fill_null(False)
    codes: list[str | None] = [None] * len(texts)
    confidence: list[float | None] = [None] * len(texts)
    for i in (english & long_enough).arg_true().to_list():
        codes[i] = "en"
    identifier = language_identifier()
    for i in (long_enough & ~english).arg_true().to_list():  # slow path: long rows the shortcut cannot tell
        codes[i], confidence[i] = identifier.classify(texts[i])
    return pl.Series("language", codes, dtype=pl.String), pl.Series("confidence", confidence, dtype=pl.Float64).round(3)


@dataclass
class Quality(Filter):
    """Length, character mix, repetition, caps, non-printables, template slots, auto-replies, language."""

    min_chars: Count = 2
    max_chars: Positive = 200_000  # real complaints reach 25,000+ characters; a pasted dump or log goes past this
    min_words: Count = 1
    max_words: Positive = 40_000
    min_letter_share: Share = 0.5
    max_symbol_share: Share = 0.3
    max_char_run: Positive = 5
    max_word_repetition: Share = 0.5  # short texts: 1 - distinct words / words
    max_ngram_repetition: Share = (
        0.9  # long texts: share of word 5-grams seen before (a real form letter listing disputed items: 0.83)
    )
    max_caps_share: Share = 0.8
    max_nonprintable_share: Share = 0.01
    template_slots: bool = True
    auto_replies: bool = True
    no_content: bool = True
    languages: list[str] = field(default_factory=lambda: ["en"])
    language_min_chars: Count = 25
    language_min_confidence: Share = 0.9
    flag_only: list[str] = field(default_factory=lambda: ["all_caps"])

    name: ClassVar[str] = "quality"
    flag_column: ClassVar[str] = QUALITY_FLAGS
    produces: ClassVar[tuple[str, ...]] = (QUALITY_FLAGS,)

    @property
    def spread(self) -> Spread:
        """Per block with the totals of every block's `partial`; the stats once (`finish_stats`)."""
        return Spread.by_totals(self.partial, self.apply_given, self.finish_stats)

    def partial(self, rows: pl.DataFrame, ctx: RunContext) -> pl.DataFrame:
        """Per label: rows, short rows and content-free rows (what the class-relative rules compare a row with)."""
        rows = with_label(rows)
        return rows.group_by(LABEL).agg(
            pl.len().cast(pl.Int64).alias("n"),
            self.too_short().sum().alias("short"),
            (no_content() & ~names_its_label()).sum().alias("no_content"),
        )

    def too_short(self) -> pl.Expr:
        return pl.col(TEXT).str.len_chars().fill_null(0) < self.min_chars

    def apply_given(self, rows: pl.DataFrame, totals: pl.DataFrame, ctx: RunContext) -> StageResult:
        # Per-row scores a block at a time: their word and 5-gram lists are the stage's memory (5 GB at a
        # million rows in one piece); the class-relative shares come from the totals of every block.
        unlabelled = LABEL not in rows.columns  # unlabelled rows are one class to the class-relative rules
        rows = with_label(rows)
        blocks = []
        for start in range(0, rows.height, SCORE_BLOCK_ROWS):
            blocks.append(self.row_scores(rows.slice(start, SCORE_BLOCK_ROWS)))
            ctx.report(self.name, "rows scored", min(start + SCORE_BLOCK_ROWS, rows.height), rows.height)
        scored = pl.concat(blocks, how="vertical_relaxed") if blocks else self.row_scores(rows)
        if unlabelled:
            scored = class_shares(scored, totals, {"q_short_in_class": "short", "q_no_content_in_class": "no_content"})
            return self.decide(scored.drop(LABEL), ctx)
        return self.decide(
            class_shares(scored, totals, {"q_short_in_class": "short", "q_no_content_in_class": "no_content"}), ctx
        )

    def row_scores(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Scores that depend on the row alone."""
        text = pl.col(TEXT)
        non_space = text.str.replace_all(r"\s", "").str.len_chars()
        non_space_non_digit = text.str.replace_all(r"[\s\d]", "").str.len_chars()
        letters = text.str.count_matches(r"\p{L}")
        words = text.str.split(" ").list.eval(pl.element().filter(pl.element().str.contains(r"\w")))
        unmasked = text.str.replace_all(MASKS, "")  # repetition is judged on the customer's own letters
        unmasked_words = unmasked.str.split(" ").list.eval(pl.element().filter(pl.element().str.contains(r"\w")))
        # Repetition is judged on the customer's own words: a complaint ending in a run of the bureau's masks repeats
        # nothing the customer wrote (4 of 5 quality drops on unseen CFPB narratives were such runs).
        unmasked_lower = unmasked_words.list.eval(
            pl.element().str.to_lowercase().filter(pl.element().str.contains(r"\w"))
        )
        ngrams = unmasked_lower.list.eval(
            pl.concat_str([pl.element().shift(-k) for k in range(5)], separator=" ").drop_nulls()
        )
        char_run = (
            unmasked.str.replace_all(r"[^\p{L}]+", " ")
            .str.split("")
            .list.eval(pl.element().rle().struct.field("len").max())
            .list.first()
            .fill_null(0)
        )
        scored = rows.with_columns(
            text.str.len_chars().alias("q_chars"),
            words.list.len().alias("q_words"),
            unmasked_lower.list.len().alias("q_own_words"),
            (letters / non_space_non_digit.clip(1)).round(3).alias("q_letter_share"),  # order numbers are not junk
            (text.str.count_matches(r"[^\p{L}\p{N}\s]") / non_space.clip(1)).round(3).alias("q_symbol_share"),
            char_run.alias("q_max_char_run"),
            (char_run / letters.clip(1)).round(3).alias("q_char_run_share"),
            unmasked_words.list.eval(
                ((pl.element().str.split("").list.n_unique() == 1) & (pl.element().str.len_chars() >= 3)).mean()
            )
            .list.first()
            .fill_null(0)
            .round(3)
            .alias("q_single_char_words"),  # "ggggg hhhhh"
            pl.when(unmasked_lower.list.len() < LONG_TEXT_WORDS)
            .then(1 - unmasked_lower.list.n_unique() / unmasked_lower.list.len().clip(1))
            .otherwise(1 - ngrams.list.n_unique() / ngrams.list.len().clip(1))
            .round(3)
            .alias("q_word_repetition"),
            (text.str.count_matches(r"\p{Lu}") / letters.clip(1)).round(3).alias("q_caps_share"),
            (text.str.count_matches(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]") / text.str.len_chars().clip(1))
            .round(4)
            .alias("q_nonprintable_share"),
            # `<City>`, `<band>`, `<ALL_CAPS>` are slots; a bare HTML tag such as `<div>` (a recipe without clean) is not
            text.str.replace_all(BARE_HTML_TAG, "").str.count_matches(TEMPLATE_SLOT).alias("q_template_slots"),
            (
                text.str.slice(0, AUTO_REPLY_HEAD).str.contains(AUTO_REPLY) & (words.list.len() <= AUTO_REPLY_MAX_WORDS)
            ).alias("q_auto_reply"),
            (no_content() & ~names_its_label()).alias("q_no_content"),
            (letters < SHORT_TEXT_LETTERS).alias("q_few_letters_to_judge"),
        )
        return scored.with_columns(self.language(scored[TEXT]))

    def language(self, texts: pl.Series) -> list[pl.Series]:
        """`q_language` and `q_language_confidence` (see `identify_languages`)."""
        codes, confidence = identify_languages(texts, self.languages, self.language_min_chars)
        return [codes.alias("q_language"), confidence.alias("q_language_confidence")]

    def checks(self) -> list[Check]:
        """In the order they are tried; those named in `flag_only` flag instead of drop."""

        def detail(template: str, *columns: str) -> pl.Expr:
            return pl.format(template, *[pl.col(c) for c in columns])

        checks = [
            (
                "too_short",
                ((pl.col("q_chars") < self.min_chars) | (pl.col("q_words") < self.min_words))
                & unusual("q_short_in_class"),
                detail(
                    f"{{}} characters, {{}} words (minimum {self.min_chars} and {self.min_words})", "q_chars", "q_words"
                ),
            ),
            (
                "too_long",
                (pl.col("q_chars") > self.max_chars) | (pl.col("q_words") > self.max_words),
                detail(f"{{}} characters (maximum {self.max_chars})", "q_chars"),
            ),
            (
                "no_content",
                (pl.col("q_no_content") & unusual("q_no_content_in_class")) if self.no_content else pl.lit(False),
                pl.lit("a test, greeting, placeholder or keyboard mash with no request, unlike the rest of its class"),
            ),
            (
                "auto_reply",
                pl.col("q_auto_reply") if self.auto_replies else pl.lit(False),
                pl.lit("an automatic reply or bounce, not a customer's message"),
            ),
            (
                "few_letters",
                pl.col("q_letter_share") < self.min_letter_share,
                detail(f"letter share {{}} < {self.min_letter_share}", "q_letter_share"),
            ),
            (
                "many_symbols",
                (pl.col("q_symbol_share") > self.max_symbol_share) & ~pl.col("q_few_letters_to_judge"),
                detail(f"symbol share {{}} > {self.max_symbol_share}", "q_symbol_share"),
            ),
            (
                "repeated_characters",
                ((pl.col("q_max_char_run") > self.max_char_run) & (pl.col("q_char_run_share") >= CHAR_RUN_SHARE))
                | (pl.col("q_single_char_words") >= 0.5),
                detail(
                    f"a character repeated {{}} times (maximum {self.max_char_run}); share of one-letter words {{}}",
                    "q_max_char_run",
                    "q_single_char_words",
                ),
            ),
            (
                "repeated_words",
                pl.col("q_word_repetition")
                > pl.when(pl.col("q_own_words") < LONG_TEXT_WORDS)
                .then(self.max_word_repetition)
                .otherwise(self.max_ngram_repetition),
                detail(
                    f"word repetition {{}} (maximum {self.max_word_repetition}; {self.max_ngram_repetition} on 5-grams from {LONG_TEXT_WORDS} words)",
                    "q_word_repetition",
                ),
            ),
            (
                "non_printable",
                pl.col("q_nonprintable_share") > self.max_nonprintable_share,
                detail("non-printable share {}", "q_nonprintable_share"),
            ),
            (
                "template_slot",
                (pl.col("q_template_slots") > 0) if self.template_slots else pl.lit(False),
                detail("{} unfilled template slot(s)", "q_template_slots"),
            ),
            (
                "all_caps",
                (pl.col("q_caps_share") > self.max_caps_share) & (pl.col("q_chars") >= 12),
                detail(f"caps share {{}} > {self.max_caps_share}", "q_caps_share"),
            ),
            (
                "other_language",
                pl.col("q_language").is_not_null()
                & ~pl.col("q_language").is_in(self.languages)
                & (pl.col("q_language_confidence") >= self.language_min_confidence),
                detail("language {} (confidence {})", "q_language", "q_language_confidence"),
            ),
        ]
        return [
            Check(reason, fails, why, "flag" if reason in self.flag_only else "drop") for reason, fails, why in checks
        ]

    def summarize(self, kept: pl.DataFrame, ctx: RunContext) -> dict:
        """Counts that add up across blocks: flagged rows, languages, and the first rows of each flag (`finish_stats`
        turns them into findings once)."""
        languages = kept["q_language"].drop_nulls().value_counts(sort=True)
        return {
            **flag_examples(kept, QUALITY_FLAGS, TEXT),
            "languages": dict(zip(languages["q_language"].to_list(), languages["count"].to_list())),
        }

    def finish_stats(self, stats: dict, totals: pl.DataFrame, ctx: RunContext) -> dict:
        stats = dict(stats)
        examples = stats.pop("flag_examples", {})
        stats["languages"] = dict(sorted(stats.get("languages", {}).items(), key=lambda kv: (-kv[1], kv[0])))
        if stats.get("flagged"):
            stats["findings"] = flag_findings(stats["flagged"], examples, "rows")
        return stats


def flag_examples(kept: pl.DataFrame, flag_column: str, shown: str) -> dict:
    """Rows flagged (kept) and the first three of each flag, `shown` by their `shown` column: counts that add up across
    blocks, turned into findings once by `flag_findings`."""
    flagged = kept.filter(pl.col(flag_column).list.len() > 0)
    by_flag = (
        flagged.explode(flag_column)
        .group_by(flag_column, maintain_order=True)
        .agg(pl.col(ID).head(3), pl.col(shown).head(3))
    )
    return {
        "flagged_rows": flagged.height,
        "flag_examples": {
            row[flag_column]: [f"`{i}` “{(t or '')[:60]}”" for i, t in zip(row[ID], row[shown], strict=True)]
            for row in by_flag.iter_rows(named=True)
        },
    }


def flag_findings(flagged: dict[str, int], examples: dict[str, list[str]], what: str) -> list[str]:
    return [
        f"{count} {what} flagged {flag} (kept), e.g. " + "; ".join(examples.get(flag, [])[:3])
        for flag, count in sorted(flagged.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
