"""`curate compare` as a library call: curate the recipe's input, then train the same model on the raw
input and on the curated rows and score both on one clean file that curation never touched."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.context import Progress
from curate.core.errors import GateFailed
from curate.io.readers import read_input
from curate.recipe import Recipe
from curate.pipeline.runner import run_recipe
from curate.train.compare import compare_datasets, summarize_seeds
from curate.train.loop import TrainConfig


def compare_recipe(
    recipe: Recipe, eval_path: Path, config: TrainConfig, out: Path, seeds: int = 1, progress: Progress | None = None
) -> dict[str, Any]:
    """Raw vs curated for `recipe` (its train stage, if any, is left out: the comparison trains); with
    several seeds, each metric as mean ± std and the paired difference. `progress` hears of the curation's
    stages and of every training step."""
    recipe = replace(recipe, stages=[s for s in recipe.stages if s.name != "train"], output=out / "run")
    result, report = run_recipe(recipe, progress=progress)
    if report.get("halted"):
        raise GateFailed(f"curation stopped: {report['halted']}", str(recipe.path or "recipe"))
    curated = (
        result.approved.collect() if isinstance(result.approved, pl.LazyFrame) else result.approved
    )  # a streamed run's rows
    raw = read_input(recipe.input).result.kept
    evaluation = read_input(replace(recipe.input, path=eval_path, on_bad_rows="error")).result.kept
    # All of the curated rows, as raw is all of the input: the clean eval file is the only test.

    def on_step(seed: int):
        if progress is None:
            return None
        return lambda side, step, steps, loss: progress(
            "compare", f"training on {side} rows, seed {seed} (loss {loss:.3f})", step, steps
        )

    if seeds == 1:
        return compare_datasets(raw, curated, evaluation, config, out, on_step(config.seed))
    runs = [
        compare_datasets(
            raw,
            curated,
            evaluation,
            replace(config, seed=config.seed + k),
            out / f"seed-{config.seed + k}",
            on_step(config.seed + k),
        )
        for k in range(seeds)
    ]
    return summarize_seeds(runs, out)
