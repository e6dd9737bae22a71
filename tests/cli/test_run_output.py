"""`curate run` prints through logging: the default output, --quiet (only the report's path, on stdout) and --verbose
(each stage's parameters, rejection reasons and statistics)."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app


@pytest.fixture
def recipe(tmp_path):
    rows = pl.DataFrame(
        {
            "text": [f"my order {i} has not arrived yet, where is it?" for i in range(20)] + ["hi", "hi"],
            "label": ["track_order"] * 22,
        }
    )
    rows.write_csv(tmp_path / "rows.csv")
    path = tmp_path / "recipe.yaml"
    path.write_text(
        f"input: {{path: {tmp_path / 'rows.csv'}}}\nstages:\n  - clean\n  - quality\n  - dedup: {{method: exact}}\n"
        f"output: {tmp_path / 'run'}\n"
    )
    return path


def run(*args: str):
    return CliRunner().invoke(app, ["run", *map(str, args)])


def test_the_default_output_shows_each_stage_and_the_totals(recipe):
    result = run(recipe)
    assert result.exit_code == 0, result.output
    assert "✓ quality" in result.stderr and "every row accounted for" in result.stderr
    assert "rejected by reason" not in result.stderr
    assert result.stdout.strip().endswith("report.md")


def test_quiet_prints_only_the_report_path(recipe):
    result = run(recipe, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.strip().endswith("report.md")


def test_verbose_adds_parameters_reasons_and_statistics(recipe):
    result = run(recipe, "--verbose")
    assert result.exit_code == 0, result.output
    assert "Quality(min_chars=" in result.stderr and "rejected by reason: {'no_content': 2}" in result.stderr
    assert "✓ quality" in result.stderr


def test_verbose_and_quiet_together_is_an_error(recipe):
    result = run(recipe, "-v", "-q")
    assert result.exit_code == 2 and "cannot be used together" in result.output
