"""PII redaction measured: recall per kind and over-redaction of innocent look-alikes.

    .venv/bin/python benchmarks/pii.py --seed 1 [--per-kind 300] [--show 5] [--write]

A seeded generator, written apart from `curate.core.pii` (its formats come from Faker locales,
libphonenumber's example numbers and the format lists below, not from the detector's patterns),
plants one value per ticket sentence. A value is *caught* when no word of it is left in the
redacted text (a partly redacted value is a miss); a look-alike is *over-redacted* when its text
changed at all. Detectors are tuned on seed 0; the figures in RESULTS.md are for seed 1.
"""

from __future__ import annotations

import argparse
import random
import re
import string
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from faker import Faker

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "IP", "SSN", "ACCOUNT", "ADDRESS", "NAME")
NAME_LOCALES = (
    "en_US",
    "en_GB",
    "en_IE",
    "fr_FR",
    "de_DE",
    "es_ES",
    "es_MX",
    "it_IT",
    "nl_NL",
    "pt_BR",
    "pl_PL",
    "sv_SE",
    "tr_TR",
    "cs_CZ",
    "fi_FI",
    "da_DK",
)
IBAN_LOCALES = (
    "de_DE",
    "es_ES",
    "fr_FR",
    "it_IT",
    "nl_NL",
    "en_GB",
    "pl_PL",
    "pt_PT",
    "en_IE",
    "tr_TR",
    "fi_FI",
    "da_DK",
    "de_AT",
    "de_CH",
    "nl_BE",
    "cs_CZ",
)
STREET_LOCALES = (
    "fr_FR",
    "de_DE",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pt_PT",
    "de_AT",
    "de_CH",
    "en_GB",
    "pl_PL",
    "sv_SE",
    "da_DK",
    "fr_CH",
    "nl_BE",
)
PHONE_REGIONS = (
    "US",
    "CA",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "BR",
    "IN",
    "AU",
    "JP",
    "MX",
    "PL",
    "SE",
    "IE",
    "CH",
    "TR",
    "ZA",
    "NG",
    "KE",
    "PH",
    "SG",
    "AE",
    "AR",
    "BE",
    "AT",
    "PT",
    "NZ",
    "KR",
)


@dataclass(frozen=True)
class Case:
    kind: str  # the PII kind planted, or the kind a look-alike resembles
    family: str  # the generator's format family, e.g. "card/dots" or "lookalike/version"
    value: str
    text: str
    pii: bool


