"""Spans an augmenter must not change: PII placeholders, template slots, numbers and entity values.

Text goes out with each protected span replaced by a sentinel (`XQ0X`, `XQ1X`, ... which translators
and language models copy through as unknown tokens) and comes back restored; a candidate that
lost or altered a sentinel is rejected rather than repaired.
"""

from __future__ import annotations

import re

from curate.core.extras import require

# Negations, with the apostrophe-less spellings people type ("dont"): an augmenter must keep their number.
NEGATION = (
    r"(?i)\b(?:not|no|never|nothing|none|nobody|nor|cannot|without|dont|doesnt|didnt|cant|wont|isnt|arent|wasnt"
    r"|werent|couldnt|wouldnt|shouldnt|havent|hasnt|hadnt|aint)\b|n't\b"
)
# A time of day is one span: "7 am" came back as "7" ("am" reads as the verb) and "at 1 am" as "on the 1" (a date).
# So is a time in words ("at one am" came back "at one") and a score ("0 of 6 points" came back "0 6 points").
TIME = (
    r"(?i:\b(?:\d{1,2}(?:[:.]\d{2})?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"\s*(?:a\.m\.|p\.m\.|am|pm)(?!\w))"
)
SCORE = r"(?i:\b\d+\s+(?:out\s+)?of\s+\d+\b)"
# A bare hour after "at", "by" or "around" is a time too: "under the name kevin at 7" came back "in 7" and "a table for
# two at seven" came back "in seven" (in seven days). The preposition goes with the hour, and an "am"/"pm" after it;
# not "at one of the locations", a street number ("at 5 North St") nor a date ("by 12/05").
HOUR = (
    r"(?i:\b(?:at|by|around)\s+(?:\d{1,2}(?::\d{2})?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"(?:\s*(?:a\.m\.|p\.m\.|am|pm)(?!\w))?(?![\w:%/]|[.,-]\d|\s+of\b))(?!\s+[A-Z][a-z])"
)
PROTECTED = re.compile(
    HOUR + "|" + TIME + "|" + SCORE + r"|\[[A-Z]+(?:_\d+)?\]|\{\{[^{}]+\}\}|\{[a-z_]+\}|\b\d[\d.,:/\-]*\d\b|\b\d\b|#\w+"
)
SENTINEL = re.compile(r"XQ(\d+)X")


def protect(text: str, extra: list[str] | None = None) -> tuple[str, list[str]]:
    """Replace protected spans (and any `extra` literal values) by sentinels; return text and the spans."""
    spans: list[str] = []

    def keep(match: re.Match) -> str:
        spans.append(match.group(0))
        return f"XQ{len(spans) - 1}X"

    if extra:  # whole words match as words ("reps" is not the start of "represent")
        pattern = "|".join(
            rf"\b{re.escape(v)}\b" if v[0].isalnum() and v[-1].isalnum() else re.escape(v)
            for v in sorted(extra, key=len, reverse=True)
            if v
        )
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


