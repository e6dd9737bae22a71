"""The one text normalisation that "the same text" means everywhere (exact dedup, MinHash shingles,
augmentation checks, dataset metrics, the sample generator)."""

from __future__ import annotations

import polars as pl

from curate.core.columns import TEXT


def normalized_text(column: str = TEXT) -> pl.Expr:
    """Casefolded letters and digits separated by single spaces."""
    return pl.col(column).str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()
