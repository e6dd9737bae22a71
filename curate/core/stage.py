"""The one contract data flows through.

A stage takes a polars frame of rows and a `RunContext` and returns a `StageResult`: the rows it
keeps, the rows it rejects (each with the stage, a reason code and a readable detail), its stats and
its artifacts (frames such as duplicate clusters, or JSON such as a gate's result). The executor, not
the stage, checks that kept + rejected accounts for every row the stage was given.

Stages are dataclasses whose fields are parameters only (values resolved at run time, such as a
seed taken from the context, live in locals), so a recipe entry maps onto a stage by keyword
arguments. A stage declares the columns it needs and adds, so the executor can refuse a recipe
that orders stages wrongly before anything runs, and how it may be spread over blocks of rows (`spread`, a
`Spread` from `core/spread.py`), so an engine can run it on rows past memory without the stage knowing.

`Filter` is the template for stages that only decide per row: a subclass scores rows and declares
its checks; the base class applies them, stamps rejections and counts reasons in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, final

import polars as pl

from curate.core.columns import DETAIL, ID, REASON, STAGE, TEXT
from curate.core.context import RunContext
from curate.core.result import Artifact, StageResult, merge_stats  # noqa: F401 - imported from here by stages
from curate.core.spread import ROW, ByKey, ByTotals, Linked, Source, Spread  # noqa: F401 - ROW: imported from here too

# Columns a stage may add to mark a drop; `split_marked` turns them into rejected rows.
REJECT_REASON = "_reject_reason"
REJECT_DETAIL = "_reject_detail"


class Stage:
    """Base class of every stage: a dataclass of parameters with `apply`, and how it may be spread (`spread`).

    The names a stage may set or override are the eight below without `@final`; everything else here is a helper a
    stage calls. `tests/test_stage_contract.py` counts them."""

    name: ClassVar[str] = "stage"
    requires: ClassVar[tuple[str, ...]] = (ID, TEXT)  # columns that must exist when the stage runs
    produces: ClassVar[tuple[str, ...]] = ()  # columns it adds for later stages
    # What the executor does when earlier stages left no rows: "skip" the stage (it has nothing to decide),
    # or "halt" the run (a gate must never pass an empty dataset by not looking at it).
    on_no_rows: ClassVar[str] = "skip"
    # How an engine may spread the stage over blocks of rows (`core/spread.py`); a class attribute, or a property where
    # it depends on the parameters. The stage never acts on it: `apply` is the whole of what it does.
    spread: ClassVar[Spread] = Spread.none()

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        """The stage on one frame. A stage spread `by_totals` or `linked` has its steps in its spread: they are its
        `apply`, here and in every engine."""
        if isinstance(self.spread, (ByTotals, Linked)):
            return self.spread.apply(rows, ctx or RunContext())
        raise NotImplementedError(f"{type(self).__name__} implements `apply`")

    def read_in_batches(self, batch_rows: int | None, ctx: RunContext | None = None) -> Iterator[StageResult]:
        """A source stage's rows a batch of about `batch_rows` at a time (all at once when None), so an engine that streams
        can write each batch away instead of holding the input; the last result carries the stats of the whole read and
        may hold no rows. A source that cannot read in parts yields its one result."""
        yield self.apply(None, ctx)

    def datasets(self) -> dict[str, dict[str, Any]]:
        """Files besides the input that the stage needs, as input specs ({path, text, label}); the runner
        reads them into `ctx.datasets` under `<stage name>.<key>`."""
        return {}

    @property
    @final
    def display_name(self) -> str:
        """How the stage is named in reports: its recipe name, plus its method where it has one."""
        method = getattr(self, "method", None)
        return f"{self.name}:{method}" if method else self.name

    @property
    @final
    def is_source(self) -> bool:
        """Reads rows instead of transforming its input (ingest): what it returns is what every later check accounts for."""
        return isinstance(self.spread, Source)

    @final
    def __init_subclass__(cls, **kwargs) -> None:
        """A subclass that sets one of the helpers marked `@final` (`is_source` comes from `spread`) is refused, not
        silently obeyed."""
        super().__init_subclass__(**kwargs)
        for name in cls.__dict__:
            helper = Stage.__dict__.get(name)
            if name in Stage.__dict__ and getattr(getattr(helper, "fget", helper), "__final__", False):
                raise TypeError(f"{cls.__name__} sets `{name}`, which a stage does not set (see Stage's eight names)")

    @final
    def __call__(self, rows: Any = None, ctx: RunContext | None = None) -> StageResult:
        """The stage on what a notebook has: a polars or pandas frame, with or without ids (`as_rows` makes them from
        the text). `apply` itself takes a polars frame with ids, as the engines pass it."""
        return self.apply(as_rows(rows) if rows is not None else None, ctx)

    @final
    def split_marked(self, marked: pl.DataFrame, stats: dict[str, Any] | None = None) -> StageResult:
        """Split a frame whose `_reject_reason` column is null for kept rows into a StageResult."""
        if REJECT_DETAIL not in marked.columns:
            marked = marked.with_columns(pl.lit("").alias(REJECT_DETAIL))
        is_rejected = pl.col(REJECT_REASON).is_not_null()
        kept = marked.filter(~is_rejected).drop(REJECT_REASON, REJECT_DETAIL)
        rejected = stamp(marked.filter(is_rejected), self.display_name, pl.col(REJECT_REASON), pl.col(REJECT_DETAIL))
        return StageResult(kept=kept, rejected=rejected.drop(REJECT_REASON, REJECT_DETAIL), stats=stats or {})


def combine(parts: list[StageResult], spread: Spread | None = None) -> StageResult:
    """One result from the results of several partitions (or blocks): rows and frame artifacts concatenated (put in
    order by a `by_key` spread's `order`), counts in the stats added up."""
    frames: dict[str, list[pl.DataFrame]] = {}
    for part in parts:
        for name, artifact in part.artifacts.items():
            if isinstance(artifact, pl.DataFrame):
                frames.setdefault(name, []).append(artifact)
    order = spread.order if isinstance(spread, ByKey) and spread.order is not None else (lambda frame: frame)
    return StageResult(
        kept=pl.concat([p.kept for p in parts], how="diagonal_relaxed"),
        rejected=pl.concat([p.rejected for p in parts], how="diagonal_relaxed"),
        stats=merge_stats([p.stats for p in parts]),
        artifacts={name: order(pl.concat(f, how="diagonal_relaxed")) for name, f in frames.items()},
    )


def as_rows(rows: Any) -> pl.DataFrame:
    """A polars frame with an `id` column: pandas frames are converted, missing ids are made from the text
    (stable: the same text gets the same id); a frame without a `text` column is refused with its columns."""
    if not isinstance(rows, pl.DataFrame):
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas ships with the dependencies
            pd = None
        if pd is not None and isinstance(rows, pd.DataFrame):
            rows = pl.from_pandas(rows)
        else:
            raise TypeError(f"a stage takes a polars or pandas DataFrame, not {type(rows).__name__}")
    if ID in rows.columns:
        return rows
    if TEXT not in rows.columns:
        from curate.core.errors import InputError

        raise InputError(
            f"the rows have no '{TEXT}' column",
            "rows",
            hint=f"columns: {', '.join(rows.columns)}; rename the text column to '{TEXT}'",
        )
    from curate.core.text import stable_ids

    return rows.with_columns(stable_ids(rows[TEXT])).select(ID, *rows.columns)


def stamp(rows: pl.DataFrame, stage: str, reason: str | pl.Expr, detail: str | pl.Expr = "") -> pl.DataFrame:
    """Mark `rows` as rejected: the one place that writes the stage, reason and detail columns."""
    reason = reason if isinstance(reason, pl.Expr) else pl.lit(reason)
    detail = detail if isinstance(detail, pl.Expr) else pl.lit(detail)
    return rows.with_columns(
        pl.lit(stage).alias(STAGE),
        reason.cast(pl.String).alias(REASON),
        detail.fill_null("").cast(pl.String).alias(DETAIL),
    )


def empty_rejected(like: pl.DataFrame) -> pl.DataFrame:
    """A rejected frame with no rows and the schema of `like` plus stage/reason/detail."""
    return stamp(like.clear(), "", pl.lit(None, pl.String), pl.lit(None, pl.String))


def count_reasons(rejected: pl.DataFrame) -> dict[str, int]:
    """Rejected rows by reason, most common first."""
    if rejected.is_empty():
        return {}
    counts = rejected.group_by(REASON).len().sort(["len", REASON], descending=[True, False])
    return dict(zip(counts[REASON].to_list(), counts["len"].to_list()))


@dataclass(frozen=True)
class Check:
    """One rule of a `Filter`: rows where `fails` is true are dropped with `reason` (or flagged)."""

    reason: str
    fails: pl.Expr
    detail: pl.Expr
    action: Literal["drop", "flag"] = "drop"


class Filter(Stage):
    """Template for per-row decisions (datatrove's BaseFilter; NeMo Curator's score-then-keep).

    A subclass implements `score` (add the score columns that decide, kept on every row so a person
    can see why) and `checks` (in order; a row is dropped by the first failing `drop` check, and
    every failing `flag` check is listed in `flag_column`). `summarize` may add stats.
    """

    flag_column: ClassVar[str] = "flags"

    def score(self, rows: pl.DataFrame, ctx: RunContext) -> pl.DataFrame:
        return rows

    def checks(self) -> list[Check]:  # pragma: no cover - abstract
        raise NotImplementedError

    def summarize(self, kept: pl.DataFrame, ctx: RunContext) -> dict[str, Any]:
        return {}

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        ctx = ctx or RunContext()
        return (
            self.spread.apply(rows, ctx)
            if isinstance(self.spread, ByTotals)
            else self.decide(self.score(rows, ctx), ctx)
        )

    @final
    def decide(self, scored: pl.DataFrame, ctx: RunContext) -> StageResult:
        """The checks on scored rows: the first failing `drop` check rejects, every failing `flag` check is listed."""
        checks = self.checks()
        reason, detail = pl.lit(None, pl.String), pl.lit(None, pl.String)
        for check in reversed([c for c in checks if c.action == "drop"]):  # the first failing check wins
            fails = check.fails.fill_null(False)
            reason = pl.when(fails).then(pl.lit(check.reason)).otherwise(reason)
            detail = pl.when(fails).then(check.detail).otherwise(detail)
        flagging = [c for c in checks if c.action == "flag"]
        flags = (
            pl.concat_list(
                [pl.when(c.fails.fill_null(False)).then(pl.lit(c.reason)) for c in flagging]
            ).list.drop_nulls()
            if flagging
            else pl.lit([], pl.List(pl.String))
        )
        marked = scored.with_columns(
            reason.alias(REJECT_REASON), detail.alias(REJECT_DETAIL), flags.alias(self.flag_column)
        )
        result = self.split_marked(marked)
        counts = result.kept[self.flag_column].explode().drop_nulls().value_counts(sort=True)
        result.stats = {
            "flagged": dict(zip(counts[self.flag_column].to_list(), counts["count"].to_list())),
            **self.summarize(result.kept, ctx),
        }
        return result


__all__ = [
    "Check",
    "Filter",
    "RunContext",
    "Spread",
    "Stage",
    "StageResult",
    "combine",
    "count_reasons",
    "empty_rejected",
    "stamp",
]
