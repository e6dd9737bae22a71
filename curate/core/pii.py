"""Finding PII in text: typed spans, validated where a checksum or a registry exists, and redaction to placeholders.

The `redact` stage uses it on rows; the executor and the run directory use it as the safety net
that keeps personal data out of reports.

Each detector is a bounded pattern that proposes a span and a check that accepts it, trims it or
refuses it; detectors run in order and the first claims a span:

- EMAIL: any script in the local part and the domain (`josé.garcía@…`, `o'brien@…`, `lukas@münchen.de`),
  then written-out forms (`tom dot baker at yahoo dot com`, `a.b [at] c [dot] de`); never a file name
  (`icon@2x.png`).
- IBAN: spaced, dashed or compact, any case; the country must be one python-stdnum knows and the BBAN
  its layout, whatever the check digits (a typo'd IBAN is still someone's account).
- CARD: Luhn and a brand prefix, written compact or in a card's groups (spaces, dashes, dots).
- IP: IPv4, IPv6 and mapped IPv4 as `ipaddress` parses them; not a dotted number a version word stands by
  ("version 2.1.0.12").
- SSN: `123-45-6789` unless a product word precedes it ("SKU 400-12-3456"); spaced or compact only
  after "SSN" or "social security".
- ACCOUNT: an id after "account", "acct", "customer/member/client number|id|no"; never a year or a range.
- PHONE: international numbers with a country code (also those libphonenumber calls invalid:
  "+49 151 2090801"), North American shapes, national numbers with a trunk prefix valid in one of
  `NATIONAL_REGIONS`, others valid in the finder's region, and bare digit runs after a phone word;
  never a number after a legal citation, case, invoice, order or other reference word, or an amount.
- ADDRESS: a house number and a street type (USPS suffixes; the everyday ones only after an address
  word: "ship to 2 Elm Drive", not "bought 2 Seagate Expansion Drive"), P.O. boxes, and European forms
  ("12 rue de Rivoli", "Hauptstraße 5", "Via Roma, 3", "ul. Polna 12").
- NAME: after an introduction ("my name is", "this is … from", "I'm") or under a sign-off ("Thanks,\\n
  Kevin O'Brien"): capitalised words in any script with apostrophes, hyphens and particles; a lowercase
  word, or a lone word after "this is", "I'm" or a sign-off, must be a known first name (Faker's lists),
  so "call me Monday" and "This is Wells Fargo" stay.

No offline NER model is at hand, so names and addresses are found only in those shapes. Every pattern
starts only at a token's start and has bounded repeats, so a megabyte without spaces is read in linear
time. Each detector also has a cheap gate (a word or shape it cannot match without); `redact_columns`
opens the gates for a whole column in polars, so a text runs only the detectors that can match it. Within one ticket the same value always gets the same placeholder (`[EMAIL]`, then `[EMAIL_2]`
for a second address). Values never reach stats, reports or logs.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
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


Span = tuple[int, int]
Check = Callable[[re.Match, str], "Span | None"]


class Detector(NamedTuple):
    """A pattern that proposes spans and a check that accepts, trims or refuses each. `gate` is a cheap pattern,
    searched in the lower-cased text, without which the detector cannot match; an `anchored` detector's matches
    begin where its gate matches, so only those places are tried."""

    kind: str
    pattern: re.Pattern
    check: Check
    gate: re.Pattern
    anchored: bool = False
    hints: tuple[str, ...] = ()  # one of these is in any text the gate opens for: a quicker test of long gates


_NON_DIGIT = re.compile(r"\D")


def _digits(value: str) -> str:
    return _NON_DIGIT.sub("", value)


def _before(text: str, start: int, width: int = 40) -> str:
    return text[max(0, start - width) : start]


# ---------------------------------------------------------------------------------------------------------
# e-mail

# A file name, not an address: `icon@2x.png`, `logo@3x.webp`.
FILE_SUFFIXES = frozenset("png jpg jpeg gif svg webp ico bmp tif tiff pdf heic mp4 mov zip js css ts json txt".split())
EMAIL = re.compile(
    r"(?<![\w.%+\-@])(?<!\w')"
    r"[\w%+\-][\w.%+\-']{0,63}"
    r"@(?:[^\W_][\w\-]{0,62}\.){1,8}(?:[^\W\d_]{2,24}|xn--[a-z0-9\-]{1,59})"
    r"(?![\w\-@]|\.[^\W_])"
)


def _email_check(match: re.Match, text: str) -> Span | None:
    domain = match.group(0).rpartition("@")[2].lower()
    if domain.rpartition(".")[2] in FILE_SUFFIXES or re.match(r"\d+x\.", domain):
        return None
    return match.span()


_AT = r"(?:[ \t]{0,3}[\[({<][ \t]{0,2}at[ \t]{0,2}[\])}>][ \t]{0,3}|[ \t]{1,3}at[ \t]{1,3}|[ \t]{0,3}@[ \t]{0,3})"
_DOT = r"(?:[ \t]{0,3}[\[({<][ \t]{0,2}dot[ \t]{0,2}[\])}>][ \t]{0,3}|[ \t]{1,3}dot[ \t]{1,3}|\.)"
_PART = r"[\w%+\-'][\w%+\-']{0,39}"
# Where a domain may end: generic top-level domains people use, or a two-letter country.
_TLD = r"(?:com|net|org|edu|gov|mil|int|info|biz|io|app|dev|xyz|online|email|mail|name|pro|[a-z]{2})(?![\w\-])"
MAIL_PROVIDERS = frozenset(
    "gmail googlemail yahoo ymail hotmail outlook live msn icloud me aol gmx web proton protonmail "
    "yandex mail orange free libero comcast verizon att btinternet sky t-online qq 163".split()
)
EMAIL_SPELLED = re.compile(
    r"(?i)(?=[\w%+\-'])(?<![\w.%+\-@'])(?!(?:me|us|him|her|them|it|you|i|we|they|or|and|look|looked|be|is|was|not|but|arrived|home|work)\b)"
    rf"(?P<local>{_PART}(?:{_DOT}{_PART}){{0,3}})(?P<at>{_AT})(?P<domain>{_PART}(?:{_DOT}{_PART}){{0,3}}(?P<last>{_DOT}){_TLD})"
)


def _spelled_email_check(match: re.Match, text: str) -> Span | None:
    """A written-out address needs a written-out "at" or "dot", or an "at" between a dotted name and a mail provider."""
    value = match.group(0)
    if "@" in match.group("at") and "dot" not in value.lower():
        return None  # a plain address: EMAIL's business
    spelled = re.search(r"(?i)[\[({<]\s*(?:at|dot)\s*[\])}>]|\sdot\s", value)
    if not spelled:
        host = re.split(r"\.", match.group("domain"))[0].lower()
        if not (re.search(r"[._\-\d]", match.group("local")) or host in MAIL_PROVIDERS):
            return None  # "look at example.com"
    return match.span()


# ---------------------------------------------------------------------------------------------------------
# IBAN, card, IP, SSN, account

IBAN = re.compile(
    r"(?i)(?<![\w\-])[A-Z]{2}\d{2}(?:(?P<sep>[ \-]?)[A-Z0-9]{4})(?:(?P=sep)[A-Z0-9]{4}){1,6}"
    r"(?:(?P=sep)[A-Z0-9]{1,4})?(?![\w])"
)


@lru_cache(maxsize=1)
def iban_countries() -> frozenset[str]:
    """The countries python-stdnum knows an IBAN layout for."""
    import string

    from stdnum import iban

    pairs = (a + b for a in string.ascii_uppercase for b in string.ascii_uppercase)
    return frozenset(cc for cc in pairs if iban._ibandb.info(cc + "00")[0][1])


def _is_iban(value: str) -> bool:
    """The shape of an IBAN for a country stdnum knows (length, BBAN layout), whatever its check digits."""
    from stdnum import iban

    number = re.sub(r"[ \-]", "", value).upper()
    if len(number) < 15 or number[:2] not in iban_countries() or not number.isalnum() or not number[2:4].isdigit():
        return False
    try:
        iban.validate(number[:2] + iban.calc_check_digits(number) + number[4:], check_country=False)
    except Exception:  # an unknown country, a BBAN of the wrong layout, characters stdnum cannot convert
        return False
    return True


def _iban_check(match: re.Match, text: str) -> Span | None:
    """The longest run of the match's groups that is an IBAN ("ES91 2100 … 1332 for" ends before "for")."""
    if match.group(0)[:2].upper() not in iban_countries():
        return None
    sep = match.group("sep")
    parts = match.group(0).split(sep) if sep else [match.group(0)]
    for k in range(len(parts), 0, -1):
        candidate = sep.join(parts[:k])
        if _is_iban(candidate):
            return match.start(), match.start() + len(candidate)
    return None


