"""`train` in a recipe: fine-tune on the approved set's train split, evaluate on the test split (or a
clean evaluation file). It runs only when every stage before it passed, gates included."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar, Literal

import polars as pl

from curate.core.columns import LABEL, SPLIT, TEST, TEXT, TRAIN, VALIDATION
from curate.core.params import Count, Folds, Positive, Rate, Seed
from curate.core.stage import RunContext, Stage, StageResult, empty_rejected
from curate.train.loop import TrainConfig


def split_for_training(
    rows: pl.DataFrame, eval_rows: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame]:
    """(train, validation, evaluation) from a `split` column; without one, 10% is held out (seeded, by label)."""
    if SPLIT not in rows.columns:
        from curate.stages.balance.split import Split

        rows = Split(validation=0.1, test=0.0 if eval_rows is not None else 0.1)(rows).kept  # ids made if missing
    train = rows.filter(pl.col(SPLIT) == TRAIN)
    validation = rows.filter(pl.col(SPLIT) == VALIDATION)
    evaluation = eval_rows if eval_rows is not None else rows.filter(pl.col(SPLIT) == TEST)
    return train, (validation if validation.height else None), evaluation


@dataclass
class Train(Stage):
    task: Literal["classify", "generate"] = "classify"
    model: str | None = None
    epochs: Positive = TrainConfig.epochs
    max_steps: Positive | None = None
    lr: Rate = TrainConfig.lr
    batch_size: Positive = TrainConfig.batch_size
    max_length: Positive = TrainConfig.max_length
    early_stopping: Count = TrainConfig.early_stopping
    trainable_layers: Count | None = TrainConfig.trainable_layers  # the runner's defaults: one source of truth
    class_weights: Literal["none", "balanced"] = TrainConfig.class_weights
    refit_head: bool = TrainConfig.refit_head
    retrain_on_all: bool = TrainConfig.retrain_on_all
    seed: Seed | None = None  # None: the recipe's seed
    search: dict[str, list[float | int]] | None = None  # e.g. {lr: [1e-4, 3e-4], epochs: [3, 5]}
    trials: int | None = None
    strategy: Literal["grid", "random"] = "grid"
    cv: Folds | None = None  # also report k-fold cross-validated macro-F1 of the chosen setting
    eval: str | dict[str, str] | None = None  # a clean file: a path, or {path, text, label} like the recipe's input

    name: ClassVar[str] = "train"
    on_no_rows: ClassVar[str] = "halt"  # training on nothing is an error, not a skipped step
    requires: ClassVar[tuple[str, ...]] = (TEXT, LABEL)

    def datasets(self) -> dict[str, dict]:
        if self.eval is None:
            return {}
        return {"eval": dict(self.eval) if isinstance(self.eval, dict) else {"path": self.eval}}

    def config(self, seed: int) -> TrainConfig:
        names = {f.name for f in fields(TrainConfig)}
        return TrainConfig(**{k: v for k, v in vars(self).items() if k in names and k != "seed"}, seed=seed)

    def generate(
        self,
        train: pl.DataFrame,
        validation: pl.DataFrame | None,
        evaluation: pl.DataFrame,
        config: TrainConfig,
        out: Path,
        on_step=None,
    ) -> dict:
        from curate.train.generate import evaluate_generator, train_generator

        trained = train_generator(train, validation, config, out, on_step=on_step)
        metrics = evaluate_generator(trained.model_dir, evaluation, out / "evaluation", self.max_length)
        return {
            "perplexity": metrics["perplexity"],
            "eval_loss": metrics["eval_loss"],
            "train_rows": train.height,
            "eval_rows": metrics["rows"],
            "samples_per_second": round(trained.samples_per_second, 1),
            "findings": [
                f"perplexity {metrics['perplexity']} on {metrics['rows']} evaluation responses; sample generations:"
            ]
            + [f"“{s['prompt'][:60]}” → “{s['generated'][:120]}”" for s in metrics["samples"][:3]],
        }

    def progress(self, ctx: RunContext):
        """Training steps and loss, reported through the run's progress hook."""
        return lambda step, total, loss: ctx.report(self.name, f"training steps (loss {loss:.3f})", step, total)

    def apply(self, rows: pl.DataFrame, ctx: RunContext | None = None) -> StageResult:
        from curate.train.classify import evaluate_classifier, train_classifier

        ctx = ctx or RunContext()
        out = ctx.workdir(self.name)
        config = self.config(ctx.seed_for(self.seed))
        train, validation, evaluation = split_for_training(rows, ctx.datasets.get(f"{self.name}.eval"))
        if self.task == "generate":
            return StageResult(
                kept=rows,
                rejected=empty_rejected(rows),
                stats=self.generate(train, validation, evaluation, config, out, self.progress(ctx)),
            )
        if self.search:
            from curate.train.search import search

            trained, trials = search(train, validation, config, self.search, out / "search", self.trials, self.strategy)
        else:
            trained, trials = train_classifier(train, validation, config, out, on_step=self.progress(ctx)), []
        metrics = evaluate_classifier(trained, evaluation, out / "evaluation")
        stats = {
            k: round(metrics[k], 4) for k in ("accuracy", "macro_f1", "weighted_f1", "macro_precision", "macro_recall")
        }
        if "probe" in metrics:  # the baseline the fine-tune must beat: frozen embeddings + logistic regression
            stats["probe_macro_f1"], stats["probe_accuracy"] = (
                round(metrics["probe"]["macro_f1"], 4),
                round(metrics["probe"]["accuracy"], 4),
            )
        stats.update(
            {
                "kept": metrics["kept"],
                "weighting": metrics["weighting"],
                "findings": [f"kept the {metrics['kept']} model: {metrics['kept_why']}"],
            }
        )
        stats.update(
            {
                "train_rows": train.height,
                "evaluated_on": "eval file" if self.eval else "test split",
                "eval_rows": metrics["rows"],
                "epochs_run": len(trained.history),
                "samples_per_second": round(trained.samples_per_second, 1),
                "model_dir": str(
                    trained.model_dir.relative_to(ctx.output_dir) if ctx.output_dir else trained.model_dir
                ),
            }
        )
        if trials:
            best = max(trials, key=lambda t: t["validation_macro_f1"])
            stats["search"] = trials
            stats["findings"] += [
                f"searched {len(trials)} settings on validation macro-F1; best: "
                + ", ".join(f"{k} {v}" for k, v in best.items() if k != "trial")
            ]
        if self.cv:
            from curate.train.search import cross_validate

            stats["cross_validation"] = cross_validate(
                pl.concat([train, validation], how="diagonal_relaxed") if validation is not None else train,
                config,
                self.cv,
                out / "cv",
            )
        return StageResult(kept=rows, rejected=empty_rejected(rows), stats=stats)
