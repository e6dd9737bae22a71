"""False drops and wrong merges of the model-free stages on real, untouched rows (CLINC150 and CFPB).

    python benchmarks/real_rows.py

Every rejection here is wrong: the rows are real queries and complaints with no planted defect
(CLINC150's few identical texts with conflicting labels aside, which exact dedup may resolve).
Prints, per data set: quality drops by reason with the share of rows, and for the near-duplicate
stage the clusters that join two different labels and the rows removed with a similarity to the
kept row under the threshold (chaining).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def clinc150() -> pl.DataFrame:
    data = json.loads((SHARED / "clinc150" / "data_full.json").read_text())
    rows = [(text, label) for split in data.values() for text, label in split]
    return (
        pl.DataFrame(rows, schema=["text", "label"], orient="row")
        .with_row_index("id")
        .with_columns(pl.col("id").cast(pl.String))
    )


def cfpb() -> pl.DataFrame:
    rows = pl.read_csv(SHARED / "cfpb" / "complaints.csv")
    return (
        rows.select(pl.col("Consumer complaint narrative").alias("text"), pl.col("Product").alias("label"))
        .with_row_index("id")
        .with_columns(pl.col("id").cast(pl.String))
    )


def main() -> None:
    from curate.stages.dedup.minhash import MinHashDedup
    from curate.stages.quality.quality import Quality

    for name, rows in (("CLINC150", clinc150()), ("CFPB", cfpb())):
        quality = Quality().apply(rows)
        by_reason = quality.rejected.group_by("reason").len().sort("len", descending=True)
        print(f"## {name}: {rows.height:,} real rows")
        print(
            f"quality drops {quality.rejected.height:,} ({quality.rejected.height / rows.height:.2%}): "
            + ", ".join(f"{r} {n}" for r, n in by_reason.iter_rows())
        )
        for reason, group in quality.rejected.group_by("reason"):
            print(
                f"  e.g. {reason[0]}: " + " | ".join(t[:70].replace("\n", " ") for t in group["text"].head(3).to_list())
            )
        near = MinHashDedup().apply(rows)
        clusters = near.artifacts["clusters"]
        mixed = (
            clusters.group_by("cluster")
            .agg(pl.col("label").n_unique().alias("labels"))
            .filter(pl.col("labels") > 1)
            .height
        )
        threshold = near.stats["threshold"]
        chained = near.rejected.filter(pl.col("similarity") < threshold).height
        print(
            f"minhash: {near.rejected.height:,} removed in {near.stats['clusters']:,} clusters; clusters joining two labels: {mixed}; "
            f"removed rows less similar than {threshold} to the row kept: {chained}"
        )
        for cluster in (
            clusters.group_by("cluster")
            .agg(pl.col("label").n_unique().alias("n"), pl.col("text"), pl.col("label"))
            .filter(pl.col("n") > 1)
            .head(3)
            .iter_rows(named=True)
        ):
            print(
                "  mixed: "
                + " | ".join(f"{t[:50]} [{lab}]" for t, lab in zip(cluster["text"][:2], cluster["label"][:2]))
            )


if __name__ == "__main__":
    main()
