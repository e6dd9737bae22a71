"""Runs a recipe end to end: the ingest stage and the recipe's stages on the local executor, then the
run directory (rows, artifacts, report.json, report.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import shutil
import time
from pathlib import Path
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import polars as pl

from curate._version import __version__
from curate.core.context import Progress, RunContext
from curate.core.errors import RecipeError
from curate.core.stage import Stage
from curate.io.blocks import lasting
from curate.io.readers import Ingest, label_counts
from curate.io.review import carry_signoff, decisions_path, read_decisions, write_decisions
from curate.io.paths import check_input_file
from curate.io.rundir import (
    APPROVED,
    REJECTED,
    REVIEW_FOLDER,
    artifact_file,
    check_output,
    publish,
    staging_dir,
    write_run,
)
from curate.io.spec import InputSpec
from curate.io.writers import load_dataset
from curate.recipe import Recipe
from curate.pipeline.engines import make_engine
from curate.pipeline.executor import RunResult, StageReport, run_stages
from curate.pipeline.privacy import redact_outputs, redact_page
from curate.pipeline.report import render_markdown


def decisions_source(spec: dict[str, Any], output: Path | None) -> Path | None:
    """The review decisions a run applies: the file the recipe names, else its own output folder's."""
    if spec.get("path"):
        return Path(spec["path"])
    return decisions_path(output) if output is not None else None


def stage_datasets(stages: list[Stage], output: Path | None = None) -> tuple[dict[str, pl.DataFrame], dict[str, Path]]:
    """Read the files stages name besides the input (a clean evaluation file, review decisions), keyed
    `<stage>.<key>`; returns them and the decision files read, by key."""
    datasets, decision_files = {}, {}
    for stage in stages:
        for key, spec in stage.datasets().items():
            name = f"{stage.name}.{key}"
            if spec.get("reader") == "decisions":
                decision_files[name] = decisions_source(spec, output)
                datasets[name] = read_decisions(decision_files[name])
            else:
                unknown = sorted(set(spec) - {f.name for f in dataclasses.fields(InputSpec)})
                if unknown:
                    raise RecipeError(
                        f"unknown key(s) {', '.join(unknown)} in the file spec of '{stage.name}.{key}'",
                        f"{stage.name}.{key}.{unknown[0]}",
                        hint="keys: path, format, text, label, id, response, encoding",
                    )
                datasets[name] = load_dataset(InputSpec(**spec))
    return datasets, decision_files


def from_run(name: str, rows: Any, run_dir: Path | None) -> Any:
    """Rows that outlive the engine (a streamed run's blocks are gone when it closes: read lazily from the run
    directory, or collected when there is none); a dict artifact as it is."""
    if isinstance(rows, dict):
        return rows
    return lasting(rows, run_dir / artifact_file(name, rows) if run_dir is not None else None)


def build_report(recipe: Recipe, result: RunResult, seconds: float) -> dict[str, Any]:
    ingest = result.stages[0]
    return {
        "curate_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "recipe": {
            "path": str(recipe.path) if recipe.path else None,
            "hash": recipe.hash,
            "text": recipe.source,
            "seed": recipe.seed,
        },
        "input": {
            **ingest.stats["fingerprint"],
            **({"renamed_columns": r} if (r := ingest.stats.get("renamed_columns")) else {}),
        },
        "totals": {
            "input_rows": result.input_rows,
            "approved": result.approved.height,
            "rejected": result.rejected.height,
            "generated": int(sum(s.added for s in result.stages)),
            "conservation": "ok",
            "seconds": round(seconds, 3),
        },
        "rejected_by_stage": {s.stage: s.rejected_by_reason for s in result.stages if s.rejected},
        "labels": {"input": ingest.stats["labels"], "approved": label_counts(result.approved)},
        "stages": [s.to_dict() for s in result.stages],
        "artifacts": {name: artifact_file(name, artifact) for name, artifact in sorted(result.artifacts.items())},
        "halted": result.halted,
        "stages_not_run": result.stages_not_run,
    }


def run_recipe(
    recipe: Recipe,
    on_start: Callable[[Stage, int], None] | None = None,
    on_end: Callable[[StageReport], None] | None = None,
    progress: Progress | None = None,
    engine: str | None = None,
    address: str | None = None,
) -> tuple[RunResult, dict[str, Any]]:
    """Run the recipe and write its run directory; returns the result and report.json's content. `engine` and
    `address` override the recipe's (local: this process; ray: a Ray cluster, see curate.pipeline.engines)."""
    started = time.perf_counter()
    ingest = Ingest(recipe.input)
    files = [
        recipe.input.path,
        *(
            Path(spec["path"])
            for s in recipe.stages
            for spec in s.datasets().values()
            if spec.get("path") and spec.get("reader") != "decisions"
        ),
    ]
    for file in files:  # before anything runs: a FIFO, a device or a symlink loop is refused, not opened (a missing file: later, with its key)
        if os.path.lexists(file):
            check_input_file(file)
    if recipe.output is not None:  # before anything runs: the folder a run replaces must hold nothing else
        check_output(recipe.output, [*files, recipe.path])
    datasets, decision_files = stage_datasets(recipe.stages, recipe.output)
    staging = (
        staging_dir(recipe.output) if recipe.output is not None else None
    )  # stages that write files write here too
    stack = contextlib.ExitStack()
    try:
        ctx = RunContext(seed=recipe.seed, output_dir=staging, datasets=datasets, progress=progress)
        runner = make_engine(
            engine or recipe.engine,
            address or recipe.engine_address,
            recipe.engine_block_rows,
            recipe.engine_blocks_dir,
        )
        stack.callback(
            runner.close
        )  # after the run directory is written: a streamed run's approved rows are its blocks
        result = run_stages([ingest, *recipe.stages], ctx, on_start=on_start, on_end=on_end, engine=runner)
        privacy = redact_outputs(recipe, result)  # rows set aside, once, before anything reads them (privacy.py)
        report = build_report(recipe, result, time.perf_counter() - started)
        report["privacy"] = privacy
        report["engine"] = runner.name
        if getattr(runner, "placement", None):
            report["placement"] = dict(runner.placement)  # where each stage ran on the cluster
        for (
            key,
            path,
        ) in decision_files.items():  # the log this run applied travels with it, so the next run applies it too
            own = path is None or recipe.output is None or path == decisions_path(recipe.output)
            report["review"] = {
                "decisions_file": None if own else str(path.resolve()),
                "decisions": datasets[key].height,
            }
            if staging is not None and datasets[key].height:
                write_decisions(decisions_path(staging), datasets[key])
        if staging is not None:
            # The last sign-off travels along (from the run replaced, else the run whose decisions this one applies),
            # to be shown stale with what changed since.
            made_from = [
                p.parent.parent for p in decision_files.values() if p is not None and p.parent.name == REVIEW_FOLDER
            ]
            for source in [recipe.output, *made_from]:
                if (Path(source) / REVIEW_FOLDER).is_dir() and carry_signoff(source, staging):
                    break
            write_run(
                staging,
                {APPROVED: result.approved, REJECTED: result.rejected, **result.artifacts},
                report,
                redact_page(render_markdown(report, result.artifacts)),
            )
            publish(staging, recipe.output)
        written = Path(recipe.output) if staging is not None else None
        result.approved, result.rejected = (
            from_run(APPROVED, result.approved, written),
            from_run(REJECTED, result.rejected, written),
        )
        result.artifacts = {name: from_run(name, artifact, written) for name, artifact in result.artifacts.items()}
    finally:
        stack.close()
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)  # a failed run leaves the previous complete run as it was
    return result, report
