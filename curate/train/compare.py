"""`curate compare`: the same model, seed and step budget trained on the raw input and on the curated
set, both evaluated on one clean file that curation never touched. The difference is curation's."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.columns import LABEL
from curate.train.classify import evaluate_classifier, train_classifier
from curate.train.loop import TrainConfig

HEADLINE = ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")


def compare_datasets(
    raw: pl.DataFrame,
    curated: pl.DataFrame,
    evaluation: pl.DataFrame,
    config: TrainConfig,
    out: Path,
    on_step: Callable[[str, int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train on each with the same budget of optimizer steps; no early stopping, so neither gets more.
    `on_step(side, step, steps, loss)` hears of every training step on each side."""
    steps = config.max_steps or math.ceil(curated.height / config.batch_size) * config.epochs
    config = replace(config, max_steps=steps, early_stopping=0)
    results = {}
    for name, rows in (("raw", raw), ("curated", curated)):
        step = (lambda s, t, loss, side=name: on_step(side, s, t, loss)) if on_step else None
        trained = train_classifier(rows.filter(pl.col(LABEL).is_not_null()), None, config, out / name, on_step=step)
        results[name] = evaluate_classifier(trained, evaluation, out / name / "evaluation")
    per_class = {
        label: {
            "raw_f1": results["raw"]["per_class"].get(label, {}).get("f1", 0.0),
            "curated_f1": results["curated"]["per_class"].get(label, {}).get("f1", 0.0),
        }
        for label in sorted(set(evaluation[LABEL].drop_nulls().to_list()))
    }
    for scores in per_class.values():
        scores["difference"] = round(scores["curated_f1"] - scores["raw_f1"], 4)
    summary = {
        "budget": {
            "optimizer_steps": steps,
            "batch_size": config.batch_size,
            "seed": config.seed,
            "model": config.model or "all-MiniLM-L6-v2",
            "trainable_layers": config.trainable_layers,
            "lr": config.lr,
        },
        "rows": {"raw": raw.height, "curated": curated.height, "evaluation": evaluation.height},
        "metrics": {
            m: {
                "raw": round(results["raw"][m], 4),
                "curated": round(results["curated"][m], 4),
                "difference": round(results["curated"][m] - results["raw"][m], 4),
            }
            for m in HEADLINE
        },
        "per_class": per_class,
        "probe": {name: results[name].get("probe", {}).get("macro_f1") for name in ("raw", "curated")},
    }
    (out / "compare.json").write_text(json.dumps(summary, indent=2))
    (out / "compare.md").write_text(render_compare(summary))
    return summary


def render_compare(summary: dict[str, Any]) -> str:
    budget, rows = summary["budget"], summary["rows"]
    lines = [
        "# Raw versus curated",
        "",
        f"Same model ({budget['model']}, top {budget['trainable_layers']} layers trained), seed {budget['seed']}, "
        f"{budget['optimizer_steps']} optimizer steps of {budget['batch_size']} for each; {rows['raw']:,} raw rows vs "
        f"{rows['curated']:,} curated rows; evaluated on the same {rows['evaluation']:,} clean rows.",
        "",
        "| metric | raw | curated | difference |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {m} | {v['raw']:.4f} | {v['curated']:.4f} | {v['difference']:+.4f} |" for m, v in summary["metrics"].items()
    ]
    probe = summary.get("probe") or {}
    if probe.get("raw") is not None:
        lines += [
            f"| macro_f1 of the probe (frozen embeddings + logistic regression) | {probe['raw']:.4f} | {probe['curated']:.4f} "
            f"| {probe['curated'] - probe['raw']:+.4f} |"
        ]
    changed = sorted(summary["per_class"].items(), key=lambda kv: kv[1]["difference"])
    lines += [
        "",
        "Per class (F1), largest changes first:",
        "",
        "| class | raw | curated | difference |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {label} | {s['raw_f1']:.3f} | {s['curated_f1']:.3f} | {s['difference']:+.3f} |"
        for label, s in sorted(changed, key=lambda kv: -abs(kv[1]["difference"]))
    ]
    return "\n".join(lines) + "\n"


def summarize_seeds(runs: list[dict[str, Any]], out: Path) -> dict[str, Any]:
    """Several seeds of `compare_datasets`: mean ± std of each side and of the paired difference."""
    import statistics

    def spread(values: list[float]) -> dict[str, float]:
        return {
            "mean": round(statistics.fmean(values), 4),
            "std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
        }

    summary = {
        **runs[0],
        "seeds": [r["budget"]["seed"] for r in runs],
        "metrics": {
            m: {side: spread([r["metrics"][m][side] for r in runs]) for side in ("raw", "curated", "difference")}
            for m in HEADLINE
        },
    }
    probes = [r.get("probe") or {} for r in runs]
    if all(p.get("raw") is not None for p in probes):
        summary["probe"] = {side: spread([p[side] for p in probes]) for side in ("raw", "curated")}
    (out / "compare.json").write_text(json.dumps(summary, indent=2))
    lines = [
        f"# Raw versus curated over {len(runs)} seeds ({', '.join(map(str, summary['seeds']))})",
        "",
        "| metric | raw | curated | paired difference |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {m} | {v['raw']['mean']:.4f} ± {v['raw']['std']:.4f} | {v['curated']['mean']:.4f} ± {v['curated']['std']:.4f} "
        f"| {v['difference']['mean']:+.4f} ± {v['difference']['std']:.4f} |"
        for m, v in summary["metrics"].items()
    ]
    if "probe" in summary:
        lines += [
            f"| macro_f1 of the probe | {summary['probe']['raw']['mean']:.4f} ± {summary['probe']['raw']['std']:.4f} "
            f"| {summary['probe']['curated']['mean']:.4f} ± {summary['probe']['curated']['std']:.4f} | |"
        ]
    (out / "compare.md").write_text("\n".join(lines) + "\n")
    return summary
