"""The training runner at its defaults against the strongest cheap baseline, on real data it was not
tuned on: a logistic regression on the same backbone's frozen embeddings (C chosen on validation).

    python benchmarks/runner_vs_probe.py --data clinc150     # train split -> test split (val for selection)
    python benchmarks/runner_vs_probe.py --data bitext       # the Bitext sample, 60/20/20 by a seeded split

Prints one markdown row per data set: rows, fine-tune and probe macro-F1 / accuracy on the test split, seconds.
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


def clinc150() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    data = json.loads((SHARED / "clinc150" / "data_full.json").read_text())

    def split(*names: str) -> pl.DataFrame:
        rows = [(text, label) for name in names for text, label in data[name]]
        return (
            pl.DataFrame(rows, schema=["text", "label"], orient="row")
            .with_row_index("id")
            .with_columns(pl.col("id").cast(pl.String))
        )

    return split("train", "oos_train"), split("val", "oos_val"), split("test", "oos_test")


def bitext(seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rows = (
        pl.read_csv(SHARED / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv", infer_schema=False)
        .select(pl.col("instruction").alias("text"), pl.col("intent").alias("label"))
        .with_row_index("id")
        .with_columns(pl.col("id").cast(pl.String))
    )
    rows = rows.sample(fraction=1.0, shuffle=True, seed=seed)
    n = rows.height
    return rows.head(int(n * 0.6)), rows.slice(int(n * 0.6), int(n * 0.2)), rows.tail(n - int(n * 0.8))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=["clinc150", "bitext"], default="clinc150")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from curate.train.classify import evaluate_classifier, train_classifier
    from curate.train.loop import TrainConfig

    train, validation, test = clinc150() if args.data == "clinc150" else bitext(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        trained = train_classifier(
            train,
            validation,
            TrainConfig(seed=args.seed),
            Path(out),
            on_step=lambda step, total, loss: (
                print(f"step {step}/{total} loss {loss:.3f}", flush=True) if step % 100 == 0 else None
            ),
        )
        metrics = evaluate_classifier(trained, test, Path(out) / "evaluation")
    probe = metrics["probe"]
    print(
        f"| {args.data} | {train.height:,} / {validation.height:,} / {test.height:,} | {metrics['macro_f1']:.4f} | {metrics['accuracy']:.4f} "
        f"| {probe['macro_f1']:.4f} | {probe['accuracy']:.4f} (C={probe['C']:g}) | {metrics['macro_f1'] - probe['macro_f1']:+.4f} "
        f"| {time.perf_counter() - started:.0f} s | epochs {[h['epoch'] for h in trained.history]}, best kept by validation |"
    )
    print("history:", json.dumps(trained.history))


if __name__ == "__main__":
    main()
