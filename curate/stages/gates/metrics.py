"""Dataset-level figures that no built-in expectation computes; validated as a one-row frame.

A suite's expectations marked `"meta": {"on": "metrics"}` run against this frame, so dataset-level
checks (class balance, duplicate rate, leakage across splits) stay standard GX expectations.
"""

from __future__ import annotations

import polars as pl

from curate.core.columns import LABEL, SPLIT, TRAIN
from curate.core.text import normalized_text

def dataset_metrics(rows: pl.DataFrame, leakage_threshold: float = 0.8) -> dict[str, float]:
    counts = rows.group_by(LABEL).len()["len"] if LABEL in rows.columns and rows.height else pl.Series([0])
    duplicated = rows.select(normalized_text().is_duplicated().mean()).item() if rows.height else 0.0
    metrics = {
        "row_count": rows.height,
        "label_count": int(rows[LABEL].n_unique()) if LABEL in rows.columns else 0,
        "largest_class_share": float(counts.max() / max(rows.height, 1)),
        "smallest_class_count": int(counts.min()),
        "imbalance_ratio": float(counts.max() / max(counts.min(), 1)),
        "duplicate_rate": float(duplicated or 0.0),
        "cross_split_near_duplicates": 0,
    }
    if SPLIT in rows.columns:
        from curate.stages.dedup.leakage import find_leakage

        train = rows.filter(pl.col(SPLIT) == TRAIN)
        held_out = rows.filter(pl.col(SPLIT) != TRAIN)
        if train.height and held_out.height:
            metrics["cross_split_near_duplicates"] = int(find_leakage(train, held_out, leakage_threshold)["id_b"].n_unique())
    return metrics
