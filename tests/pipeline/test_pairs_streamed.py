"""The pair recipe's stages (responses, pair dedup, tokens) streamed past `block_rows` give the run the whole frame gives:
responses and tokens decide each block with the totals of all blocks, pair dedup shuffles rows by their prompt."""

from pathlib import Path

import polars as pl
import yaml

from tests.pipeline.test_streaming import in_memory_and_streamed

ROOT = Path(__file__).resolve().parents[2]


def test_the_pairs_recipe_streamed_is_the_same_run(tmp_path):
    recipe = yaml.safe_load((ROOT / "recipes/pairs.yaml").read_text())
    recipe["stages"] = [
        {"dedup": {"method": "pairs", "prompts": "exact"}}
        if isinstance(s, dict) and "dedup" in s
        else {"tokens": {"tokenizer": "minilm", "max_tokens": 200, "price_per_million": 1.0}}
        if isinstance(s, dict) and "tokens" in s
        else s
        for s in recipe["stages"]
    ]
    (memory, report_a), (streamed, report_b) = in_memory_and_streamed(recipe, tmp_path, block_rows=300)
    placement = report_b["placement"]
    assert (
        placement["responses"] == placement["tokens"] == "streamed: blocks with totals"
        and placement["dedup:pairs"] == "streamed: shuffle by key"
    )
    rows = lambda frame: frame.collect() if isinstance(frame, pl.LazyFrame) else frame  # noqa: E731 - streamed: read from the run
    assert memory.approved.equals(rows(streamed.approved)) and memory.rejected.equals(rows(streamed.rejected))
    assert memory.artifacts["pair_groups"].equals(rows(streamed.artifacts["pair_groups"]))
    strip = lambda report: [{k: v for k, v in s.items() if k != "seconds"} for s in report["stages"]]  # noqa: E731
    assert strip(report_a) == strip(report_b)
    tokens = next(s for s in report_a["stages"] if s["stage"] == "tokens")["stats"]["token_counts"]
    assert tokens["over_context"] > 0 and tokens["examples"] == memory.approved.height
    assert memory.rejected.filter(pl.col("stage") == "dedup:pairs").height > 100
