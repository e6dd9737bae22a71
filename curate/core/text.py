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
    so the ids are those of the whole file read at once. Holds 12 bytes per distinct text of each batch read so far."""

    def __init__(self) -> None:
        self.seen = pl.DataFrame(schema={"k": pl.UInt64, "earlier": pl.UInt32})  # a row per batch a text is in

    def __call__(self, texts: pl.Series) -> pl.Series:
        # xxh3 has no polars expression: one C call per text, a missing text hashed as "" (the ids users have)
        hexes = pl.Series(
            ID, list(map(xxhash.xxh3_64_hexdigest, map(str.encode, texts.fill_null("").to_list()))), dtype=pl.String
        )
        keys = hexes.str.to_integer(base=16, dtype=pl.UInt64).alias("k")
        counts = keys.to_frame().group_by("k").agg(pl.len().cast(pl.UInt32).alias("earlier"))
        earlier = counts.select("k").join(self.seen, on="k").group_by("k").agg(pl.col("earlier").sum())
        self.seen = pl.concat([self.seen, counts])
        # Most texts occur once: only the rows of a text repeated here or read in an earlier batch count an ordinal.
        repeated = counts.filter(pl.col("earlier") > 1).select("k").join(earlier, on="k", how="full", coalesce=True)
        if not repeated.height:
            return hexes
        rows = keys.to_frame().select(pl.col("k").is_in(repeated["k"].implode()).arg_true()).to_series()
        suffixed = (
            pl.DataFrame({"k": keys.gather(rows), "row": rows})
            .join(repeated, on="k", how="left", maintain_order="left")
            .with_columns(
                (pl.int_range(pl.len(), dtype=pl.UInt32).over("k") + pl.col("earlier").fill_null(0)).alias("n")
            )
            .filter(pl.col("n") > 0)
        )
        return hexes.scatter(suffixed["row"], hexes.gather(suffixed["row"]) + "-" + suffixed["n"].cast(pl.String))


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
