"""Fine-tune a transformers classifier on text -> label, in a loop a person can read in one sitting.

Defaults fit a CPU: the packaged MiniLM backbone, short sequences, and (optionally) only the top
encoder layers trained. The loop itself (checkpoints, best epoch on validation macro-F1, early
stopping) is `curate.train.loop.fit`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.core.columns import ID, LABEL, TEXT
from curate.core.errors import CurateError
from curate.train.loop import OnStep, TrainConfig, TrainedModel, batches, fit, seed_everything


def load_backbone(model: str | None, num_labels: int):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    from curate.core.embed import resolve_model

    path = resolve_model(model)
    if Path(path).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        network = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels)
    except OSError as exc:
        raise CurateError(f"cannot load model '{model}': {exc}", "train.model", hint="give a local model folder, or leave it unset for MiniLM") from None
    return tokenizer, network


def freeze_lower_layers(network, trainable_layers: int | None) -> None:
    """Keep the embeddings and all but the top `trainable_layers` encoder layers fixed."""
    if trainable_layers is None:
        return
    base = network.base_model
    for parameter in base.parameters():
        parameter.requires_grad = False
    layers = getattr(getattr(base, "encoder", None), "layer", [])
    for layer in list(layers)[len(layers) - trainable_layers :] if trainable_layers else []:
        for parameter in layer.parameters():
            parameter.requires_grad = True
    for module in (getattr(base, "pooler", None),):
        if module is not None:
            for parameter in module.parameters():
                parameter.requires_grad = True


def predict(network, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """Class probabilities for `texts`."""
    import torch

    network.eval()
    out = []
    with torch.no_grad():
        for index in batches(len(texts), batch_size, None):
            encoded = tokenizer([texts[i] for i in index], truncation=True, max_length=max_length, padding=True, return_tensors="pt")
            encoded = {k: v.to(network.device) for k, v in encoded.items()}
            out.append(torch.softmax(network(**encoded).logits, dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, network.config.num_labels))


def train_classifier(train: pl.DataFrame, validation: pl.DataFrame | None, config: TrainConfig, out: Path,
                     on_step: OnStep | None = None) -> TrainedModel:
    """Train on `train` (text, label), pick the best epoch on `validation`; resumable from `out/checkpoint.pt`."""
    import torch

    from curate.train.metrics import classification_metrics

    train = train.filter(pl.col(LABEL).is_not_null())
    labels = sorted(train[LABEL].unique().to_list())
    if len(labels) < 2:
        raise CurateError(f"training needs at least two labels, found {len(labels)}", "train")
    label_index = {label: i for i, label in enumerate(labels)}
    seed_everything(config.seed)
    tokenizer, network = load_backbone(config.model, len(labels))
    network.config.id2label = dict(enumerate(labels))
    network.config.label2id = label_index
    freeze_lower_layers(network, config.trainable_layers)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    network.to(device)
    texts, targets = train[TEXT].to_list(), np.array([label_index[x] for x in train[LABEL].to_list()])

    def make_batch(index: np.ndarray) -> dict:
        encoded = tokenizer([texts[i] for i in index], truncation=True, max_length=config.max_length, padding=True, return_tensors="pt")
        return {**{k: v.to(device) for k, v in encoded.items()}, "labels": torch.tensor(targets[index], device=device)}

    def score_epoch(train_loss: float) -> tuple[float, dict[str, float]]:
        if validation is None or not validation.height:
            return -train_loss, {}
        known = validation.filter(pl.col(LABEL).is_in(labels))
        predicted = [labels[i] for i in predict(network, tokenizer, known[TEXT].to_list(), config.max_length).argmax(axis=1)]
        macro_f1 = classification_metrics(known[LABEL].to_list(), predicted, labels)["macro_f1"]
        return macro_f1, {"validation_macro_f1": macro_f1}

    def save_best() -> None:
        network.save_pretrained(out / "model")
        tokenizer.save_pretrained(out / "model")

    # Resume only the same run: same settings, same labels, same training rows.
    run_key = config.fingerprint() + hashlib.sha256("\x1f".join(f"{t}\x1e{y}" for t, y in zip(texts, targets)).encode()).hexdigest()[:16]
    history, seconds, speed = fit(network, len(texts), make_batch, config, out, score_epoch, save_best, run_key, on_step)
    return TrainedModel(out / "model", labels, history, seconds, speed)


def evaluate_classifier(trained: TrainedModel, rows: pl.DataFrame, out: Path, max_length: int = 64) -> dict[str, Any]:
    """Evaluate the best model on `rows`; writes metrics, confusion matrix and predictions (errors first)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from curate.train.metrics import classification_metrics, plot_history, write_evaluation

    tokenizer = AutoTokenizer.from_pretrained(trained.model_dir)
    network = AutoModelForSequenceClassification.from_pretrained(trained.model_dir)
    rows = rows.filter(pl.col(LABEL).is_not_null())
    unseen = rows.filter(~pl.col(LABEL).is_in(trained.labels)).height
    probabilities = predict(network, tokenizer, rows[TEXT].to_list(), max_length)
    predicted = [trained.labels[i] for i in probabilities.argmax(axis=1)]
    metrics = classification_metrics(rows[LABEL].to_list(), predicted, sorted(set(trained.labels) | set(rows[LABEL].to_list())))
    metrics.update({"eval_rows_with_labels_unseen_in_training": unseen, "training_seconds": round(trained.seconds, 1),
                    "training_samples_per_second": round(trained.samples_per_second, 1), "history": trained.history})
    predictions = rows.select(ID, TEXT, LABEL).with_columns(
        pl.Series("predicted", predicted), pl.Series("confidence", probabilities.max(axis=1).round(4)),
    ).with_columns((pl.col("predicted") == pl.col(LABEL)).alias("correct"))
    write_evaluation(out, metrics, predictions)
    if trained.history:
        plot_history(trained.history, out / "training_curve.png")
    return metrics
