"""Dataset-level figures that no built-in expectation computes; validated as a one-row frame.

A suite's expectations marked `"meta": {"on": "metrics"}` run against this frame, so dataset-level
checks (class balance, duplicate rate, leakage across splits) stay standard GX expectations.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.core.columns import AUGMENTED_FROM, LABEL, SPLIT, TRAIN
from curate.core.text import normalized_text


def dataset_metrics(rows: pl.DataFrame) -> dict[str, float]:
    """`duplicate_rate` counts rows people wrote (rebalance's copies are duplicates on purpose);
    `cross_split_near_duplicates` counts held-out rows with a near duplicate in train by `split`'s own definition, so a
    set that split made passes unless something after it (a generated row) leaks."""
    counts = rows.group_by(LABEL).len()["len"] if LABEL in rows.columns and rows.height else pl.Series([0])
    written = rows.filter(pl.col(AUGMENTED_FROM).is_null()) if AUGMENTED_FROM in rows.columns else rows
    duplicated = written.select(normalized_text().is_duplicated().mean()).item() if written.height else 0.0
    metrics = {
        "row_count": rows.height,
        "label_count": int(rows[LABEL].n_unique()) if LABEL in rows.columns else 0,
        "largest_class_share": float(counts.max() / max(rows.height, 1)),
        "smallest_class_count": int(counts.min()),
        "imbalance_ratio": float(counts.max() / max(counts.min(), 1)),
        "duplicate_rate": float(duplicated or 0.0),
        "cross_split_near_duplicates": 0,
    }
    if SPLIT in rows.columns and rows[SPLIT].n_unique() > 1:
        from curate.stages.balance.split import Split

        _, pairs = Split().near_duplicate_pairs(rows)
        in_train = (rows[SPLIT] == TRAIN).to_numpy()
        i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
        crossing = in_train[i] != in_train[j]
        metrics["cross_split_near_duplicates"] = int(len(set(np.where(in_train[i], j, i)[crossing].tolist())))
    return metrics
