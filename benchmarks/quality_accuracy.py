"""Quality and label checks against the bundled ground truth.

    .venv/bin/python benchmarks/quality_accuracy.py [--labels]

Quality: junk caught (planted junk rows rejected by ingest, clean or quality) and clean rows wrongly
dropped by `quality` (planted originals and resends). Labels: planted wrong labels flagged or dropped by
the label check at its defaults (it drops the suspects a second model confirms and flags the rest), and clean rows
wrongly flagged or dropped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from curate.stages.clean.clean import Clean
from curate.stages.clean.redact import Redact
from curate.io.readers import read_input
from curate.stages.quality.quality import Quality
from curate.io.spec import InputSpec

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", action="store_true", help="also score the label checks (loads MiniLM)")
    args = parser.parse_args()
    truth = pl.read_csv(ROOT / "data/sample/truth.csv")
    ingested = read_input(
        InputSpec(path=ROOT / "data/sample/tickets.csv", text="body", label="intent", id="ticket_id")
    ).result
    cleaned = Clean().apply(ingested.kept)
    redacted = Redact().apply(cleaned.kept).kept
    quality = Quality().apply(redacted)
    rejected_ids = set(ingested.rejected["id"]) | set(cleaned.rejected["id"]) | set(quality.rejected["id"])
    junk = truth.filter(pl.col("kind").is_in(["junk", "empty"]))
    caught = junk["ticket_id"].is_in(rejected_ids)
    clean = truth.filter(pl.col("kind").is_in(["original", "exact_dup", "near_dup"]))
    wrongly = clean["ticket_id"].is_in(set(quality.rejected["id"]))
    print(f"junk and empty rows caught: {caught.sum()}/{junk.height} ({caught.mean():.1%})")
    for row in junk.filter(~caught).iter_rows(named=True):
        print(f"  missed: {row['ticket_id']}")
    print(f"clean rows dropped by quality: {wrongly.sum()}/{clean.height} ({wrongly.mean():.2%})")
    dropped = quality.rejected.join(clean.select("ticket_id"), left_on="id", right_on="ticket_id")
    for row in dropped.head(10).iter_rows(named=True):
        print(f"  {row['reason']}: {row['text'][:70]!r} ({row['detail']})")
    print("quality rejections by reason:", dict(quality.rejected.group_by("reason").len().iter_rows()))
    if args.labels:
        from curate.stages.quality.labels import LabelCheck

        result = LabelCheck().apply(quality.kept)
        # `mislabelled: drop` (the default since 2026-12-06, 45f929b) drops the suspects a second model confirms and flags
        # the rest: a suspect is a kept row with label_issue or a row rejected as likely_mislabelled.
        dropped = set(result.rejected.filter(pl.col("reason") == "likely_mislabelled")["id"].to_list())
        suspects = set(result.kept.filter(pl.col("label_issue"))["id"].to_list()) | dropped
        scored = truth.join(quality.kept.select("id"), left_on="ticket_id", right_on="id")
        wrong = scored.filter(pl.col("mislabelled"))
        right = scored.filter(~pl.col("mislabelled"))
        for name, ids in (("flagged or dropped", suspects), ("dropped (confirmed)", dropped)):
            hit = wrong["ticket_id"].is_in(list(ids))
            false = right["ticket_id"].is_in(list(ids))
            print(
                f"wrong labels {name}: {hit.sum()}/{wrong.height} ({hit.mean():.1%}); "
                f"clean rows {name}: {false.sum()}/{right.height} ({false.mean():.2%})"
            )


if __name__ == "__main__":
    main()
