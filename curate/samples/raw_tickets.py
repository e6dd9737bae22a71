"""Make realistic raw support tickets from the clean Bitext utterances, keeping the ground truth.

Real tickets arrive resent (exact and near duplicates with typos, greetings and signatures), with
PII, HTML, mojibake, quoted reply chains, empty and junk rows, wrong labels and skewed classes. The
generator plants each defect deliberately and records it in a truth table, so that tests and
benchmarks can measure each stage's precision and recall. Deterministic for a seed.

    python -m curate.samples.raw_tickets --source ../shared/data/bitext/Bitext_...csv --out data/sample
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import polars as pl

GREETINGS = ["Hi,\n\n", "Hello support team,\n", "Dear Sir or Madam,\n\n", "Hey there,\n", "Good morning,\n\n"]
SIGNATURES = [
    "\n\nThanks,\n{name}",
    "\n\nBest regards,\n{name}\nCustomer since 2019",
    "\n\nSent from my iPhone",
    "\n\nKind regards,\n{name}",
    "\n-- \n{name} | Acme Retail Ltd",
    "\n\nCheers,\n{name}\n\nSent from my Android",
]
FIRST = ["john", "maria", "wei", "fatima", "olga", "pedro", "aisha", "liam", "chloe", "raj", "noor", "tom"]
LAST = ["smith", "garcia", "chen", "khan", "ivanova", "silva", "okafor", "murphy", "martin", "patel", "haddad", "baker"]
DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.uk", "example.org", "mail.acme-retail.com"]
QUOTE = "\n\nOn Tue, {day} Jun 2024 at 09:{minute:02d}, Shop Support wrote:\n> Thank you for contacting us.\n> We are looking into your request and will get back to you shortly.\n> Ticket reference: {ref}"
JUNK = [
    "asdfghjkl",
    "test",
    "test test 123",
    "!!!!!!!!!!!!",
    "???",
    "lorem ipsum dolor sit amet, consectetur adipiscing elit",
    "ok",
    "qwertyuiop qwertyuiop qwertyuiop",
    ".....",
    "aaaaaaaaaaaaaaaaaaaaaaaa",
    "ggggg hhhhh",
    "xD xD xD xD",
    "I am out of the office until Monday with limited access to email. For urgent matters contact my colleague.",
    "Automatic reply: your message has been received.",
    "1234567890",
    "hello?",
    "[image]",
    "<img src='x.png'>",
]
EMPTY = ["", "   ", "\n\n", "<p></p>", "<div> </div>", "&nbsp;"]
NEIGHBOURS = {c: n for row in ["qwertyuiop", "asdfghjkl", "zxcvbnm"] for c, n in zip(row, row[1:] + row[-2])}


def _luhn_card(rng: random.Random) -> str:
    from stdnum import luhn

    prefix = rng.choice(["4", "51", "52", "53", "54", "55"])
    body = prefix + "".join(rng.choice("0123456789") for _ in range(15 - len(prefix)))
    number = body + luhn.calc_check_digit(body)
    style = rng.choice(["space", "dash", "plain"])
    groups = [number[i : i + 4] for i in range(0, 16, 4)]
    return " ".join(groups) if style == "space" else "-".join(groups) if style == "dash" else number


def _iban(rng: random.Random) -> str:
    from stdnum import iban

    country, length = rng.choice([("DE", 18), ("GB", 18), ("NL", 14), ("FR", 23)])
    if country == "GB":
        bban = "NWBK" + "".join(rng.choice("0123456789") for _ in range(14))
    elif country == "NL":
        bban = "ABNA" + "".join(rng.choice("0123456789") for _ in range(10))
    else:
        bban = "".join(rng.choice("0123456789") for _ in range(length))
    number = country + iban.calc_check_digits(country + "00" + bban) + bban
    return iban.format(number) if rng.random() < 0.6 else number


def _phone(rng: random.Random) -> str:
    area = rng.choice(["212", "415", "646", "312", "617", "206"])
    tail = f"{rng.randint(0, 99):02d}"
    return rng.choice(
        [
            f"+1 ({area}) 555-01{tail}",
            f"{area}-555-01{tail}",
            f"({area}) 555-01{tail}",
            f"+44 20 7946 0{rng.randint(100, 999)}",
            f"+49 30 {rng.randint(1000000, 9999999)}",
            f"+1 {area} 555 01{tail}",
        ]
    )


def _pii(rng: random.Random) -> tuple[str, list[dict[str, str]]]:
    """A sentence carrying one or two PII values, and the values planted."""
    kind = rng.choices(
        ["EMAIL", "PHONE", "CARD", "IBAN", "IP", "SSN", "EMAIL+PHONE", "EMAIL_TWICE"], [30, 20, 12, 8, 10, 4, 10, 6]
    )[0]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
    if kind == "EMAIL":
        return rng.choice([f"my email is {email}", f"please reply to {email}", f"account: {email}"]), [
            {"type": "EMAIL", "value": email}
        ]
    if kind == "PHONE":
        phone = _phone(rng)
        return rng.choice([f"call me on {phone}", f"my number is {phone}", f"phone {phone}"]), [
            {"type": "PHONE", "value": phone}
        ]
    if kind == "CARD":
        card = _luhn_card(rng)
        return rng.choice([f"my card {card} was charged", f"card number {card}", f"paid with {card}"]), [
            {"type": "CARD", "value": card}
        ]
    if kind == "IBAN":
        number = _iban(rng)
        return f"refund to IBAN {number} please", [{"type": "IBAN", "value": number}]
    if kind == "IP":
        ip = f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        return f"I am connecting from {ip}", [{"type": "IP", "value": ip}]
    if kind == "SSN":
        ssn = f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"
        return f"my SSN is {ssn}", [{"type": "SSN", "value": ssn}]
    if kind == "EMAIL+PHONE":
        phone = _phone(rng)
        return f"reach me at {email} or {phone}", [{"type": "EMAIL", "value": email}, {"type": "PHONE", "value": phone}]
    return f"my email is {email} (again: {email})", [
        {"type": "EMAIL", "value": email},
        {"type": "EMAIL", "value": email},
    ]


def typo(text: str, rng: random.Random, rate: float = 0.04) -> str:
    """Keyboard typos: neighbour keys, dropped and doubled letters, at about `rate` per letter."""
    out = []
    for char in text:
        roll = rng.random()
        if char.isalpha() and roll < rate:
            op = rng.choice(["neighbour", "drop", "double"])
            out.append(NEIGHBOURS.get(char.lower(), char) if op == "neighbour" else "" if op == "drop" else char * 2)
        else:
            out.append(char)
    return "".join(out)


def _dress(text: str, rng: random.Random, name: str) -> tuple[str, dict[str, bool]]:
    """Wrap an utterance the way an email or web form delivers it."""
    flags = {"greeting": False, "signature": False, "quoted": False}
    if rng.random() < 0.2:
        text, flags["greeting"] = rng.choice(GREETINGS) + text, True
    if rng.random() < 0.18:
        text, flags["signature"] = text + rng.choice(SIGNATURES).format(name=name), True
    if rng.random() < 0.05:
        text = text + QUOTE.format(day=rng.randint(1, 28), minute=rng.randint(0, 59), ref=rng.randint(10000, 99999))
        flags["quoted"] = True
    return text, flags


def _html(text: str) -> str:
    paragraphs = text.replace("&", "&amp;").split("\n\n")
    return "<div>" + "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs) + "</div>"


def _mojibake(text: str) -> str:
    text = text.replace("'", "\u2019") if "'" in text else text + " \u2014 thanks"
    return text.encode("utf-8").decode("cp1252", errors="replace")


def build(source: Path, seed: int = 7, eval_per_class: int = 15) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Return (raw tickets, ground truth, clean evaluation set)."""
    rng = random.Random(seed)
    bitext = pl.read_csv(source, infer_schema=False).with_row_index("source_row")
    # Bitext repeats some utterances word for word: such rows share a `source_group` (its first row).
    from curate.core.text import normalized_text

    bitext = bitext.with_columns(pl.col("source_row").min().over(normalized_text("instruction")).alias("source_group"))
    labels = sorted(bitext["intent"].unique().to_list())
    # Clean evaluation rows, never shown to curation: stratified by intent.
    eval_rows = bitext.filter(pl.int_range(pl.len()).shuffle(seed=seed).over("intent") < eval_per_class)
    pool = bitext.join(eval_rows.select("source_row"), on="source_row", how="anti")
    # A skewed distribution: each intent keeps a share from 100% down to about 12%.
    order = labels[:]
    rng.shuffle(order)
    shares = {label: max(0.12, 0.92**i) for i, label in enumerate(order)}
    pool = pool.filter(
        pl.int_range(pl.len()).shuffle(seed=seed + 1).over("intent")
        < (pl.len().over("intent") * pl.col("intent").replace_strict(shares)).ceil()
    )

    raw, truth_frame = plant_defects(pool.rename({"instruction": "text", "intent": "label"}), labels, rng, seed)
    clean_eval = eval_rows.select(
        pl.format("E-{}", pl.col("source_row")).alias("ticket_id"),
        pl.col("instruction").alias("body"),
        "intent",
        "category",
        "response",
    )
    return raw, truth_frame, clean_eval


