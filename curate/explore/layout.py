"""The Map's data: every row of a run with text (approved, flagged, rejected) placed in two dimensions, a palette
that tells 27+ labels apart, and the rows nearest a chosen one in meaning.

t-SNE of a couple of thousand rows takes 10-50 s on two cores, so a layout is computed once per set of texts and
kept on disk beside the embedding cache, keyed by the texts' hashes, the method, the seed and the model: reopening
the run, or a rerun whose texts did not change, reads it back in milliseconds. Until it exists the Map draws a PCA
of the same embeddings (instant) and says so.
"""

from __future__ import annotations

import colorsys
import os
import uuid
from pathlib import Path

import numpy as np
import polars as pl
import xxhash

from curate.core.columns import AUGMENTED_FROM, ID, LABEL, LABEL_SUGGESTED, REASON, STAGE, TEXT
from curate.explore.review import APPROVED, FLAGS, REJECTED, STATUS

KEY = "text_key"
MARK = "mark"
# What a point is, in the order the legend lists it; the shape each is drawn with.
MARKS = {"approved": "circle", "flagged": "diamond", "generated": "triangle-up", "rejected": "cross"}
METHODS = ("tsne", "pca")
SIMILAR = "cosine"  # the similarity of meaning to the chosen row (not dedup's `similarity` column)
MAX_POINTS = 6000  # t-SNE past this takes minutes on two cores: a seeded sample of the texts is drawn instead


def text_key(texts: pl.Series) -> pl.Series:
    """The embedding cache's key for each text (xxh3 of its UTF-8 bytes), as a column."""
    from curate.core.embed import text_keys

    return pl.Series(KEY, text_keys(texts.fill_null("").to_list()), dtype=pl.String)


