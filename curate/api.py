"""The Python API a notebook reaches for first: `curate.run(...)` and `curate.load_run(path)`.

    import curate
    run = curate.run("recipes/tickets.yaml", input="my_tickets.csv")   # nothing written
    run.approved, run.rejected, run.report["totals"], run.clusters

A recipe may be a path, YAML text or a dict; with `output` the run directory is written as by `curate run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.columns import CLUSTERS_ARTIFACT


@dataclass
class Run:
    approved: pl.DataFrame
    rejected: pl.DataFrame
    report: dict[str, Any]
    artifacts: dict[str, Any] = field(default_factory=dict)

    @property
    def clusters(self) -> pl.DataFrame | None:
        return self.artifacts.get(CLUSTERS_ARTIFACT)


def run(recipe: str | Path | dict, input: str | Path | None = None, output: str | Path | None = None) -> Run:
    """Run a recipe (a path, YAML text or a dict) on its input or on `input`; write a run directory only to `output`."""
    import yaml

    from curate.recipe import parse_recipe
    from curate.pipeline.runner import run_recipe

    if isinstance(recipe, dict):
        text, origin = yaml.safe_dump(recipe, sort_keys=False), "<recipe dict>"
    elif isinstance(recipe, Path) or "\n" not in str(recipe):
        text, origin = Path(recipe).read_text(encoding="utf-8"), str(recipe)
    else:
        text, origin = str(recipe), "<recipe text>"
    parsed = parse_recipe(text, origin, input_path=input, output=output, require_output=False)
    if output is None:
        parsed.output = None  # a notebook run writes nothing unless asked, whatever the recipe's `output` says
    result, report = run_recipe(parsed)
    return Run(result.approved, result.rejected, report, result.artifacts)


def load_run(path: str | Path) -> Run:
    """A finished run directory, as frames."""
    from curate.io.rundir import RunDir

    run_dir = RunDir(Path(path))
    artifacts = {
        name: (run_dir.frame(name) if file.endswith(".parquet") else run_dir.artifact(name))
        for name, file in (run_dir.report.get("artifacts") or {}).items()
    }
    return Run(run_dir.approved, run_dir.rejected, run_dir.report, artifacts)
