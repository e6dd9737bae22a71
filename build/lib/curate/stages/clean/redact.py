"""The `redact` stage: PII replaced by typed placeholders (`[EMAIL]`, `[PHONE_2]`...) in the text and
the response; a `pii` column lists the kinds found. The detectors live in `curate.core.pii`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from curate.core.columns import PII, RESPONSE, TEXT
from curate.core.pii import CANDIDATE_PATTERN, PII_KINDS, PiiFinder, PiiKind
from curate.core.stage import RunContext, Stage, StageResult, empty_rejected

@dataclass
class Redact(Stage):
    """Replace PII with typed placeholders in the text (and the response, when there is one)."""

    kinds: list[PiiKind] = field(default_factory=lambda: list(PII_KINDS))
    phone_region: str = "US"
    columns: list[str] = field(default_factory=lambda: [TEXT, RESPONSE])

    name: ClassVar[str] = "redact"

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        finder = PiiFinder(tuple(self.kinds), self.phone_region)
        totals: Counter = Counter()
        kinds_by_row: dict[int, set[str]] = {}
        redacted = []
        for column in [c for c in self.columns if c in rows.columns]:
            texts = rows[column].cast(pl.String)
            index = texts.str.contains(CANDIDATE_PATTERN).fill_null(False).arg_true()
            new_texts = []
            for position, text in zip(index.to_list(), texts.gather(index).to_list()):  # candidates only
                new_text, counts = finder.redact(text)
                new_texts.append(new_text)
                if counts:
                    totals.update(counts)
                    kinds_by_row.setdefault(position, set()).update(counts)
            redacted.append(texts.scatter(index, pl.Series(new_texts, dtype=pl.String)) if len(index) else texts)
        pii = [",".join(sorted(kinds_by_row[i])) if i in kinds_by_row else None for i in range(rows.height)]
        kept = rows.with_columns(*redacted, pl.Series(PII, pii, dtype=pl.String))
        stats = {"rows_with_pii": len(kinds_by_row), "placeholders": dict(sorted(totals.items()))}
        return StageResult(kept=kept, rejected=empty_rejected(rows), stats=stats)