def mappable(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows the map can place (any with non-blank text), with their text key and what kind of point each is."""
    generated = pl.col(AUGMENTED_FROM).is_not_null() if AUGMENTED_FROM in rows.columns else pl.lit(False)
    flagged = pl.col(FLAGS).list.len() > 0 if FLAGS in rows.columns else pl.lit(False)
    placed = rows.filter(pl.col(TEXT).fill_null("").str.strip_chars().str.len_chars() > 0)
    return placed.with_columns(
        text_key(placed[TEXT]),
        pl.when(pl.col(STATUS) == REJECTED)
        .then(pl.lit("rejected"))
        .when(flagged)
        .then(pl.lit("flagged"))
        .when(generated)
        .then(pl.lit("generated"))
        .otherwise(pl.lit(APPROVED))
        .alias(MARK),
    )


def unique_texts(rows: pl.DataFrame, max_points: int = MAX_POINTS, seed: int = 0) -> pl.DataFrame:
    """One row per distinct text (`text_key`, `text`), ordered by key so that a layout does not depend on row order;
    a seeded sample when there are more than `max_points`."""
    texts = rows.select(KEY, TEXT).unique(KEY).sort(KEY)
    return texts.sample(max_points, seed=seed).sort(KEY) if texts.height > max_points else texts


def layout_file(keys: pl.Series, method: str, seed: int, model: str | None, cache_dir: Path | None = None) -> Path:
    from curate.core.embed import DEFAULT_MODEL, default_cache_dir

    digest = xxhash.xxh3_128_hexdigest("\n".join([method, str(seed), model or DEFAULT_MODEL, *keys.to_list()]).encode())
    return (cache_dir or default_cache_dir()) / "layouts" / f"{method}-{digest}.parquet"


def one_blas_thread():
    """Small products run on one BLAS thread: on a busy two-core machine a threaded BLAS spins for seconds on a product
    that takes 50 ms alone (measured: PCA of 1,841 × 384 in 4.8 s threaded, 0.05 s on one thread)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components, from the eigenvectors of the covariance (dimensions × dimensions: cheaper
    than an SVD of the rows, and no import of scikit-learn on the first draw)."""
    centred = (vectors - vectors.mean(axis=0)).astype(np.float64)
    if len(centred) < 2:
        return np.zeros((len(centred), 2))
    with one_blas_thread():
        _, axes = np.linalg.eigh(centred.T @ centred)
        xy = centred @ axes[:, ::-1][:, :2]
    return np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))


def tsne_2d(vectors: np.ndarray, seed: int) -> np.ndarray:
    """t-SNE of the vectors after PCA to 50 dimensions (scikit-learn, Barnes-Hut; 500 iterations)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if len(vectors) < 5:
        return pca_2d(vectors)
    reduced = PCA(min(50, *vectors.shape), random_state=seed).fit_transform(vectors)
    perplexity = float(max(2, min(30, (len(vectors) - 1) // 3)))
    return TSNE(2, init="pca", perplexity=perplexity, max_iter=500, random_state=seed).fit_transform(reduced)


def cached_layout(
    texts: pl.DataFrame, method: str = "tsne", seed: int = 0, model: str | None = None, cache_dir: Path | None = None
) -> pl.DataFrame | None:
    """The layout (`text_key`, `x`, `y`) of these texts kept on disk, or None when it was never computed."""
    file = layout_file(texts[KEY], method, seed, model, cache_dir)
    return pl.read_parquet(file) if file.exists() else None


def compute_layout(
    texts: pl.DataFrame,
    vectors: np.ndarray,
    method: str = "tsne",
    seed: int = 0,
    model: str | None = None,
    cache_dir: Path | None = None,
) -> pl.DataFrame:
    """Place the texts (rows of `unique_texts`, `vectors` in the same order) and, for t-SNE, keep the layout on disk;
    an existing one is read back, not recomputed."""
    if method not in METHODS:
        raise ValueError(f"unknown layout method {method!r}; one of {', '.join(METHODS)}")
    if method == "tsne":
        known = cached_layout(texts, method, seed, model, cache_dir)
        if known is not None:
            return known
    xy = tsne_2d(vectors, seed) if method == "tsne" else pca_2d(vectors)
    layout = pl.DataFrame({KEY: texts[KEY], "x": xy[:, 0].astype(np.float64), "y": xy[:, 1].astype(np.float64)})
    if method == "tsne":
        file = layout_file(texts[KEY], method, seed, model, cache_dir)
        file.parent.mkdir(parents=True, exist_ok=True)
        temporary = file.with_name(f".{file.name}.{uuid.uuid4().hex[:8]}")
        layout.write_parquet(temporary)
        os.replace(temporary, file)  # two explorers computing at once: either file is whole
    return layout


def text_vectors(texts: pl.DataFrame, model: str | None = None) -> np.ndarray:
    """Sentence embeddings of the texts (curate.core.embed, from its disk cache where the run encoded them)."""
    from curate.core.embed import Embedder

    return Embedder(model).encode(texts[TEXT])


def map_points(rows: pl.DataFrame, layout: pl.DataFrame) -> pl.DataFrame:
    """The rows of `mappable(rows)` that the layout placed, with `x`, `y` and what the tooltip shows."""
    shown = [c for c in (ID, LABEL, STATUS, MARK, STAGE, REASON, LABEL_SUGGESTED) if c in rows.columns]
    flags = pl.col(FLAGS).list.join(", ") if FLAGS in rows.columns else pl.lit("")
    return rows.join(layout, on=KEY, how="inner", maintain_order="left").select(
        *shown, flags.alias(FLAGS), pl.col(TEXT).str.slice(0, 160), "x", "y"
    )


def palette(n: int) -> list[str]:
    """`n` colours that stay apart: hues a golden angle apart, at three lightness and two saturation levels, so that
    neighbouring labels in the legend differ in more than hue."""
    colours = []
    for i in range(n):
        hue = (i * 0.381966) % 1.0
        lightness = (0.42, 0.62, 0.30)[i % 3]
        saturation = (0.85, 0.55)[(i // 3) % 2]
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        colours.append(f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}")
    return colours


def similar_rows(
    rows: pl.DataFrame, texts: pl.DataFrame, vectors: np.ndarray, row_id: str, k: int = 10
) -> pl.DataFrame:
    """The `k` rows closest in meaning to row `row_id` (cosine similarity of their embeddings), closest first, with
    their label, status and flags; rows sharing its text come first (cosine 1). Empty for an unknown row."""
    mine = rows.filter(pl.col(ID) == row_id)
    if mine.is_empty() or KEY not in mine.columns:
        return rows.head(0).with_columns(pl.lit(None, pl.Float64).alias(SIMILAR))
    index = {key: i for i, key in enumerate(texts[KEY].to_list())}
    at = index.get(mine[KEY][0])
    if at is None:
        return rows.head(0).with_columns(pl.lit(None, pl.Float64).alias(SIMILAR))
    with one_blas_thread():
        similarity = vectors @ vectors[at]
    scores = pl.DataFrame({KEY: texts[KEY], SIMILAR: similarity.astype(np.float64).round(4)})
    return (
        rows.filter(pl.col(ID) != row_id)
        .join(scores, on=KEY, how="inner")
        .sort([SIMILAR, ID], descending=[True, False])
        .head(k)
    )


def compute_run_layout(run_dir: Path, method: str = "tsne", seed: int = 0, model: str | None = None) -> Path:
    """Compute and keep the layout of a run's rows as the Map draws them; returns the file it is kept in."""
    from curate.explore.review import all_rows
    from curate.io.rundir import RunDir

    run = RunDir(Path(run_dir))
    texts = unique_texts(mappable(all_rows(run.approved, run.rejected)), seed=seed)
    compute_layout(texts, text_vectors(texts, model), method, seed, model)
    return layout_file(texts[KEY], method, seed, model)


if __name__ == "__main__":  # the explorer runs this apart, so that t-SNE never holds up the page
    import sys

    print(compute_run_layout(Path(sys.argv[1])))
