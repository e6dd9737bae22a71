"""A tiny recipe run into a folder of its own, as often as a test asks (a rerun replaces it)."""

import polars as pl
import pytest

from curate.pipeline.runner import run_recipe
from curate.recipe import parse_recipe

RECIPE = """
input: {{path: {data}}}
stages: [{stages}]
output: {out}
"""


@pytest.fixture()
def tiny_run(tmp_path):
    data = tmp_path / "tickets.csv"
    pl.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "text": ["refund please", "refund please", "where is my order", "hello"],
            "label": ["refund", "refund", "order", "order"],
        }
    ).write_csv(data)

    def run(stages="review, {dedup: {method: exact}}", out="run"):
        recipe = parse_recipe(RECIPE.format(data=data, stages=stages, out=tmp_path / out))
        return run_recipe(recipe)[1], tmp_path / out

    return run
