"""Many tickets for scale tests and benchmarks, made quickly from Bitext's utterances (CDLA-Sharing-1.0, see
data/sample/README.md): each row is an utterance with a customer's order number, and a fixed
share of rows are resends (exact copies), typo'd resends (near duplicates), HTML, or carry an email.
The mix is the same at every size, so per-row costs compare across sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "tickets.csv"
BITEXT = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "bitext"
    / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
)


def utterance_pool() -> pl.DataFrame:
    """Bitext's 26,872 utterances where the shared data is at hand (no signatures or greetings to cut), else the
    bundled sample's tickets."""
    if BITEXT.exists():
        return pl.read_csv(BITEXT, columns=["instruction", "intent"], infer_schema=False).drop_nulls()
    return (
        pl.read_csv(SAMPLE, columns=["body", "intent"], infer_schema=False).drop_nulls().rename({"body": "instruction"})
    )


def generate_tickets(n: int, seed: int = 0) -> pl.DataFrame:
    """`n` tickets with columns id, text, label; about 5% exact resends, 5% typo'd resends, 5% HTML, 3% emails."""
    pool = utterance_pool()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, pool.height, n)
    orders = rng.integers(1_000_000, 9_999_999, n)
    kind = rng.random(n)
    base = pool[picks].with_columns(pl.Series("order", orders).cast(pl.String), pl.Series("kind", kind))
    text = pl.col("instruction") + pl.lit(" (order ") + pl.col("order") + pl.lit(")")
    frame = base.select(
        pl.format("T{}", pl.int_range(pl.len())).alias("id"),
        pl.when(pl.col("kind") < 0.05)
        .then(pl.lit("<p>") + text + pl.lit("</p>"))
        .when(pl.col("kind") < 0.08)
        .then(text + pl.lit(" my email is customer") + pl.col("order") + pl.lit("@example.com"))
        .otherwise(text)
        .alias("text"),
        pl.col("intent").alias("label"),
        pl.col("kind"),
    )
    # Resends: a row copies an earlier row's text exactly (5%), or with one character changed (5%).
    earlier = (pl.int_range(pl.len()) * pl.Series(rng.random(n))).cast(pl.Int64)
    resend = pl.col("text").gather(earlier)
    typo = resend.str.slice(0, 5) + resend.str.slice(6)
    frame = frame.with_columns(
        pl.when((pl.col("kind") >= 0.90) & (pl.col("kind") < 0.95))
        .then(resend)
        .when(pl.col("kind") >= 0.95)
        .then(typo)
        .otherwise(pl.col("text"))
        .alias("text"),
        pl.when(pl.col("kind") >= 0.90).then(pl.col("label").gather(earlier)).otherwise(pl.col("label")).alias("label"),
    )
    return frame.drop("kind")