CARD = re.compile(
    r"(?<![\w.\-+/$€£])(?:\d{13,19}|\d{4}(?P<sep>[ .\-])\d{4,6}(?:(?P=sep)\d{1,5}){1,3})(?![\w\-]|[.\-/ ]\d)"
)
CARD_GROUPS = re.compile(r"^4(?:,4){2,3}(?:,[1-4])?$|^4,6,[45]$")


def _card_check(match: re.Match, text: str) -> Span | None:
    from stdnum import luhn

    if re.search(r"\d[ .\-]{1,2}$", _before(text, match.start(), 3)):
        return None  # the tail of a longer number ("9400 3009 0855 5693 5418 98", a tracking number)
    value = match.group(0)
    digits = _digits(value)
    if not 13 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return None
    if match.group("sep") and not CARD_GROUPS.match(",".join(str(len(g)) for g in value.split(match.group("sep")))):
        return None  # an order number in groups no card is printed in ("239-6829040-7311520")
    prefix2, prefix4 = int(digits[:2]), int(digits[:4])
    brand = (
        digits[0] == "4"
        or 51 <= prefix2 <= 55
        or 2221 <= prefix4 <= 2720
        or prefix2 in (34, 37, 35, 36, 38, 30)
        or digits.startswith("6011")
        or prefix2 == 65
    )
    return match.span() if brand else None


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IP = re.compile(
    rf"(?=[\dA-Fa-f:])(?<![\w.])(?<![0-9A-Fa-f]:)(?:{_OCTET}(?:\.{_OCTET}){{3}}|(?:[0-9A-Fa-f]{{0,4}}:){{2,7}}(?:{_OCTET}(?:\.{_OCTET}){{3}}|[0-9A-Fa-f]{{1,4}})?)"
    rf"(?![\w]|\.\d)"
)
# Words that make a dotted number a version: "version 2.1.0.12", "firmware 10.0.0.1 update".
VERSION_BEFORE = re.compile(
    r"(?i)\b(?:v|ver|version|versions|build|firmware|fw|release|released|update|updated|updating|upgrade|"
    r"upgraded|upgrading|patch|patched|rolled back to|roll back to|downgraded? to|installed|install|"
    r"release notes|changelog|sdk|api|kernel|driver|app|beta|alpha|preview|nightly|rc)\W{0,3}(?:to\W{1,3})?$"
)
PHONE_CODE_BEFORE = re.compile(r"\+\d{1,3}[ \t]$")  # "+41 78.125.18.32" is a phone written with dots
VERSION_AFTER = re.compile(r"(?i)^\W{0,2}(?:update|upgrade|release|build|version|firmware|patch|beta|rc\d?)\b")


def _ip_check(match: re.Match, text: str) -> Span | None:
    value = match.group(0)
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 4 and (
        VERSION_BEFORE.search(_before(text, match.start(), 30))
        or PHONE_CODE_BEFORE.search(_before(text, match.start(), 6))
        or VERSION_AFTER.match(text[match.end() : match.end() + 20])
    ):
        return None
    return match.span()


def _is_ssn(value: str) -> bool:
    digits = _digits(value)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        len(digits) == 9
        and area not in ("000", "666")
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
    )


SSN_AFTER_CUE = re.compile(
    r"(?i)\b(?:ssn|ss\#|social[ \t]security(?:[ \t](?:number|no\.?|num|\#))?|soc\.?[ \t]sec\.?(?:[ \t]no\.?)?)"
    r"(?:[ \t]{1,3}is)?[ \t]{0,3}[:#]?[ \t]{0,3}(?P<pii>\d{3}[ \-]?\d{2}[ \-]?\d{4})(?![\w\-])"
)
SSN = re.compile(r"(?<![\w\-#/.])\d{3}-\d{2}-\d{4}(?![\w\-]|\.\d)")
# A dashed 3-2-4 number after one of these is a product or a reference: "SKU 400-12-3456".
NOT_AN_SSN_BEFORE = re.compile(
    r"(?i)\b(?:sku|part|parts|item|model|order|ref|reference|serial|s/n|product|style|catalog|catalogue|"
    r"cat|upc|ean|isbn|invoice|case|ticket|tracking|article|art|code|lot|batch|version)\b\W{0,5}"
    r"(?:no\.?|nr\.?|number|num)?\W{0,3}$"
)