# ---------------------------------------------------------------------------------------------------------
# values


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _group(s: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(s[i : i + size])
        i += size
    if i < len(s):
        out.append(s[i:])
    return sep.join(p for p in out if p)


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + _digits(rng, length - len(prefix) - 1)
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _ascii_fold(s: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


class Values:
    """One seeded source of PII values and innocent look-alikes."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fakers = {}
        for i, loc in enumerate(sorted(set(NAME_LOCALES + IBAN_LOCALES + STREET_LOCALES + ("en_US",)))):
            f = Faker(loc)
            f.seed_instance(seed * 1000 + i)
            self.fakers[loc] = f

    def faker(self, locales=NAME_LOCALES) -> Faker:
        return self.fakers[self.rng.choice(locales)]

    # --- names ---------------------------------------------------------------------------------------
    def person(self) -> tuple[str, str]:
        rng = self.rng
        f = self.faker()
        first, last = f.first_name(), f.last_name()
        roll = rng.random()
        if roll < 0.12:
            last = rng.choice(
                [
                    "O'Brien",
                    "O'Neill",
                    "D'Angelo",
                    "O'Connor",
                    "O'Sullivan",
                    "O'Hara",
                    "D'Amico",
                    "O'Reilly",
                    "O'Donnell",
                    "O'Shea",
                    "N'Diaye",
                    "D'Souza",
                    "L'Estrange",
                    "Dell'Acqua",
                ]
            )
        elif roll < 0.22:
            first = (
                rng.choice(["Jean", "Anne", "Marie", "Hans", "Karl", "Ana", "José", "Lee", "Mary", "Jean"])
                + "-"
                + rng.choice(["Luc", "Marie", "Pierre", "Peter", "Heinz", "Sofía", "Claude", "Ann", "Kate", "Baptiste"])
            )
        elif roll < 0.30:
            last = f"{last}-{self.faker().last_name()}"
        elif roll < 0.40:
            first = rng.choice(
                [
                    "José",
                    "Zoë",
                    "Chloé",
                    "Łukasz",
                    "Øystein",
                    "Søren",
                    "Anaïs",
                    "Jürgen",
                    "Ságat",
                    "Iñigo",
                    "Renée",
                    "Bjørn",
                    "Małgorzata",
                    "Çağrı",
                    "Noémie",
                    "Ángel",
                ]
            )
            last = rng.choice(
                [
                    "García",
                    "Müller",
                    "Nuñez",
                    "Šimek",
                    "Ødegaard",
                    "Lefèvre",
                    "Gómez",
                    "Kowalczyk",
                    "Öztürk",
                    "Brontë",
                    "Sørensen",
                    "Dvořák",
                    "Jiménez",
                    "Wójcik",
                    "Herrera",
                ]
            )
        name = f"{first} {last}"
        if rng.random() < 0.12:
            name = name.upper()
            return "name/caps", name
        return "name/" + (
            "apostrophe"
            if "'" in name
            else "hyphen"
            if "-" in name
            else "accent"
            if name != _ascii_fold(name)
            else "plain"
        ), name

    # --- e-mail --------------------------------------------------------------------------------------
    def email(self) -> tuple[str, str]:
        rng = self.rng
        f = self.faker()
        first, last = (n.replace("İ", "I").lower().replace(" ", "") for n in (f.first_name(), f.last_name()))
        domains = [
            "gmail.com",
            "yahoo.com",
            "outlook.com",
            "hotmail.co.uk",
            "web.de",
            "gmx.de",
            "orange.fr",
            "libero.it",
            "telefonica.es",
            "eircom.net",
            "icloud.com",
            "protonmail.ch",
            "mail.example.org",
            "uni-hamburg.de",
            "students.ox.ac.uk",
            "acme-corp.io",
            "company.com.br",
            "yandex.ru",
        ]
        roll = rng.random()
        if roll < 0.25:
            return "email/faker", self.faker().email()
        if roll < 0.40:
            sep = rng.choice([".", "_", "", "-"])
            return (
                "email/dotted",
                f"{first}{sep}{last}{rng.choice(['', '', str(rng.randint(1, 99))])}@{rng.choice(domains)}",
            )
        if roll < 0.50:
            local = rng.choice([f"{first}.{last}", first, f"{first[0]}{last}"])
            idn = rng.choice(
                [
                    "münchen.de",
                    "bücher.de",
                    "straße.de",
                    "café.fr",
                    "españa.es",
                    "zürich.ch",
                    "köln.de",
                    "malmö.se",
                    "tromsø.no",
                    "xn--mnchen-3ya.de",
                    "例え.jp",
                    "почта.рф",
                ]
            )
            return "email/idn", f"{local}@{idn}"
        if roll < 0.60:
            first = rng.choice(["josé", "zoë", "andré", "maría", "françois", "jürgen", "siobhan", "sinéad", "øyvind"])
            last = rng.choice(["garcía", "o'brien", "o'neill", "müller", "lefèvre", "d'angelo", "núñez", "o'hara"])
            return "email/accent-apostrophe", f"{first}.{last}@{rng.choice(domains)}"
        if roll < 0.70:
            tag = rng.choice(["support", "shop", "2024", "newsletter", "amazon"])
            return "email/plus", f"{first}.{last}+{tag}@{rng.choice(domains)}"
        if roll < 0.75:
            return "email/caps", f"{first}.{last}@{rng.choice(domains)}".upper()
        host, _, tld = rng.choice(domains).partition(".")
        tld_words = tld.replace(".", " dot ")
        forms = [
            f"{first} dot {last} at {host} dot {tld_words}",
            f"{first}.{last} [at] {host} [dot] {tld.replace('.', ' [dot] ')}",
            f"{first}.{last}(at){host}.{tld}",
            f"{first}.{last} at {host}.{tld}",
            f"{first}_{last} AT {host} DOT {tld.replace('.', ' DOT ')}",
            f"{first}{last} (at) {host} (dot) {tld.replace('.', ' (dot) ')}",
            f"{first}.{last}@{host} dot {tld_words}",
        ]
        return "email/obfuscated", rng.choice(forms)

    # --- phone ---------------------------------------------------------------------------------------
    def phone(self) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.30:  # a US number in the shapes people type
            area = f"{rng.randint(2, 9)}{rng.randint(0, 8)}{rng.randint(0, 9)}"
            ex = f"{rng.randint(2, 9)}{_digits(rng, 2)}"
            line = _digits(rng, 4)
            forms = [
                f"({area}) {ex}-{line}",
                f"{area}-{ex}-{line}",
                f"{area}.{ex}.{line}",
                f"{area}{ex}{line}",
                f"+1 {area} {ex} {line}",
                f"+1 ({area}) {ex}-{line}",
                f"1-{area}-{ex}-{line}",
                f"+1-{area}-{ex}-{line}",
                f"{area} {ex} {line}",
                f"+1{area}{ex}{line}",
            ]
            return "phone/us", rng.choice(forms)
        region = rng.choice(PHONE_REGIONS)
        kind = rng.choice([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
        example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
        nsn = str(example.national_number)
        keep = max(len(nsn) - 5, 2)
        nsn = nsn[:keep] + _digits(rng, len(nsn) - keep)
        if roll < 0.45:  # phone-shaped, country code given, but a digit short or long: libphonenumber says invalid
            nsn = nsn[:-1] if rng.random() < 0.5 else nsn + _digits(rng, 1)
            cc = example.country_code
            sizes = rng.choice([[3, 3, 4], [3, 4, 4], [2, 4, 4], [3, 7], [4, 3, 3]])
            return "phone/invalid-intl", f"+{cc} {_group(nsn, sizes, rng.choice([' ', ' ', '-']))}"
        number = phonenumbers.parse(f"+{example.country_code}{nsn}")
        fmt = rng.choice(["intl", "intl", "e164", "intl-dash", "intl-paren0", "intl-dots"])
        intl = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        if fmt == "e164":
            return "phone/e164", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if fmt == "intl-dash":
            return "phone/intl", intl.replace(" ", "-", 1 + rng.randint(0, 3))
        if fmt == "intl-dots":
            cc, _, rest = intl.partition(" ")
            return "phone/intl", f"{cc} {rest.replace(' ', '.').replace('-', '.')}"
        if fmt == "intl-paren0" and region in ("GB", "DE", "CH", "AT", "NL", "BE", "IE", "AU", "NZ"):
            cc, _, rest = intl.partition(" ")
            return "phone/intl", f"{cc} (0){rest}"
        return "phone/intl", intl

    # --- card ----------------------------------------------------------------------------------------
    def card(self) -> tuple[str, str]:
        rng = self.rng
        brand = rng.choice(["visa", "visa", "mc", "mc", "amex", "discover", "jcb", "visa13"])
        if brand == "amex":
            number = _luhn_complete(rng.choice(["34", "37"]), 15, rng)
            sizes = [4, 6, 5]
        elif brand == "visa13":
            number = _luhn_complete("4", 16, rng)
            sizes = [4, 4, 4, 4]
        else:
            prefix = {
                "visa": "4",
                "mc": rng.choice(["51", "53", "55", "2221", "2720"]),
                "discover": "6011",
                "jcb": "35",
            }[brand]
            number = _luhn_complete(prefix, 16, rng)
            sizes = [4, 4, 4, 4]
        if rng.random() < 0.05:
            number, sizes = "4111111111111111", [4, 4, 4, 4]
        sep = rng.choice([" ", "-", ".", "", " ", "-"])
        return f"card/{ {' ': 'spaces', '-': 'dashes', '.': 'dots', '': 'compact'}[sep] }", _group(
            number, sizes, sep
        ) if sep else number

    # --- IBAN ----------------------------------------------------------------------------------------
    def iban(self) -> tuple[str, str]:
        rng = self.rng
        value = self.faker(IBAN_LOCALES).iban()
        style = rng.choice(["compact", "spaced", "spaced", "dashed", "lower"])
        if style == "spaced":
            value = _group(value, [4] * 9, " ")
        elif style == "dashed":
            value = _group(value, [4] * 9, "-")
        elif style == "lower":
            value = _group(value, [4] * 9, " ").lower() if rng.random() < 0.5 else value.lower()
        return f"iban/{style}", value

    # --- IP ------------------------------------------------------------------------------------------
    def ip(self) -> tuple[str, str]:
        rng = self.rng
        v4 = ".".join(
            str(x)
            for x in [
                rng.choice([10, 172, 192, 8, 81, 203, 100, 45, 62, 151]),
                rng.randint(0, 255),
                rng.randint(0, 255),
                rng.randint(1, 254),
            ]
        )
        roll = rng.random()
        if roll < 0.40:
            return "ip/v4", v4
        if roll < 0.55:
            return "ip/mapped-v4", rng.choice(["::ffff:", "::FFFF:", "0:0:0:0:0:ffff:"]) + v4
        groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
        groups[0] = rng.choice(["2001", "2a02", "2600", "fe80", "2a00", "2c0f", "2405"])
        if roll < 0.75:
            return "ip/v6-full", ":".join(groups)
        cut = rng.randint(2, 5)
        value = (
            ":".join(groups[:cut]) + "::" + ":".join(groups[-rng.randint(1, 2) :])
        )  # at most 7 groups: "::" stands for one or more
        if rng.random() < 0.3:
            value = value.upper()
        return "ip/v6-compressed", value

    # --- SSN -----------------------------------------------------------------------------------------
    def ssn(self) -> tuple[str, str, bool]:
        rng = self.rng
        area = rng.choice([a for a in range(1, 900) if a != 666])
        value = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        style = rng.choice(["dashed", "dashed", "spaced", "compact"])
        sep = {"dashed": "-", "spaced": " ", "compact": ""}[style]
        return f"ssn/{style}", _group(value, [3, 2, 4], sep) if sep else value, style != "dashed"

    # --- account -------------------------------------------------------------------------------------
    def account(self) -> tuple[str, str]:
        rng = self.rng
        forms = [
            _digits(rng, rng.randint(6, 12)),
            f"{rng.randint(1, 9)}{_digits(rng, 7)}",
            rng.choice(["AC", "CU", "MB", "ACC", "CUST", "M"])
            + rng.choice(["", "-", ""])
            + _digits(rng, rng.randint(5, 9)),
            f"{_digits(rng, 4)}-{_digits(rng, 4)}-{_digits(rng, 2)}",
            f"{_digits(rng, 3)} {_digits(rng, 3)} {_digits(rng, 3)}",
        ]
        return "account/id", rng.choice(forms)

    # --- address -------------------------------------------------------------------------------------
    def address(self) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.30:
            return "address/us-faker", self.fakers["en_US"].street_address().replace("\n", ", ")
        if roll < 0.45:
            n = rng.randint(1, 9999)
            d = rng.choice(["", "W ", "E ", "N ", "S ", "West ", "East "])
            street = rng.choice(
                [
                    f"{rng.randint(1, 150)}{'th' if rng.random() < 0.7 else ''}",
                    "Main",
                    "Oak",
                    "Maple",
                    "Broadway",
                    "Elm",
                    "Park",
                    "Washington",
                    "Lake",
                    "Hill",
                    "Sunset",
                    "Pine",
                ]
            )
            if street[-2:] == "th" and street[:-2] in ("1", "2", "3"):
                street = street[:-2] + {"1": "st", "2": "nd", "3": "rd"}[street[:-2]]
            kind = rng.choice(
                [
                    "St",
                    "St.",
                    "Street",
                    "Ave",
                    "Avenue",
                    "Blvd",
                    "Rd",
                    "Road",
                    "Dr",
                    "Drive",
                    "Ln",
                    "Lane",
                    "Way",
                    "Ct",
                    "Pl",
                ]
            )
            unit = rng.choice(
                [
                    "",
                    "",
                    "",
                    f", Apt {rng.randint(1, 40)}",
                    f" Suite {rng.randint(100, 999)}",
                    f" #{rng.randint(1, 99)}",
                ]
            )
            return "address/us-street", f"{n} {d}{street} {kind}{unit}"
        if roll < 0.55:
            return "address/po-box", rng.choice(
                ["P.O. Box", "PO Box", "P.O.Box", "P. O. Box", "Post Office Box", "POB"]
            ) + f" {rng.randint(1, 99999)}"
        if roll < 0.80:
            return "address/europe-faker", self.faker(STREET_LOCALES).street_address().strip().replace("\n", ", ")
        n = rng.randint(1, 240)
        forms = [
            f"{n} rue de {rng.choice(['Rivoli', 'la Paix', 'Vaugirard', 'Lyon', 'Grenelle'])}",
            f"{n}, avenue {rng.choice(['Victor Hugo', 'Foch', 'des Champs-Élysées'])}",
            f"{rng.choice(['Hauptstraße', 'Bahnhofstr.', 'Goethestraße', 'Schillerweg', 'Lindenallee', 'Am Markt'])} {n}",
            f"{rng.choice(['Calle Mayor', 'Calle de Alcalá', 'Avenida de la Constitución', 'Carrer de Balmes'])} {n}",
            f"{rng.choice(['Via Roma', 'Via Garibaldi', 'Corso Vittorio Emanuele', 'Piazza Navona'])} {n}",
            f"{rng.choice(['Kerkstraat', 'Prinsengracht', 'Dorpsweg'])} {n}",
            f"ul. {rng.choice(['Marszałkowska', 'Długa', 'Polna'])} {n}",
            f"Flat {rng.randint(1, 20)}, {n} {rng.choice(['High Street', 'Church Road', 'Station Road', 'Victoria Terrace'])}",
        ]
        return "address/europe", rng.choice(forms)


# ---------------------------------------------------------------------------------------------------------
# sentences

TEMPLATES = {
    "EMAIL": [
        "Please send the invoice to {v} instead of my old address.",
        "You can reach me at {v} any time.",
        "My login email is {v} but the reset link never arrives.",
        "I changed my e-mail to {v} last week and now I can't sign in.",
        "Contact: {v}",
        "Reply to {v}, thanks!",
        "hi, pls update my account email ({v}) asap",
        "The order confirmation went to {v}, which is my wife's.",
    ],
    "PHONE": [
        "Call me back on {v} please.",
        "My phone number is {v}.",
        "You can text me at {v} after 5pm.",
        "Tel: {v}",
        "I tried calling from {v} but nobody answered.",
        "Please update my mobile to {v} on the account.",
        "reach me at {v} if the courier needs directions",
        "Phone ({v}) is the best way to get me.",
    ],
    "CARD": [
        "I was charged twice on my card {v}.",
        "Card number: {v}, exp 09/27",
        "Please refund to {v}, the card I paid with.",
        "my visa {v} was declined at checkout",
        "Can you remove the card ending... actually the full number is {v}.",
        "Payment failed with card {v} again.",
    ],
    "IBAN": [
        "Please wire the refund to IBAN {v}.",
        "My bank account is {v} (Deutsche Bank).",
        "Refund to: {v}",
        "I updated the IBAN to {v} for the direct debit.",
        "the iban {v} is correct, please retry",
        "Bank details: {v}, BIC on file.",
    ],
    "IP": [
        "The login came from {v}, which is not me.",
        "My router is at {v} and it keeps dropping.",
        "Blocked IP: {v}",
        "Your firewall banned {v} after three failed logins.",
        "I connect through {v} at the office.",
        "The log shows a request from {v} at 03:12.",
    ],
    "SSN": [
        "My SSN is {v}.",
        "social security number {v} for the tax form",
        "SSN: {v}",
        "They asked for my social security no. {v} to verify.",
        "ssn {v} (please mask it)",
        "Here is my Social Security Number: {v}",
    ],
    "SSN-bare": [
        "The form wants {v} in the box, is that right?",
        "I typed {v} and the site said it was invalid.",
        "Tax id on the W-9 is {v}.",
    ],
    "ACCOUNT": [
        "My account number is {v}.",
        "customer number {v}, order still missing",
        "Member ID: {v}",
        "account {v} was charged twice",
        "acct #{v}, please check the last invoice",
        "My customer ID is {v} if that helps.",
        "membership number {v} expired early",
        "Account no. {v} - the address on file is wrong.",
    ],
    "ADDRESS": [
        "Please ship it to {v} instead.",
        "My new address is {v}.",
        "The parcel was delivered to {v} but I moved out.",
        "Send the replacement to {v}, thanks.",
        "Billing address: {v}",
        "I live at {v} and the courier couldn't find it.",
    ],
    "NAME": [
        "Hi, my name is {v} and my order hasn't arrived.",
        "This is {v} from Brightline Logistics, following up on our invoice.",
        "Hello, I'm {v}. I can't log into my account.",
        "Thanks,\n{v}",
        "Kind regards,\n{v}\nAccounts Payable",
        "My name's {v}, I called yesterday about the refund.",
        "Best regards, {v}",
        "The refund still hasn't come through.\n\nCheers,\n{v}",
        "I am {v} and I need to change my billing address.",
        "Sincerely,\n{v}",
    ],
}

LOOKALIKES = {  # family -> (resembled kind, sentence templates, value maker)
    "version": "IP",
    "ip-ish-number": "IP",
    "sku": "SSN",
    "date": "SSN",
    "year-range": "ACCOUNT",
    "account-words": "ACCOUNT",
    "amount": "PHONE",
    "order-number": "PHONE",
    "flight": "IBAN",
    "hash": "IBAN",
    "license-key": "IBAN",
    "long-id": "CARD",
    "product": "ADDRESS",
    "quantity-street-word": "ADDRESS",
    "weekday": "NAME",
    "capitalised": "NAME",
    "handle": "EMAIL",
    "at-words": "EMAIL",
}


def lookalike(rng: random.Random, family: str) -> tuple[str, str]:
    """An innocent value and the sentence holding it."""
    d = lambda n: _digits(rng, n)  # noqa: E731
    if family == "version":
        v = rng.choice(
            [
                f"{rng.randint(1, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}.{rng.randint(1, 250)}",
                f"{rng.randint(1, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
                f"v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
            ]
        )
        t = rng.choice(
            [
                "After updating to version {v} the app crashes.",
                "Firmware {v} bricked my router.",
                "I'm on build {v} and sync is broken.",
                "Since the {v} update, notifications stopped.",
                "App version: {v}",
                "Rolled back to {v}, still failing.",
            ]
        )
    elif family == "ip-ish-number":
        v = rng.choice(
            [
                f"{rng.randint(1, 28)}.{rng.randint(1, 12)}.{rng.randint(2019, 2026)}",
                f"section {rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 9)}",
                f"1.3.6.1.4.1.{rng.randint(100, 99999)}",
                f"{rng.randint(1, 9)}.{d(3)}.{d(3)},{d(2)}",
            ]
        )
        t = rng.choice(
            [
                "Please see {v} of the terms.",
                "The reference was {v} on the letter.",
                "It says {v} on the receipt.",
                "Ref {v}",
            ]
        )
    elif family == "sku":
        v = rng.choice(
            [
                f"SKU {d(3)}-{d(2)}-{d(4)}",
                f"SKU-{d(5)}-{rng.choice('ABCX')}",
                f"part no. {d(3)}-{d(2)}-{d(4)}",
                f"model {rng.choice(['KX', 'TR', 'B'])}-{d(3)}-{d(2)}",
                f"item #{d(3)}-{d(2)}-{d(4)}",
            ]
        )
        t = rng.choice(
            [
                "I ordered {v} but got the wrong colour.",
                "Is {v} back in stock?",
                "The box says {v}.",
                "Please exchange {v} for the larger size.",
            ]
        )
    elif family == "date":
        y = rng.randint(2015, 2026)
        v = rng.choice(
            [
                f"{y}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{y}",
                f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{y % 100:02d}",
                f"{rng.choice(['March', 'July', 'Oct.', 'December'])} {rng.randint(1, 28)}, {y}",
                f"{rng.randint(1, 28)}.{rng.randint(1, 12):02d}.{y}",
            ]
        )
        t = rng.choice(
            [
                "The order was placed on {v}.",
                "Delivery expected {v}, still nothing.",
                "Invoice dated {v} is wrong.",
                "I returned it on {v}.",
            ]
        )
    elif family == "year-range":
        a = rng.randint(2005, 2023)
        v = rng.choice([f"{a}-{a + rng.randint(1, 3)}", f"{a}–{a + 1}", f"since {a}", f"{a} to {a + 2}"])
        t = rng.choice(
            [
                "I've had this account {v} without problems.",
                "account {v} statements please",
                "Customer {v}, never had an issue.",
                "Member {v} and this is the first complaint.",
            ]
        )
    elif family == "account-words":
        v = rng.choice(
            [
                "account settings",
                "account page 2",
                "account for 3 years",
                "customer number one",
                f"account balance ${rng.randint(10, 999)}.{d(2)}",
                f"member for {rng.randint(2, 15)} years",
                f"account tab, step {rng.randint(1, 5)}",
            ]
        )
        t = rng.choice(["I looked at my {v} and nothing changed.", "Your {v} is confusing.", "Check the {v}, please."])
    elif family == "amount":
        n = rng.randint(1000, 99_999_999)
        v = rng.choice(
            [
                f"{{${n}.00}}",
                f"${n:,}.{d(2)}",
                f"€{n:,}".replace(",", ".") + f",{d(2)}",
                f"USD {n:,}.{d(2)}",
                f"{n}.{d(2)} EUR",
                f"£{n}",
                f"({n:,}.00)",
            ]
        )
        t = rng.choice(
            [
                "The total shows {v} which is wrong.",
                "I was billed {v} on the last statement.",
                "Refund amount: {v}",
                "Why is my balance {v}?",
                "Field value was {v} in the export.",
            ]
        )
    elif family == "order-number":
        v = rng.choice(
            [
                f"#{d(6)}",
                f"ORD-{d(4)}-{d(5)}",
                f"{rng.randint(100, 999)}-{d(7)}-{d(7)}",
                f"#A{d(8)}",
                f"number {d(7)}",
                f"W{d(9)}",
            ]
        )
        t = rng.choice(
            [
                "Order {v} hasn't shipped.",
                "My order {v} arrived damaged.",
                "Ticket {v} was closed without a reply.",
                "Regarding order {v}: wrong size.",
            ]
        )
    elif family == "flight":
        v = f"{rng.choice(['ap', 'LH', 'BA', 'UA', 'AF', 'KL', 'DL', 'IB', 'AZ', 'FR', 'U2', 'EK'])}{rng.choice([' ', ''])}{rng.randint(1, 9999)}"
        t = rng.choice(
            [
                "My flight {v} was cancelled.",
                "I was booked on {v} tomorrow.",
                "Luggage lost on {v}.",
                "Rebook me from {v} to the next one.",
            ]
        )
    elif family == "hash":
        v = rng.choice(["".join(rng.choice("0123456789abcdef") for _ in range(n)) for n in (64, 40, 32, 12, 7)])
        if rng.random() < 0.3:
            v = v.upper()
        t = rng.choice(
            [
                "sha256 of the file: {v}",
                "Commit {v} broke the export.",
                "Checksum {v} does not match.",
                "The fingerprint {v} is in the report.",
                "error id {v}",
            ]
        )
    elif family == "license-key":
        v = "-".join("".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(5)) for _ in range(5))
        t = rng.choice(["My license key {v} is rejected.", "Key: {v}", "Activation fails for {v}."])
    elif family == "long-id":
        v = rng.choice(
            [
                f"{d(4)} {d(4)} {d(4)} {d(4)}",
                f"{d(16)}",
                f"9400 {d(4)} {d(4)} {d(4)} {d(4)} {d(2)}",
                f"1Z{d(3)}AA{d(10)}",
                f"{int(time.time()) - rng.randint(0, 10**8)}{d(3)}",
            ]
        )
        if v.replace(" ", "").isdigit() and len(v.replace(" ", "")) == 16 and _luhn_valid(v.replace(" ", "")):
            v = v[:-1] + str((int(v[-1]) + 1) % 10)
        t = rng.choice(
            [
                "Tracking number {v} shows no movement.",
                "The transaction id is {v}.",
                "Reference {v} on the statement.",
                "Timestamp {v} in the log.",
            ]
        )
    elif family == "product":
        v = rng.choice(
            [
                f"{rng.randint(2, 5)} Seagate Expansion Drive",
                "iPhone 15 Pro Max",
                "Galaxy S23 Ultra",
                f"{rng.randint(2, 4)} Logitech MX Master 3S",
                "RTX 4090",
                "Windows 11 Home",
                "PlayStation 5 Slim",
                f"{rng.randint(2, 6)} Google Drive folders",
                "Street Fighter 6",
                f"{rng.randint(2, 9)} Samsung T7 drives",
                "AirPods Pro 2",
                "Route 66 mug",
                f"{rng.randint(2, 8)} Park Avenue notebooks",
                "Echo Dot 5th Gen",
            ]
        )
        t = rng.choice(
            [
                "I bought {v} and one is faulty.",
                "The {v} won't turn on.",
                "Do you ship {v} to Canada?",
                "Returned {v} last week.",
            ]
        )
    elif family == "quantity-street-word":
        v = rng.choice(
            [
                f"{rng.randint(2, 40)} main courses",
                f"{rng.randint(2, 12)} lane changes",
                f"{rng.randint(2, 90)} way splitter",
                f"{rng.randint(2, 30)} court dates",
                f"{rng.randint(2, 9)} drive bays",
                f"{rng.randint(3, 60)} road bikes",
            ]
        )
        t = rng.choice(["We ordered {v} for the event.", "It only shows {v} in the menu.", "The listing said {v}."])
    elif family == "weekday":
        v = rng.choice(
            [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "tomorrow",
                "back",
                "later",
                "ASAP",
                "after lunch",
                "Saturday morning",
                "anytime",
            ]
        )
        t = rng.choice(["Please call me {v}.", "call me {v} on the usual number", "Can someone call me {v}?"])
    elif family == "capitalised":
        v, t = rng.choice(
            [
                ("urgent", "This is {v}, please help."),
                ("my second request", "This is {v} about the refund."),
                ("Urgent", "This is {v}!"),
                ("the Support Team", "Thanks,\n{v}"),
                ("Sent from my iPhone", "Thanks!\n\n{v}"),
                ("Customer Service", "Regards,\n{v}"),
                ("Team Acme", "Best,\n{v}"),
                ("missing from the invoice", "My name is {v}."),
                ("spelled wrong on the card", "My name is {v}."),
                ("Amazon Prime", "This is {v} related."),
                ("not happy", "I am {v} with this."),
                ("the Returns Department", "Kind regards,\n{v}"),
                ("Premium", "I am on {v} and still see ads."),
            ]
        )
    elif family == "handle":
        v = rng.choice(
            [
                "@acme_support",
                f"icon@{rng.randint(2, 3)}x.png",
                "@types/node",
                f"@{rng.choice(['john', 'sarah', 'dev'])}",
                f"{rng.randint(2, 9)} @ ${rng.randint(3, 40)} each",
                "user@host notation",
            ]
        )
        t = rng.choice(
            [
                "I tweeted {v} twice already.",
                "The asset {v} is missing.",
                "Package {v} fails to install.",
                "Quote: {v}.",
            ]
        )
    elif family == "at-words":
        v = rng.choice(
            [
                "look at the settings dot menu",
                "at home dot",
                "at work on Monday",
                "at gmail's spam folder",
                "at least three times",
                "at checkout dot matrix printer",
            ]
        )
        t = rng.choice(["I looked {v} and nothing.", "It fails {v}.", "Same error {v}."])
    else:
        raise ValueError(family)
    return v, t.format(v=v)


def _luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return total % 10 == 0


def generate(seed: int, per_kind: int = 300) -> list[Case]:
    """`per_kind` planted values of each kind, each in a ticket sentence, and as many look-alikes per resembled kind."""
    src = Values(seed)
    rng = src.rng
    cases: list[Case] = []
    for kind in KINDS:
        for _ in range(per_kind):
            if kind == "SSN":
                family, value, needs_cue = src.ssn()
                pool = TEMPLATES["SSN"] if needs_cue else TEMPLATES["SSN"] + TEMPLATES["SSN-bare"]
            else:
                family, value = getattr(src, {"NAME": "person"}.get(kind, kind.lower()))()
                pool = TEMPLATES[kind]
            cases.append(Case(kind, family, value, rng.choice(pool).format(v=value), True))
    by_kind = defaultdict(list)
    for family, kind in LOOKALIKES.items():
        by_kind[kind].append(family)
    for kind, families in by_kind.items():
        for _ in range(per_kind):
            family = rng.choice(families)
            value, text = lookalike(rng, family)
            cases.append(Case(kind, f"lookalike/{family}", value, text, False))
    return cases


# ---------------------------------------------------------------------------------------------------------
# measuring

_WORD = re.compile(r"[^\W_]+")


def leaked(case: Case, redacted: str) -> bool:
    """True when any word of the planted value is left: it occurs more often than in the sentence around it."""
    start = case.text.index(case.value)
    context = case.text[:start] + " " + case.text[start + len(case.value) :]
    for word in set(_WORD.findall(case.value)):
        pattern = re.compile(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])")
        if len(pattern.findall(redacted)) > len(pattern.findall(context)):
            return True
    return False


def redact_texts(texts: list[str]) -> list[str]:
    """The texts as the `redact` stage leaves them (its candidate filter included)."""
    import polars as pl

    from curate.core.pii import PII_KINDS, PiiFinder, redact_columns

    frame = pl.DataFrame({"text": texts})
    return redact_columns(frame, ["text"], PiiFinder(tuple(PII_KINDS), "US"))[0]["text"].to_list()


def measure(cases: list[Case], redacted: list[str]) -> dict:
    """Per kind: planted, caught (recall), look-alikes, altered (over-redaction); misses kept for display."""
    table = defaultdict(Counter)
    misses = defaultdict(list)
    for case, out in zip(cases, redacted):
        if case.pii:
            table[case.kind]["planted"] += 1
            if leaked(case, out):
                misses[case.kind].append((case.family, case.value, out))
            else:
                table[case.kind]["caught"] += 1
        else:
            table[case.kind]["lookalikes"] += 1
            if out != case.text:
                table[case.kind]["altered"] += 1
                misses["over:" + case.kind].append((case.family, case.value, out))
    return {"table": table, "misses": misses}


def markdown(result: dict) -> str:
    table = result["table"]
    lines = ["| kind | planted | recall | look-alikes | over-redacted |", "|---|---:|---:|---:|---:|"]
    tot = Counter()
    for kind in KINDS:
        row = table[kind]
        tot.update(row)
        over = f"{row['altered'] / row['lookalikes']:.1%}" if row["lookalikes"] else "-"
        lines.append(
            f"| {kind} | {row['planted']} | {row['caught'] / row['planted']:.3f} | {row['lookalikes'] or '-'} | {over} |"
        )
    lines.append(
        f"| all | {tot['planted']} | {tot['caught'] / tot['planted']:.3f} | {tot['lookalikes']} | "
        f"{tot['altered'] / tot['lookalikes']:.1%} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="1 is the reported seed; tune on 0")
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--show", type=int, default=0, help="print up to N misses and over-redactions per kind")
    args = parser.parse_args()
    cases = generate(args.seed, args.per_kind)
    began = time.perf_counter()
    result = measure(cases, redact_texts([case.text for case in cases]))
    seconds = time.perf_counter() - began
    print(
        f"`.venv/bin/python benchmarks/pii.py --seed {args.seed} --per-kind {args.per_kind}` "
        f"({len(cases)} sentences, {seconds:.1f} s)\n"
    )
    print(markdown(result))
    if args.show:
        for key, rows in sorted(result["misses"].items()):
            print(f"\n{key}: {len(rows)}")
            for family, value, out in rows[: args.show]:
                print(f"  {family:28s} {value!r:40s} -> {out!r}")


if __name__ == "__main__":
    main()
