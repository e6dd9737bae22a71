"""Training samples per second: curate's runner versus a bare transformers `Trainer` on the same model,
data, batch size, sequence length and frozen layers. The runner should add no cost. The runner
saves a resumable checkpoint when an epoch ends, so the Trainer is timed saving one too (and, for
reference, without).

Two rates each: the training loop alone (what the runner reports as samples_per_second, and `trainer.train()`), and
the whole call, model loading included. The runner's whole call also holds what it does outside its loop: the
linear probe its head starts from (the training texts encoded by the sentence model, a logistic regression) and,
with frozen layers, the lower layers run once per text. The probe fit is also timed alone. Embeddings are encoded
cold: the script points CURATE_CACHE_DIR at an empty folder. The header names the machine's cores and torch's threads.

    .venv/bin/python benchmarks/train_throughput.py [--steps 30]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import polars as pl

from curate.io.writers import load_dataset
from curate.train.classify import TrainConfig, freeze_lower_layers, load_backbone, seed_everything, train_classifier

ROOT = Path(__file__).resolve().parents[1]


def bare_trainer(rows: pl.DataFrame, config: TrainConfig, checkpoint: bool = True) -> tuple[float, float]:
    """(samples/s of trainer.train(), seconds of the whole call from loading the model)."""
    import torch
    from transformers import Trainer, TrainingArguments

    called = time.perf_counter()
    labels = sorted(rows["label"].unique().to_list())
    seed_everything(config.seed)
    tokenizer, network = load_backbone(config.model, len(labels))
    freeze_lower_layers(network, config.trainable_layers)
    index = {label: i for i, label in enumerate(labels)}

    class Rows(torch.utils.data.Dataset):
        def __len__(self):
            return rows.height

        def __getitem__(self, i):
            return {"text": rows["text"][i], "label": index[rows["label"][i]]}

    def collate(batch):
        encoded = tokenizer(
            [b["text"] for b in batch], truncation=True, max_length=config.max_length, padding=True, return_tensors="pt"
        )
        encoded["labels"] = torch.tensor([b["label"] for b in batch])
        return encoded

    with tempfile.TemporaryDirectory() as out:
        # Like the runner, which checkpoints (model, optimizer, scheduler, RNG) when its epoch ends, save once at the end.
        save = {"save_strategy": "steps", "save_steps": config.max_steps} if checkpoint else {"save_strategy": "no"}
        arguments = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=config.batch_size,
            max_steps=config.max_steps,
            learning_rate=config.lr,
            report_to=[],
            logging_strategy="no",
            **save,
            disable_tqdm=True,
            use_cpu=True,
            seed=config.seed,
            remove_unused_columns=False,
            dataloader_num_workers=0,
        )
        trainer = Trainer(model=network, args=arguments, train_dataset=Rows(), data_collator=collate)
        started = time.perf_counter()
        trainer.train()
        ended = time.perf_counter()
        return config.max_steps * config.batch_size / (ended - started), ended - called


def probe_fit_seconds(rows: pl.DataFrame, config: TrainConfig) -> float:
    """The runner's probe alone, as train_classifier fits it without validation: encode, then logistic regression."""
    import numpy as np

    from curate.core.embed import Embedder
    from curate.train.classify import fit_probe

    labels = sorted(rows["label"].unique().to_list())
    index = {label: i for i, label in enumerate(labels)}
    targets = np.array([index[x] for x in rows["label"].to_list()])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as cache:
        fit_probe(Embedder(config.model, cache_dir=Path(cache)), rows["text"].to_list(), targets, None, labels, 0)
    return time.perf_counter() - started


def main() -> None:
    import torch

    from curate.core.embed import DEFAULT_MODEL

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--trainable-layers", type=int, default=2)
    args = parser.parse_args()
    rows = load_dataset(ROOT / "data/sample/tickets.csv", text="body", label="intent").filter(
        pl.col("label").is_not_null()
    )
    config = TrainConfig(
        max_steps=args.steps, batch_size=32, max_length=64, trainable_layers=args.trainable_layers, early_stopping=0
    )
    samples = args.steps * config.batch_size
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CURATE_CACHE_DIR"] = cache  # the runner's probe encodes its texts cold, as a first run does
        with tempfile.TemporaryDirectory() as out:
            called = time.perf_counter()
            trained = train_classifier(rows, None, config, Path(out))
            runner_whole = time.perf_counter() - called
    probe = probe_fit_seconds(rows, config)
    bare, bare_whole = bare_trainer(rows, config)
    unsaved, unsaved_whole = bare_trainer(rows, config, checkpoint=False)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"{args.steps} steps of 32, max length 64, top {args.trainable_layers} layers trained, "
        f"{config.model or DEFAULT_MODEL}; {os.cpu_count()} cores ({usable} usable), torch threads {torch.get_num_threads()}"
    )
    print(f"{'':<44} {'loop samples/s':>14} {'whole call s':>12} {'whole samples/s':>15}")
    for name, loop, whole in (
        ("curate runner (checkpoints at epoch end)", trained.samples_per_second, runner_whole),
        ("transformers Trainer, checkpoint at end", bare, bare_whole),
        ("transformers Trainer, no checkpoint", unsaved, unsaved_whole),
    ):
        print(f"{name:<44} {loop:>14.1f} {whole:>12.1f} {samples / whole:>15.1f}")
    print(f"{'runner probe fit alone (cold encode + LR)':<44} {'':>14} {probe:>12.1f}")
    print(
        f"ratio runner / Trainer with checkpoint: loop {trained.samples_per_second / bare:.2f}, "
        f"whole call {bare_whole / runner_whole:.2f}"
    )


if __name__ == "__main__":
    main()
