"""The `redact` stage: PII replaced by typed placeholders (`[EMAIL]`, `[PHONE_2]`...) in the text and
the response, and in a conversation every message's content; a `pii` column lists the kinds found, `pii_turns` the
messages they were found in. The detectors live in `curate.core.pii`."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections import Counter
from typing import ClassVar

import polars as pl

from curate.core import messages as chat
from curate.core.columns import MESSAGES, PII, PII_TURNS, RESPONSE, TEXT
from curate.core.errors import InputError
from curate.core.pii import PII_KINDS, PiiFinder, PiiKind, redact_columns
from curate.core.stage import RunContext, Stage, StageResult, empty_rejected


@dataclass
class Redact(Stage):
    """Replace PII with typed placeholders in the text (and the response, when there is one)."""

    kinds: list[PiiKind] = field(default_factory=lambda: list(PII_KINDS))
    phone_region: str = "US"
    # The text, the response and a conversation's messages; name other columns that carry personal data
    # (`customer_email`...) here. rejected.parquet and the run's other files are redacted in these columns as well.
    columns: list[str] = field(default_factory=lambda: [TEXT, RESPONSE, MESSAGES])

    name: ClassVar[str] = "redact"
    row_local: ClassVar[bool] = True

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        missing = [c for c in self.columns if c not in rows.columns and c not in (TEXT, RESPONSE, MESSAGES)]
        if missing:  # a column the recipe names to protect must exist: a silent no-op would leak it
            raise InputError(
                f"redact: no column(s) {', '.join(missing)} in the rows",
                "redact.columns",
                hint=f"columns: {', '.join(rows.columns)}",
            )
        on_progress = ctx.reporter(self.name, "texts examined for PII") if ctx else None
        finder = PiiFinder(tuple(self.kinds), self.phone_region)
        flat = [c for c in self.columns if c != MESSAGES]
        redacted, kinds_by_row, totals = redact_columns(rows, flat, finder, on_progress)
        if MESSAGES in self.columns and MESSAGES in rows.columns:
            conversations, turns, turn_kinds, turn_totals = redact_messages(rows[MESSAGES], finder)
            totals.update(turn_totals)
            for position, found in turn_kinds.items():
                kinds_by_row.setdefault(position, set()).update(*found.values())
            redacted = redacted.with_columns(conversations, turns)
        pii = [",".join(sorted(kinds_by_row[i])) if i in kinds_by_row else None for i in range(rows.height)]
        kept = redacted.with_columns(pl.Series(PII, pii, dtype=pl.String))
        stats = {"rows_with_pii": len(kinds_by_row), "placeholders": dict(sorted(totals.items()))}
        return StageResult(kept=kept, rejected=empty_rejected(rows), stats=stats)


def redact_messages(conversations: pl.Series, finder: PiiFinder) -> tuple[pl.Series, pl.Series, dict, Counter]:
    """Every message's content redacted (each text part of a list of parts; roles, tool calls and other keys as they
    are); returns the conversations, the messages changed per row (`pii_turns`), {row: {message number: kinds}} and
    the placeholder counts."""
    parsed = [chat.load(c) for c in conversations.to_list()]
    texts: list[str] = []
    owners: list[tuple[int, int]] = []  # (row, message number) of each text
    for row, messages in enumerate(parsed):
        for number, message in enumerate(messages, start=1):
            chat.map_content(message, lambda text, at=(row, number): texts.append(text) or owners.append(at) or text)
    contents = pl.DataFrame({"content": texts}, schema={"content": pl.String})
    contents, kinds_by_text, totals = redact_columns(contents, ["content"], finder)
    found: dict[int, dict[int, set[str]]] = {}
    for index, kinds in kinds_by_text.items():
        row, number = owners[index]
        found.setdefault(row, {}).setdefault(number, set()).update(kinds)
    redacted = contents["content"].to_list()
    starts = {}  # each row's first text
    for index, (row, _) in enumerate(owners):
        starts.setdefault(row, index)
    values = conversations.to_list()
    for row in found:  # only the conversations redact changed are written anew
        new_texts = iter(redacted[starts[row] :])
        values[row] = chat.dump([chat.map_content(m, lambda _: next(new_texts)) for m in parsed[row]])
    described = [  # `message 2 (user): EMAIL; message 4 (assistant): NAME, PHONE`
        "; ".join(f"{chat.turn_label(parsed[row], n)}: {', '.join(sorted(found[row][n]))}" for n in sorted(found[row]))
        if row in found
        else None
        for row in range(len(values))
    ]
    return (
        pl.Series(MESSAGES, values, dtype=pl.String),
        pl.Series(PII_TURNS, described, dtype=pl.String),
        found,
        totals,
    )