def plant_defects(
    pool: pl.DataFrame, labels: list[str], rng: random.Random, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Raw tickets and their truth from clean rows (`text`, `label`, `source_row`, `source_group`; optional
    `response`, `category`): dressing, PII, mojibake, HTML, wrong labels, resends, junk and empty rows."""
    tickets, truth = [], []
    groups = dict(zip(pool["source_row"].to_list(), pool["source_group"].to_list()))
    category_of = dict(zip(pool["label"].to_list(), pool["category"].to_list())) if "category" in pool.columns else {}

    def add(
        body,
        intent,
        category,
        response,
        kind,
        source_row,
        duplicate_of=None,
        pii=(),
        mislabelled=False,
        true_intent=None,
        **flags,
    ):
        ticket_id = f"T-{len(tickets) + 1:06d}"
        channel = rng.choice(["email", "email", "web", "chat"])
        tickets.append(
            {
                "ticket_id": ticket_id,
                "created_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
                "channel": channel,
                "body": body,
                "intent": intent,
                "category": category,
                "response": response,
            }
        )
        group = None if source_row is None else groups[source_row]
        truth.append(
            {
                "ticket_id": ticket_id,
                "kind": kind,
                "source_row": source_row,
                "source_group": group,
                "duplicate_of": duplicate_of,
                "true_intent": true_intent or intent,
                "mislabelled": mislabelled,
                "pii": json.dumps(list(pii)),
                "html": flags.get("html", False),
                "mojibake": flags.get("mojibake", False),
                "quoted": flags.get("quoted", False),
                "signature": flags.get("signature", False),
                "greeting": flags.get("greeting", False),
            }
        )
        return ticket_id

    originals = []
    for row in pool.sample(fraction=1.0, shuffle=True, seed=seed + 2).iter_rows(named=True):
        row.setdefault("response", None)
        name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
        text, flags = _dress(row["text"], rng, name)
        pii: list[dict[str, str]] = []
        if rng.random() < 0.12:
            sentence, pii = _pii(rng)
            text = text.replace(row["text"], row["text"].rstrip("?.! ") + ", " + sentence, 1)
        if rng.random() < 0.03:
            text, flags["mojibake"] = _mojibake(text), True
        elif rng.random() < 0.05:
            text, flags["html"] = _html(text), True
        intent, mislabelled = row["label"], False
        if rng.random() < 0.05:
            intent, mislabelled = rng.choice([label for label in labels if label != row["label"]]), True
        category = category_of.get(intent)
        ticket_id = add(
            text,
            intent,
            category,
            row["response"],
            "original",
            row["source_row"],
            pii=pii,
            mislabelled=mislabelled,
            true_intent=row["label"],
            **flags,
        )
        originals.append((ticket_id, row, text, intent, category, pii))

    for ticket_id, row, text, intent, category, pii in list(originals):
        roll = rng.random()
        if roll < 0.06:  # resent verbatim, perhaps with other casing or spacing
            resent = rng.choice([text, text.lower(), "  " + text + " ", text.replace(" ", "  ", 1)])
            add(
                resent,
                intent,
                category,
                row["response"],
                "exact_dup",
                row["source_row"],
                duplicate_of=ticket_id,
                pii=pii,
                true_intent=row["label"],
            )
        elif roll < 0.14:  # resent with typos, a new greeting or signature
            name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
            resent, flags = _dress(typo(row["text"], rng), rng, name)
            if rng.random() < 0.5:
                resent = rng.choice(GREETINGS) + resent if not flags["greeting"] else resent + "\n\nThanks!"
            add(
                resent,
                intent,
                category,
                row["response"],
                "near_dup",
                row["source_row"],
                duplicate_of=ticket_id,
                true_intent=row["label"],
                **flags,
            )

    for _ in range(max(10, len(originals) // 50)):
        junk = rng.choice(JUNK)
        add(junk, rng.choice(labels), None, None, "junk", None)
    for _ in range(max(5, len(originals) // 100)):
        add(rng.choice(EMPTY), rng.choice(labels), None, None, "empty", None)

    order_ids = list(range(len(tickets)))
    rng.shuffle(order_ids)
    return pl.DataFrame([tickets[i] for i in order_ids]), pl.DataFrame([truth[i] for i in order_ids])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", type=Path, default=Path("../shared/data/bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv")
    )
    parser.add_argument("--out", type=Path, default=Path("data/sample"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    raw, truth, clean_eval = build(args.source, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    raw.write_csv(args.out / "tickets.csv")
    truth.write_csv(args.out / "truth.csv")
    clean_eval.write_csv(args.out / "eval.csv")
    print(f"{raw.height} raw tickets, {clean_eval.height} clean evaluation rows -> {args.out}")


if __name__ == "__main__":
    main()