def _ssn_check(match: re.Match, text: str) -> Span | None:
    span = match.span("pii") if "pii" in match.re.groupindex else match.span()
    if not _is_ssn(text[span[0] : span[1]]):
        return None
    if "pii" not in match.re.groupindex and NOT_AN_SSN_BEFORE.search(_before(text, span[0], 30)):
        return None
    return span


ACCOUNT = re.compile(
    r"(?i)\b(?:(?:account|acct|a/c)\.?(?:[ \t]{0,3}(?:number|num|no\.?|nr\.?|\#|id))?"
    r"|(?:customer|client|member(?:ship)?|subscriber|loyalty|contract)[ \t]{0,3}(?:number|num|no\.?|nr\.?|\#|id))"
    r"(?:[ \t]{1,3}is)?[ \t]{0,3}[:#]?[ \t]{0,3}"
    r"(?P<pii>(?-i:[A-Z]{1,4})?-?\d{2,12}(?:[ \-]\d{2,8}){0,3})(?![\w\-])"
)
YEARS = re.compile(r"^(?:19|20)\d\d(?:\s*[-–/]\s*(?:(?:19|20)\d\d|\d\d))?$")
DATE_FIRST = re.compile(
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}(?!\d)|\d{1,2}[-./]\d{1,2}[-./]\d{4}(?!\d)"
)  # "2016-12-19 21:06"
DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def _account_check(match: re.Match, text: str) -> Span | None:
    value = match.group("pii")
    least = 5 if value[:1].isalpha() else 6  # "CU-50240", "88812345"
    if not least <= len(_digits(value)) <= 20 or YEARS.match(value) or DATE_LIKE.match(value):
        return None
    return match.span("pii")


# ---------------------------------------------------------------------------------------------------------
# phone

# Where a number written with a national trunk prefix ("0336 969 1667", "0171 1234567") may come from.
NATIONAL_REGIONS = ("GB", "DE", "FR", "IT", "ES", "NL", "BE", "AT", "CH", "IE", "AU", "NZ", "IN", "BR", "ZA")
# A number right after one of these is a citation or a reference, not a phone ("15 U.S.C 1681 602", "MCL 600.2145").
NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:u\.?\s?s\.?\s?c\.?|c\.?f\.?r\.?|\bmcl|§|\bno\.|\bnr\.|\bcase|\bdocket|\bsection|\bsec\.|\bregulation|\brule"
    r"|\bart(?:icle|\.)|\binvoice|\border|\bref(?:erence)?|\bticket|\btracking|\bclaim|\bpolicy|\bloan|\bsku|\bserial|\bmodel"
    r"|\bpart|\bitem|\bcard|\biban|\bisbn|\btransaction|\bconfirmation|\bbooking|\breservation|\bimei)\W{0,3}(?:[\w.]+\W{1,3})?$"
)
# A bare run of digits is a phone only a few words after one of these.
PHONE_WORD_BEFORE = re.compile(
    r"(?i)\b(?:call|called|calling|phone|phoned|tel|telephone|mobile|cell|cellphone|text|texted|sms|"
    r"whats\s?app|fax|ring|dial|reach|contact|landline|handy)\b\W{0,3}(?:[a-z]+\W{1,3}){0,3}$"
)
AMOUNT_AROUND = re.compile(r"[$€£¥]\s?$|(?i:\b(?:usd|eur|gbp|chf|cad|aud|inr|jpy)\s?)$")
AMOUNT_AFTER = re.compile(r"(?i)^\s?(?:usd|eur|gbp|chf|cad|aud|inr|jpy|dollars?|euros?|pounds?|%|percent)\b")
RUN_GOES_ON = re.compile(r"[ .\-]{1,2}\d")
NANP = re.compile(r"^(?:\+?1[ .\-]?)?(?:\([2-9]\d\d\)|[2-9]\d\d)[ .\-]?[2-9]\d\d[ .\-]?\d{4}$")
_SEP = r"(?:[ .\-]{1,2}|(?<=\))|(?=\())"
PHONE = re.compile(
    r"(?=[+(\d])(?<![\w+.\-/$€£¥#@,])(?:\+[ \t]?)?(?:\(\d{1,5}\)|\d{1,15})"
    rf"(?:{_SEP}(?:\(0\)[ \t]?)?(?:\(\d{{1,5}}\)|\d{{1,8}})){{0,7}}"
)


# The phone check runs on every number a ticket has (order numbers included): its patterns are compiled once here.
_NUMBER_GROUP_SEPARATOR = re.compile(r"[ .\-]{1,2}")
_SEPARATED_DIGITS = re.compile(r"\d[ .\-()]+\d|\)\d")
_DIGIT_GROUP = re.compile(r"\d+")
_DIGIT_GROUP_END = re.compile(r"\d+\)?")
_AMOUNT = re.compile(r"\d{1,3}(?:[ ,.]\d{3})+[.,]\d{2}|\d+\.\d{2}")
_CLOCK_AFTER = re.compile(r":\d")


def _in_number_run(before: str) -> bool:
    """`before` ends with three or more number groups and a separator: what follows is inside a run of numbers."""
    if not before[-1:] in (" ", ".", "-"):
        return False
    groups = _NUMBER_GROUP_SEPARATOR.split(before[-24:].rstrip(" .-"))
    return len(groups) >= 4 and all(g.isdigit() for g in groups[-3:])


PHONE_PARSES_PER_TEXT = 500  # libphonenumber calls one text may spend (a few milliseconds each)


