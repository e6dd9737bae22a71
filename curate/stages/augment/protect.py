"""Spans an augmenter must not change: PII placeholders, template slots, numbers and entity values.

Text goes out with each protected span replaced by a sentinel (`XQ0X`, `XQ1X`, ... which translators
and language models copy through as unknown tokens) and comes back restored; a candidate that
lost or altered a sentinel is rejected rather than repaired.
"""

from __future__ import annotations

import re

# Negations, with the apostrophe-less spellings people type ("dont"): an augmenter must keep their number.
NEGATION = (r"(?i)\b(?:not|no|never|nothing|none|nobody|nor|cannot|without|dont|doesnt|didnt|cant|wont|isnt|arent|wasnt"
            r"|werent|couldnt|wouldnt|shouldnt|havent|hasnt|hadnt|aint)\b|n't\b")
PROTECTED = re.compile(r"\[[A-Z]+(?:_\d+)?\]|\{\{[^{}]+\}\}|\{[a-z_]+\}|\b\d[\d.,:/\-]*\d\b|\b\d\b|#\w+")
SENTINEL = re.compile(r"XQ(\d+)X")


def protect(text: str, extra: list[str] | None = None) -> tuple[str, list[str]]:
    """Replace protected spans (and any `extra` literal values) by sentinels; return text and the spans."""
    spans: list[str] = []

    def keep(match: re.Match) -> str:
        spans.append(match.group(0))
        return f"XQ{len(spans) - 1}X"

    if extra:  # whole words match as words ("reps" is not the start of "represent")
        pattern = "|".join(rf"\b{re.escape(v)}\b" if v[0].isalnum() and v[-1].isalnum() else re.escape(v)
                           for v in sorted(extra, key=len, reverse=True) if v)
        if pattern:
            text = re.sub(pattern, keep, text)
    return PROTECTED.sub(keep, text), spans


def negations(text: str) -> int:
    return len(re.findall(NEGATION, text))


def restore(text: str, spans: list[str]) -> str | None:
    """Put the spans back; None when a sentinel is missing, repeated or unknown."""
    found = [int(i) for i in SENTINEL.findall(text)]
    if sorted(found) != list(range(len(spans))):
        return None
    return SENTINEL.sub(lambda m: spans[int(m.group(1))], text)
