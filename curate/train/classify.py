"""Fine-tune a transformers classifier on text -> label, in a loop a person can read in one sitting.

Defaults fit a CPU: the packaged MiniLM backbone, short sequences, and (optionally) only the top
encoder layers trained. Each epoch ends with a checkpoint (model, optimizer, scheduler, epoch, RNG)
so an interrupted run resumes where it stopped; the best epoch on validation macro-F1 is kept, and
training stops early when it has not improved for `early_stopping` epochs.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from curate.columns import ID, LABEL, TEXT
from curate.errors import CurateError


@dataclass
class TrainConfig:
    task: Literal["classify", "generate"] = "classify"
    model: str | None = None  # a local folder or hub name; None: the packaged all-MiniLM-L6-v2
    epochs: int = 4
    max_steps: int | None = None  # a fixed budget of optimizer steps (what `compare` uses)
    lr: float = 3e-4
    batch_size: int = 32
    max_length: int = 64
    early_stopping: int = 2  # epochs without improvement before stopping; 0: never
    trainable_layers: int | None = 2  # train only the top N encoder layers and the head (fast on CPU); None: all
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 0

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class TrainedClassifier:
    model_dir: Path
    labels: list[str]
    history: list[dict[str, float]]
    seconds: float
    samples_per_second: float


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_backbone(model: str | None, num_labels: int):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    from curate.embed import resolve_model

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


def batches(n: int, size: int, rng: np.random.Generator | None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, size):
        yield order[start : start + size]


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
                     on_step: Callable[[int, int, float], None] | None = None) -> TrainedClassifier:
    """Train on `train` (text, label), pick the best epoch on `validation`; resumable from `out/checkpoint`."""
    import torch
    from transformers import get_linear_schedule_with_warmup

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
    steps_per_epoch = -(-len(texts) // config.batch_size)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    epochs = -(-total_steps // steps_per_epoch)
    optimizer = torch.optim.AdamW([p for p in network.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * config.warmup_ratio), total_steps)

    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint.pt"
    # Resume only the same run: same settings, same labels, same training rows.
    run_key = config.fingerprint() + hashlib.sha256("\x1f".join(f"{t}\x1e{y}" for t, y in zip(texts, targets)).encode()).hexdigest()[:16]
    state = {"epoch": 0, "step": 0, "history": [], "best": float("-inf"), "stale": 0}
    if checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["fingerprint"] == run_key and saved["labels"] == labels:
            network.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            state = saved["state"]
            torch.set_rng_state(saved["torch_rng"])
    rng = np.random.default_rng(config.seed + state["epoch"])
    started, seen = time.perf_counter(), 0
    for epoch in range(state["epoch"], epochs):
        network.train()
        losses = []
        for index in batches(len(texts), config.batch_size, rng):
            if state["step"] >= total_steps:
                break
            encoded = tokenizer([texts[i] for i in index], truncation=True, max_length=config.max_length, padding=True, return_tensors="pt")
            encoded = {k: v.to(device) for k, v in encoded.items()}
            loss = network(**encoded, labels=torch.tensor(targets[index], device=device)).loss
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            state["step"] += 1
            seen += len(index)
            if on_step:
                on_step(state["step"], total_steps, loss.item())
        record = {"epoch": epoch + 1, "step": state["step"], "train_loss": float(np.mean(losses)) if losses else float("nan")}
        score = record["train_loss"] * -1
        if validation is not None and validation.height:
            known = validation.filter(pl.col(LABEL).is_in(labels))
            probabilities = predict(network, tokenizer, known[TEXT].to_list(), config.max_length)
            predicted = [labels[i] for i in probabilities.argmax(axis=1)]
            record["validation_macro_f1"] = classification_metrics(known[LABEL].to_list(), predicted, labels)["macro_f1"]
            score = record["validation_macro_f1"]
        state["history"].append(record)
        state["epoch"] = epoch + 1
        if score > state["best"]:
            state["best"], state["stale"] = score, 0
            network.save_pretrained(out / "model")
            tokenizer.save_pretrained(out / "model")
        else:
            state["stale"] += 1
        torch.save({"fingerprint": run_key, "labels": labels, "model": network.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "state": state, "torch_rng": torch.get_rng_state()}, checkpoint)
        if config.early_stopping and state["stale"] >= config.early_stopping:
            break
    seconds = time.perf_counter() - started
    (out / "history.json").write_text(json.dumps(state["history"], indent=2))
    return TrainedClassifier(out / "model", labels, state["history"], seconds, seen / seconds if seconds else 0.0)


def evaluate_classifier(trained: TrainedClassifier, rows: pl.DataFrame, out: Path, max_length: int = 64) -> dict[str, Any]:
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
