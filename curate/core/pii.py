"""Finding PII in text: typed spans, validated where a checksum exists, and redaction to placeholders.

The `redact` stage uses it on rows; the executor and the run directory use it as the safety net
that keeps personal data out of reports.

Detectors run in order and the first claims a span: EMAIL, IBAN (the country's length and layout,
whatever the check digits: a typo'd IBAN is still someone's account), CARD (Luhn and a card brand
prefix), IP (also at a sentence's end), SSN, ACCOUNT (digits after "account", "acct", "a/c"), PHONE
(libphonenumber: international numbers, national numbers with a trunk prefix valid in any of
`NATIONAL_REGIONS`, and others valid in the finder's own region; never a number that a legal
citation, case, invoice or order reference precedes), ADDRESS (a house number, street words and a
street type, any case: "221B Baker Street", "27 moss lane") and NAME (after an introduction: "my
name is Maria Okafor", "my name is jason", "change my name to Tom", "this is Tom"; a lowercase name
or one after "this is" must be a known first name (Faker's lists for eleven locales), so "This is
Wells Fargo" stays). No offline NER model is at hand, so names and addresses are found only in
those shapes: precision first, recall is partial. Within one ticket the same
value always gets the same placeholder (`[EMAIL]`, then `[EMAIL_2]` for a second address), so a
model still sees "the same address twice". Values never reach stats, reports or logs.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from functools import lru_cache
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, get_args

from curate.core.text import english_stop_words


PiiKind = Literal["EMAIL", "IBAN", "CARD", "IP", "SSN", "ACCOUNT", "PHONE", "ADDRESS", "NAME"]
PII_KINDS: tuple[str, ...] = get_args(PiiKind)
# What `redact` leaves in the text: `[EMAIL]`, `[PHONE_2]`...
PLACEHOLDER = re.compile(r"\[(?:" + "|".join(PII_KINDS) + r")(?:_\d+)?\]")


class PiiSpan(NamedTuple):
    kind: str
    start: int
    end: int
    value: str


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _is_card(value: str) -> bool:
    from stdnum import luhn

    digits = _digits(value)
    if not 13 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return False
    prefix2, prefix4 = int(digits[:2]), int(digits[:4])
    return (
        digits[0] == "4" or 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720 or prefix2 in (34, 37, 35, 36, 38, 30)
        or digits.startswith("6011") or prefix2 == 65
    )


def _is_iban(value: str) -> bool:
    """An IBAN's shape for its country (length, layout), whatever its check digits and national checks."""
    from stdnum import iban

    number = iban.compact(value).upper()
    if len(number) < 15 or not number[2:4].isdigit() or not number.isalnum():
        return False
    try:
        repaired = number[:2] + iban.calc_check_digits(number) + number[4:]
        iban.validate(repaired)
    except (iban.InvalidFormat, iban.InvalidLength):
        return False
    except iban.ValidationError:  # a national check digit or bank code: still the shape of someone's account
        return True
    except Exception:  # characters stdnum cannot convert
        return False
    return True


def _iban_end(match: re.Match) -> int | None:
    """The longest run of the match's groups that is an IBAN ("ES91 2100 … 1332 for" ends before "for")."""
    parts = match.group(0).split(" ")
    for k in range(len(parts), 0, -1):
        candidate = " ".join(parts[:k])
        if _is_iban(candidate):
            return match.start() + len(candidate)
    return None


def _is_ip(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not (address.version == 4 and value.count(".") != 3)


def _is_ssn(value: str) -> bool:
    area, group, serial = value.split("-")
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


# Where a number written with a national trunk prefix ("0336 969 1667", "0171 1234567") may come from.
NATIONAL_REGIONS = ("GB", "DE", "FR", "IT", "ES", "NL", "BE", "AT", "CH", "IE", "AU", "NZ", "IN", "BR", "ZA")
# A number right after one of these is a citation or a reference, not a phone ("15 U.S.C 1681 602", "MCL 600.2145").
NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:u\.?\s?s\.?\s?c\.?|c\.?f\.?r\.?|\bmcl|§|\bno\.|\bnr\.|\bcase|\bdocket|\bsection|\bsec\.|\bregulation|\brule"
    r"|\bart(?:icle|\.)|\binvoice|\border|\bref(?:erence)?|\bticket|\btracking|\bclaim|\bpolicy|\bloan)\W{0,3}(?:[\w.]+\W{1,3})?$")


