"""`gate: {suite, on_fail}`: validate the approved set; a failed gate with `on_fail: stop` halts the
recipe (nothing after it, such as training, runs) and the run exits with code 3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import polars as pl

from curate.core.columns import GATE_ARTIFACT
from curate.core.stage import RunContext, Stage, StageResult, empty_rejected
from curate.stages.gates.gx import validate


@dataclass
class Gate(Stage):
    suite: str | None = (
        None  # None: the generic suite that ships with curate (expectations/generic.json): binds no label set
    )
    on_fail: Literal["stop", "warn"] = "stop"

    name: ClassVar[str] = "gate"
    on_no_rows: ClassVar[str] = "halt"

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        from curate.core.resources import default_suite

        report = validate(rows, self.suite or default_suite())
        result = StageResult(
            kept=rows,
            rejected=empty_rejected(rows),
            stats={
                "success": report.success,
                "failed": [f"{o.expectation}({o.column or ''})" for o in report.failed],
                "on_fail": self.on_fail,
            },
            artifacts={GATE_ARTIFACT: report.to_dict()},
        )
        if not report.success and self.on_fail == "stop":
            result.halt = report.summary()
        return result
