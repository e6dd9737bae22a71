"""The local engine streams a run past `block_rows` rows through Parquet blocks on disk; the run must be the one the
whole frame gives, row for row, cluster for cluster, stat for stat: on the bundled sample (the default recipe, with its
model stages collected in memory) and on 100,000 generated tickets."""

from pathlib import Path

import polars as pl
import pytest
import yaml

from curate.core.errors import ConservationError
from curate.core.stage import Spread, Stage, StageResult
from curate.io.blocks import Blocks, Pile
from curate.pipeline.engines import LocalEngine
from curate.pipeline.executor import run_stages
from curate.pipeline.runner import run_recipe
from curate.recipe import parse_recipe

ROOT = Path(__file__).resolve().parents[2]


def in_memory_and_streamed(recipe: dict, tmp_path: Path, block_rows: int) -> tuple:
    runs = []
    for name, engine in (("memory", "local"), ("streamed", {"name": "local", "block_rows": block_rows})):
        runs.append(
            run_recipe(parse_recipe(yaml.safe_dump({**recipe, "output": str(tmp_path / name), "engine": engine})))
        )
    return runs


def assert_same_run(memory, streamed) -> None:
    (a, report_a), (b, report_b) = memory, streamed
    assert "placement" not in report_a  # nothing streamed in memory's run
    rows = lambda frame: frame.collect() if isinstance(frame, pl.LazyFrame) else frame  # noqa: E731 - streamed: read from the run
    assert a.approved.equals(rows(b.approved)) and a.rejected.equals(rows(b.rejected))
    assert a.artifacts.keys() == b.artifacts.keys()  # clusters, where a dedup or split ran
    for name, artifact in a.artifacts.items():
        if isinstance(artifact, pl.DataFrame):
            assert artifact.equals(rows(b.artifacts[name])), name
    strip = lambda report: [{k: v for k, v in s.items() if k != "seconds"} for s in report["stages"]]
    assert strip(report_a) == strip(report_b)  # kept, rejected, reasons, stats and examples, stage by stage
    assert (
        report_a["totals"] | {"seconds": 0} == report_b["totals"] | {"seconds": 0}
        and report_a["labels"] == report_b["labels"]
    )


def test_the_default_recipe_streamed_is_the_same_run(tmp_path):
    recipe = yaml.safe_load((ROOT / "recipes/tickets.yaml").read_text())
    recipe["stages"] = [s for s in recipe["stages"] if not (isinstance(s, dict) and "train" in s)]
    memory, streamed = in_memory_and_streamed(recipe, tmp_path, block_rows=300)
    placement = streamed[1]["placement"]
    assert (
        placement["clean"] == "streamed: blocks"
        and placement["quality"] == placement["review"] == "streamed: blocks with totals"
    )
    assert (
        placement["dedup:exact"] == "streamed: shuffle by key"
        and placement["split"] == "streamed: map, shuffle by group, reduce"
    )
    assert placement["labels"] == "in memory"
    assert memory[0].rejected.height > 300 and memory[0].artifacts["clusters"].height > 300
    assert_same_run(memory, streamed)
    # more rejected rows and clusters than a block: set aside on disk during the run, read from the run directory after it
    assert isinstance(streamed[0].rejected, pl.LazyFrame) and isinstance(
        streamed[0].artifacts["clusters"], pl.LazyFrame
    )
    assert isinstance(memory[0].rejected, pl.DataFrame)


def test_dedup_counting_copies_as_weights_streamed_is_the_same_run(tmp_path):
    """`copies: weight`: the rows a streamed MinHash never pairs carry the weight an in-memory run gives them."""
    recipe = yaml.safe_load((ROOT / "recipes/tickets.yaml").read_text())
    recipe["stages"] = [
        "clean",
        {"dedup": {"method": "exact", "copies": "weight"}},
        {"dedup": {"method": "minhash", "keep": "longest", "copies": "weight"}},
    ]
    memory, streamed = in_memory_and_streamed(recipe, tmp_path, block_rows=300)
    assert_same_run(memory, streamed)
    weights = memory[0].approved["sample_weight"]
    assert weights.null_count() == 0 and weights.max() >= 2


def test_100k_generated_tickets_streamed_are_the_same_run(tmp_path):
    from curate.samples.scale_tickets import generate_tickets

    generate_tickets(100_000, seed=3).write_parquet(tmp_path / "tickets.parquet")
    recipe = {
        "input": {"path": str(tmp_path / "tickets.parquet")},
        "seed": 0,
        "stages": [
            "review",
            "clean",
            "redact",
            "quality",
            {"dedup": {"method": "exact"}},
            {"dedup": {"method": "minhash", "keep": "longest"}},
            {"split": {"seed": 7}},
        ],
    }
    memory, streamed = in_memory_and_streamed(recipe, tmp_path, block_rows=20_000)
    rejected = memory[0].rejected
    assert (
        rejected.filter(pl.col("reason") == "exact_duplicate").height > 3_000
        and rejected.filter(pl.col("reason") == "near_duplicate").height > 100
    )
    assert_same_run(memory, streamed)
    assert isinstance(
        streamed[0].approved, pl.LazyFrame
    )  # the last stage streamed: its rows are read from the run directory


