"""The executor: runs stages in order (each on the engine it is given) and enforces "nothing is lost".

Where a stage's `apply` runs is the engine's business (`engines.py`: this process, or a Ray cluster);
the checks (`conservation.py`) are the same for every engine. Before anything runs it checks that each stage finds
the columns it requires. After every stage it checks that kept + rejected is exactly the rows the
stage was given, plus generated rows that name their source, and puts back any row a reviewer said
to keep; at the end, that every row the source stage (ingest) produced is approved or rejected
exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from curate.core.columns import DETAIL, ID, REASON, TEXT
from curate.core.context import RunContext
from curate.core.errors import RecipeError
from curate.core.stage import Stage, StageResult, count_reasons, empty_rejected
from curate.io.blocks import Pile, Rows
from curate.pipeline.conservation import (
    check_run_conservation,
    check_stage_conservation,
    restore_kept_by_review,
    row_ids,
)
from curate.pipeline.engines import Engine, LocalEngine

EXAMPLES_PER_REASON = 3


@dataclass
class StageReport:
    stage: str
    rows_in: int
    kept: int
    rejected: int
    added: int
    rejected_by_reason: dict[str, int]
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunResult:
    approved: Rows  # blocks: a streamed run's rows on disk, until the runner writes them
    rejected: Rows  # blocks: past `block_rows` rejected rows in a streamed run
    stages: list[StageReport]
    artifacts: dict[str, Rows | dict[str, Any]]  # frame artifacts gathered over the run are rows too
    input_rows: int
    halted: str | None = None  # why the run stopped early (a failed gate), if it did
    stages_not_run: list[str] = field(default_factory=list)


def stage_report(
    stage: Stage,
    ctx: RunContext,
    rows_in: int,
    kept: int,
    result: StageResult,
    added: int,
    seconds: float,
    restored: dict[str, int],
) -> StageReport:
    """What the report says about one stage (`result.kept` is not read: a streamed run holds it on disk)."""
    if restored:
        result.stats["restored_by_review"] = restored
    # Findings and examples quote rows: redacted here, where they are taken (the CLI logs findings; pipeline/privacy.py).
    if result.stats.get("findings"):
        result.stats["findings"] = [ctx.redact(finding) for finding in result.stats["findings"]]
    return StageReport(
        stage=stage.display_name,
        rows_in=rows_in,
        kept=kept,
        rejected=result.rejected.height,
        added=added,
        rejected_by_reason=count_reasons(result.rejected),
        seconds=round(seconds, 3),
        stats=result.stats,
        examples=_examples(result.rejected, ctx.redact),
    )


def collect_artifacts(
    result: StageResult, frames: dict[str, Pile], documents: dict[str, dict], pile: Callable[[], Pile]
) -> None:
    """Frame artifacts are gathered by name across stages (concatenated at the end); a dict artifact's last version wins."""
    for name, artifact in result.artifacts.items():
        if isinstance(artifact, pl.DataFrame):
            frames.setdefault(name, pile()).add(artifact)
        else:
            documents[name] = artifact


def _examples(rejected: pl.DataFrame, redact: Callable[[str], str]) -> dict[str, list[dict[str, str]]]:
    examples: dict[str, list[dict[str, str]]] = {}
    if rejected.is_empty():
        return examples
    for reason, group in rejected.group_by(REASON, maintain_order=True):
        examples[str(reason[0])] = [
            {"id": row[ID], "text": redact((row[TEXT] or "")[:300]), "detail": row[DETAIL] or ""}
            for row in group.head(EXAMPLES_PER_REASON).iter_rows(named=True)
        ]
    return examples


def check_columns(stages: list[Stage], columns: list[str]) -> None:
    """Refuse, before anything runs, a recipe in which a stage needs a column no earlier stage gives it."""
    available = set(columns)
    for position, stage in enumerate(stages):
        missing = [c for c in stage.requires if c not in available]
        if missing:
            raise RecipeError(
                f"stage '{stage.display_name}' needs column(s) {', '.join(missing)}, which no earlier stage provides",
                f"stages[{position}]",
                hint="order the stages so that the one producing the column comes first",
            )
        available |= set(stage.produces)


def run_stages(
    stages: list[Stage],
    ctx: RunContext | None = None,
    rows: pl.DataFrame | None = None,
    on_start: Callable[[Stage, int], None] | None = None,
    on_end: Callable[[StageReport], None] | None = None,
    engine: Engine | None = None,
) -> RunResult:
    """Run `stages` in order on `rows`, or on what the first stage reads when it is a source (ingest); `engine`
    says where each stage's `apply` runs (this process by default)."""
    ctx = ctx or RunContext()
    engine = engine or LocalEngine()
    current = rows if rows is not None else pl.DataFrame(schema={ID: pl.String, TEXT: pl.String})
    check_columns(stages, [] if stages and stages[0].is_source else current.columns)
    input_ids = row_ids(current)
    pile = engine.pile  # where rows gathered over the run are held (past a block, a streaming engine's disk)
    rejected = pile()
    reports: list[StageReport] = []
    frames: dict[str, Pile] = {}
    documents: dict[str, dict] = {}
    halted, not_run = None, []
    for position, stage in enumerate(stages):
        if on_start:
            on_start(stage, current.height)
        started = time.perf_counter()
        if not stage.is_source and current.height == 0 and position > 0:
            result = StageResult(  # no rows, in either shape: a frame with their columns, for every check to read
                kept=current.clear(),
                rejected=empty_rejected(current),
                stats={"findings": ["no rows left: skipped"]},
                halt="no rows reached it" if stage.on_no_rows == "halt" else None,
            )
        else:
            result = engine.apply(stage, current, ctx)
        seconds = time.perf_counter() - started
        if stage.is_source:  # what it read is the run's input: every one of these rows must be accounted for
            current = current.clear()
            input_ids = pl.concat([row_ids(result.kept), row_ids(result.rejected)])
        if result.checked is not None:  # a streamed stage: the engine checked every piece against the rows it was given
            added, restored = result.checked
        else:
            added = check_stage_conservation(stage.display_name, current, result) if not stage.is_source else 0
            restored = restore_kept_by_review(result)
        report = stage_report(
            stage,
            ctx,
            result.kept.height + result.rejected.height if stage.is_source else current.height,
            result.kept.height,
            result,
            added,
            seconds,
            restored,
        )
        reports.append(report)
        if on_end:
            on_end(report)
        if result.rejected.height:
            rejected.add(result.rejected)
        collect_artifacts(result, frames, documents, pile)
        current = result.kept
        if result.halt:
            halted, not_run = f"{stage.display_name}: {result.halt}", [s.display_name for s in stages[position + 1 :]]
            break
    all_rejected = rejected.gathered() if rejected else empty_rejected(current.clear())
    check_run_conservation(input_ids, current, all_rejected)
    artifacts: dict[str, Rows] = {name: parts.gathered() for name, parts in frames.items()}
    return RunResult(
        approved=current,
        rejected=all_rejected,
        stages=reports,
        artifacts={**artifacts, **documents},
        input_rows=input_ids.len(),
        halted=halted,
        stages_not_run=not_run,
    )
