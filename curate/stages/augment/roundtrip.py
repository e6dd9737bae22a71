"""Patterns a back-translation leaves that the term checks do not see, each a small check read off real rows
(benchmarks/augment_rules.py counts them on the read rows; RESULTS.md, fifth and sixth readings). A check takes the
source and the candidate and returns what it found (empty: nothing); the candidate is dropped with the check's name as
reason.

Changed rows: a function word that carries the request ("put fan on" → "put fan in", "how do they say no" → "How they
say not", "my this is prince playlist" → "mine is the prince playlist", "my bank of america account" → "my bank in the
america account"). Broken rows: articles a person would not write ("an brasserie", "an 8 party", "the The Goof", "on
the Botswana", "Points of the") and a command verb moved to the end ("rate The Bunce 1 stars" → "The Bunce 1 Stars
Rate"). A bare hour after "at" is a protected span instead (`protect.HOUR`)."""

from __future__ import annotations

import re

from curate.core.extras import require
from curate.stages.augment.protect import ARTICLES, DOMAIN_ZIPF, FUNCTION_WORDS, WORD, _kept, _of_pairs, _words


def _count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))


def _gained(pattern: str, source: str, candidate: str) -> list[str]:
    """The matches of `pattern` in the candidate beyond as many as its source has: the source's own errors stay."""
    found = [m.group(0) for m in re.finditer(pattern, candidate)]
    return found if len(found) > _count(pattern, source) else []


# "my" as a pronoun before a noun phrase: "to my this is prince playlist" → "to mine is the prince playlist",
# "my just dance playlist" → "mine just dances".
MINE_BEFORE_WORDS = r"(?i)\bmine\s+(?!and\b|or\b|too\b)[a-z]"


def mine_before_noun(source: str, candidate: str) -> list[str]:
    return _gained(MINE_BEFORE_WORDS, source, candidate)


# Spotify's "This Is <artist>" playlists, written lowercase after "my": the words are the name, and a round trip
# reads them as a clause ("my this is status quo playlist" → "my status quo playlist").
THIS_IS_NAME = r"(?i)\bmy\s+this\s+is\b"


def this_is_name_lost(source: str, candidate: str) -> list[str]:
    return ["this is"] if _count(THIS_IS_NAME, candidate) < _count(THIS_IS_NAME, source) else []


# "on" that switches something: the first or last word of a command (a politeness word may follow it), or after
# put/turn/switch with at most one word between, or up to three when nothing but a politeness word or a preposition
# follows it ("put fan on" → "put fan in", "on the fan" → "About the Fan", "put on the next song" → "put in the next
# song", "turn the fan on please" → "turn the fan please"). "off", "up" and "down" are directions, whose count
# `lost_key_terms` already compares.
POLITE = r"(?:please|now|thanks|thank\s+you|pls|plz)"
SWITCH_ON = (
    r"(?i)^\W*on\b(?=(?:\W+\w+){0,3}\W*$)"
    rf"|\bon\W*(?:{POLITE}\W*)?$"
    r"|\b(?:put|turn|switch|flip|keep|leave)(?:\s+\w+)?\s+on\b"
    rf"|\b(?:put|turn|switch|flip|keep|leave)(?:\s+\w+){{2,3}}\s+on\b"
    rf"(?=\W*(?:$|{POLITE}\b|(?:in|at|for|until|till|when|and)\b))"
)


def switch_particle_lost(source: str, candidate: str) -> list[str]:
    if not re.search(SWITCH_ON, source):
        return []
    return ["on"] if _count(r"(?i)\bon\b", candidate) < _count(r"(?i)\bon\b", source) else []


# Two words joined by "of" that come back joined by a preposition of place: "my bank of america account" → "my bank in
# the america account", "the women of acoustic playlist" → "the women in the acoustic playlist". The "of" order check
# sees both words in order; the relation between them is another one: what belongs to or is part of becomes where it
# is. Other prepositions pass ("the trailer of" → "the trailer for", "inform of errors" → "inform about errors"), and so
# do dropped words ("the ETA of order" → "ETA order") and "as" ("the same area of" → "the same area as").
PLACE_PREPOSITIONS = frozenset("in on at into onto inside".split())


def of_relation_changed(source: str, candidate: str) -> list[str]:
    source_words = _words(source.replace("’", "'"))
    source_pairs = set(zip(source_words, source_words[1:]))  # "a in" already in the source: not a changed relation
    words = _words(candidate.replace("’", "'"))
    found = []
    for a, b in _of_pairs(source_words):
        for at, word in enumerate(words):
            if not _kept(a, {word}):
                continue
            between = words[at + 1 : at + 4]
            for gap in (1, 2):
                if (
                    len(between) > gap
                    and between[0] in PLACE_PREPOSITIONS
                    and all(w in ARTICLES for w in between[1:gap])
                    and _kept(b, {between[gap]})
                    and (a, between[0]) not in source_pairs
                ):
                    found.append(f"{a} of {b} → {a} {' '.join(between[: gap + 1])}")
    return found


