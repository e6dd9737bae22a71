"""Augmentation throughput on 2 cores: generated rows per second per method, batched versus one text
at a time, and the share of candidates the checks keep.

    .venv/bin/python benchmarks/augment_throughput.py [--rows 100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from curate.stages.augment.checks import CandidateChecks
from curate.stages.augment.augment import build_method, generate_checked
from curate.io.readers import read_input
from curate.io.spec import InputSpec

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--methods", nargs="+", default=["synonym", "eda", "backtranslate", "paraphrase"])
    args = parser.parse_args()
    spec = InputSpec(path=ROOT / "data/sample/eval.csv", text="body", label="intent", id="ticket_id")
    rows = read_input(spec).result.kept.head(args.rows)
    texts = rows["text"].to_list()
    CandidateChecks().check(
        rows.head(2).with_columns(pl.col("text").alias("source_text")), rows.head(2)
    )  # load the embedder once
    print(f"{'method':<14} {'batched rows/s':>15} {'one-at-a-time rows/s':>21} {'speed-up':>9} {'kept share':>11}")
    for name in args.methods:
        method = build_method(name, 0, "bergamot")
        n = len(texts) if name != "paraphrase" else min(len(texts), 16)
        started = time.perf_counter()
        method.generate(
            texts[: n if name != "paraphrase" else 2]
        )  # warm up, not timed: WordNet's lookups, model weights
        print(f"  ({name}: loading and warm-up {time.perf_counter() - started:.1f}s, not counted)")
        started = time.perf_counter()
        method.generate(texts[:n])
        batched = n / (time.perf_counter() - started)
        single_n = n if name != "paraphrase" else 8
        started = time.perf_counter()
        for text in texts[:single_n]:
            method.generate([text])
        single = single_n / (time.perf_counter() - started)
        kept, reasons, _ = generate_checked(rows.head(n), rows, [name], 1, CandidateChecks())  # builds its own method
        share = kept.height / (kept.height + sum(reasons.values()))
        print(f"{name:<14} {batched:>15.1f} {single:>21.1f} {batched / single:>8.1f}x {share:>11.2f}")


if __name__ == "__main__":
    main()
