"""Does curation help a model on real data? Raw vs curated vs references, on sets this project did not write.

    python benchmarks/lift.py --data cfpb --seeds 3
    python benchmarks/lift.py --data clinc150 --seeds 3 --configs raw default no-rebalance perfect clean

For each seed, the clean training rows of a real set (CLINC150's imbalanced train split, or 70% of the
CFPB complaints) are made raw by the project's defect generator (`plant_defects`: resends with typos,
greetings and signatures, PII, HTML, mojibake, wrong labels, junk and empty rows), and a model is
trained on:
  raw          every raw row as it is
  default      the default recipe's model-free and label stages (clean, redact, quality, exact and
               MinHash dedup, labels dropping likely-mislabelled rows, bias, rebalance), run in memory
  no-<stage>   the default recipe without one stage (ablation)
  with-semantic the default recipe with semantic dedup (cosine 0.95) added after MinHash
  flag-mislabelled the default recipe with `labels: {mislabelled: flag}` (the default drops them)
  perfect      perfect cleaning from the generator's truth (originals only, true labels, clean text)
               plus random oversampling to the recipe's max_ratio 3
  clean        the clean source rows, before any defect
and scored on the set's untouched test split (never tuned on). The model is the fast screen: a logistic
regression (C=10) on the frozen MiniLM embeddings; `benchmarks/runner_vs_probe.py` compares the
fine-tuning runner with this probe. Prints a markdown table of macro-F1, mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
STAGES = ["clean", "redact", "quality", "exact", "minhash", "labels", "bias", "rebalance"]


def clinc150() -> tuple[pl.DataFrame, pl.DataFrame]:
    data = json.loads((SHARED / "clinc150" / "data_imbalanced.json").read_text())

    def frame(*names: str) -> pl.DataFrame:
        return pl.DataFrame([(t, lab) for name in names for t, lab in data[name]], schema=["text", "label"], orient="row")

    return frame("train", "oos_train"), frame("test", "oos_test")


def cfpb(seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = pl.read_csv(SHARED / "cfpb" / "complaints.csv").select(
        pl.col("Consumer complaint narrative").alias("text"), pl.col("Product").alias("label"))
    rows = rows.with_columns((pl.int_range(pl.len()).shuffle(seed=1000 + seed).over("label") < pl.len().over("label") * 0.7).alias("_train"))
    return rows.filter("_train").drop("_train"), rows.filter(~pl.col("_train")).drop("_train")


def make_raw(clean: pl.DataFrame, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(raw rows as id/text/label, truth) from clean rows, by the project's defect generator."""
    from curate.core.text import normalized_text
    from curate.samples.raw_tickets import plant_defects

    pool = clean.with_row_index("source_row").with_columns(pl.col("source_row").cast(pl.Int64))
    pool = pool.with_columns(pl.col("source_row").min().over(normalized_text("text")).alias("source_group"))
    raw, truth = plant_defects(pool, sorted(pool["label"].unique().to_list()), random.Random(seed), seed)
    return raw.select(pl.col("ticket_id").alias("id"), pl.col("body").alias("text"), pl.col("intent").alias("label")), truth


def recipe_stages(leave_out: str | None = None, semantic: bool = False, mislabelled: str = "drop"):
    from curate.recipe.registry import build_stage

    entries = [("clean", {}), ("redact", {}), ("quality", {}), ("exact", {"method": "exact"}),
               ("minhash", {"method": "minhash", "keep": "longest"}), ("labels", {"min_class_size": 10, "mislabelled": mislabelled}),
               ("bias", {}), ("rebalance", {"target": "max_ratio", "max_ratio": 3})]
    if semantic:
        entries.insert(5, ("semantic", {"method": "semantic", "threshold": 0.95}))
    names = {"exact": "dedup", "minhash": "dedup", "semantic": "dedup"}
    return [build_stage(names.get(key, key), params) for key, params in entries if key != leave_out]


def training_rows(config: str, clean: pl.DataFrame, raw: pl.DataFrame, truth: pl.DataFrame, seed: int) -> pl.DataFrame:
    from curate.core.context import RunContext
    from curate.pipeline.executor import run_stages
    from curate.stages.balance.rebalance import Rebalance

    if config == "clean":
        return clean
    if config == "raw":
        return raw.filter(pl.col("text").str.strip_chars() != "")
    if config == "perfect":
        originals = truth.filter(pl.col("kind") == "original").select("ticket_id", "source_row", "true_intent")
        source = clean.with_row_index("source_row").with_columns(pl.col("source_row").cast(pl.Int64))
        rows = originals.join(source, on="source_row").select(pl.col("ticket_id").alias("id"), "text", pl.col("true_intent").alias("label"))
        return Rebalance(target="max_ratio", max_ratio=3, methods=[], fallback="random", max_generated_share=0.99).apply(rows, RunContext(seed=seed)).kept
    leave_out = config.removeprefix("no-") if config.startswith("no-") else None
    stages = recipe_stages(leave_out, semantic=config == "with-semantic", mislabelled="flag" if config == "flag-mislabelled" else "drop")
    return run_stages(stages, RunContext(seed=seed), rows=raw).approved


def probe_score(train: pl.DataFrame, test: pl.DataFrame) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from curate.core.embed import Embedder

    train = train.filter(pl.col("label").is_not_null())
    embedder = Embedder()
    model = LogisticRegression(C=10.0, max_iter=1000).fit(embedder.encode(train["text"]), train["label"].to_list())
    return float(f1_score(test["label"].to_list(), model.predict(embedder.encode(test["text"])), average="macro"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=["clinc150", "cfpb"], default="cfpb")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=["raw", "default", *[f"no-{s}" for s in STAGES if s != "bias"], "with-semantic", "perfect", "clean"])
    args = parser.parse_args()
    scores: dict[str, list[float]] = {c: [] for c in args.configs}
    rows_used: dict[str, list[int]] = {c: [] for c in args.configs}
    started = time.perf_counter()
    for seed in range(args.seeds):
        clean, test = clinc150() if args.data == "clinc150" else cfpb(seed)
        raw, truth = make_raw(clean, seed)
        for config in args.configs:
            rows = training_rows(config, clean, raw, truth, seed)
            scores[config].append(probe_score(rows, test))
            rows_used[config].append(rows.height)
            print(f"seed {seed} {config}: {rows.height} rows, macro-F1 {scores[config][-1]:.4f}", file=sys.stderr, flush=True)
    print(f"\n`python benchmarks/lift.py --data {args.data} --seeds {args.seeds}` ({time.perf_counter() - started:.0f} s; "
          f"probe = logistic regression on frozen MiniLM embeddings; test split untouched)\n")
    print("| training rows | rows (mean) | macro-F1 mean ± std | vs raw (paired mean ± std) |")
    print("|---|---|---|---|")
    for config in args.configs:
        values = scores[config]
        paired = [v - r for v, r in zip(values, scores.get("raw", values))]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        paired_spread = statistics.stdev(paired) if len(paired) > 1 else 0.0
        print(f"| {config} | {np.mean(rows_used[config]):,.0f} | {np.mean(values):.4f} ± {spread:.4f} | {np.mean(paired):+.4f} ± {paired_spread:.4f} |")


if __name__ == "__main__":
    main()