# "no" as a word said, not a determiner: "i say no to that question", "how do they say no in germany". A round trip
# turns it into "not", which the negation count takes for the same negation.
SAID_NO = r"(?i)\b(?:say|says|said|saying|answer|answered|reply|replied|tell\s+\w+)\s+no\b|\bno\s*(?:$|[,.!?])"


def said_no_changed(source: str, candidate: str) -> list[str]:
    if not re.search(SAID_NO, source):
        return []
    return ["no"] if _count(r"(?i)\bno\b", candidate) < _count(r"(?i)\bno\b", source) else []


# An article that does not fit the sound after it: "an brasserie", "an Delaware", "an sixties", "a 8 party". Kept:
# silent h ("an hour"), letters read one by one ("an FBI", "an SUV"), vowels sounding "you" or "w" ("a user", "a one").
# And "an" before any digit: "a party of 7" turned around is "an 7 party", "an 8 party" ("an 8-hour day" is English,
# but no read source had one; "a nine party" was read as good, so a number word after "a" passes).
SILENT_H = r"hour|honest|honou?r|heir|herb"
LETTER_NAMES = r"[FHLMNRSX][A-Z]*\b"
YOU_SOUND = r"uni|use|usu|uti|ura|eu|one\b|once\b"
CONSONANT = r"[b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z]"
WRONG_ARTICLE = (
    rf"\b[Aa]n\s+(?:\d|(?!(?i:{SILENT_H})|{LETTER_NAMES})(?={CONSONANT})|(?=(?i:{YOU_SOUND})))\w*"
    r"|\b[Aa]\s+(?:8|11|18|eight|eleven)\b"
)


def wrong_article(source: str, candidate: str) -> list[str]:
    return _gained(WRONG_ARTICLE, source, candidate)


# Two articles in a row: "on the The Goof", "the The Closer I Get TV show" (a title's own "The" after an added "the").
DOUBLED = r"(?i)\b(?:the|an?)\s+(?:the|an?)\b"


def doubled_article(source: str, candidate: str) -> list[str]:
    return _gained(DOUBLED, source, candidate)


# "the" brought before a place or service the source named bare after "in" or "on" ("in Botswana" → "on the
# Botswana", "on Christmas Day" → "in the Christmas Day", "on pandora" → "in the pandora"): capitalised, or a lowercase
# word rarer than the domain-word threshold. A name before a common noun may take one ("on Pro account" → "in the Pro
# account"), and so may titles after a verb ("see the Apartment Hunting" was read as good).
PREPOSITIONS = frozenset("in on at to from into onto for of about near by".split())


def the_before_name(source: str, candidate: str) -> list[str]:
    require("the augmentation checks (the before a name)", "wordfreq")
    from wordfreq import zipf_frequency

    written, named = WORD.findall(source), set()
    for at in range(1, len(written)):
        if written[at - 1].lower() not in ("in", "on"):
            continue
        end = at + 1
        while end < len(written) and written[at][0].isupper() and written[end][0].isupper():
            end += 1  # the whole name: "Christmas Day", "Forest Av"
        after = written[end].lower() if end < len(written) else ""
        rare = written[at].isalpha() and zipf_frequency(written[at], "en") < DOMAIN_ZIPF
        if (written[at][0].isupper() or rare) and (not after or after in FUNCTION_WORDS):
            named.add(written[at].lower())
    candidate_words = _words(candidate)
    return sorted(
        {
            w
            for prep, the, w in zip(candidate_words, candidate_words[1:], candidate_words[2:])
            if prep in PREPOSITIONS and the == "the" and w in named and f"the {w}" not in source.lower()
        }
    )


# A candidate that ends on an article or "of" ("rate this book 2 of 6 points" → "… Points of the").
DANGLING = r"(?i)\b(?:of|the|an?)\W*$"


def dangling_end(source: str, candidate: str) -> list[str]:
    return _gained(DANGLING, source, candidate)


# The command verb that opened the source now comes after words that followed it: "rate The Bunce 1 stars" → "The
# Bunce 1 Stars Rate", "book in RI" → "RI book", "Book restaurant for party of 7" → "7 Party Book Restaurant".
def verb_moved(source: str, candidate: str) -> list[str]:
    source_words, candidate_words = _words(source), _words(candidate)
    if not source_words or source_words[0] in FUNCTION_WORDS or source_words[0] not in candidate_words:
        return []
    at = candidate_words.index(source_words[0])
    followers = set(source_words[1:]) - FUNCTION_WORDS
    return [source_words[0]] if any(w in followers for w in candidate_words[:at]) else []


CHECKS = (
    ("mine_before_noun", mine_before_noun),
    ("this_is_name_lost", this_is_name_lost),
    ("switch_particle_lost", switch_particle_lost),
    ("said_no_changed", said_no_changed),
    ("of_relation_changed", of_relation_changed),
    ("wrong_article", wrong_article),
    ("doubled_article", doubled_article),
    ("the_before_name", the_before_name),
    ("dangling_end", dangling_end),
    ("verb_moved", verb_moved),
)