def test_blocks_settle_one_type_per_column_and_write_one_file(tmp_path):
    blocks = Blocks.create(tmp_path)
    blocks.append(pl.DataFrame({"id": ["a"], "note": [None]}))  # all null here: typed Null
    blocks.append(pl.DataFrame({"id": ["b", "c"], "note": ["x", None], "extra": [1, 2]}))
    assert blocks.height == 3 and dict(blocks.schema) == {"id": pl.String, "note": pl.String, "extra": pl.Int64}
    assert blocks.read(0).columns == ["id", "note", "extra"] and blocks.read(0)["extra"].to_list() == [None]
    blocks.write_parquet(tmp_path / "all.parquet")
    assert pl.read_parquet(tmp_path / "all.parquet").equals(blocks.collect())
    assert blocks.collect()["note"].to_list() == [None, "x", None]
    blocks.append(pl.DataFrame({"id": ["d"], "note": ["y"], "extra": [2.5]}))  # a later block widens a column's type
    assert blocks.schema["extra"] == pl.Float64 and blocks.collect()["extra"].to_list() == [None, 1.0, 2.0, 2.5]


def test_a_pile_is_the_frames_concatenated_whether_held_or_set_aside(tmp_path):
    frames = [
        pl.DataFrame({"id": ["a", "b"], "reason": ["x", "y"]}),
        pl.DataFrame({"id": ["c"], "similarity": [0.9]}),
        pl.DataFrame({"id": ["d", "e"], "reason": ["z", None], "similarity": [1, 2]}),
    ]
    held, aside = Pile(), Pile(lambda: tmp_path, limit=2)
    for frame in frames:
        held.add(frame)
        aside.add(frame)
    assert isinstance(held.gathered(), pl.DataFrame) and isinstance(aside.gathered(), Blocks)
    assert aside.gathered().collect().equals(pl.concat(frames, how="diagonal_relaxed"))
    assert held.gathered().equals(pl.concat(frames, how="diagonal_relaxed"))


class LosesARow(Stage):
    """A row-local stage that silently drops one row of every block."""

    name = "loses_a_row"
    spread = Spread.by_rows()

    def apply(self, rows, ctx=None):
        return StageResult(kept=rows.slice(1), rejected=rows.clear())


def test_a_streamed_stage_that_loses_rows_is_caught():
    rows = pl.DataFrame({"id": [f"r{i}" for i in range(10)], "text": [f"ticket {i}" for i in range(10)]})
    engine = LocalEngine(block_rows=4)
    try:
        with pytest.raises(ConservationError, match="neither kept nor rejected") as caught:
            run_stages([LosesARow()], rows=rows, engine=engine)
    finally:
        engine.close()
    assert (
        caught.value.where == "loses_a_row" and "1 of 4 rows" in caught.value.message
    )  # the first block's loss, named


def test_blocks_take_the_rows_asked_for_whether_a_block_is_in_order_or_not(tmp_path):
    """`take` gathers by place from blocks that hold their row numbers in order, and searches the others."""
    import numpy as np

    from curate.core.stage import ROW

    rows = pl.DataFrame({ROW: range(30), "v": [f"row {i}" for i in range(30)]})
    blocks = Blocks.create(tmp_path)
    blocks.append(rows.slice(0, 10))  # in order
    blocks.append(rows.slice(10, 10).reverse())  # the same rows backwards
    blocks.append(rows.slice(20, 10).filter(pl.col(ROW) != 25))  # a gap
    assert blocks.contiguous == [True, False, False]
    wanted = np.array([0, 3, 9, 10, 14, 19, 21, 24, 26, 29])
    expected = rows.filter(pl.col(ROW).is_in(wanted.tolist())).sort(ROW)
    assert blocks.take(wanted).equals(expected)
    assert blocks.take(np.array([25])).height == 0


def every_row_rejected(tmp_path: Path) -> dict:
    """A recipe whose quality stage rejects all 300 rows (digits and symbols: too few letters); dedup, split after."""
    junk = pl.DataFrame(
        {"id": [f"t{i}" for i in range(300)], "text": [f"{i} #### {i * 7} !!" for i in range(300)], "label": "a"}
    )
    junk.write_csv(tmp_path / "junk.csv")
    return {
        "input": {"path": str(tmp_path / "junk.csv")},
        "seed": 0,
        "stages": ["clean", "quality", {"dedup": {"method": "exact"}}, "split"],
    }


def assert_every_row_rejected_by_quality(run) -> None:
    result, report = run
    assert result.approved.is_empty() and result.rejected.height == 300
    assert set(result.rejected["stage"]) == {"quality"} and set(result.rejected["reason"]) == {"few_letters"}
    skipped = [s for s in report["stages"] if s["stats"].get("findings") == ["no rows left: skipped"]]
    assert [s["stage"] for s in skipped] == ["dedup:exact", "split"]


def test_a_streamed_run_whose_every_row_is_rejected_is_the_in_memory_run(tmp_path):
    """The stages after the one that rejected every row are skipped, streamed as in memory, and the approved rows
    (none) keep their columns."""
    memory, streamed = in_memory_and_streamed(every_row_rejected(tmp_path), tmp_path, block_rows=50)
    assert_every_row_rejected_by_quality(memory)
    assert streamed[1]["placement"]["quality"] == "streamed: blocks with totals"
    assert_same_run(memory, streamed)
    assert pl.read_parquet(tmp_path / "streamed" / "approved.parquet").columns == memory[0].approved.columns


def test_blocks_of_no_rows_keep_the_columns_they_were_given(tmp_path):
    blocks = Blocks.create(tmp_path)
    blocks.append(pl.DataFrame(schema={"id": pl.String, "score": pl.Float64}))  # no rows: no file, only its schema
    assert len(blocks) == 0 and blocks.height == 0 and dict(blocks.schema) == {"id": pl.String, "score": pl.Float64}
    assert blocks.collect().equals(blocks.clear()) and blocks.select("id").columns == ["id"]
    blocks.write_parquet(tmp_path / "none.parquet")
    assert pl.read_parquet(tmp_path / "none.parquet").columns == ["id", "score"]
    blocks.append(pl.DataFrame({"id": ["a"], "other": [1]}))  # a block with rows: its schema is the blocks'
    assert blocks.columns == ["id", "other"]
