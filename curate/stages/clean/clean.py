"""The `clean` stage: normalise text without changing what the customer asked.

Regular-expression work runs as polars expressions (Rust, all cores); the Python functions of
`curate.stages.clean.text` run only on the rows a cheap expression marks as candidates, so a million
mostly-plain tickets cost little. Rows left empty by cleaning are rejected, nothing else is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from curate.stages.clean import text as T
from curate.core.columns import TEXT, TEXT_BEFORE_CLEAN
from curate.core.params import Count
from curate.core.stage import REJECT_DETAIL, REJECT_REASON, RunContext, Spread, Stage, StageResult


def apply_to_candidates(texts: pl.Series, candidates: pl.Series, fn: Callable[[str], str]) -> tuple[pl.Series, int]:
    """Run a Python text function on the rows where `candidates` is true; return texts and rows changed."""
    index = candidates.fill_null(False).arg_true()
    if index.len() == 0:
        return texts, 0
    before = texts.gather(index)
    after = pl.Series([fn(t) for t in before.to_list()], dtype=pl.String)  # slow path, candidates only
    changed = int((before != after).sum())
    return texts.scatter(index, after), changed


@dataclass
class Clean(Stage):
    """Unicode repair, HTML to text, quoted replies, signatures, greetings and whitespace."""

    fix_unicode: bool = True
    html: bool = True
    quoted_replies: bool = True
    signatures: bool = True
    greetings: bool = True
    whitespace: bool = True
    min_chars: Count = 1

    name: ClassVar[str] = "clean"
    spread: ClassVar[Spread] = Spread.by_rows()  # each row decided on its own

    def steps(self) -> list[tuple[str, str, Callable[[str], str]]]:
        """(stat name, candidate regex, function) in the order they run."""
        chosen = [
            (self.fix_unicode, "unicode_fixed", r"[^\x00-\x7F]", T.fix_unicode),
            (self.html, "html_converted", T.HTML_CANDIDATE, T.html_to_text),
            (
                self.quoted_replies,
                "quoted_replies_removed",
                r"(?im)wrote:|^\s*>|original message|^from:\s|_{10}",
                T.strip_quoted_reply,
            ),
            (
                self.signatures,
                "signatures_removed",
                r"(?im)^--\s?$|sent from my|get outlook|sent via|^\s*((best|kind|warm|many)\s+)?(regards|thanks|thank you|thx|cheers|sincerely|br|best)\W*$",
                T.strip_signature,
            ),
            (
                self.greetings,
                "greetings_removed",
                r"(?i)^\s*(hi|hello|hey|dear|greetings|good (morning|afternoon|evening))\b|(thanks|thank you|thx|cheers)\W*$",
                T.strip_greeting,
            ),
        ]
        return [(name, pattern, fn) for enabled, name, pattern, fn in chosen if enabled]

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        texts = rows[TEXT].fill_null("")
        stats: dict[str, int] = {}
        for stat, pattern, fn in self.steps():
            texts, stats[stat] = apply_to_candidates(texts, texts.str.contains(pattern), fn)
        before_space = texts
        texts = texts.str.replace_all(T.INVISIBLE.pattern, "")
        if self.whitespace:
            texts = (
                texts.str.replace_all(r"\r\n?", "\n")
                .str.replace_all(r"[ \t\u00a0\u2000-\u200a\u3000]+", " ")
                .str.replace_all(r"(?m)^ | $", "")
                .str.replace_all(r"\n{3,}", "\n\n")
                .str.strip_chars()
            )
        stats["whitespace_normalised"] = int((before_space != texts).sum())
        stats["rows_changed"] = int((rows[TEXT].fill_null("") != texts).sum())
        too_short = texts.str.len_chars() < self.min_chars
        marked = rows.with_columns(
            texts.alias(TEXT),
            pl.when(too_short).then(pl.lit("empty_after_clean")).otherwise(None).alias(REJECT_REASON),
            pl.when(too_short)
            .then(pl.lit("nothing left after removing markup, quotes and signatures"))
            .alias(REJECT_DETAIL),
        )
        result = self.split_marked(marked, stats)
        # What a reviewer needs to judge the rejection: the text as it came in, redacted here, where it is made, whatever
        # `rejected_text` says (curate/pipeline/privacy.py).
        ctx = ctx or RunContext()
        originals = rows.filter(too_short)[TEXT].fill_null("").map_elements(ctx.redact, return_dtype=pl.String)
        result.rejected = result.rejected.with_columns(originals.alias(TEXT_BEFORE_CLEAN))
        return result