def _phone_checker(region: str) -> Callable[[re.Match, str], Span | None]:
    import phonenumbers

    country_codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE

    budget = {"text": None, "left": 0}

    def valid(value: str, where: str | None) -> bool:
        if budget["left"] <= 0:
            return False  # a dump or a table of numbers: the rest is judged by its shape alone (linear time)
        budget["left"] -= 1
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(value, where))
        except phonenumbers.NumberParseException:
            return False

    def with_country_code(digits: str) -> bool:
        """`digits` begin with a country calling code and leave a national number of a phone's length."""
        for k in (1, 2, 3):
            if int(digits[:k]) in country_codes:
                return 6 <= len(digits) - k <= 12
        return False

    def is_phone(value: str, cued: bool) -> bool:
        digits = _digits(value)
        if not 7 <= len(digits) <= 15 or DATE_LIKE.match(value) or DATE_FIRST.match(value):
            return False
        separated = bool(_SEPARATED_DIGITS.search(value))
        if sum(len(g) == 1 for g in _DIGIT_GROUP.findall(value.replace("(0)", ""))[1:-1]) > 1:
            return False  # "1.3.6.1.4.1.41433": no phone is written in single digits
        if value.startswith("+"):  # phone-shaped with a country code, valid or not ("+49 151 2090801")
            return with_country_code(digits)
        if value.startswith("00") and value[2:3].isdigit():
            return valid("+" + digits[2:], None)
        if _AMOUNT.fullmatch(value):
            return False  # an amount
        if NANP.match(value):
            return (separated or cued) and (region in ("US", "CA") or valid(value, "US"))
        if value.startswith(("0", "(0")):  # a national trunk prefix
            return (
                (separated or cued) and len(digits) >= 9 and any(valid(value, r) for r in (region, *NATIONAL_REGIONS))
            )
        return (separated or cued) and (
            valid(value, region) or (region != "US" and len(digits) >= 10 and valid(value, "US"))
        )

    def check(match: re.Match, text: str) -> Span | None:
        value = match.group(0)
        if len(value) < 7 or sum(map(str.isdigit, value)) < 7:
            return None
        before = _before(text, match.start(), 40)
        ends = [m.end() for m in _DIGIT_GROUP_END.finditer(value)]
        if _in_number_run(before) or (len(ends) >= 8 and RUN_GOES_ON.match(text, match.end())):
            return None  # inside a run of number groups longer than any phone (a hex dump, a table)
        if budget["text"] is not text:
            budget["text"], budget["left"] = text, PHONE_PARSES_PER_TEXT
        cued = bool(PHONE_WORD_BEFORE.search(before))
        # The candidate may run into numbers after the phone: try it whole, then without its last groups.
        for end in reversed(ends):
            if len(_digits(value[:end])) < 7 or (not cued and len(_digits(value[end:])) > 2):
                break  # unasked, a phone may shed at most a short number after it ("+1 415 555 2671 2 times")
            if is_phone(value[:end], cued):
                after = text[match.start() + end : match.start() + end + 10]
                if (
                    _CLOCK_AFTER.match(after)
                    or NOT_A_PHONE_BEFORE.search(before[-30:])
                    or AMOUNT_AROUND.search(before)
                    or AMOUNT_AFTER.match(after)
                ):
                    return None
                return match.start(), match.start() + end
        return None

    return check


# ---------------------------------------------------------------------------------------------------------
# address


@lru_cache(maxsize=1)
def street_suffixes() -> frozenset[str]:
    """USPS street suffixes (Publication 28, as Faker's en_US address list carries them) and their abbreviations."""
    from faker.providers.address.en_US import Provider

    return frozenset(s.lower() for s in Provider.street_suffixes) | USPS_ABBREVIATIONS


USPS_ABBREVIATIONS = frozenset(
    "st str ave av rd blvd ln dr ct pl ter cres hwy pkwy cir sq trl way pike aly xing expy fwy "
    "plz pt crk mt ste close".split()
)
# Street types that are unambiguous after a house number; every other suffix needs an address word before it.
PLAIN_STREET_TYPES = frozenset(
    "street st str avenue ave av road rd boulevard blvd lane ln terrace ter crescent cres highway "
    "hwy parkway pkwy close".split()
)
ADDRESS_WORD_BEFORE = re.compile(
    r"(?i)(?:\b(?:to|at|on|address|addr|is|live|lives|lived|living|moved|located|from|reside|"
    r"resides|billing|shipping|delivery|deliver|destination|location)\b|[:\n])\W{0,3}$"
)
QUANTITY_BEFORE = re.compile(
    r"(?i)\b(?:bought|buy|buying|ordered|order|purchased|purchase|returned|return|returning|got|"
    r"received|have|has|had|need|needs|want|sell|sold|exchange|exchanged|ship|shipped|qty|quantity|"
    r"of|only|all|with|x|about|those|these|the)\W{0,2}$"
)
_NUM = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_DIRECTION = r"(?:[NSEW]|N\.?[EW]|S\.?[EW]|North|South|East|West)\.?"
_STREET_WORD = r"(?:\d{1,3}(?:st|nd|rd|th)\b|[^\W\d_][\w'’\-]{0,24}\.?)"
UNIT = re.compile(
    r"(?:,?[ \t](?i:apt|apartment|suite|ste|unit|fl|floor|room|rm|piso|piano|puerta|appartamento|interno|int|scala|esc|bloco|andar)\.?[ \t]?\#?\w{1,5}|[ \t]\#\d{1,5})"
)
TRAILING_DIRECTION = re.compile(rf"[ \t]{_DIRECTION}(?![\w])")
STREET_NUMBER_FIRST = re.compile(
    rf"(?=[\dFfAaUu])(?<![\w.,\-$€£#/])(?:(?i:flat|apt|apartment|unit)[ \t][\dA-Z]\w{{0,3}},?[ \t](?:{_NUM},?[ \t])?|{_NUM},?[ \t])"
    rf"(?P<words>{_STREET_WORD}(?:[ \t]{_STREET_WORD}){{0,4}})"
)


def _address_number_first(match: re.Match, text: str) -> Span | None:
    """A house number, street words and a street type ("55 W 46th St", "221B Baker Street", "27 moss lane",
    "42 Hauptstraße"); the street type is the last word that is one, so "12 Main St for the Road" ends at "St"."""
    words = [(m.start(), m.group(0)) for m in re.finditer(r"\S+", match.group("words"))]
    suffixes, stop = street_suffixes(), english_stop_words()
    if not any(w.lower().rstrip(".") in suffixes for _, w in words[1:]) and not words[0][1].lower().endswith(
        GERMANIC_STREET_ENDINGS
    ):
        return None
    before = _before(text, match.start(), 30)
    if QUANTITY_BEFORE.search(before[-20:]):
        return None
    cued = bool(ADDRESS_WORD_BEFORE.search(before))
    for i in range(len(words) - 1, -1, -1):
        street_type = words[i][1].lower().rstrip(".")
        germanic = i == 0 and street_type.endswith(GERMANIC_STREET_ENDINGS) and len(street_type) > 6
        if not germanic and (i == 0 or street_type not in suffixes):
            continue
        street = [w for _, w in words[:i]]
        if any(w.lower().rstrip(".") in stop for w in street):
            continue
        capitalised = all(w[0].isupper() or w[0].isdigit() for w in street + [words[i][1]])
        if germanic or street_type in ("close",):
            ok = cued  # "42 Hauptstraße", "5 oak tree close"
        elif street_type in PLAIN_STREET_TYPES and street_type not in ("st", "str", "av"):
            ok = cued or capitalised
        else:
            ok = cued and capitalised
        if not ok:
            continue
        end = (
            match.start("words")
            + words[i][0]
            + len(
                words[i][1].rstrip(".")
                if street_type in suffixes and not street_type in USPS_ABBREVIATIONS
                else words[i][1]
            )
        )
        for pattern in (TRAILING_DIRECTION, UNIT):
            more = pattern.match(text, end)
            if more:
                end = more.end()
        return match.start(), end
    return None


