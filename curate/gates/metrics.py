"""Dataset-level figures that no built-in expectation computes; validated as a one-row frame.

A suite's expectations marked `"meta": {"on": "metrics"}` run against this frame, so dataset-level
checks (class balance, duplicate rate, leakage across splits) stay standard GX expectations.
"""

from __future__ import annotations

import polars as pl

from curate.columns import LABEL
from curate.dedup.exact import normalized_text

METRIC_DESCRIPTIONS = {
    "row_count": "rows in the dataset",
    "label_count": "distinct labels",
    "largest_class_share": "share of rows in the largest class",
    "smallest_class_count": "rows in the smallest class",
    "imbalance_ratio": "largest class / smallest class",
    "duplicate_rate": "share of rows whose normalised text appears more than once",
    "cross_split_near_duplicates": "validation/test rows with a near duplicate in train",
}


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
    if "split" in rows.columns:
        from curate.dedup.leakage import find_leakage

        train = rows.filter(pl.col("split") == "train")
        held_out = rows.filter(pl.col("split") != "train")
        if train.height and held_out.height:
            metrics["cross_split_near_duplicates"] = int(find_leakage(train, held_out, leakage_threshold)["id_b"].n_unique())
    return metrics
