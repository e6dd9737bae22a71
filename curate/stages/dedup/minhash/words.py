"""Telling a typo from a different word: "intetest rate" is a resend of "interest rate", "debit card" is
not a resend of "credit card" however close the characters are.

A pair that passed the character-level similarity is kept apart when, word by word, it differs by a
content word that the corpus uses often: either a word with no counterpart on the other side, or a
substitution between two common words ("japan" / "ireland"). A substitution in which one side is
much rarer than the other is a misspelling and does not count. Short texts turn on small words too:
a code ("what does ls stand for" / "... lax ...", "fare code f" / "fare code yn"), a direction
("flights to san francisco" / "... from ...") or a negation ("can" / "cannot", "not") keeps a pair
apart however similar its characters (18 of 60 MinHash merges read on a flight-query set were such).
So does a word swapped for its opposite by a prefix ("increase" / "decrease", "authorized" /
"unauthorized"), however rare one side is: CLINC150 merged "decrease volume to 4" into "increase
volume to 4" because "decrease" is in 7 of its texts and "increase" in 43.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
from rapidfuzz.distance import Levenshtein

from curate.core.text import english_stop_words

COMMON = 2  # a word seen this often in the column is a word people use, not a one-off typo
TYPO_RARITY = 0.2  # a substitution whose rarer side is under this share of the commoner side is a misspelling


# Small words that change what a request is about: direction, position, negation.
POLARITY = frozenset(
    "to from into onto out in on off up down over under above below before after with without not no never nor none "
    "nothing cannot cant can't dont don't doesnt doesn't didnt didn't isnt isn't wont won't arent aren't wasnt wasn't "
    "shouldnt shouldn't couldnt couldn't".split()
)


# A prefix that negates the word it is put on ("correct" / "incorrect"), and prefixes that swap a word for its
# opposite ("increase" / "decrease", "upgrade" / "downgrade"). Not "in" against "im", "il" or "ir": those are one
# prefix spelled by the next letter, and a typo swaps them ("imformation").
NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "de", "non", "mis")
OPPOSITE_PREFIXES = (
    ("in", "de"),
    ("en", "dis"),
    ("in", "ex"),
    ("im", "ex"),
    ("in", "out"),
    ("up", "down"),
    ("over", "under"),
    ("pre", "post"),
)


def _opposite_forms(word: str) -> set[str]:
    """The words that are `word`'s opposite by a prefix: it with a negating prefix put on or taken off (a stem of 3+
    letters), or with one prefix of an opposite pair swapped for the other (a stem of 4+)."""
    forms = {p + word for p in NEGATING_PREFIXES if len(word) >= 3}
    forms.update(word[len(p) :] for p in NEGATING_PREFIXES if word.startswith(p) and len(word) - len(p) >= 3)
    for pair in OPPOSITE_PREFIXES:
        for p, q in (pair, pair[::-1]):
            if word.startswith(p) and len(word) - len(p) >= 4:
                forms.add(q + word[len(p) :])
    return forms


def opposites(a: str, b: str) -> bool:
    """One word is the other with a negating prefix, or the two differ only in a pair of opposite prefixes."""
    return any_opposites([a], [b])


def any_opposites(only_a: list[str], only_b: list[str]) -> bool:
    """Whether a word of `only_a` is the opposite of one of `only_b`: a set lookup per word, not a comparison per
    pair, since the differences of two long near-duplicate texts run to hundreds of words on each side."""
    others = set(only_b)
    return any(not others.isdisjoint(_opposite_forms(word)) for word in set(only_a))


# Short chat words that are not codes: a resend that adds "pls" or swaps "hi" for "hello" is still a resend.
FILLER = frozenset(
    "hi hey hiya yo ok okay pls plz thx ty yes yeah yep nope u ur im ive id ill hm hmm um lol asap".split()
)


def _code(word: str, stop_words: frozenset[str]) -> bool:
    """A short token that is no common English word: an airport or fare code, an abbreviation, a product letter."""
    return len(word) <= 4 and any(c.isalpha() for c in word) and word not in stop_words and word not in FILLER


def _content(word: str, stop_words: frozenset[str]) -> bool:
    return len(word) >= 3 and not word.isdigit() and word not in stop_words


def _close(a: str, b: str) -> bool:
    return Levenshtein.distance(a, b) <= max(1, max(len(a), len(b)) // 4)


def word_differences(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """The words of `a` not matched in `b` and those of `b` not matched in `a` (as multisets), in their order."""
    if a == b:
        return [], []
    in_a, in_b = set(a), set(b)
    if len(in_a) == len(a) and len(in_b) == len(b):  # no word repeats: the multiset differences, in the same order
        return [w for w in a if w not in in_b], [w for w in b if w not in in_a]
    counts_a, counts_b = Counter(a), Counter(b)
    return list((counts_a - counts_b).elements()), list((counts_b - counts_a).elements())


def differ_by_a_word(a: list[str], b: list[str], frequency: Counter, stop_words: frozenset[str]) -> bool:
    """True when token lists `a` and `b` differ by a content word rather than by typos and small words."""
    return differ_in(*word_differences(a, b), frequency, stop_words)


def differ_in(only_a: list[str], only_b: list[str], frequency: Counter, stop_words: frozenset[str]) -> bool:
    """True when the words one side has and the other lacks (`word_differences`) hold a content word rather than
    typos and small words."""
    only_a, only_b = list(only_a), list(only_b)
    if any_opposites(only_a, only_b):
        return True  # "increase" / "decrease": however rare one side, the request goes the other way
    for word in list(only_a):
        partner = next((other for other in only_b if _close(word, other)), None)
        if partner is None:
            continue
        rare, common = sorted((frequency[word], frequency[partner]))
        if (
            _content(word, stop_words)
            and _content(partner, stop_words)
            and rare >= COMMON
            and rare >= TYPO_RARITY * common
        ):
            return True  # two real words: "cats" / "rats", "debit" / "credit"
        if _code(word, stop_words) and _code(partner, stop_words) and rare >= COMMON:
            return True  # two codes the column uses: "fare code f" / "fare code h"
        only_a.remove(word)
        only_b.remove(partner)
    # What is left has no close counterpart (a typo's "nw" pairs with "new" above): a common content word, a direction
    # or negation, or a code the column uses elsewhere tells the two apart.
    return any(
        w in POLARITY or ((_content(w, stop_words) or _code(w, stop_words)) and frequency[w] >= COMMON)
        for w in only_a + only_b
    )


def document_frequency(texts: list[str] | pl.LazyFrame, words: set[str]) -> Counter:
    """How many of `texts` use each of `words` (split on spaces), counted by polars rather than a Python loop; `texts`
    may be a lazy frame of one column (a streamed run's, on disk), read by polars' streaming engine."""
    frame = texts if isinstance(texts, pl.LazyFrame) else pl.LazyFrame({"text": pl.Series(texts, dtype=pl.String)})
    per_text = frame.select(pl.all().str.split(" ").list.unique().alias("word")).explode("word")
    counts = (
        per_text.filter(pl.col("word").is_in(pl.Series(list(words), dtype=pl.String).implode()))
        .group_by("word")
        .len()
        .collect(engine="streaming")
    )
    return Counter(dict(zip(counts["word"].to_list(), counts["len"].to_list())))


def distinct_pairs(
    normalised: list[str] | dict[int, str], pairs: np.ndarray, corpus: list[str] | pl.LazyFrame | None = None
) -> np.ndarray:
    """A mask over `pairs` (positions in `normalised`, a list or the paired positions' texts): True where the two texts
    differ by a content word (see `differ_by_a_word`). How common a word is comes from `corpus`, every text of the
    column (`normalised` when None): a word used by a text outside these pairs still counts. Only the words in which
    a pair differs are counted."""
    if not len(pairs):
        return np.zeros(0, dtype=bool)
    involved = np.unique(pairs)
    tokens = {int(i): normalised[i].split() for i in involved}
    differences = [word_differences(tokens[i], tokens[j]) for i, j in pairs.tolist()]
    frequency = document_frequency(
        normalised if corpus is None else corpus, {w for only_a, only_b in differences for w in only_a + only_b}
    )
    stop_words = english_stop_words()
    return np.fromiter(
        (differ_in(only_a, only_b, frequency, stop_words) for only_a, only_b in differences),
        dtype=bool,
        count=len(pairs),
    )
