"""The same recipe on the local engine and on Ray (a local cluster started by the test) gives the same
approved and rejected rows, clusters and stats: on the bundled sample (with semantic dedup, whose embeddings Ray's
actors compute), and on 100,000 generated tickets."""

import os
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from curate.core.stage import Spread, Stage, StageResult, merge_stats
from curate.pipeline.engines import RayEngine
from curate.pipeline.executor import run_stages
from curate.pipeline.runner import run_recipe
from curate.recipe import parse_recipe
from tests.pipeline.test_streaming import assert_every_row_rejected_by_quality, every_row_rejected

ROOT = Path(__file__).resolve().parents[2]
ray = pytest.importorskip("ray", reason="the ray engine's tests need ray[data] (pip install -e '.[dev]')")
# One pytest-xdist worker runs every test here (`make test`: --dist loadgroup), so one Ray cluster starts, not two.
pytestmark = pytest.mark.xdist_group("ray")


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def both_engines(recipe: dict, tmp_path: Path, block_rows: int, monkeypatch) -> tuple:
    results = {}
    for engine in ("local", "ray"):
        monkeypatch.setenv(
            "CURATE_CACHE_DIR", str(tmp_path / f"cache-{engine}")
        )  # each engine encodes every text itself
        recipe = {
            **recipe,
            "output": str(tmp_path / engine),
            "engine": {"name": engine, "block_rows": block_rows} if engine == "ray" else engine,
        }
        results[engine] = run_recipe(parse_recipe(yaml.safe_dump(recipe)))
    return results["local"], results["ray"]


def assert_identical(local, remote) -> None:
    (a, report_a), (b, report_b) = local, remote
    assert report_a["engine"] == "local" and report_b["engine"] == "ray"
    rows = lambda frame: frame.collect() if isinstance(frame, pl.LazyFrame) else frame  # noqa: E731 - a streamed run's rows are read from its run
    assert rows(a.approved).equals(rows(b.approved)) and rows(a.rejected).equals(rows(b.rejected))
    assert a.artifacts.keys() == b.artifacts.keys()  # clusters, where a dedup or split ran
    for name, artifact in a.artifacts.items():
        if isinstance(artifact, pl.DataFrame | pl.LazyFrame):
            assert rows(artifact).equals(rows(b.artifacts[name])), name
    strip = lambda report: [{k: v for k, v in s.items() if k != "seconds"} for s in report["stages"]]
    assert strip(report_a) == strip(report_b)  # kept, rejected, reasons, stats and examples, stage by stage


def test_the_default_recipe_gives_the_same_run_on_ray(ray_cluster, tmp_path, monkeypatch):
    recipe = yaml.safe_load((ROOT / "recipes/tickets.yaml").read_text())
    recipe["stages"] = [
        s for s in recipe["stages"] if not (isinstance(s, dict) and "train" in s)
    ]  # training stays on one node
    recipe["stages"].insert(6, {"dedup": {"method": "semantic"}})  # a model stage: its embeddings on the cluster
    local, remote = both_engines(
        recipe, tmp_path, block_rows=300, monkeypatch=monkeypatch
    )  # clean and redact over 7 blocks, exact dedup over 7 partitions
    assert local[0].approved.height > 1500
    placement = remote[1]["placement"]
    assert placement["clean"] == placement["redact"] == "blocks" and placement["dedup:exact"] == "shuffle by key"
    assert (
        placement["dedup:minhash"] == placement["split"] == "map, shuffle by group, reduce"
        and placement["bias"] == "driver"
    )
    assert placement["quality"] == placement["review"] == "blocks with totals"  # class shares from every block's counts
    # semantic dedup's ~1,600 texts (two chunks) were encoded by actors on the cluster's two CPUs, not by the driver
    assert placement["dedup:semantic"] == "driver; embeddings by 2 CPU actors"
    assert_identical(local, remote)


def test_100k_generated_tickets_give_the_same_run_on_ray(ray_cluster, tmp_path, monkeypatch):
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
    local, remote = both_engines(recipe, tmp_path, block_rows=25_000, monkeypatch=monkeypatch)
    assert remote[1]["placement"]["dedup:minhash"] == remote[1]["placement"]["split"] == "map, shuffle by group, reduce"
    rejected = local[0].rejected
    assert (
        rejected.filter(pl.col("reason") == "exact_duplicate").height > 3_000
        and rejected.filter(pl.col("reason") == "near_duplicate").height > 0
        and local[1]["totals"]["input_rows"] == 100_000
    )
    assert_identical(local, remote)


def test_a_run_whose_every_row_is_rejected_is_the_same_on_ray(ray_cluster, tmp_path, monkeypatch):
    local, remote = both_engines(every_row_rejected(tmp_path), tmp_path, block_rows=50, monkeypatch=monkeypatch)
    assert_every_row_rejected_by_quality(local)
    assert remote[1]["placement"]["quality"] == "blocks with totals"
    assert_identical(local, remote)


class WherePiecesRan(Stage):
    """A row-local stage that writes the id of the process it ran in onto every row."""

    name = "where_pieces_ran"
    spread = Spread.by_rows()

    def apply(self, rows, ctx=None):
        return StageResult(kept=rows.with_columns(pl.lit(os.getpid()).alias("pid")), rejected=rows.clear())


def test_ray_runs_a_streamed_stages_pieces_in_its_workers_on_blocks_in_blocks_dir(ray_cluster, tmp_path):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    rows = pl.DataFrame({"id": [f"r{i}" for i in range(40)], "text": [f"ticket {i}" for i in range(40)]})
    engine = RayEngine(block_rows=10, blocks_dir=tmp_path / "shared")
    try:
        result = run_stages([WherePiecesRan()], rows=rows, engine=engine)
        assert (
            len(list((tmp_path / "shared").glob("curate-stream-*/*/*.parquet"))) == 4
        )  # four blocks, where blocks_dir says
        kept = result.approved.collect()
    finally:
        engine.close()
    assert kept["id"].to_list() == rows["id"].to_list()  # every row, in input order
    assert os.getpid() not in kept["pid"].to_list()  # each block went through the stage in a worker, not in the driver
    assert engine.placement == {"where_pieces_ran": "blocks"} and not list(
        (tmp_path / "shared").glob("curate-stream-*")
    )


def test_stats_of_blocks_add_up():
    merged = merge_stats(
        [
            {"rows_changed": 2, "placeholders": {"EMAIL": 1}, "findings": ["a"], "ratio": 0.5},
            {"rows_changed": 3, "placeholders": {"EMAIL": 2, "PHONE": 1}, "findings": ["a", "b"], "ratio": 0.7},
        ]
    )
    assert merged == {"rows_changed": 5, "placeholders": {"EMAIL": 3, "PHONE": 1}, "findings": ["a", "b"], "ratio": 0.5}
