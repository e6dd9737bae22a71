"""Runs a recipe end to end: ingest, stages, conservation check, run directory."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import polars as pl

from curate import __version__
from curate.columns import LABEL
from curate.io.readers import INGEST, read_input
from curate.pipeline import RunResult, StageReport, run_stages
from curate.recipe import Recipe
from curate.rundir import REJECTED, write_frames, write_report
from curate.stage import Stage, count_reasons


def label_counts(frame: pl.DataFrame) -> dict[str, int]:
    if LABEL not in frame.columns or frame.is_empty():
        return {}
    counts = frame.group_by(LABEL).len().sort(["len", LABEL], descending=[True, False])
    return {str(k): int(v) for k, v in zip(counts[LABEL].to_list(), counts["len"].to_list())}


def run_recipe(
    recipe: Recipe,
    on_start: Callable[[Stage | str, int], None] | None = None,
    on_end: Callable[[StageReport], None] | None = None,
) -> tuple[RunResult, dict[str, Any]]:
    """Run the recipe and write its run directory; returns the result and report.json's content."""
    started = time.perf_counter()
    if on_start:
        on_start(INGEST, 0)
    t0 = time.perf_counter()
    ingested = read_input(recipe.input)
    ingest = ingested.result
    ingest_report = StageReport(
        stage=INGEST, rows_in=ingested.fingerprint["rows"], kept=ingest.kept.height, rejected=ingest.rejected.height,
        added=0, rejected_by_reason=count_reasons(ingest.rejected), seconds=round(time.perf_counter() - t0, 3),
        stats=ingest.stats,
    )
    if on_end:
        on_end(ingest_report)
    for stage in recipe.stages:  # stages that write files (training) write inside the run directory
        if hasattr(stage, "output_dir") and stage.output_dir is None:
            stage.output_dir = str(recipe.output / stage.name)
    result = run_stages(ingest.kept, recipe.stages, rejected=ingest.rejected, on_start=on_start, on_end=on_end)
    result.stages.insert(0, ingest_report)

    write_frames(recipe.output, {"approved": result.approved, REJECTED.removesuffix(".parquet"): result.rejected, **result.artifacts})
    report = {
        "curate_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "recipe": {"path": str(recipe.path) if recipe.path else None, "hash": recipe.hash, "text": recipe.source, "seed": recipe.seed},
        "input": ingested.fingerprint,
        "totals": {
            "input_rows": result.input_rows,
            "approved": result.approved.height,
            "rejected": result.rejected.height,
            "generated": int(sum(s.added for s in result.stages)),
            "conservation": "ok",
            "seconds": round(time.perf_counter() - started, 3),
        },
        "rejected_by_stage": {s.stage: s.rejected_by_reason for s in result.stages if s.rejected},
        "labels": {"input": label_counts(ingest.kept), "approved": label_counts(result.approved)},
        "stages": [s.to_dict() for s in result.stages],
        "artifacts": sorted(result.artifacts),
        "halted": result.halted,
        "stages_not_run": result.stages_not_run,
    }
    gates = [s.stats["gate"] for s in result.stages if "gate" in s.stats]
    if gates:
        (recipe.output / "gate.json").write_text(json.dumps(gates[-1], indent=2, default=str), encoding="utf-8")
    write_report(recipe.output, report)
    return result, report
