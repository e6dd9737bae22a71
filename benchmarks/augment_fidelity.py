"""Does augmentation keep what a text is about? Back-translate sources from real sets, run every check, and write the
kept pairs (and the dropped ones with their reasons) for a person to read and count.

    python benchmarks/augment_fidelity.py --sets clinc150 bitext snips --sources 120

Writes `benchmarks/results/augment_fidelity/<set>.jsonl` (one kept pair a line: source, candidate, label) and
`<set>_dropped.jsonl`, and prints how many candidates each check dropped. Sources are drawn at random (seeded) from
each set's training rows as published; the checks are the stage's own (`CandidateChecks` with its defaults, the
label check against the set's other training rows).

    python benchmarks/augment_fidelity.py --sets clinc150 snips cfpb bitext --sources 300 --until-kept 50

draws further batches of `--sources` (the same seeded order, no source twice) until `--until-kept` candidates passed
every check, and writes the first that many kept pairs to `benchmarks/results/augment_read/<set>.csv` for reading
(columns `verdict` and `why` are left empty for the reader). `--max-words` draws only sources of at most that many
words (CFPB's narratives run to 3,000). `--exclude-read` leaves out the sources of the earlier readings (`<set>.csv`,
`<set>-*.csv`), `--out-suffix=-second` names the CSV apart, `--translation-cache` keeps the round trips for a rerun,
and `--fluency` adds the `less_fluent` check (off in the stage's defaults).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
OUT = ROOT / "benchmarks" / "results" / "augment_fidelity"
READ = ROOT / "benchmarks" / "results" / "augment_read"


def training_rows(name: str) -> pl.DataFrame:
    import lift

    if name == "bitext":
        return pl.read_csv(
            lift.SHARED / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv", infer_schema=False
        ).select(pl.col("instruction").alias("text"), pl.col("intent").alias("label"))
    if name == "snips":
        return pl.read_csv(lift.SHARED / "snips" / "train.csv", infer_schema=False).select("text", "label")
    if name == "clinc150":
        return lift.clinc150(0)[0]
    if name == "clinc150-full":  # data_full.json's train split as published (lift's clinc150 is the imbalanced one)
        data = json.loads((lift.SHARED / "clinc150" / "data_full.json").read_text())
        return pl.DataFrame(data["train"], schema=["text", "label"], orient="row")
    if name == "cfpb":
        return lift.cfpb(0)[0]
    if name == "cfpb-all":  # every narrative of the file (it is published without a split)
        return pl.read_csv(lift.SHARED / "cfpb" / "complaints.csv", infer_schema=False).select(
            pl.col("Consumer complaint narrative").alias("text"), pl.col("Product").alias("label")
        )
    raise SystemExit(f"unknown set '{name}'")


def main() -> None:
    from curate.stages.augment.augment import generate_checked
    from curate.stages.augment.checks import CandidateChecks

    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="+", default=["clinc150", "bitext", "snips"])
    parser.add_argument("--sources", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--until-kept", type=int, default=0, help="draw batches until this many are kept; write CSV")
    parser.add_argument("--max-words", type=int, default=0, help="only sources of at most this many words")
    parser.add_argument("--dropped-to", type=Path, help="folder for <set>_dropped.csv (every dropped candidate)")
    parser.add_argument("--exclude-read", action="store_true", help="draw no source of augment_read/<set>[-*].csv")
    parser.add_argument("--out-suffix", default="", help="written as augment_read/<set><suffix>.csv")
    parser.add_argument("--translation-cache", type=Path, help="JSON file of round trips, reused across runs")
    parser.add_argument("--fluency", action="store_true", help="also run the less_fluent check (SmolLM2)")
    args = parser.parse_args()
    if args.translation_cache:
        cache_translations(args.translation_cache)
    if args.until_kept:
        for name in args.sets:
            read_until_kept(name, args)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.sets:
        rows = training_rows(name).with_row_index("id").with_columns(pl.format("r{}", "id").alias("id"))
        sources = rows.sample(args.sources, seed=args.seed)
        checks = CandidateChecks(fluency=args.fluency)
        kept, reasons, _ = generate_checked(sources, rows, ["backtranslate"], 1, checks, args.seed)
        pairs = kept.join(rows.select("id", pl.col("text").alias("source")), left_on="augmented_from", right_on="id")
        with open(OUT / f"{name}.jsonl", "w") as f:
            for row in pairs.iter_rows(named=True):
                f.write(json.dumps({"source": row["source"], "candidate": row["text"], "label": row["label"]}) + "\n")
        dropped = checks.dropped_frame()
        with open(OUT / f"{name}_dropped.jsonl", "w") as f:
            for row in dropped.iter_rows(named=True):
                f.write(
                    json.dumps({"source": row["source_text"], "candidate": row["text"], "reason": row["reason"]}) + "\n"
                )
        print(
            f"{name}: {args.sources} sources, {kept.height} kept; dropped: "
            + ", ".join(f"{r} {n}" for r, n in reasons.most_common() if n)
        )


def read_until_kept(name: str, args: argparse.Namespace) -> None:
    """Seeded batches of sources until `args.until_kept` candidates passed every check; the first that many are
    written, in the order drawn, with their label and similarity, for a person to read."""
    import time

    from curate.stages.augment.augment import generate_checked
    from curate.stages.augment.checks import CandidateChecks
    from curate.core.text import normalized_text

    rows = training_rows(name).with_row_index("id").with_columns(pl.format("r{}", "id").alias("id"))
    pool = rows.sample(fraction=1.0, shuffle=True, seed=args.seed)
    if args.exclude_read:  # a later reading draws none of the sources an earlier one read
        for path in [READ / f"{name}.csv", *sorted(READ.glob(f"{name}-*.csv"))]:
            read = pl.read_csv(path, infer_schema=False)["source"]
            pool = pool.filter(~pl.col("text").is_in(read.implode()))
    if args.max_words:
        pool = pool.filter(pl.col("text").str.split(" ").list.len() <= args.max_words)
    checks = CandidateChecks(fluency=args.fluency)
    kept_frames, seen, tried, start = [], set(), 0, time.perf_counter()
    for at in range(0, pool.height, args.sources):
        batch = pool.slice(at, args.sources)
        kept, _, _ = generate_checked(batch, rows, ["backtranslate"], 1, checks, args.seed)
        keys = kept.select(normalized_text("text")).to_series().to_list()
        fresh = [k not in seen for k in keys]  # a copy of an earlier batch's candidate would be dropped in one run
        seen.update(keys)
        kept_frames.append(kept.filter(pl.Series(fresh, dtype=pl.Boolean)))
        tried += batch.height
        total = sum(f.height for f in kept_frames)
        print(f"{name}: {tried} sources, {total} kept, {time.perf_counter() - start:.0f} s", flush=True)
        if total >= args.until_kept:
            break
    kept = pl.concat(kept_frames, how="diagonal_relaxed")
    reasons = checks.dropped_frame()["reason"].value_counts(sort=True)
    print(f"{name}: dropped " + ", ".join(f"{r} {n}" for r, n in reasons.iter_rows()))
    if args.dropped_to:
        args.dropped_to.mkdir(parents=True, exist_ok=True)
        checks.dropped_frame().select(
            "augmented_from", "reason", pl.col("source_text").alias("source"), "text"
        ).write_csv(args.dropped_to / f"{name}_dropped.csv")
    pairs = kept.join(
        rows.select("id", pl.col("text").alias("source")),
        left_on="augmented_from",
        right_on="id",
        maintain_order="left",
    )
    READ.mkdir(parents=True, exist_ok=True)
    pairs.head(args.until_kept).select(
        pl.int_range(1, pl.len() + 1).alias("n"),
        pl.col("augmented_from").alias("source_id"),
        "label",
        pl.col("augment_similarity").alias("similarity"),
        "source",
        pl.col("text").alias("generated"),
        pl.lit("").alias("verdict"),
        pl.lit("").alias("why"),
    ).write_csv(READ / f"{name}{args.out_suffix}.csv")


def cache_translations(path: Path) -> None:
    """Bergamot round trips are deterministic and the slow part: keep them in `path` (by the masked sentence sent),
    so reading again under changed checks translates only what was never sent."""
    from curate.stages.augment.methods import BackTranslator

    cache = json.loads(path.read_text()) if path.exists() else {}
    translate = BackTranslator._bergamot

    def cached(self, texts: list[str]) -> list[str]:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, translate(self, missing)))
            path.write_text(json.dumps(cache))
        return [cache[t] for t in texts]

    BackTranslator._bergamot = cached


if __name__ == "__main__":
    main()
