"""`gate: {suite, on_fail}`: validate the approved set; a failed gate with `on_fail: stop` halts the
recipe (nothing after it, such as training, runs) and the run exits with code 3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import polars as pl

from curate.gates.gx import validate
from curate.stage import Stage, StageResult, empty_rejected


@dataclass
class Gate(Stage):
    suite: str = "expectations/tickets.json"
    on_fail: Literal["stop", "warn"] = "stop"

    name: ClassVar[str] = "gate"

    def apply(self, rows: pl.DataFrame) -> StageResult:
        report = validate(rows, self.suite)
        result = StageResult(kept=rows, rejected=empty_rejected(rows), stats={
            "success": report.success, "failed": [f"{o.expectation}({o.column or ''})" for o in report.failed],
            "on_fail": self.on_fail, "gate": report.to_dict(),
        })
        if not report.success and self.on_fail == "stop":
            result.halt = report.summary()
        return result
