"""Hyperparameter search on the validation split, and k-fold cross-validation of one setting."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from curate.core.columns import LABEL, TEXT
from curate.core.errors import CurateError
from curate.train import classify
from curate.train.classify import load_classifier, predict, train_classifier
from curate.train.loop import TrainConfig, TrainedModel


def trials_of(
    space: dict[str, list[Any]], trials: int | None, strategy: Literal["grid", "random"], seed: int
) -> list[dict[str, Any]]:
    """The settings to try: the whole grid, or `trials` random picks of it (seeded)."""
    known = set(TrainConfig.__dataclass_fields__)
    for key in space:
        if key not in known:
            raise CurateError(
                f"cannot search '{key}'", f"train.search.{key}", hint=f"searchable: {', '.join(sorted(known))}"
            )
    grid = [dict(zip(space, values)) for values in itertools.product(*space.values())]
    if strategy == "random" and trials and trials < len(grid):
        return random.Random(seed).sample(grid, trials)
    return grid[: trials or len(grid)]


def best_score(trained: TrainedModel) -> float:
    return max((h.get("validation_macro_f1", float("-inf")) for h in trained.history), default=float("-inf"))


def search(
    train: pl.DataFrame,
    validation: pl.DataFrame,
    base: TrainConfig,
    space: dict[str, list[Any]],
    out: Path,
    trials: int | None = None,
    strategy: Literal["grid", "random"] = "grid",
) -> tuple[TrainedModel, list[dict[str, Any]]]:
    """Train one model per setting, score each on validation macro-F1; returns the best model and every trial. Only
    the chosen setting's fine-tune is trained again on training + validation rows (`retrain_on_all`): its first run
    resumes from its finished checkpoint."""
    if validation is None or validation.is_empty():
        raise CurateError(
            "hyperparameter search needs a validation split", "train.search", hint="add `split` before `train`"
        )
    results, best, chosen = [], None, None
    for i, setting in enumerate(trials_of(space, trials, strategy, base.seed)):
        trained = train_classifier(
            train, validation, replace(base, **{**setting, "retrain_on_all": False}), out / f"trial-{i}"
        )
        results.append({"trial": i, **setting, "validation_macro_f1": round(best_score(trained), 4)})
        if best is None or best_score(trained) > best_score(best):
            best, chosen = trained, (i, replace(base, **setting))
    i, config = chosen
    if classify.trains_again(config, best.history):
        again = train_classifier(train, validation, config, out / f"trial-{i}")  # the first run resumes, finished
        best = replace(again, seconds=best.seconds + again.seconds, samples_per_second=best.samples_per_second)
    return best, results


def cross_validate(rows: pl.DataFrame, config: TrainConfig, folds: int, out: Path) -> dict[str, Any]:
    """Macro-F1 of `config` over k stratified folds (mean and standard deviation)."""
    from sklearn.model_selection import StratifiedKFold

    from curate.train.metrics import classification_metrics

    rows = rows.filter(pl.col(LABEL).is_not_null())
    scores = []
    splitter = StratifiedKFold(folds, shuffle=True, random_state=config.seed)
    for fold, (train_index, test_index) in enumerate(splitter.split(np.zeros(rows.height), rows[LABEL].to_list())):
        train, test = rows[train_index.tolist()], rows[test_index.tolist()]
        trained = train_classifier(train, None, replace(config, early_stopping=0), out / f"fold-{fold}")
        tokenizer, network, _ = load_classifier(trained.model_dir)
        probabilities = predict(network, tokenizer, test[TEXT].to_list(), config.max_length)
        predicted = [trained.labels[i] for i in probabilities.argmax(axis=1)]
        scores.append(classification_metrics(test[LABEL].to_list(), predicted, trained.labels)["macro_f1"])
    return {
        "folds": folds,
        "macro_f1_per_fold": [round(s, 4) for s in scores],
        "macro_f1_mean": round(float(np.mean(scores)), 4),
        "macro_f1_std": round(float(np.std(scores)), 4),
    }
