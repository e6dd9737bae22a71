"""`curate compare` as a library call: curate the recipe's input, then train the same model on the raw
input and on the curated rows and score both on one clean file that curation never touched."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from curate.core.errors import GateFailed
from curate.io.readers import read_input
from curate.recipe import Recipe
from curate.pipeline.runner import run_recipe
from curate.train.compare import compare_datasets
from curate.train.loop import TrainConfig


def compare_recipe(recipe: Recipe, eval_path: Path, config: TrainConfig, out: Path) -> dict[str, Any]:
    """Raw vs curated for `recipe` (its train stage, if any, is left out: the comparison trains)."""
    recipe = replace(recipe, stages=[s for s in recipe.stages if s.name != "train"], output=out / "run")
    result, report = run_recipe(recipe)
    if report.get("halted"):
        raise GateFailed(f"curation stopped: {report['halted']}", str(recipe.path or "recipe"))
    raw = read_input(recipe.input).result.kept
    evaluation = read_input(replace(recipe.input, path=eval_path, on_bad_rows="error")).result.kept
    # All of the curated rows, as raw is all of the input: the clean eval file is the only test.
    return compare_datasets(raw, result.approved, evaluation, config, out)
