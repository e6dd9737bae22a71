"""The runner on CLINC150 (15,100 training queries, 150 intents + out-of-scope): minutes per fine-tune, rows/s, and
test macro-F1 beside its own probe; and, in the same run, the same settings without the frozen-layer cache for a few
steps, so the speed-up is a ratio measured on one machine at one time.

    .venv/bin/python benchmarks/runner_speed.py [--trainable-layers 2] [--lr 3e-4] [--epochs 4] [--rows N]
        [--no-retrain-on-all]

The cache: with `trainable_layers: k`, the embeddings and the lower layers never change, so each text goes through
them once; every step then runs only the top k layers and the head (`curate.train.classify.lower_states`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def clinc(rows: int | None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    data = json.loads((SHARED / "clinc150" / "data_full.json").read_text())

    def frame(*names: str) -> pl.DataFrame:
        pairs = [(t, lab) for name in names for t, lab in data[name]]
        return (
            pl.DataFrame(pairs, schema=["text", "label"], orient="row")
            .with_row_index("id")
            .with_columns(pl.col("id").cast(pl.String))
        )

    train = frame("train", "oos_train")
    if rows:
        train = train.sample(rows, seed=0)
    return train, frame("val", "oos_val"), frame("test", "oos_test")


def main() -> None:
    from curate.train.classify import evaluate_classifier, train_classifier
    from curate.train.loop import TrainConfig

    parser = argparse.ArgumentParser()
    parser.add_argument("--trainable-layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rows", type=int, default=None, help="a sample of the training rows (default: all 15,100)")
    parser.add_argument("--uncached-steps", type=int, default=40, help="steps timed without the cache (0: skip)")
    parser.add_argument(
        "--retrain-on-all",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train a kept fine-tune again on training + validation rows (the runner's default)",
    )
    args = parser.parse_args()
    train, validation, test = clinc(args.rows)
    config = TrainConfig(
        trainable_layers=args.trainable_layers,
        lr=args.lr,
        epochs=args.epochs,
        batch_size=args.batch_size,
        retrain_on_all=args.retrain_on_all,
    )
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        trained = train_classifier(train, validation, config, Path(out))
        minutes = (time.perf_counter() - started) / 60
        metrics = evaluate_classifier(trained, test, Path(out) / "evaluation")
    line = (
        f"cached: {train.height:,} rows, {minutes:.1f} min for the whole fine-tune (probe, cache, {len(trained.history) - 1} epochs, "
        f"validation{', trained again on every row: ' + str(trained.retrained['seconds']) + ' s' if trained.retrained else ''}), "
        f"{trained.samples_per_second:.0f} rows/s in training steps; test macro-F1 {metrics['macro_f1']:.4f}, "
        f"probe {metrics['probe']['macro_f1']:.4f} ({metrics['macro_f1'] - metrics['probe']['macro_f1']:+.4f}); kept {metrics['kept']}: "
        f"{metrics['kept_why']}"
    )
    print(line, flush=True)
    if args.uncached_steps:
        from dataclasses import replace

        slow = replace(config, cache_frozen_layers=False, max_steps=args.uncached_steps, early_stopping=0)
        fast = replace(config, max_steps=args.uncached_steps, early_stopping=0)
        speeds = {}
        for name, c in (("uncached", slow), ("cached", fast)):
            with tempfile.TemporaryDirectory() as out:
                speeds[name] = train_classifier(train, None, c, Path(out)).samples_per_second
        print(
            f"training steps, same {args.uncached_steps} steps each: cached {speeds['cached']:.0f} rows/s, uncached "
            f"{speeds['uncached']:.0f} rows/s ({speeds['cached'] / speeds['uncached']:.1f}x)",
            flush=True,
        )
    print(
        f"\n`.venv/bin/python benchmarks/runner_speed.py --trainable-layers {args.trainable_layers} --lr {args.lr} --epochs {args.epochs}"
        + (f" --rows {args.rows}" if args.rows else "")
        + "`"
    )


if __name__ == "__main__":
    main()
