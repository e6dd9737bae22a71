"""The explorer's review tool, as library functions: every row of a run in one browsable frame, the
links from a row to its cluster, kept row, source and generated rows, meaning search, and a
reviewer's decisions (stored by `curate.io.review`, applied by the `review` stage on the next run)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl

from curate.core.columns import (
    AUGMENT_METHOD,
    AUGMENTED_FROM,
    CLUSTER,
    DETAIL,
    DUPLICATE_OF,
    ID,
    IDENTITY_TERMS,
    LABEL,
    LABEL_CONFLICT,
    LABEL_FLAGS,
    LABEL_ISSUE,
    LABEL_SUGGESTED,
    QUALITY_FLAGS,
    REASON,
    REVIEW_DECISION,
    SPLIT,
    STAGE,
    TEXT,
    TEXT_BEFORE_CLEAN,
    TOXIC,
)

STATUS = "status"
FLAGS = "flags"
APPROVED, REJECTED = "approved", "rejected"
# Boolean columns that mark a row for a reviewer's attention, and the flag each becomes.
BOOLEAN_FLAGS = {LABEL_ISSUE: "likely_mislabelled", LABEL_CONFLICT: "label_conflict", TOXIC: "toxic_terms"}
LIST_FLAGS = (QUALITY_FLAGS, LABEL_FLAGS)
# The columns the browser shows first; the rest of a row is in the row view.
BROWSER_COLUMNS = (
    ID,
    STATUS,
    STAGE,
    REASON,
    LABEL,
    SPLIT,
    FLAGS,
    TEXT,
    LABEL_SUGGESTED,
    DUPLICATE_OF,
    AUGMENTED_FROM,
    AUGMENT_METHOD,
    REVIEW_DECISION,
    DETAIL,
)


def all_rows(approved: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """Approved and rejected rows in one frame, with `status` and every flag listed in one `flags` column."""
    frame = pl.concat(
        [approved.with_columns(pl.lit(APPROVED).alias(STATUS)), rejected.with_columns(pl.lit(REJECTED).alias(STATUS))],
        how="diagonal_relaxed",
    )
    parts = [
        pl.when(pl.col(c).fill_null(False)).then(pl.lit([name])).otherwise(pl.lit([], pl.List(pl.String)))
        for c, name in BOOLEAN_FLAGS.items()
        if c in frame.columns
    ]
    parts += [pl.col(c).fill_null([]) for c in LIST_FLAGS if c in frame.columns]
    if IDENTITY_TERMS in frame.columns:
        parts.append(
            pl.when(pl.col(IDENTITY_TERMS).list.len() > 0)
            .then(pl.lit(["identity_terms"]))
            .otherwise(pl.lit([], pl.List(pl.String)))
        )
    flags = pl.concat_list(parts).list.unique(maintain_order=True) if parts else pl.lit([], pl.List(pl.String))
    frame = frame.with_columns(flags.alias(FLAGS))
    return frame.select(
        [c for c in BROWSER_COLUMNS if c in frame.columns] + [c for c in frame.columns if c not in BROWSER_COLUMNS]
    )


def filter_rows(
    frame: pl.DataFrame,
    status: str | None = None,
    stages: list[str] | None = None,
    reasons: list[str] | None = None,
    labels: list[str] | None = None,
    flags: list[str] | None = None,
    query: str = "",
    generated: bool | None = None,
    sort_by: str | None = None,
    descending: bool = False,
) -> pl.DataFrame:
    """The rows matching every filter given (a flag filter keeps rows with any of the flags)."""
    rows = frame
    if status:
        rows = rows.filter(pl.col(STATUS) == status)
    if stages:
        rows = rows.filter(pl.col(STAGE).is_in(stages))
    if reasons:
        rows = rows.filter(pl.col(REASON).is_in(reasons))
    if labels:
        rows = rows.filter(pl.col(LABEL).is_in(labels))
    if flags:
        rows = rows.filter(pl.col(FLAGS).list.eval(pl.element().is_in(flags)).list.any())
    if generated is not None and AUGMENTED_FROM in rows.columns:
        rows = rows.filter(pl.col(AUGMENTED_FROM).is_not_null() == generated)
    if query:
        pattern = f"(?i){re.escape(query)}"
        rows = rows.filter(pl.col(TEXT).fill_null("").str.contains(pattern) | (pl.col(ID) == query))
    if sort_by:
        rows = rows.sort(sort_by, descending=descending, nulls_last=True)
    return rows


def flag_names(frame: pl.DataFrame) -> list[str]:
    return sorted(frame[FLAGS].explode().drop_nulls().unique().to_list()) if frame.height else []


def row_view(frame: pl.DataFrame, row_id: str, clusters: pl.DataFrame | None = None) -> dict[str, Any] | None:
    """One row and the rows it links to: its duplicate cluster, the row kept in its place, the row it was
    generated from, and the rows generated from it."""
    found = frame.filter(pl.col(ID) == row_id)
    if found.is_empty():
        return None
    row = found.row(0, named=True)
    linked: dict[str, Any] = {"row": row, "before_clean": row.get(TEXT_BEFORE_CLEAN)}
    keep = ("id", STATUS, LABEL, TEXT)
    if row.get(DUPLICATE_OF):
        linked["kept_row"] = frame.filter(pl.col(ID) == row[DUPLICATE_OF]).select(
            [c for c in keep if c in frame.columns]
        )
    if row.get(AUGMENTED_FROM):
        linked["source_row"] = frame.filter(pl.col(ID) == row[AUGMENTED_FROM]).select(
            [c for c in keep if c in frame.columns]
        )
    if AUGMENTED_FROM in frame.columns:
        generated = frame.filter(pl.col(AUGMENTED_FROM) == row_id)
        if generated.height:
            linked["generated"] = generated.select([c for c in (*keep, AUGMENT_METHOD) if c in frame.columns])
    if clusters is not None and clusters.height:
        mine = clusters.filter(pl.col(ID) == row_id).select(STAGE, CLUSTER).unique()
        if mine.height:
            linked["cluster"] = clusters.join(mine, on=[STAGE, CLUSTER]).select(
                STAGE, CLUSTER, ID, "kept", "similarity", LABEL, TEXT
            )
    return linked


def word_diff(kept: str, other: str) -> str:
    """Markdown of `other` with the words that differ from `kept` in bold: what a reviewer looks for in a cluster."""
    import difflib

    a, b = (kept or "").split(), (other or "").split()
    out = []
    for op, _, _, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        words = " ".join(b[j1:j2])
        if words:
            out.append(words if op == "equal" else f"**{words}**")
    return " ".join(out)


def meaning_search(frame: pl.DataFrame, query: str, k: int = 20, model: str | None = None) -> pl.DataFrame:
    """The `k` rows closest in meaning to `query` (sentence embeddings, cached on disk), closest first."""
    from curate.core.embed import Embedder

    rows = frame.filter(pl.col(TEXT).fill_null("").str.len_chars() > 0)
    if rows.is_empty() or not query.strip():
        return rows.head(0).with_columns(pl.lit(None, pl.Float64).alias("score"))
    embedder = Embedder(model)
    scores = embedder.encode(rows[TEXT]) @ embedder.encode(pl.Series([query]))[0]
    top = np.argsort(-scores, kind="stable")[:k]
    return rows[top.tolist()].with_columns(pl.Series("score", scores[top].round(4).astype(np.float64)))


def projection(rows: pl.DataFrame, seed: int = 0, sample: int = 3000, model: str | None = None) -> pl.DataFrame:
    """A 2-D map of the rows' embeddings (scikit-learn's t-SNE on cosine distance; a sample of a large set),
    with id, label and whether the row is flagged, for a scatter plot."""
    from sklearn.manifold import TSNE

    from curate.core.embed import Embedder

    rows = rows.sample(sample, seed=seed) if rows.height > sample else rows
    vectors = Embedder(model).encode(rows[TEXT].fill_null(""))
    perplexity = float(max(2, min(30, (rows.height - 1) // 3)))
    xy = TSNE(n_components=2, metric="cosine", init="pca", perplexity=perplexity, random_state=seed).fit_transform(
        vectors
    )
    flagged = rows[FLAGS].list.len() > 0 if FLAGS in rows.columns else pl.Series([False] * rows.height)
    return rows.select(ID, LABEL, TEXT).with_columns(
        pl.Series("x", xy[:, 0].astype(np.float64)),
        pl.Series("y", xy[:, 1].astype(np.float64)),
        flagged.alias("flagged"),
    )