# What a text is about: a rewording must keep these or it is another request. Read on three real sets, back-translation
# changed 18-50% of the candidates that passed the embedding, negation and label checks: "dallas" → "Dublin", "coach
# fares" → "bus fares", "termination charge" → "termination rate", "Book a table" → "Set a table", "music off Deezer"
# → "music outside Deezer", "The War of the Roses" → "The War 2 Rate of Roses". So a candidate keeps every content
# word of its source as written or as its plural (it may reorder and change small words), every direction word, and
# every name or title word for word, and brings in no word that is no English word at all ("spellra", "don've").
WORD = re.compile(r"[A-Za-z][A-Za-z'&-]*[A-Za-z]|[A-Za-z0-9]*\d[A-Za-z0-9/.:-]*|[A-Za-z]")
# Function words may change in a rewording; anything else is content. (scikit-learn's stop list also holds "top",
# "full", "first", "next", "show", "find", "name": words that carry a request.)
FUNCTION_WORDS = frozenset(
    """a an the this that these those is are was were be been being am do does did doing done have has had having
will would shall should can could may might must i me my mine myself you your yours yourself we us our ours they them their theirs he him
his she her hers it its of for on in at as and or but if so than then there here what which who whom whose when where why how to from by
with about into onto over under up down off out not no nor also just very too please get got let lets s t ll d re ve m
dont doesnt didnt cant wont isnt arent wasnt werent couldnt wouldnt shouldnt havent hasnt hadnt aint cannot never""".split()
)
NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand
million first second third fourth fifth last next half dozen january february march april may june july august september october
november december monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday tonight""".split()
)
# Small words whose change changes the request: direction, question, quantity.
DIRECTION = frozenset(
    "to from off out into onto up down before after without over under by through between until since against".split()
)
QUESTION = frozenset("what which who whom whose when where why how".split())
QUANTITY = frozenset(
    "all any some every each both either neither none few many much more most less least only than".split()
)
# Where: "what is the forecast for here" came back as "What is the forecast for" (read on SNIPS).
PLACE = frozenset("here there".split())
BRACKETS = '()[]{}<>"'
# Who does what to whom: "what name would you like me to call you" came back as "what name you'd like to call me".
PERSON = {
    "i": "i",
    "me": "i",
    "my": "i",
    "mine": "i",
    "myself": "i",
    "you": "you",
    "your": "you",
    "yours": "you",
    "yourself": "you",
    "u": "you",
    "ur": "you",
    "he": "he",
    "him": "he",
    "his": "he",
    "she": "she",
    "her": "she",
    "hers": "she",
    "we": "we",
    "us": "we",
    "our": "we",
    "ours": "we",
    "they": "they",
    "them": "they",
    "their": "they",
    "theirs": "they",
    "it": "it",
    "its": "it",
}
ARTICLES = frozenset("the a an this that these those my your our their his her its".split())
TITLE = re.compile(
    r"\b[A-Z][\w'&-]*(?:\s+(?:(?:of|the|a|an|and|on|in|at|by|with|for|to|from|de|la|le)\s+)*[A-Z0-9][\w'&-]*)+"
)


def _words(text: str) -> list[str]:
    return [w.lower() if any(c.isdigit() for c in w) else w.lower().split("'")[0] for w in WORD.findall(text)]


def key_terms(text: str) -> list[str]:
    """The words of `text` that say what it is about: content words, numbers and number words, dates, codes."""
    return [w for w in _words(text) if w and (w not in FUNCTION_WORDS or w in NUMBER_WORDS)]


def _kept(term: str, words: set[str]) -> bool:
    """A candidate keeps a term only as written, or as its plural: a stemmer let "tune" become "tuning" and "moody"
    become "mood-humored" (read on SNIPS and CLINC150), and lowercase names ("my just dance playlist") have no mark."""
    return term in words or f"{term}s" in words or f"{term}es" in words or (term.endswith("s") and term[:-1] in words)


def _count(words: list[str], group: frozenset[str]) -> list[str]:
    return sorted(w for w in words if w in group)


DOMAIN_ZIPF = 4.0  # words rarer than this in English (wordfreq) are names, places and domain terms: "refund", "escrow"


def lost_key_terms(source: str, candidate: str, word_swaps: bool = False) -> list[str]:
    """What the candidate lost or brought in that changes what the source is about (empty: nothing). `word_swaps`: the
    method exists to replace words (synonyms, EDA): common content words may change, but numbers, codes, dates, rare
    (domain) words, names and titles may not, and nor may persons, directions, questions or quantities."""
    require("the augmentation checks (key terms)", "wordfreq")
    from wordfreq import zipf_frequency

    source, candidate = source.replace("’", "'"), candidate.replace("’", "'")  # "Gota’s War" is a title as "Gota's War"

    source_words, candidate_words = _words(source), _words(candidate)
    terms = key_terms(source)
    if word_swaps:
        terms = [
            t
            for t in terms
            if any(c.isdigit() for c in t) or t in NUMBER_WORDS or zipf_frequency(t, "en") < DOMAIN_ZIPF
        ]
    lost = [t for t in terms if not _kept(t, set(candidate_words))]
    if not word_swaps:
        lost += [
            f"added:{t}" for t in key_terms(candidate) if not _kept(t, set(source_words))
        ]  # "list of shit to do" → "shit list to make"
        if len(key_terms(candidate)) > len(key_terms(source)):
            lost.append(
                "a content word repeated"
            )  # "restaurants around here are italian" → "around italian are Italian"
    lost += [
        f"span:{t}" for t in re.findall(f"{HOUR}|{TIME}|{SCORE}", source) if t.lower() not in candidate.lower()
    ]  # "an alarm for 7 am" → "an alarm for 7"
    for name, group in (("direction", DIRECTION), ("question", QUESTION), ("quantity", QUANTITY), ("place", PLACE)):
        if _count(source_words, group) != _count(candidate_words, group):
            lost.append(
                f"{name} changed"
            )  # "music off Deezer" → "outside Deezer"; "what name" → "Why Name"; "any" → "all"
    persons = lambda ws: sorted(PERSON[w] for w in ws if w in PERSON)  # noqa: E731
    if persons(source_words) != persons(candidate_words):
        lost.append("persons changed")
    # in the same order, next to each other or with an article between ("change order" → "change the order"; not
    # "want help" → "want to help")
    adjacent = list(zip(candidate_words, candidate_words[1:])) + [
        (a, c) for a, b, c in zip(candidate_words, candidate_words[1:], candidate_words[2:]) if b in ARTICLES
    ]
    lost += [
        f"order:{a} {b}"
        for a, b in _content_pairs(source_words)
        if not word_swaps and not any(_kept(a, {x}) and _kept(b, {y}) for x, y in adjacent)
    ]
    lost += [
        f"order:{a} of {b}"
        for a, b in _of_pairs(source_words)
        if not word_swaps and not _in_order(a, b, candidate_words)
    ]
    lost += [
        f"title:{t}"
        for t in TITLE.findall(source)
        if len(t.split()) >= 2 and t.lower() not in candidate.lower() and not _sentence_opening(source, t)
    ]
    lost += [
        f"not a word:{w}"
        for w in set(candidate_words) - set(source_words)
        if w.isalpha() and zipf_frequency(w, "en") == 0
    ]
    lost += [
        f"bracket:{b}" for b in BRACKETS if source.count(b) != candidate.count(b)
    ]  # "play beatles" → "play beatles (in"
    return lost


def _content_pairs(words: list[str]) -> list[tuple[str, str]]:
    """Adjacent content words ("animal collective", "psychedelic rock"): a name or a compound whose order is its meaning."""
    return [(a, b) for a, b in zip(words, words[1:]) if a not in FUNCTION_WORDS and b not in FUNCTION_WORDS]


def _of_pairs(words: list[str]) -> list[tuple[str, str]]:
    """Words joined by "of" (or "of the"): "bank of america", "the pulse of americana". Reordered they name something
    else ("the america bank", "americana pulse"), so the candidate must keep them in this order, however far apart.
    A count is no name: "a party of nine" → "a nine party" says the same."""
    pairs = []
    for at, word in enumerate(words[1:-1], 1):
        after = words[at + 2] if words[at + 1] == "the" and at + 2 < len(words) else words[at + 1]
        if word == "of" and words[at - 1].isalpha() and after.isalpha():
            pairs.append((words[at - 1], after))
    return [(a, b) for a, b in pairs if a not in FUNCTION_WORDS and b not in FUNCTION_WORDS | NUMBER_WORDS]


def _in_order(a: str, b: str, words: list[str]) -> bool:
    """Some `a` (as written or its plural) comes before some `b` in `words`."""
    firsts = [i for i, w in enumerate(words) if _kept(a, {w})]
    return bool(firsts) and any(_kept(b, {w}) for w in words[firsts[0] + 1 :])


def _sentence_opening(text: str, span: str) -> bool:
    """A capitalised run that only starts the sentence ("Book a restaurant"): no title, just a first word."""
    at = text.find(span)
    return at == 0 and len(span.split()) == 2 and not span.split()[1][0].isupper()


DETERMINERS = ARTICLES | frozenset("any some every each no another which what whose".split())
# People named by what they are to the writer: "send mom a text" is to one person, "a mom" is anyone's.
KIN = frozenset(
    "mom mum mommy mother dad daddy father grandma grandpa granny nana papa mama sister brother sis bro wife husband"
    " son daughter aunt uncle".split()
)


def articles_added(source: str, candidate: str) -> list[str]:
    """Names (capitalised after the first word) and kin that the candidate puts "a"/"an" before where its source gave
    them no determiner: the article turns a name or a person into a thing ("send mom a text" → "send a mom a text",
    "a joint in OK" → "an OK joint"). Common nouns may take one ("book restaurant" → "book a restaurant")."""
    written, source_words, candidate_words = WORD.findall(source), _words(source), _words(candidate)
    before = [""] + source_words
    named = {w for at, (w, raw) in enumerate(zip(source_words, written)) if w in KIN or (at and raw[0].isupper())}
    bare = {w for b, w in zip(before, source_words) if b not in DETERMINERS} - {
        w for b, w in zip(before, source_words) if b in DETERMINERS
    }
    return sorted(
        {
            w
            for article, w in zip(candidate_words, candidate_words[1:])
            if article in ("a", "an") and w in bare & named and w not in NUMBER_WORDS
        }
    )


# A question and a statement are different rows for an intent classifier: back-translation turned "can you tell me my
# credit score" into "You can tell me my credit score" and "do you have the time" into "you have the time".
AUXILIARIES = frozenset(
    "can could will would shall should may might must do does did is are was were am have has had".split()
)
SUBJECTS = frozenset("i you we he she it they there this that u".split())
NOUN_STARTS = frozenset("the a an my your his her our their these those any".split())


LEADING = frozenset("so and but then well ok okay hey also now".split())
MODALS = frozenset("can could will would shall should may might must".split())


def _asks(words: list[str]) -> bool:
    """A clause that opens (after "so", "and", ...) with an auxiliary and its subject: "can you", "is there", "does life
    have", "will the weather be"; "do" and "have" only before a pronoun ("do the dishes", "have a look" are commands)."""
    while words and words[0] in LEADING:
        words = words[1:]
    if len(words) < 2 or words[0] not in AUXILIARIES:
        return False
    if words[0] in ("do", "have"):
        return words[1] in SUBJECTS
    return words[0] not in MODALS or words[1] in SUBJECTS | NOUN_STARTS


def is_question(text: str) -> bool:
    """Ends with "?", opens with a question word, has a clause that opens with an auxiliary and its subject ("my vacation,
    has it been approved"), or puts a modal or "do" before a pronoun anywhere ("in seven hours will it rain")."""
    words = _words(text)
    opening = [w for w in words if w not in LEADING][:1]
    if text.rstrip().endswith("?") or (opening and opening[0] in QUESTION):
        return True
    if any(_asks(_words(clause)) for clause in re.split(r"[,;:]", text)):
        return True
    people = {"i", "you", "we", "they", "he", "she"}
    return any(
        (a in MODALS and b in people | {"it", "there"}) or (a in ("do", "does", "did") and b in people)
        for a, b in zip(words, words[1:])
    )


def sentence_type_changed(source: str, candidate: str) -> bool:
    return is_question(source) != is_question(candidate)
