"""MinHash's decisions on real rows are the ones saved before its speed-ups: the same clusters, the same rows rejected.
The expectation was written by the code of 2026-12-06 (before the speed-ups) with `python -m
tests.dedup.test_minhash_unchanged`; rewrite it only for a change meant to change decisions."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from curate.core.columns import CLUSTER, ID, LABEL, TEXT
from curate.samples.scale_tickets import BITEXT, generate_tickets
from curate.stages.dedup.minhash import MinHashDedup

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).with_name("fixtures") / "minhash_clusters.json"
SETTINGS = {"default": {}, "jaccard": {"similarity": "jaccard"}}


def sample_rows() -> pl.DataFrame:
    frame = pl.read_csv(ROOT / "data/sample/tickets.csv", infer_schema=False)
    return frame.select(pl.col("ticket_id").alias(ID), pl.col("body").alias(TEXT), pl.col("intent").alias(LABEL))


def bitext_rows() -> pl.DataFrame:
    frame = pl.read_csv(BITEXT, columns=["instruction", "intent"], infer_schema=False)
    return frame.select(
        pl.format("b{}", pl.int_range(pl.len())).alias(ID),
        pl.col("instruction").alias(TEXT),
        pl.col("intent").alias(LABEL),
    )


def decisions(rows: pl.DataFrame, settings: dict) -> dict:
    """The clusters artifact (each row's cluster, whether it is kept, its representative, label and similarity) and
    the rejected rows with their reasons and details."""
    result = MinHashDedup(**settings).apply(rows)
    clusters = (
        result.artifacts["clusters"]
        .select(CLUSTER, ID, "kept", "duplicate_of", LABEL, "label_conflict", pl.col("similarity").round(4))
        .sort(CLUSTER, ID)
    )
    return {"clusters": clusters.rows(), "rejected": sorted(result.rejected.select(ID, "reason", "detail").rows())}


def cases() -> dict:
    found = {f"sample/{name}": (sample_rows, settings) for name, settings in SETTINGS.items()}
    found["bitext/default"] = (bitext_rows, {})
    for name, settings in SETTINGS.items():  # Bitext's utterances with planted resends, typo'd resends, emails
        found[f"tickets/{name}"] = (lambda: generate_tickets(12_000), settings)
    return found


@pytest.mark.parametrize("case", sorted(cases()))
def test_clusters_on_real_rows_are_unchanged(case):
    rows, settings = cases()[case]
    if not case.startswith("sample") and not BITEXT.exists():
        pytest.skip("the shared Bitext data is not here")
    expected = json.loads(EXPECTED.read_text())[case]
    found = json.loads(json.dumps(decisions(rows(), settings)))  # tuples as lists, as saved
    assert found["rejected"] == expected["rejected"]
    assert found["clusters"] == expected["clusters"]


if __name__ == "__main__":
    EXPECTED.write_text(json.dumps({case: decisions(rows(), s) for case, (rows, s) in cases().items()}) + "\n")
