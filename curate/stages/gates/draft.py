"""`curate expectations init`: draft a suite from a dataset the user trusts, to be edited."""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.core.columns import ID, LABEL, TEXT
from curate.stages.gates.metrics import dataset_metrics

# Shapes of PII that must not survive redaction (Python `re`, as GX's pandas backend uses).
PII_LEFT_PATTERNS = [
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    r"\b(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2})(?:[ \-]?\d{4}){3}\b",
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
    r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}\b",
]


def draft_suite(rows: pl.DataFrame, name: str = "tickets") -> dict[str, Any]:
    """Label set, length bounds from quantiles, and dataset-level limits around what the data shows."""
    lengths = rows[TEXT].str.len_chars()
    # From the observed extremes, not quantiles: a suite drafted from trusted data must pass that data
    # (a 0.1% quantile failed 3 of CLINC150's 15,000 training queries); the upper bound leaves room.
    low = max(1, int(lengths.min() or 1))
    high = int((lengths.max() or 1) * 1.5) + 1
    metrics = dataset_metrics(rows)
    labels = sorted(rows[LABEL].drop_nulls().unique().to_list()) if LABEL in rows.columns else []

    def metric(column: str, low_value=None, high_value=None, note: str = "") -> dict[str, Any]:
        kwargs = {"column": column}
        if low_value is not None:
            kwargs["min_value"] = low_value
        if high_value is not None:
            kwargs["max_value"] = high_value
        return {
            "type": "expect_column_values_to_be_between",
            "kwargs": kwargs,
            "meta": {"on": "metrics", "notes": note},
        }

    expectations = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": ID}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": ID}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": TEXT}},
        {
            "type": "expect_column_value_lengths_to_be_between",
            "kwargs": {"column": TEXT, "min_value": low, "max_value": high},
        },
        {
            "type": "expect_column_values_to_not_match_regex_list",
            "kwargs": {"column": TEXT, "regex_list": PII_LEFT_PATTERNS},
            "meta": {"notes": "no email, card, IP or IBAN left after redaction"},
        },
    ]
    if labels:
        expectations += [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": LABEL}},
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": LABEL, "value_set": labels}},
        ]
    expectations += [
        metric(
            "row_count",
            low_value=max(1, int(metrics["row_count"] * 0.5)),
            note="at least half the rows of the trusted data",
        ),
        metric(
            "largest_class_share",
            high_value=round(min(1.0, metrics["largest_class_share"] * 1.5 + 0.01), 3),
            note="no class dominates more than it does now",
        ),
        metric(
            "duplicate_rate",
            high_value=round(max(0.01, metrics["duplicate_rate"]), 3),
            note="exact duplicates after normalisation",
        ),
        metric("cross_split_near_duplicates", high_value=0, note="no near-duplicate of a held-out row in train"),
    ]
    return {"name": name, "expectations": expectations, "meta": {"drafted_by": "curate expectations init"}}