# "Hauptstraße 5", "Kerkstraat 12", "Skolvägen 76", "Winterstr. 8/0"
GERMANIC_STREET_ENDINGS = (
    "straße",
    "strasse",
    "str.",
    "weg",
    "gasse",
    "allee",
    "platz",
    "damm",
    "ufer",
    "pfad",
    "chaussee",
    "straat",
    "laan",
    "gracht",
    "singel",
    "kade",
    "dijk",
    "plein",
    "steeg",
    "vägen",
    "gatan",
    "gränd",
    "stigen",
    "backen",
    "torget",
    "vej",
    "gade",
    "allé",
    "stræde",
    "plads",
    "veien",
    "gata",
    "katu",
    "hof",
    "boulevard",
    "straatweg",
    "gränden",
)
# Endings that are English words' endings too ("Keyring 2"): the street needs an address word before it.
GERMANIC_STREET_ENDINGS_CUED = ("ring", "baan", "markt", "steig", "tie", "torg")
# Street types written as a word of their own after the street's name: "Lange Straße 5", "Am Markt 3".
GERMANIC_STREET_WORDS = frozenset(
    "straße strasse str. weg gasse allee platz straat laan vej gade allé markt ring".split()
)
STREET_NAME_FIRST = re.compile(
    r"(?=[^\W\d_])(?<![\w\-.])(?:[^\W\d_][\w\-]{0,30}[ \t])?[^\W\d_][\w\-]{2,40}\.?[ \t]\d{1,4}[A-Za-z]?"
    r"(?:[/\-]\d{1,4})?(?![\w])"
)


def _address_name_first(match: re.Match, text: str) -> Span | None:
    """ "Hauptstraße 5", "Kerkstraat 12", "Skolvägen 76", "Winterstr. 8/0", "Lange Straße 5", "Am Markt 3"."""
    value = match.group(0)
    words = value.split()
    street = words[-2].lower()
    if (
        len(words) == 3
        and words[0][0].isupper()
        and words[1][0].isupper()
        and (
            street in GERMANIC_STREET_WORDS
            or words[0].lower() in ("am", "an", "auf", "im", "zum", "zur", "op", "aan")
            and street.endswith(
                GERMANIC_STREET_ENDINGS + GERMANIC_STREET_ENDINGS_CUED + ("markt", "hof", "berg", "anger")
            )
        )
    ):
        return match.span()  # "Lange Straße 5", "Am Markt 3"; not "Am Jur 2d", a citation
    start = match.start() + value.rindex(words[-2], 0, len(value) - len(words[-1]))
    cued = street.endswith(GERMANIC_STREET_ENDINGS_CUED) and ADDRESS_WORD_BEFORE.search(_before(text, start, 30))
    if (street.endswith(GERMANIC_STREET_ENDINGS) or cued) and len(street) > 6 and words[-2][0].isupper():
        return start, match.end()
    return None


# Street types written before the name: French, Spanish, Catalan, Portuguese, Italian, Polish.
ROMANCE_STREET_TYPES = (
    "rue|avenue|av\\.|avda\\.?|boulevard|bd|bld|place|allée|impasse|chemin|quai|route|cours|square|passage|"
    "calle|c/|avenida|paseo|plaza|pasaje|carrer|camino|ronda|travesía|glorieta|rambla|cuesta|callejón|"
    "urbanización|rúa|rua|r\\.|travessa|largo|praça|alameda|estrada|calçada|rotunda|"
    "via|viale|corso|piazza|piazzale|vicolo|strada|contrada|borgo|rotonda|galleria|lungomare|vico|canale|"
    "stretto|incrocio|salita|acceso|ul\\.|ulica|aleja|al\\.|plac|pl\\.|os\\.|osiedle"
)
# These never begin an English phrase: they need no address word before them, nor a house number ("rue Clémence
# Samson"); the others ("via", "place", "avenue") need both ("ship to Via Roma, 3", not "sent via Royal Mail 2 days ago").
ROMANCE_UNAMBIGUOUS = frozenset(
    "rue boulevard allée impasse chemin quai calle avenida carrer rúa rua viale corso piazza piazzale "
    "vicolo ul. ulica aleja travessa praça pasaje glorieta travesía callejón urbanización osiedle "
    "calçada".split()
)
_PARTICLE = r"(?:de|du|des|la|le|les|d'|l'|del|della|dei|degli|delle|di|da|do|dos|das|y|e|van|von)"
ROMANCE_STREET = re.compile(
    rf"(?<![\w\-])(?P<type>(?i:{ROMANCE_STREET_TYPES}))[ \t]"
    rf"(?P<name>(?:(?i:{_PARTICLE})[ \t]?){{0,2}}[^\W\d_][\w'’\-]{{0,30}}(?:[ \t](?:(?i:{_PARTICLE})[ \t]?){{0,2}}[^\W\d_][\w'’\-]{{0,30}}){{0,3}})"
    rf"(?P<after>,?[ \t](?:(?:n[°º.][ \t]?)?\d{{1,4}}[A-Za-z]?(?:[/\-]\d{{1,4}})?|(?i:s/n|s\.n\.|sn))(?![\w]))?"
)


def _address_romance(match: re.Match, text: str) -> Span | None:
    """ "12 rue de Rivoli", "Via Roma, 3", "Calle de Alcalá 12 Apt. 4": the street's name is capitalised words."""
    name = match.group("name")
    kept = []
    for word in re.split(r"([ \t]+)", name):
        if not word.strip():
            kept.append(word)
            continue
        if re.fullmatch(_PARTICLE, word, re.I) or re.fullmatch(_PARTICLE + r"[^\W\d_].*", word, re.I) and "'" in word:
            kept.append(word)
        elif word[0].isupper() and not (word.isupper() and len(word) > 1) and word.lower() not in english_stop_words():
            kept.append(word)
        else:
            break
    while kept and (not kept[-1].strip() or re.fullmatch(_PARTICLE, kept[-1].strip(), re.I)):
        kept.pop()
    if not kept or not any(w.strip() and w[0].isupper() for w in kept):
        return None
    end = match.start("name") + len("".join(kept))
    number = HOUSE_NUMBER_BEFORE.search(_before(text, match.start(), 12))  # "12 rue de Rivoli", "12, rue…"
    start = match.start() - len(number.group(0)) if number else match.start()
    numbered = number is not None
    if end == match.end("name") and match.group("after"):
        numbered, end = True, match.end("after")
        unit = UNIT.match(text, end)
        end = unit.end() if unit else end
    if match.group("type").lower() not in ROMANCE_UNAMBIGUOUS:
        if not numbered or not ADDRESS_WORD_BEFORE.search(_before(text, start, 30)):
            return None
    return start, end