def _phone_checker(region: str) -> Callable[[str], bool]:
    import phonenumbers

    def valid(value: str, where: str | None) -> bool:
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(value, where))
        except phonenumbers.NumberParseException:
            return False

    def is_phone(value: str) -> bool:
        digits = _digits(value)
        stripped = value.strip()
        if not 7 <= len(digits) <= 15 or DATE_LIKE.match(stripped):
            return False
        if not stripped.startswith(("+", "(")) and not re.search(r"\d[ .\-]\d", value):
            return False  # a bare run of digits is an order or account number, not a phone
        if stripped.startswith("+") or stripped.startswith("00"):
            return valid("+" + stripped.lstrip("+")[2 if stripped.startswith("00") else 0:], None)
        if stripped.startswith("0") or stripped.startswith("(0"):  # a national trunk prefix
            return len(digits) >= 9 and any(valid(value, r) for r in (region, *NATIONAL_REGIONS))
        return valid(value, region) or (region != "US" and len(digits) >= 10 and valid(value, "US"))

    return is_phone


@lru_cache(maxsize=1)
def known_names() -> tuple[frozenset[str], frozenset[str]]:
    """First and last names from Faker's person lists (eleven locales), lower-cased, without common English words."""
    import importlib

    first, last = set(), set()
    for locale in ("en_US", "en_GB", "en_IN", "en_IE", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL"):
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for names, into in ((getattr(provider, "first_names", ()), first), (getattr(provider, "last_names", ()), last)):
            into.update(n.lower() for n in (names.keys() if hasattr(names, "keys") else names))
    words = english_stop_words() | COMMON_WORDS_THAT_ARE_NAMES
    return frozenset(first - words), frozenset(last - words)


# Names that are also everyday words: after "this is" or in lower case they are read as words.
COMMON_WORDS_THAT_ARE_NAMES = {
    "will", "may", "june", "april", "august", "grant", "bill", "mark", "chase", "hope", "joy", "faith", "rose", "summer",
    "page", "art", "case", "sue", "pat", "don", "ray", "dean", "lane", "jack", "guy", "frank", "sunny", "rich", "van",
    "wells", "best", "love", "long", "young", "white", "brown", "black", "green", "king", "price", "hill", "wood", "cash",
    "major", "forest", "river", "rock", "star", "angel", "baby", "ivy", "holly", "daisy", "lily", "dawn", "drew", "gene",
    "hunter", "miles", "penny", "sky", "storm", "crystal", "amber", "ruby", "pearl", "jewel", "sage", "reed", "ford", "mercedes",
    "capital", "chance", "christian", "constance", "destiny", "ernest", "honor", "justice", "liberty", "marina", "patience",
    "prince", "royal", "rusty", "tanner", "trinity", "victory", "wade", "walker", "carter", "cooper", "mason", "parker",
    "bank", "credit", "american", "national", "first", "urgent", "important", "ridiculous", "unacceptable", "terrible",
}


def _name_end(match: re.Match) -> int | None:
    """Where the name after an introduction ends, or None for no name: a capitalised word after "my name
    is" and the like; a known first name otherwise (lower case, or after "this is", which often introduces
    a company or an adjective). A second word belongs to the name when capitalised or a known last name."""
    value, intro = match.group("pii"), match.group("intro").lower()
    words = re.split(r"[ \-]", value)
    first, last = known_names()
    known = words[0].lower() in first
    if not known and (intro.startswith("this") or not words[0][0].isupper() or words[0] in NOT_NAMES):
        return None
    start = match.start("pii")
    end = start + len(words[0])
    if len(words) > 1 and words[1] not in NOT_NAMES and (words[1][0].isupper() or words[1].lower() in last):
        end = match.end("pii")
    return end


def _is_address(match: re.Match) -> bool:
    """Street words are never stop words ("2 days down the road"); an everyday street type needs capitals."""
    if match.group("street") is None:  # the German shapes ("Hauptstraße 42") are specific enough
        return True
    words = match.group("street").split()
    if any(w.lower() in english_stop_words() for w in words):
        return False
    ambiguous = match.group("type").lower() in AMBIGUOUS_STREET_TYPES
    return not ambiguous or all(w[0].isupper() for w in words + [match.group("type")])


STREET_TYPES = (r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace"
                r"|crescent|close|highway|hwy|parkway|pkwy|strasse|straße)")
# Street types that are everyday words too: an address with one of them must be capitalised ("5 Elm Way").
AMBIGUOUS_STREET_TYPES = {"st", "dr", "ct", "way", "place", "pl", "court", "drive"}
# Words that begin a sentence about the ticket, not a name ("my name is Not on the account").
NOT_NAMES = {"Urgent", "Important", "About", "Regarding", "Re", "Not", "Still", "My", "The", "A", "An", "Your", "Order", "Ticket",
             "Account", "Customer", "Support", "Service", "Team", "Sir", "Madam", "On", "In", "Wrong", "Missing", "Spelled", "Incorrect"}
NAME_WORD = r"[A-Za-z][a-z]+(?:[ \-][A-Za-z][a-z]+)?"
NAME_INTRO = (r"(?P<intro>(?i:my name is|my name's|i am called|call me|calling me|change my name to|in the name of|this is|signed"
              r"|regards from))\s+")
DETECTORS: list[tuple[str, str]] = [
    ("EMAIL", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    ("IBAN", r"(?i)\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b"),
    ("CARD", r"(?<![\d\-])(?:\d[ \-]?){12,18}\d(?![\d\-])"),
    ("IP", r"(?<![\w.:])(?:(?:\d{1,3}\.){3}\d{1,3}|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}:?){1,6})(?![\w:]|\.\w)"),
    ("SSN", r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"),
    ("ACCOUNT", r"(?i)\b(?:account|acct|a/c)\.?(?:\s*(?:number|num|no\.?|nr\.?|#))?(?:\s+is)?\s*[:#]?\s*(?P<pii>\d(?:[\d\- ]{4,22})\d)\b"),
    ("PHONE", r"(?<![\w+])(?:(?:\+|00)\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{1,5}(?:[ .\-]\d{2,8}){1,5}(?![\w])"),
    ("ADDRESS", r"(?i)\b\d{1,5}[a-z]?,? (?P<street>(?:[a-z][a-z'\-]+ ){1,3})(?P<type>" + STREET_TYPES + r")\b"
                r"|\b\d{1,5}[a-z]? [A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|weg|gasse|allee|platz)\b"
                r"|\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|weg|gasse|allee|platz) \d{1,4}[a-z]?\b"),
    ("NAME", r"\b" + NAME_INTRO + "(?P<pii>" + NAME_WORD + ")"),
]
# A cheap union of the detectors' shapes, run as one polars expression to pick candidate rows.
CANDIDATE_PATTERN = (r"@|\d[\d \-.()]{5,}\d|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:|\d[a-zA-Z]? [A-Za-z]|[a-zäöü](?:straße|strasse|weg|gasse|allee|platz) \d"
                     r"|(?i:my name|i am called|call(?:ing)? me|change my name|in the name of|this is|signed|regards from)")


@dataclass
class PiiFinder:
    """Finds PII spans in text; `kinds` chooses which detectors run."""

    kinds: tuple[str, ...] = PII_KINDS
    phone_region: str = "US"
    _compiled: list[tuple[str, re.Pattern, Callable[[str], bool] | None]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        is_phone = _phone_checker(self.phone_region)

        def phone(match: re.Match, text: str) -> bool:
            return is_phone(match.group(0)) and not NOT_A_PHONE_BEFORE.search(text[max(0, match.start() - 30) : match.start()])

        def value_check(check: Callable[[str], bool]) -> Callable[[re.Match, str], bool]:
            return lambda match, text: check(match.group("pii") if "pii" in match.re.groupindex else match.group(0))

        # Each check sees the match and the text around it; NAME returns where the name ends instead.
        validators: dict[str, Callable[[re.Match, str], bool | int | None] | None] = {
            "EMAIL": None, "IBAN": lambda match, text: _iban_end(match), "CARD": value_check(_is_card), "IP": value_check(_is_ip),
            "SSN": value_check(_is_ssn), "ACCOUNT": value_check(lambda v: 6 <= len(_digits(v)) <= 20), "PHONE": phone,
            "ADDRESS": lambda match, text: _is_address(match), "NAME": lambda match, text: _name_end(match),
        }
        self._compiled = [(kind, re.compile(p), validators[kind]) for kind, p in DETECTORS if kind in self.kinds]

    def find(self, text: str) -> list[PiiSpan]:
        spans: list[PiiSpan] = []
        taken: list[tuple[int, int]] = []
        for kind, pattern, check in self._compiled:
            group = "pii" if "pii" in pattern.groupindex else 0  # a detector may match context around the value
            for match in pattern.finditer(text):
                start, end = match.span(group)
                if any(start < b and a < end for a, b in taken):
                    continue
                verdict = True if check is None else check(match, text)
                if verdict is None or verdict is False:
                    continue
                if verdict is not True:  # a position: where the value really ends
                    end = verdict
                spans.append(PiiSpan(kind, start, end, text[start:end]))
                taken.append((start, end))
        return sorted(spans, key=lambda s: s.start)

    def redact(self, text: str) -> tuple[str, Counter]:
        """Replace each span by its placeholder; the same value keeps the same placeholder."""
        spans = self.find(text)
        if not spans:
            return text, Counter()
        placeholders: dict[tuple[str, str], str] = {}
        per_kind: Counter = Counter()
        pieces, cursor = [], 0
        for span in spans:
            key = (span.kind, re.sub(r"[\s\-.()]", "", span.value).lower())
            if key not in placeholders:
                per_kind[span.kind] += 1
                n = per_kind[span.kind]
                placeholders[key] = f"[{span.kind}]" if n == 1 else f"[{span.kind}_{n}]"
            pieces += [text[cursor : span.start], placeholders[key]]
            cursor = span.end
        pieces.append(text[cursor:])
        return "".join(pieces), Counter(span.kind for span in spans)


PROGRESS_EVERY = 20_000  # texts between two progress reports


def redact_columns(frame, columns, finder: PiiFinder | None = None, on_progress: Callable[[int, int], None] | None = None):
    """`frame` with PII replaced in each of `columns` it has (only rows whose text looks like a candidate
    are examined); returns the frame, the kinds found per row position and the placeholder counts.
    `on_progress(examined, to_examine)` hears of the candidate texts examined."""
    import polars as pl

    finder = finder or PiiFinder()
    totals: Counter = Counter()
    kinds_by_row: dict[int, set[str]] = {}
    replaced = []
    present = [c for c in columns if c in frame.columns]
    indices = {c: frame[c].cast(pl.String).str.contains(CANDIDATE_PATTERN).fill_null(False).arg_true() for c in present}
    total, done = sum(len(index) for index in indices.values()), 0
    for column in present:
        texts, index = frame[column].cast(pl.String), indices[column]
        new_texts = []
        for position, text in zip(index.to_list(), texts.gather(index).to_list()):
            new_text, counts = finder.redact(text)
            new_texts.append(new_text)
            done += 1
            if on_progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
                on_progress(done, total)
            if counts:
                totals.update(counts)
                kinds_by_row.setdefault(position, set()).update(counts)
        replaced.append(texts.scatter(index, pl.Series(new_texts, dtype=pl.String)) if len(index) else texts)
    return (frame.with_columns(replaced) if replaced else frame), kinds_by_row, totals
