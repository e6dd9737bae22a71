"""The `redact` stage: PII replaced by typed placeholders (`[EMAIL]`, `[PHONE_2]`...) in the text and
the response, and in a conversation every message's content; a `pii` column lists the kinds found, `pii_turns` the
messages they were found in. The detectors live in `curate.core.pii`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import polars as pl

from curate.core.columns import MESSAGES, PII, RESPONSE, TEXT
from curate.core.messages import AnswerFinder, redact_frame
from curate.core.errors import InputError
from curate.core.pii import PII_KINDS, PiiFinder, PiiKind
from curate.core.stage import RunContext, Spread, Stage, StageResult, empty_rejected


@dataclass
class Redact(Stage):
    """Replace PII with typed placeholders in the text (and the response, when there is one). A stage, not a step of
    writing the run: later stages read what it wrote (`pii`); what reaches every other output: pipeline/privacy.py."""

    kinds: list[PiiKind] = field(default_factory=lambda: list(PII_KINDS))
    phone_region: str = "US"
    # The text, the response and a conversation's messages; name other columns that carry personal data
    # (`customer_email`...) here. rejected.parquet and the run's other files are redacted in these columns as well.
    columns: list[str] = field(default_factory=lambda: [TEXT, RESPONSE, MESSAGES])
    # In a conversation's assistant messages, the company's own contacts left as they are: toll-free numbers,
    # role addresses (`support@`, `abuse@`). None by default; the conversations recipe keeps both.
    keep_in_answers: list[Literal["toll_free", "role_email"]] = field(default_factory=list)

    name: ClassVar[str] = "redact"
    spread: ClassVar[Spread] = Spread.by_rows()  # each row decided on its own

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
        answers = AnswerFinder(tuple(self.kinds), self.phone_region, keep=tuple(self.keep_in_answers))
        redacted, kinds_by_row, totals = redact_frame(rows, self.columns, finder, on_progress, answers)
        pii = [",".join(sorted(kinds_by_row[i])) if i in kinds_by_row else None for i in range(rows.height)]
        kept = redacted.with_columns(pl.Series(PII, pii, dtype=pl.String))
        stats = {"rows_with_pii": len(kinds_by_row), "placeholders": dict(sorted(totals.items()))}
        return StageResult(kept=kept, rejected=empty_rejected(rows), stats=stats)
