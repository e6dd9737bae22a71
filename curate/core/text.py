"""The one text normalisation that "the same text" means everywhere (exact dedup, MinHash shingles,
augmentation checks, dataset metrics, the sample generator)."""

from __future__ import annotations

from functools import lru_cache

import polars as pl
import xxhash

from curate.core.columns import ID, TEXT


def normalized_text(column: str | pl.Expr = TEXT) -> pl.Expr:
    """Casefolded letters and digits separated by single spaces."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()


def stable_ids(texts: pl.Series) -> pl.Series:
    """Ids made from the text, so a row keeps its id when the file is re-exported or reordered.

    Identical texts get an ordinal suffix in file order (`3f..a1`, `3f..a1-1`).
    """
    return StableIds()(texts)


class StableIds:
    """`stable_ids` over a file read in batches: a text's ordinal counts its occurrences in every earlier batch,
    so the ids are those of the whole file read at once. Holds 12 bytes per distinct text read so far."""

    def __init__(self) -> None:
        self.seen = pl.DataFrame(schema={"k": pl.UInt64, "earlier": pl.UInt32})

    def __call__(self, texts: pl.Series) -> pl.Series:
        hashes = pl.Series(
            "h", [xxhash.xxh3_64_hexdigest((t or "").encode()) for t in texts.to_list()], dtype=pl.String
        )
        frame = pl.DataFrame({"h": hashes}).with_columns(
            pl.col("h").str.to_integer(base=16, dtype=pl.UInt64).alias("k"),
            pl.int_range(pl.len(), dtype=pl.UInt32).over("h").alias("n"),
        )
        if self.seen.height:
            frame = frame.join(self.seen, on="k", how="left", maintain_order="left").with_columns(
                pl.col("n") + pl.col("earlier").fill_null(0)
            )
        counts = frame.group_by("k").agg(pl.len().cast(pl.UInt32).alias("earlier"))
        self.seen = (
            pl.concat([self.seen, counts]).group_by("k").agg(pl.col("earlier").sum()) if self.seen.height else counts
        )
        return (
            frame.select(
                pl.when(pl.col("n") == 0).then(pl.col("h")).otherwise(pl.col("h") + "-" + pl.col("n").cast(pl.String))
            )
            .to_series()
            .alias(ID)
        )


@lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, read from its module file: importing the name through the package
    starts all of scikit-learn (over a second), which a MinHash-only run or a redaction never needs."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    source = Path(spec.origin).parent / "feature_extraction" / "_stop_words.py" if spec and spec.origin else None
    if source is not None and source.exists():
        namespace: dict = {}
        exec(compile(source.read_text(), str(source), "exec"), namespace)  # a module of one frozenset literal
        return frozenset(namespace["ENGLISH_STOP_WORDS"])
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)