HOUSE_NUMBER_BEFORE = re.compile(r"(?<![\w\-.,])\d{1,4}(?:[ \t]?(?:bis|ter))?,?[ \t]$")


PO_BOX = re.compile(
    r"(?i)(?=[pbca])(?<![\w.])(?:p\.?[ \t]?o\.?[ \t]?box|post[ \t]office[ \t]box|pob|postfach|apartado(?:[ \t]de[ \t]correos)?|"
    r"casella[ \t]postale|bo[iî]te[ \t]postale|postbus|postboks|box)[ \t]?\#?[ \t]?\d{1,6}(?![\w])"
)


def _po_box(match: re.Match, text: str) -> Span | None:
    if match.group(0).lower().startswith("box") and not ADDRESS_WORD_BEFORE.search(_before(text, match.start(), 30)):
        return None  # "box 3 of 5"
    return match.span()


# ---------------------------------------------------------------------------------------------------------
# names


@lru_cache(maxsize=1)
def person_names() -> tuple[frozenset[str], frozenset[str]]:
    """First and last names from Faker's person lists (eleven locales), lower-cased, without stop words."""
    import importlib

    first, last = set(), set()
    for locale in ("en_US", "en_GB", "en_IN", "en_IE", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL"):
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for names, into in ((getattr(provider, "first_names", ()), first), (getattr(provider, "last_names", ()), last)):
            into.update(n.lower() for n in (names.keys() if hasattr(names, "keys") else names))
    stop = english_stop_words()
    return frozenset(first - stop), frozenset(last - stop)


@lru_cache(maxsize=1)
def known_names() -> tuple[frozenset[str], frozenset[str]]:
    """The names of `person_names` that are no everyday word: enough on their own to make a word a name."""
    first, last = person_names()
    words = common_words()
    return first - words, last - words


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Everyday English words (stop words, Faker's lorem list of about a thousand, the words of tickets): a name
    introduced by one of them is not a name ("This is Urgent", "Thanks,\\nCustomer Service")."""
    from faker.providers.lorem.en_US import Provider

    lorem = {w.lower() for w in Provider.word_list}
    return frozenset(english_stop_words() | lorem | COMMON_WORDS_THAT_ARE_NAMES | TICKET_WORDS | TIME_WORDS)


# Names that are also everyday words: after "this is" or in lower case they are read as words.
COMMON_WORDS_THAT_ARE_NAMES = {
    "will",
    "may",
    "june",
    "april",
    "august",
    "grant",
    "bill",
    "mark",
    "chase",
    "hope",
    "joy",
    "faith",
    "rose",
    "summer",
    "page",
    "art",
    "case",
    "sue",
    "pat",
    "don",
    "ray",
    "dean",
    "lane",
    "jack",
    "guy",
    "frank",
    "sunny",
    "rich",
    "van",
    "wells",
    "best",
    "love",
    "long",
    "young",
    "white",
    "brown",
    "black",
    "green",
    "king",
    "price",
    "hill",
    "wood",
    "cash",
    "major",
    "forest",
    "river",
    "rock",
    "star",
    "angel",
    "baby",
    "ivy",
    "holly",
    "daisy",
    "lily",
    "dawn",
    "drew",
    "gene",
    "hunter",
    "miles",
    "penny",
    "sky",
    "storm",
    "crystal",
    "amber",
    "ruby",
    "pearl",
    "jewel",
    "sage",
    "reed",
    "ford",
    "mercedes",
    "capital",
    "chance",
    "christian",
    "constance",
    "destiny",
    "ernest",
    "honor",
    "justice",
    "liberty",
    "marina",
    "patience",
    "prince",
    "royal",
    "rusty",
    "tanner",
    "trinity",
    "victory",
    "wade",
    "walker",
    "carter",
    "cooper",
    "mason",
    "parker",
    "bank",
    "credit",
    "american",
    "national",
    "first",
    "urgent",
    "important",
    "ridiculous",
    "unacceptable",
    "terrible",
}
TICKET_WORDS = {
    "urgent",
    "important",
    "about",
    "regarding",
    "re",
    "not",
    "still",
    "my",
    "the",
    "your",
    "order",
    "ticket",
    "account",
    "customer",
    "support",
    "service",
    "services",
    "team",
    "sir",
    "madam",
    "on",
    "in",
    "wrong",
    "missing",
    "spelled",
    "incorrect",
    "sent",
    "iphone",
    "android",
    "ipad",
    "mobile",
    "app",
    "department",
    "dept",
    "billing",
    "returns",
    "sales",
    "accounts",
    "payable",
    "receivable",
    "manager",
    "office",
    "admin",
    "helpdesk",
    "help",
    "desk",
    "staff",
    "management",
    "finance",
    "premium",
    "prime",
    "amazon",
    "google",
    "apple",
    "microsoft",
    "samsung",
    "unable",
    "sorry",
    "happy",
    "unhappy",
    "disappointed",
    "frustrated",
    "writing",
    "calling",
    "emailing",
    "following",
    "reaching",
    "contacting",
    "waiting",
    "trying",
    "getting",
    "having",
    "looking",
    "inc",
    "ltd",
    "llc",
    "gmbh",
    "corp",
    "co",
    "company",
    "group",
    "bank",
    "hello",
    "hi",
    "hey",
    "dear",
    "thanks",
    "thank",
    "regards",
    "cheers",
    "best",
    "sincerely",
    "ok",
    "okay",
    "yes",
    "no",
    "please",
    "xxxx",
    "xx",
    "n/a",
}
TIME_WORDS = {
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "today",
    "tomorrow",
    "tonight",
    "yesterday",
    "asap",
    "anytime",
    "later",
    "back",
    "now",
    "soon",
    "morning",
    "afternoon",
    "evening",
    "weekend",
    "noon",
    "midnight",
}
NAME_PARTICLES = frozenset(
    "de du des la le da do dos das del della di van von der den ten ter mac bin ibn al el y st. st".split()
)
_NAME_TOKEN = r"[^\W\d_][\w'’\-.]{0,30}"
_NAME_TOKENS = rf"(?P<pii>{_NAME_TOKEN}(?:[ \t]{{1,2}}{_NAME_TOKEN}){{0,5}})"
# The introductions, by how much they vouch for what follows.
NAME_STATED = re.compile(
    r"(?i)\b(?P<intro>my[ \t]name[ \t]is|my[ \t]name's|my[ \t]full[ \t]name[ \t]is|name:|i[ \t]am[ \t]called|"
    r"change[ \t]my[ \t]name[ \t]to|in[ \t]the[ \t]name[ \t]of|call[ \t]me|signed|regards[ \t]from)[ \t]{1,3}"
    + _NAME_TOKENS
)
NAME_THIS_IS = re.compile(r"(?i)\b(?P<intro>this[ \t]is|it's|it[ \t]is)[ \t]{1,3}" + _NAME_TOKENS)
NAME_I_AM = re.compile(r"(?i)\b(?P<intro>i'm|i[ \t]am|i’m)[ \t]{1,3}" + _NAME_TOKENS)
NAME_SIGNED_OFF = re.compile(
    r"(?i)\b(?P<intro>thanks(?:[ \t]again|[ \t]in[ \t]advance)?|thank[ \t]you|many[ \t]thanks|cheers|(?:best|kind|warm|warmest|"
    r"many)[ \t]regards|regards|best[ \t]wishes|best|sincerely|yours[ \t](?:sincerely|truly|faithfully)|respectfully|cordially|"
    r"take[ \t]care|ciao|bye)(?:[ \t]*[,.!\-—–]+[ \t]*(?:\r?\n[ \t]*){0,2}|[ \t]*(?:\r?\n[ \t]*){1,2})" + _NAME_TOKENS
)
NAME_FOLLOWS = re.compile(r"(?i)^[ \t]*(?:from|at|with|of|here|calling|speaking|over[ \t]at)\b")


def _name_words(value: str, allow_lower: bool, trusted: bool) -> list[str]:
    """The words of a name at the start of `value`: capitalised (or all capitals), with particles and initials inside.
    An everyday word ends the name unless it is a known name after the first word ("Joanne Walker"), or a known first
    name after an introduction that vouches for it (`trusted`: "my name is Dean Hardy")."""
    first, last = known_names()
    any_first, any_last = person_names()
    common = common_words()
    words: list[str] = []
    for word in value.split():
        bare = word.lower().strip("'’-.")
        if not bare:
            break
        if words and bare in NAME_PARTICLES and not word.endswith("."):
            words.append(word)
            continue
        capital = word[0].isupper()
        if not capital and not (allow_lower and (not words and bare in first or words and bare in last)):
            break
        if bare in common or re.fullmatch(r"x+", bare):
            following = value.split()[len(words) + 1 : len(words) + 2]
            surname_next = (
                bool(following) and following[0][0].isupper() and following[0].lower().strip("'’-.") in any_last
            )
            vouched = (
                (bare in any_first or bare in any_last) if words else (bare in any_first and (trusted or surname_next))
            )
            if not vouched or bare in english_stop_words() or bare in TIME_WORDS or bare in TICKET_WORDS:
                break
        words.append(word)
        if len(words) >= 5 or (word.endswith(".") and len(bare) > 1):
            break  # a full stop after a word (not an initial) ends the sentence
    while words and words[-1].lower().strip(".") in NAME_PARTICLES:
        words.pop()
    if words and words[-1].endswith(".") and len(words[-1].strip("'’-.")) > 1:
        words[-1] = words[-1].rstrip(".")
    return words


def _name_check(kind: str) -> Check:
    def check(match: re.Match, text: str) -> Span | None:
        first_names, last_names = known_names()
        common = common_words()
        words = _name_words(
            match.group("pii"), allow_lower=kind in ("stated", "this_is"), trusted=kind in ("stated", "signed_off")
        )
        if not words:
            return None
        head = words[0].lower().strip("'’-.")
        known = head in first_names or head.split("-")[0] in first_names
        caps = all(w.isupper() for w in words if w.lower() not in NAME_PARTICLES)
        plain_caps = caps and len(words) >= 2 and not any(w.lower().strip("'’-.") in common for w in words)
        intro = match.group("intro").lower()
        start = match.start("pii")
        end = start + match.group("pii").index(words[-1]) + len(words[-1])
        if kind == "stated":
            lower = not words[0][0].isupper()
            if (lower or intro.startswith("call")) and not known or caps and not (known or plain_caps):
                return None
        elif kind == "this_is":  # "This is Tom", "this is Maria Okafor from Acme"; not "This is Wells Fargo's"
            if not known and not (NAME_FOLLOWS.match(text[end : end + 20]) and not caps):
                return None
        elif kind == "i_am":  # "I'm Kevin", "I am Çağrı Lefèvre and…"; not "I am Unable", "I AM LEGALLY Obligated"
            any_first, any_last = person_names()
            titled = all(
                w[0].isupper() and not w.isupper() or len(w) == 1 for w in words if w.lower() not in NAME_PARTICLES
            )
            named = head in any_first or any(w.lower().strip("'’-.") in any_last for w in words[1:])
            if not known and (len(words) < 2 or not (titled or caps and head in last_names) or not named):
                return None
        elif kind == "signed_off":  # "Thanks,\nKevin O'Brien"; not "Thanks,\nSent from my iPhone"
            if not known and (len(words) < 2 or caps and not plain_caps):
                return None
        if text[end : end + 2] in ("'s", "’s"):
            return None  # "This is Wells Fargo's error"
        return start, end

    return check


# ---------------------------------------------------------------------------------------------------------


def detectors(region: str) -> list[Detector]:
    """Every detector in the order they claim spans."""
    gate = re.compile
    street_endings = (
        GERMANIC_STREET_ENDINGS + GERMANIC_STREET_ENDINGS_CUED + tuple(GERMANIC_STREET_WORDS) + ("berg", "anger")
    )
    endings = "|".join(re.escape(e) for e in street_endings)
    romance_types = tuple(t.replace("\\", "").replace("?", "").rstrip(".") for t in ROMANCE_STREET_TYPES.split("|"))
    return [
        Detector("EMAIL", EMAIL, _email_check, gate("@")),
        Detector(
            "EMAIL",
            EMAIL_SPELLED,
            _spelled_email_check,
            gate(
                r"[\[({<][ \t]?at[ \t]?[\])}>]|[ \t]at[ \t]+\S{1,40}(?:[ \t]+dot[ \t]|\.[a-z]{2})|@.{1,64}[ \t\[({<]dot[ \t\])}>]"
            ),
        ),
        Detector("IBAN", IBAN, _iban_check, gate(r"[a-z][a-z]\d\d")),
        Detector("CARD", CARD, _card_check, gate(r"\d{4}")),
        Detector("IP", IP, _ip_check, gate(r"\d\.\d{1,3}\.|:[0-9a-f]{0,4}:")),
        Detector("SSN", SSN_AFTER_CUE, _ssn_check, gate(r"ssn|ss#|social|soc"), anchored=True),
        Detector("SSN", SSN, _ssn_check, gate(r"\d{3}-\d\d-\d{4}")),
        Detector(
            "ACCOUNT",
            ACCOUNT,
            _account_check,
            gate(r"account|acct|a/c|customer|client|member|subscriber|loyalty|contract"),
            anchored=True,
        ),
        Detector("PHONE", PHONE, _phone_checker(region), gate(r"\d")),
        Detector("ADDRESS", PO_BOX, _po_box, gate(r"box|pob|postfach|apartado|casella|bo[iî]te|postbus|postboks")),
        Detector(
            "ADDRESS",
            ROMANCE_STREET,
            _address_romance,
            gate("(?:" + ROMANCE_STREET_TYPES + r")[ \t]"),
            anchored=True,
            hints=romance_types,
        ),
        Detector("ADDRESS", STREET_NUMBER_FIRST, _address_number_first, gate(r"\d[a-z]?,?[ \t]")),
        Detector(
            "ADDRESS", STREET_NAME_FIRST, _address_name_first, gate(rf"(?:{endings})\.?[ \t]\d"), hints=street_endings
        ),
        Detector(
            "NAME",
            NAME_STATED,
            _name_check("stated"),
            gate(
                r"my[ \t]name|my[ \t]full|name:|i[ \t]am[ \t]called|change[ \t]my|in[ \t]the[ \t]name|call[ \t]me|signed|"
                r"regards[ \t]from"
            ),
            anchored=True,
        ),
        Detector("NAME", NAME_THIS_IS, _name_check("this_is"), gate(r"this[ \t]is|it's|it[ \t]is"), anchored=True),
        Detector("NAME", NAME_I_AM, _name_check("i_am"), gate(r"i'm|i[ \t]am|i’m"), anchored=True),
        Detector(
            "NAME",
            NAME_SIGNED_OFF,
            _name_check("signed_off"),
            gate(
                r"thank|many|cheers|best|kind|warm|regards|sincerely|yours|respectfully|cordially|take[ \t]care|ciao|bye"
            ),
            anchored=True,
        ),
    ]


# A cheap superset of what the detectors can match, run as one polars expression to pick candidate rows: every
# detector but the written-out e-mail, the street types written first and the names needs a digit or an "@".
CANDIDATE_PATTERN = (
    r"[@\d]|(?i:\bat\b|\b(?:" + ROMANCE_STREET_TYPES + r")[ \t]|my name|name is|name's|name:|i am|i'm|i’m|call me"
    r"|this is|it's|it is|signed|regards|thanks|thank you|cheers|sincerely|\bbest\b|yours|respectfully|"
    r"cordially|take care|ciao|bye)"
)


@dataclass
class PiiFinder:
    """Finds PII spans in text; `kinds` chooses which detectors run."""

    kinds: tuple[str, ...] = PII_KINDS
    phone_region: str = "US"
    _detectors: list[Detector] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._detectors = [d for d in detectors(self.phone_region) if d.kind in self.kinds]

    def gates(self) -> list[str]:
        """Each detector's gate, as a pattern polars can search a lower-cased column with."""
        return [d.gate.pattern for d in self._detectors]

    def find(self, text: str, open_gates: list[bool] | None = None) -> list[PiiSpan]:
        """The PII spans in `text`; `open_gates` (one flag per detector, as `gates()` found them) saves searching them here."""
        spans: list[PiiSpan] = []
        starts: list[int] = []  # the claimed spans, which never overlap, in order: their starts and ends
        ends: list[int] = []

        def claimed(start: int, end: int, inside: bool = False) -> bool:
            i = bisect.bisect_left(starts, end) - 1  # the last claimed span starting before `end`
            if i < 0 or ends[i] <= start:
                return False
            return not inside or (starts[i] <= start and end <= ends[i])

        low = text.lower()
        for n, (kind, pattern, check, gate, anchored, hints) in enumerate(self._detectors):
            if open_gates is not None and not open_gates[n]:
                continue
            if open_gates is None and ((hints and not any(h in low for h in hints)) or not gate.search(low)):
                continue
            if anchored and len(low) == len(text):  # lower-casing kept every position: try only where the gate is
                matches = (m for m in (pattern.match(text, g.start()) for g in gate.finditer(low)) if m)
            else:
                matches = pattern.finditer(text)
            for match in matches:
                if claimed(match.start(), match.end(), inside=True):
                    continue
                span = check(match, text)
                if span is None:
                    continue
                start, end = span
                if end <= start or claimed(start, end):
                    continue
                spans.append(PiiSpan(kind, start, end, text[start:end]))
                i = bisect.bisect_left(starts, start)
                starts.insert(i, start)
                ends.insert(i, end)
        return sorted(spans, key=lambda s: s.start)

    def redact(self, text: str, open_gates: list[bool] | None = None) -> tuple[str, Counter]:
        """Replace each span by its placeholder; the same value keeps the same placeholder."""
        spans = self.find(text, open_gates)
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


def redact_columns(
    frame, columns, finder: PiiFinder | None = None, on_progress: Callable[[int, int], None] | None = None
):
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
        candidates = texts.gather(index)
        # Which detectors can match which text, decided for the whole column at once (in Rust, not per text in Python).
        lower = candidates.str.to_lowercase()
        gates = (
            pl.DataFrame(
                [lower.str.contains(g).fill_null(False).alias(str(i)) for i, g in enumerate(finder.gates())]
            ).rows()
            if len(index)
            else []
        )
        new_texts = []
        for position, text, open_gates in zip(index.to_list(), candidates.to_list(), gates):
            new_text, counts = finder.redact(text, list(open_gates))
            new_texts.append(new_text)
            done += 1
            if on_progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
                on_progress(done, total)
            if counts:
                totals.update(counts)
                kinds_by_row.setdefault(position, set()).update(counts)
        replaced.append(texts.scatter(index, pl.Series(new_texts, dtype=pl.String)) if len(index) else texts)
    return (frame.with_columns(replaced) if replaced else frame), kinds_by_row, totals
