"""Every registered stage through the same contract (as imbalanced-learn's estimator checks do):
parameters stored by the constructor, deterministic output, conservation of rows, reasons on every
rejected row, and the rejected schema."""

import dataclasses

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from curate.core.columns import DETAIL, ID, REASON, STAGE
from curate.core.context import RunContext
from curate.pipeline.conservation import check_stage_conservation
from curate.recipe.registry import STAGES, build_stage

ENTRIES = [
    (name, {}) if isinstance(entry, str) else (name, {"method": method})
    for name, entry in STAGES.items()
    for method in ([None] if isinstance(entry, str) else entry)
]


@pytest.fixture(scope="module")
def rows(sample_rows):
    return sample_rows.head(400)


@pytest.mark.parametrize("name, params", ENTRIES, ids=[f"{n}:{p.get('method', '')}" for n, p in ENTRIES])
def test_stage_contract(name, params, rows, tmp_path):
    stage = build_stage(name, params)
    assert dataclasses.is_dataclass(stage)
    ctx = RunContext(seed=3, output_dir=tmp_path)  # stages that write files write under it
    first, second = stage.apply(rows, ctx), stage.apply(rows, ctx)
    assert_frame_equal(first.kept, second.kept)
    assert_frame_equal(first.rejected, second.rejected)
    check_stage_conservation(stage.display_name, rows, first)
    if first.rejected.height:
        assert {ID, STAGE, REASON, DETAIL} <= set(first.rejected.columns)
        assert first.rejected[REASON].null_count() == 0 and set(first.rejected[STAGE]) == {stage.display_name}
    assert isinstance(first.stats, dict)
    assert all(isinstance(v, (pl.DataFrame, dict)) for v in first.artifacts.values())
    assert set(stage.requires) <= set(rows.columns)
    assert set(stage.produces) <= set(first.kept.columns), "a stage adds the columns it declares"


@pytest.mark.parametrize(
    "name, params",
    [
        ("clean", {}),
        ("redact", {}),
        ("quality", {}),
        ("dedup", {"method": "exact"}),
        ("dedup", {"method": "minhash"}),
        ("bias", {}),
        ("split", {}),
        ("review", {}),
    ],
)
def test_calling_a_stage_takes_a_pandas_frame_without_ids(name, params):
    import pandas as pd

    from curate.recipe.registry import build_stage

    texts = [
        "Please refund order 4411, mail me at ann@x.com",
        "Please refund order 4411, mail me at ann@x.com",
        "where is my parcel, it is late",
        "I want to close my account today",
        "<p>change my delivery address</p>",
    ] * 4
    frame = pd.DataFrame({"text": texts, "label": ["refund", "refund", "track", "close", "address"] * 4})
    result = build_stage(name, params)(frame)  # calling a stage takes what a notebook has
    assert isinstance(result.kept, pl.DataFrame) and result.kept.height + result.rejected.height == len(texts)
    ids = pl.concat([result.kept["id"], result.rejected["id"]])
    assert ids.n_unique() == len(texts) and set(ids) == set(curate_ids(texts))


def curate_ids(texts):
    from curate.core.text import stable_ids

    return stable_ids(pl.Series(texts)).to_list()


def overridable(cls: type) -> set[str]:
    """The names a subclass of `cls` may set or override: its public attributes, methods and properties, less the
    helpers it marks `@final`."""
    names = {name for name in getattr(cls, "__annotations__", {}) if not name.startswith("_")}
    for name, value in vars(cls).items():
        target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if not name.startswith("_") and not getattr(target, "__final__", False):
            names.add(name)
    return names


def test_a_stage_author_learns_at_most_eight_names():
    """The contract a newcomer reads in one sitting: `apply`, how it may be spread, and a few declarations."""
    from curate.core.stage import Filter, Stage

    names = overridable(Stage)
    assert {"apply", "spread"} <= names and len(names) <= 8, sorted(names)
    assert len(overridable(Filter) - names) <= 4, sorted(overridable(Filter) - names)  # the per-row template's own


def test_every_registered_stage_declares_one_spread():
    from curate.core.spread import Spread

    for name, params in ENTRIES:
        assert isinstance(build_stage(name, params).spread, Spread), name


def test_a_spread_that_contradicts_itself_is_refused_when_made():
    from curate.core.spread import Spread

    with pytest.raises(TypeError, match="`key` must be a polars expression"):
        Spread.by_key("text")
    with pytest.raises(TypeError, match="`partial` must be a function"):
        Spread.by_totals(partial=1, decide=lambda rows, totals, ctx: None)
    with pytest.raises(ValueError, match="not both"):
        Spread.linked(
            features=lambda rows, ctx: rows,
            keys=lambda features: [],
            resolve=lambda rows, groups, features, ctx: None,
            reads=("id",),
            alone=lambda rows: rows,
        )


def test_a_stage_that_sets_a_helper_of_the_contract_is_refused():
    """`is_source` follows from `spread`; setting it (as stages once did) must not silently win over the spread."""
    from curate.core.stage import Stage

    with pytest.raises(TypeError, match="sets `is_source`"):
        type("ReadsRows", (Stage,), {"is_source": True})
    with pytest.raises(TypeError, match="sets `__call__`"):  # calling a stage converts the frame, then runs `apply`
        type("CallsItself", (Stage,), {"__call__": lambda self, rows=None, ctx=None: None})


def test_calling_a_stage_passes_its_context_to_apply():
    from curate.core.context import RunContext
    from curate.stages.balance.split import Split

    from tests.conftest import SAMPLE

    sample = pl.read_csv(SAMPLE / "eval.csv").unique("body", keep="first", maintain_order=True).head(60)
    frame = sample.select(pl.col("body").alias("text"), pl.col("intent").alias("label")).to_pandas()  # no ids
    called = Split(validation=0.2, test=0.2)(frame, RunContext(seed=3)).kept
    applied = Split(validation=0.2, test=0.2).apply(called.drop("split"), RunContext(seed=3)).kept
    assert called["split"].to_list() == applied["split"].to_list()
    assert (
        called["split"].to_list() != Split(validation=0.2, test=0.2)(frame, RunContext(seed=4)).kept["split"].to_list()
    )
