"""The executor enforces "nothing is lost", whatever a stage does, and refuses a recipe whose stages
are out of order before anything runs."""

from dataclasses import dataclass
from typing import ClassVar

import polars as pl
import pytest

from curate.core.columns import AUGMENTED_FROM, ID, TEXT
from curate.core.context import RunContext
from curate.core.errors import ConservationError, RecipeError
from curate.core.stage import Spread, Stage, StageResult, empty_rejected, stamp
from curate.pipeline.executor import run_stages
from tests.conftest import frame


@dataclass
class LosesRows(Stage):
    name: ClassVar[str] = "loses"

    def apply(self, rows, ctx=None):
        return StageResult(kept=rows.head(1), rejected=empty_rejected(rows))


@dataclass
class KeepsAndRejects(Stage):
    name: ClassVar[str] = "both"

    def apply(self, rows, ctx=None):
        return StageResult(kept=rows, rejected=stamp(rows.head(1), self.display_name, "oops"))


@dataclass
class InventsRows(Stage):
    name: ClassVar[str] = "invents"
    say_source: bool = False

    def apply(self, rows, ctx=None):
        new = rows.head(1).with_columns(pl.lit("new").alias("id"))
        if self.say_source:
            new = new.with_columns(pl.lit("r0").alias(AUGMENTED_FROM))
        return StageResult(kept=pl.concat([rows, new], how="diagonal_relaxed"), rejected=empty_rejected(rows))


@dataclass
class RejectsOdd(Stage):
    name: ClassVar[str] = "odd"

    def apply(self, rows, ctx=None):
        odd = pl.int_range(pl.len()) % 2 == 1
        return StageResult(
            kept=rows.filter(~odd), rejected=stamp(rows.filter(odd), self.display_name, "odd", "odd row")
        )


@pytest.mark.parametrize(
    "stage, message",
    [
        (LosesRows(), "2 of 3 rows are neither kept nor rejected"),
        (KeepsAndRejects(), "stage returned rows twice"),
        (InventsRows(), "1 new rows do not say which row they were generated from"),
    ],
)
def test_conservation_violations_fail_loudly(stage, message):
    with pytest.raises(ConservationError, match=message) as caught:
        run_stages([stage], rows=frame(["a", "b", "c"]))
    assert caught.value.where == stage.display_name


def test_generated_rows_with_a_source_are_allowed_and_reported():
    result = run_stages([InventsRows(say_source=True), RejectsOdd()], rows=frame(["a", "b"]))
    assert result.stages[0].added == 1
    assert result.approved["id"].to_list() == ["r0", "new"]
    assert result.rejected.select("id", "stage", "reason", "detail").rows() == [("r1", "odd", "odd", "odd row")]
    assert result.stages[1].examples["odd"][0]["id"] == "r1"


@dataclass
class ReadsFour(Stage):
    """A source stage (as ingest is): given no rows, it returns what it read, one of them rejected."""

    name: ClassVar[str] = "reads"
    spread: ClassVar[Spread] = Spread.source()
    requires: ClassVar[tuple[str, ...]] = ()
    produces: ClassVar[tuple[str, ...]] = (ID, TEXT)

    def apply(self, rows, ctx=None):
        read = frame(["a", "b", "c", ""])
        return StageResult(kept=read.head(3), rejected=stamp(read.tail(1), self.display_name, "empty_text"))


def test_a_source_stage_defines_the_rows_to_account_for_and_its_rejections_reach_the_end():
    result = run_stages([ReadsFour(), RejectsOdd()])
    assert result.input_rows == 4 and sorted(result.rejected["id"]) == ["r1", "r3"]
    assert result.stages[0].rows_in == 4 and result.stages[0].rejected_by_reason == {"empty_text": 1}


@dataclass
class LosesTheSourcesRow(Stage):
    name: ClassVar[str] = "drops"

    def apply(self, rows, ctx=None):
        return StageResult(kept=rows.head(2), rejected=empty_rejected(rows).head(0))


def test_rows_a_source_read_cannot_vanish_later():
    with pytest.raises(ConservationError):
        run_stages([ReadsFour(), LosesTheSourcesRow()])


@dataclass
class NeedsSplit(Stage):
    name: ClassVar[str] = "needs_split"
    requires: ClassVar[tuple[str, ...]] = (ID, TEXT, "split")

    def apply(self, rows, ctx=None):  # pragma: no cover - never reached
        raise AssertionError("a stage whose columns are missing must not run")


def test_a_stage_ordered_before_the_column_it_needs_is_refused_before_anything_runs():
    with pytest.raises(RecipeError, match="needs column\\(s\\) split") as caught:
        run_stages([RejectsOdd(), NeedsSplit()], rows=frame(["a", "b"]))
    assert caught.value.where == "stages[1]"


@dataclass
class QuotesRows(Stage):
    name: ClassVar[str] = "quotes"

    def apply(self, rows, ctx=None):
        return StageResult(
            kept=rows, rejected=empty_rejected(rows), stats={"findings": [f"example: {rows['text'][0]}"]}
        )


def test_findings_reach_the_report_redacted():
    result = run_stages([QuotesRows()], rows=frame(["write to jo.doe@example.com"]))
    assert result.stages[0].stats["findings"] == ["example: write to [EMAIL]"]


@dataclass
class SeedEcho(Stage):
    name: ClassVar[str] = "seed"
    seed: int | None = None

    def apply(self, rows, ctx=None):
        return StageResult(kept=rows, rejected=empty_rejected(rows), stats={"seed": ctx.seed_for(self.seed)})


def test_the_recipe_seed_reaches_stages_that_leave_theirs_unset():
    result = run_stages([SeedEcho(), SeedEcho(seed=3)], RunContext(seed=11), rows=frame(["a"]))
    assert [s.stats["seed"] for s in result.stages] == [11, 3]
