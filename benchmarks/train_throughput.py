"""Training samples per second: curate's runner versus a bare transformers `Trainer` on the same model,
data, batch size, sequence length and frozen layers. The runner should add no cost. The runner
saves a resumable checkpoint when an epoch ends, so the Trainer is timed saving one too (and, for
reference, without).

    .venv/bin/python benchmarks/train_throughput.py [--steps 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from curate.io.writers import load_dataset
from curate.train.classify import TrainConfig, freeze_lower_layers, load_backbone, seed_everything, train_classifier

ROOT = Path(__file__).resolve().parents[1]


def bare_trainer(rows: pl.DataFrame, config: TrainConfig, checkpoint: bool = True) -> float:
    import torch
    from transformers import Trainer, TrainingArguments

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
        return config.max_steps * config.batch_size / (time.perf_counter() - started)


def main() -> None:
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
    with tempfile.TemporaryDirectory() as out:
        ours = train_classifier(rows, None, config, Path(out)).samples_per_second
    bare = bare_trainer(rows, config)
    unsaved = bare_trainer(rows, config, checkpoint=False)
    print(f"{args.steps} steps of 32, max length 64, top {args.trainable_layers} layers trained, MiniLM, 2 cores")
    print(f"curate runner (checkpoints at epoch end)   {ours:8.1f} samples/s")
    print(f"transformers Trainer, checkpoint at end    {bare:8.1f} samples/s")
    print(f"transformers Trainer, no checkpoint        {unsaved:8.1f} samples/s")
    print(f"ratio (runner / Trainer with checkpoint)   {ours / bare:8.2f}")


if __name__ == "__main__":
    main()
