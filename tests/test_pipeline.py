"""The executor enforces "nothing is lost", whatever a stage does."""

from dataclasses import dataclass
from typing import ClassVar

import polars as pl
import pytest

from curate.columns import AUGMENTED_FROM
from curate.errors import ConservationError
from curate.pipeline import run_stages
from curate.stage import Stage, StageResult, empty_rejected
from tests.conftest import frame


@dataclass
class LosesRows(Stage):
    name: ClassVar[str] = "loses"

    def apply(self, rows):
        return StageResult(kept=rows.head(1), rejected=empty_rejected(rows))


@dataclass
class KeepsAndRejects(Stage):
    name: ClassVar[str] = "both"

    def apply(self, rows):
        return StageResult(kept=rows, rejected=self.reject(rows.head(1), "oops"))


@dataclass
class InventsRows(Stage):
    name: ClassVar[str] = "invents"
    say_source: bool = False

    def apply(self, rows):
        new = rows.head(1).with_columns(pl.lit("new").alias("id"))
        if self.say_source:
            new = new.with_columns(pl.lit("r0").alias(AUGMENTED_FROM))
        return StageResult(kept=pl.concat([rows, new], how="diagonal_relaxed"), rejected=empty_rejected(rows))


@dataclass
class RejectsOdd(Stage):
    name: ClassVar[str] = "odd"

    def apply(self, rows):
        odd = pl.int_range(pl.len()) % 2 == 1
        return StageResult(kept=rows.filter(~odd), rejected=self.reject(rows.filter(odd), "odd", "odd row"))


@pytest.mark.parametrize("stage, message", [
    (LosesRows(), "2 of 3 rows are neither kept nor rejected"),
    (KeepsAndRejects(), "stage returned rows twice"),
    (InventsRows(), "1 new rows do not say which row they were generated from"),
])
def test_conservation_violations_fail_loudly(stage, message):
    with pytest.raises(ConservationError, match=message) as caught:
        run_stages(frame(["a", "b", "c"]), [stage])
    assert caught.value.where == stage.label


def test_generated_rows_with_a_source_are_allowed_and_reported():
    result = run_stages(frame(["a", "b"]), [InventsRows(say_source=True), RejectsOdd()])
    assert result.stages[0].added == 1
    assert result.approved["id"].to_list() == ["r0", "new"]
    assert result.rejected.select("id", "stage", "reason", "detail").rows() == [("r1", "odd", "odd", "odd row")]
    assert result.stages[1].examples["odd"][0]["id"] == "r1"


def test_ingest_rejections_are_carried_to_the_end():
    early = frame(["", "x"]).head(1).with_columns(pl.lit("ingest").alias("stage"), pl.lit("empty_text").alias("reason"), pl.lit("").alias("detail"))
    early = early.with_columns(pl.lit("e0").alias("id"))
    result = run_stages(frame(["a", "b", "c"]), [RejectsOdd()], rejected=early)
    assert result.input_rows == 4 and sorted(result.rejected["id"]) == ["e0", "r1"]


@dataclass
class QuotesRows(Stage):
    name: ClassVar[str] = "quotes"

    def apply(self, rows):
        return StageResult(kept=rows, rejected=empty_rejected(rows), stats={"findings": [f"example: {rows['text'][0]}"]})


def test_findings_reach_the_report_redacted():
    result = run_stages(frame(["write to jo.doe@example.com"]), [QuotesRows()])
    assert result.stages[0].stats["findings"] == ["example: write to [EMAIL]"]
