"""Stable ids are persisted (run folders, review decisions, sign-offs): they must never change for any input."""

import random

import polars as pl
import pytest
import xxhash

from curate.core.text import StableIds, stable_ids

TEXTS = [
    "where is my refund",
    "",
    None,
    "Où est mon colis ? 📦",
    "where is my refund",
    "",
    "  ",
    "退款在哪里",
    "where is my refund",
    "Où est mon colis ? 📦",
    None,
]
# Made by the StableIds of main at b939969; a change here orphans every decision a user made on these rows.
GOLDEN = [
    "9df4b99338238533",
    "2d06800538d394c2",
    "2d06800538d394c2-1",
    "52dcbcb0fa39632b",
    "9df4b99338238533-1",
    "2d06800538d394c2-2",
    "6c7385f3b5168e8c",
    "b7c7d57667b3e0c1",
    "9df4b99338238533-2",
    "52dcbcb0fa39632b-1",
    "2d06800538d394c2-3",
]


class OldStableIds:
    """The StableIds of b939969, kept as the oracle the faster one must equal."""

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
            .alias("id")
        )


def _generated(rows: int) -> pl.Series:
    """Texts as a ticket file has them: mostly distinct, some repeated many times, empty, missing and unicode."""
    rng = random.Random(7)
    common = ["refund please", "", "Où est mon colis ?", "退款", "🙂", "a" * 300, "x"]
    texts = []
    for i in range(rows):
        draw = rng.random()
        if draw < 0.02:
            texts.append(None)
        elif draw < 0.2:
            texts.append(rng.choice(common))
        elif draw < 0.3:
            texts.append(f"order {rng.randrange(500)} is late")
        else:
            texts.append(f"ticket {i} " + "é" * (i % 7) + "word " * (i % 60))
    return pl.Series("text", texts, dtype=pl.String)


def _in_batches(make_ids, texts: pl.Series, size: int) -> list[str]:
    return [i for start in range(0, texts.len(), size) for i in make_ids(texts.slice(start, size)).to_list()]


def test_the_ids_are_those_users_have_today():
    assert stable_ids(pl.Series(TEXTS, dtype=pl.String)).to_list() == GOLDEN
    assert _in_batches(StableIds(), pl.Series(TEXTS, dtype=pl.String), 4) == GOLDEN
    assert stable_ids(pl.Series([], dtype=pl.String)).to_list() == []


def test_the_ids_equal_the_old_implementations_on_a_generated_file():
    texts = _generated(50_000)
    expected = OldStableIds()(texts).to_list()
    assert stable_ids(texts).to_list() == expected
    assert stable_ids(texts).name == "id" and stable_ids(texts).dtype == pl.String


@pytest.mark.parametrize("size", [1, 7, 4_096, 20_000])
def test_ids_made_in_batches_are_the_ids_of_the_whole_file(size):
    texts = _generated(50_000 if size > 100 else 500)
    assert (
        _in_batches(StableIds(), texts, size) == _in_batches(OldStableIds(), texts, size) == stable_ids(texts).to_list()
    )


def test_an_empty_batch_between_batches_changes_nothing():
    make_ids, texts = StableIds(), pl.Series(TEXTS, dtype=pl.String)
    ids = (
        make_ids(texts.slice(0, 5)).to_list()
        + make_ids(texts.slice(5, 0)).to_list()
        + make_ids(texts.slice(5)).to_list()
    )
    assert ids == GOLDEN
