"""Which personal data reaches which output of a run: the policy in one place, and the part of it applied as a run's
outputs are made (`redact_outputs` on the run's result before anything reads it, `redact_page` on report.md as it is
written). README's "Where personal data can reach" says the same to a user. Per output: what is redacted, and where.

approved.parquet
    The columns the recipe's `redact` stage names (`text`, `response`, `messages` by default); nothing without one.
    By the `redact` stage: it is a step of the data path, and later stages read what it wrote (its `pii` column,
    dedup's `ignore_pii_clauses`).
rejected.parquet and frame artifacts (clusters.parquet, ...)
    `SET_ASIDE_COLUMNS` and the columns `redact` names, in the rows that stages before `redact` set aside (every row
    in a recipe without one); nothing with `rejected_text: raw`. Here, `redact_outputs`.
a rejected row's `text_before_clean`
    The text it came in with. By `clean`, where the column is made: redacted whatever `rejected_text` says, and for a
    caller of `Clean.apply` outside a run.
report.json: findings and rejection examples
    Each text. By the executor, where they are taken: `run_stages` returns them, and the CLI logs the findings as each
    stage ends, before anything is written.
gate.json
    The failing examples. By the gate (`stages/gates/gx.py`), where they are taken: a dict artifact is written as its
    stage made it.
report.md
    The whole page, once more. Here, `redact_page`: the safety net for the page a person reads.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import polars as pl

from curate.core.columns import MESSAGES, RESPONSE, STAGE, TEXT, TEXT_BEFORE_CLEAN
from curate.core.messages import redact_frame
from curate.core.pii import PiiFinder
from curate.io.blocks import rewritten
from curate.io.readers import INGEST

if TYPE_CHECKING:
    from curate.pipeline.executor import RunResult
    from curate.recipe import Recipe

# The columns of rows set aside that carry what a person wrote, whatever the recipe's `redact` stage names.
SET_ASIDE_COLUMNS = (TEXT, RESPONSE, TEXT_BEFORE_CLEAN, MESSAGES)


def redact_outputs(recipe: Recipe, result: RunResult) -> dict[str, Any]:
    """Rejected rows and frame artifacts with PII redacted in the text columns (and any the recipe's redact
    stage names): rows rejected before `redact` ran, or by a recipe without one, carry what came in. Returns what
    report.json says of it (`privacy`)."""
    if recipe.rejected_text == "raw":
        return {"rejected": "raw (rejected_text: raw)"}
    position = next((i for i, s in enumerate(recipe.stages) if s.name == "redact"), None)
    redact_stage = recipe.stages[position] if position is not None else None
    finder = PiiFinder(tuple(redact_stage.kinds), redact_stage.phone_region) if redact_stage else PiiFinder()
    named = redact_stage.columns if redact_stage else []
    columns = list(dict.fromkeys([*SET_ASIDE_COLUMNS, *named]))
    # Rows from stages after `redact` were redacted by it: only what earlier stages produced needs it here.
    before = None if redact_stage is None else {INGEST, *(s.display_name for s in recipe.stages[:position])}
    counts: Counter = Counter()

    def redacted(rows: pl.DataFrame) -> pl.DataFrame:
        rows, more = redact_rows_from(rows, before, columns, finder)
        counts.update(more)
        return rows

    result.rejected = rewritten(result.rejected, redacted)
    for name, artifact in result.artifacts.items():
        if not isinstance(artifact, dict):  # frame artifacts; dicts (the gate's result) hold no rows
            result.artifacts[name] = rewritten(artifact, redacted)
    return {"rejected": "redacted", "columns": columns, "placeholders_added": dict(sorted(counts.items()))}


def redact_rows_from(
    frame: pl.DataFrame, stages: set[str] | None, columns: list[str], finder: PiiFinder
) -> tuple[pl.DataFrame, Counter]:
    """`frame` with the rows that `stages` produced redacted (every row when `stages` is None or unknown), in order."""
    if stages is None or STAGE not in frame.columns:
        frame, _, counts = redact_frame(frame, columns, finder)
        return frame, counts
    marked = frame.with_row_index("_order")
    needs = pl.col(STAGE).is_in(list(stages)).fill_null(True)
    redacted, _, counts = redact_frame(marked.filter(needs), columns, finder)
    return pl.concat([redacted, marked.filter(~needs)], how="diagonal_relaxed").sort("_order").drop("_order"), counts


def redact_page(markdown: str) -> str:
    """report.md as written: its examples were redacted where they were taken; this is the safety net for the page a
    person reads."""
    return PiiFinder().redact(markdown)[0]
