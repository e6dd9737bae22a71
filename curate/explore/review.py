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
DECIDED = "decided"  # what a reviewer decided about a row, in words, wherever the row is shown
FLAGS = "flags"
APPROVED, REJECTED = "approved", "rejected"
# Boolean columns that mark a row for a reviewer's attention, and the flag each becomes.
BOOLEAN_FLAGS = {LABEL_ISSUE: "likely_mislabelled", LABEL_CONFLICT: "label_conflict", TOXIC: "toxic_terms"}
LIST_FLAGS = (QUALITY_FLAGS, LABEL_FLAGS)
# The columns the browser shows first; the rest of a row is in the row view.
BROWSER_COLUMNS = (
    ID,
    STATUS,
    DECIDED,
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
    keep = ("id", STATUS, DECIDED, LABEL, TEXT)
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
            members = clusters.join(mine, on=[STAGE, CLUSTER]).select(
                STAGE, CLUSTER, ID, "kept", "similarity", LABEL, TEXT
            )
            if DECIDED in frame.columns:  # what a reviewer decided about a member, beside it
                members = members.join(frame.select(ID, DECIDED), on=ID, how="left", maintain_order="left")
            linked["cluster"] = members
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


LOG_POSITION = "_position"


def _decision_words(action: pl.Expr, label: pl.Expr) -> pl.Expr:
    return (
        pl.when(action == "relabel")
        .then(pl.format("relabel to {}", label))
        .when(action == "bad_generation")
        .then(pl.lit("marked bad"))
        .otherwise(action)
    )


def decision_marks(rows: pl.DataFrame, decisions: pl.DataFrame, applied: int) -> pl.DataFrame:
    """Per row that a decision names, what stands (the latest keep-or-reject, the latest relabel, a generated text
    marked bad), by whom, and whether a run applied it yet (the first `applied` decisions of the log were):
    `id`, `decided` ("relabel to X by Ana; keep by Ana (pending: applied on the next run)")."""
    if decisions.is_empty():
        return pl.DataFrame(schema={ID: pl.String, DECIDED: pl.String})
    log = decisions.with_row_index(LOG_POSITION)
    generated = (
        rows.filter(pl.col(AUGMENTED_FROM).is_not_null()).select(ID, AUGMENTED_FROM, TEXT)
        if AUGMENTED_FROM in rows.columns
        else pl.DataFrame(schema={ID: pl.String, AUGMENTED_FROM: pl.String, TEXT: pl.String})
    )
    bad = (
        log.filter(pl.col("action") == "bad_generation")
        .rename({ID: AUGMENTED_FROM})
        .join(generated, on=[AUGMENTED_FROM, TEXT])  # the generated row the mark is about
        .select(ID, "action", LABEL, "reviewer", LOG_POSITION)
    )
    standing = pl.concat(
        [
            log.filter(pl.col("action").is_in(["keep", "reject"])).unique(ID, keep="last"),
            log.filter(pl.col("action") == "relabel").unique(ID, keep="last"),
        ]
    ).select(ID, "action", LABEL, "reviewer", LOG_POSITION)
    return (
        pl.concat([standing, bad])
        .sort(LOG_POSITION)
        .with_columns(
            pl.format(
                "{} by {}{}",
                _decision_words(pl.col("action"), pl.col(LABEL)),
                pl.col("reviewer").fill_null("a reviewer"),
                pl.when(pl.col(LOG_POSITION) >= applied)
                .then(pl.lit(" (pending: applied on the next run)"))
                .otherwise(pl.lit("")),
            ).alias(DECIDED)
        )
        .group_by(ID, maintain_order=True)
        .agg(pl.col(DECIDED).str.join("; "))
    )


def with_decisions(rows: pl.DataFrame, marks: pl.DataFrame) -> pl.DataFrame:
    """`rows` with the `decided` column (null where nobody decided), placed after the status."""
    frame = rows.drop(DECIDED, strict=False).join(marks, on=ID, how="left", maintain_order="left")
    first = [c for c in (ID, STATUS) if c in frame.columns]
    return frame.select(*first, DECIDED, pl.exclude(*first, DECIDED))


def row_title(row: dict[str, Any]) -> str:
    """A row's heading: its status, why it was rejected, and what a reviewer decided."""
    title = f"{row[ID]} · {row[STATUS]}"
    if row[STATUS] == REJECTED:
        title += f" by {row[STAGE]} ({row[REASON]})"
    return title + (f" — decided: {row[DECIDED]}" if row.get(DECIDED) else "")


def decisions_table(decisions: pl.DataFrame, rows: pl.DataFrame, applied: int) -> pl.DataFrame:
    """The decision log, newest first, with each row's text and current label beside its id, and whether it is
    applied yet; a bad generation shows the generated text it is about."""
    known = rows.select(ID, pl.col(TEXT).alias("row_text"), pl.col(LABEL).alias("row_label"))
    return (
        decisions.with_row_index(LOG_POSITION)
        .join(known, on=ID, how="left", maintain_order="left")
        .select(
            "at",
            "reviewer",
            "action",
            ID,
            pl.col(LABEL).alias("new label"),
            pl.col("row_label").alias("label in this run"),
            pl.coalesce(TEXT, "row_text").alias(TEXT),
            pl.when(pl.col(LOG_POSITION) < applied).then(pl.lit("applied")).otherwise(pl.lit("pending")).alias("state"),
            "note",
        )
        .reverse()
    )
