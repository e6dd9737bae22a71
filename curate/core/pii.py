"""Finding PII in text: typed spans, validated where a checksum exists, and redaction to placeholders.

The `redact` stage uses it on rows; the executor and the run directory use it as the safety net
that keeps personal data out of reports.

Detectors run in order and the first claims a span: EMAIL, IBAN (mod-97), CARD (Luhn and a card
brand prefix), IP, SSN, PHONE (libphonenumber's possible-number check), ADDRESS (a house number,
capitalised street words and a street type: "221B Baker Street") and NAME (a capitalised name
after an introduction: "my name is Maria Okafor", "this is Tom"). No offline NER model is at hand,
so names and addresses are found only in those shapes: precision first, recall is partial. Within one ticket the same
value always gets the same placeholder (`[EMAIL]`, then `[EMAIL_2]` for a second address), so a
model still sees "the same address twice". Values never reach stats, reports or logs.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, get_args


PiiKind = Literal["EMAIL", "IBAN", "CARD", "IP", "SSN", "PHONE", "ADDRESS", "NAME"]
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
    from stdnum import iban

    return iban.is_valid(value.upper())


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


def _phone_checker(region: str) -> Callable[[str], bool]:
    import phonenumbers

    def is_phone(value: str) -> bool:
        digits = _digits(value)
        if not 7 <= len(digits) <= 15 or DATE_LIKE.match(value.strip()):
            return False
        if not value.lstrip().startswith(("+", "(")) and not re.search(r"\d[ .\-]\d", value):
            return False  # a bare run of digits is an order or account number, not a phone
        try:
            number = phonenumbers.parse(value, None if value.lstrip().startswith("+") else region)
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.is_possible_number(number)

    return is_phone


STREET_TYPES = (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace"
                r"|Crescent|Highway|Hwy|Parkway|Pkwy|Strasse|Straße)")
# One or two capitalised words, not a word that starts a sentence about the ticket ("this is Urgent").
CAPITALISED_NAME = (r"(?!(?:Urgent|Important|About|Regarding|Re|Not|Still|My|The|A|An|Your|Order|Ticket|Account|Customer"
                    r"|Support|Service|Team|Sir|Madam)\b)[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)?")
NAME_INTRO = r"(?i:my name is|my name's|i am called|this is|signed|regards from)\s+"
DETECTORS: list[tuple[str, str]] = [
    ("EMAIL", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    ("IBAN", r"(?i)\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b"),
    ("CARD", r"(?<![\d\-])(?:\d[ \-]?){12,18}\d(?![\d\-])"),
    ("IP", r"(?<![\w.:])(?:(?:\d{1,3}\.){3}\d{1,3}|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}:?){1,6})(?![\w.:])"),
    ("SSN", r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"),
    ("PHONE", r"(?<![\w+])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}(?:[ .\-]\d{2,8}){1,4}(?![\w])"),
    ("ADDRESS", r"\b\d{1,5}[A-Za-z]?,? (?:[A-Z][A-Za-z'\-]+ ){1,3}" + STREET_TYPES + r"\b"),
    ("NAME", r"\b" + NAME_INTRO + "(?P<pii>" + CAPITALISED_NAME + ")"),
]
# A cheap union of the detectors' shapes, run as one polars expression to pick candidate rows.
CANDIDATE_PATTERN = r"@|\d[\d \-.()]{5,}\d|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:|\d [A-Z]|" + NAME_INTRO + "[A-Z]"


@dataclass
class PiiFinder:
    """Finds PII spans in text; `kinds` chooses which detectors run."""

    kinds: tuple[str, ...] = PII_KINDS
    phone_region: str = "US"
    _compiled: list[tuple[str, re.Pattern, Callable[[str], bool] | None]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        validators: dict[str, Callable[[str], bool] | None] = {
            "EMAIL": None, "IBAN": _is_iban, "CARD": _is_card, "IP": _is_ip, "SSN": _is_ssn,
            "PHONE": _phone_checker(self.phone_region), "ADDRESS": None, "NAME": None,
        }
        self._compiled = [(kind, re.compile(p), validators[kind]) for kind, p in DETECTORS if kind in self.kinds]

    def find(self, text: str) -> list[PiiSpan]:
        spans: list[PiiSpan] = []
        taken: list[tuple[int, int]] = []
        for kind, pattern, is_valid in self._compiled:
            group = "pii" if "pii" in pattern.groupindex else 0  # a detector may match context around the value
            for match in pattern.finditer(text):
                start, end = match.span(group)
                value = match.group(group)
                if any(start < b and a < end for a, b in taken):
                    continue
                if is_valid is None or is_valid(value):
                    spans.append(PiiSpan(kind, start, end, value))
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
