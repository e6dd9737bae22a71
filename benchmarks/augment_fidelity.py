"""Does augmentation keep what a text is about? Back-translate sources from real sets, run every check, and write the
kept pairs (and the dropped ones with their reasons) for a person to read and count.

    python benchmarks/augment_fidelity.py --sets clinc150 bitext snips --sources 120

Writes `benchmarks/results/augment_fidelity/<set>.jsonl` (one kept pair a line: source, candidate, label) and
`<set>_dropped.jsonl`, and prints how many candidates each check dropped. Sources are drawn at random (seeded) from
each set's training rows as published; the checks are the stage's own (`CandidateChecks` with its defaults, the
label check against the set's other training rows).
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
    if name == "cfpb":
        return lift.cfpb(0)[0]
    raise SystemExit(f"unknown set '{name}'")


def main() -> None:
    from curate.stages.augment.augment import generate_checked
    from curate.stages.augment.checks import CandidateChecks

    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", nargs="+", default=["clinc150", "bitext", "snips"])
    parser.add_argument("--sources", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.sets:
        rows = training_rows(name).with_row_index("id").with_columns(pl.format("r{}", "id").alias("id"))
        sources = rows.sample(args.sources, seed=args.seed)
        checks = CandidateChecks()
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


if __name__ == "__main__":
    main()
