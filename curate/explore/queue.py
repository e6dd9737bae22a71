"""The review queue: the rows of a run that most need a person, ranked, with where each stands in the reviewer's log.

A row enters the queue for any of these reasons, each scored in [0, 1] (the row's priority is its highest score):

    likely_mislabelled   the label check suspects its label: 0.5 + 0.5 × how sure (1 − the out-of-fold probability of
                         its own label, `label_quality`)
    label_conflict       identical or near-identical texts carried other labels: 0.6
    low_value            KNN-Shapley value below zero (the row, as a training example, makes a nearest-neighbour
                         classifier worse on the validation rows): up to 0.5, by how far below
    quality_flag         a quality check flagged it, or dropped it: 0.4
    generated            a generated row, by how far its checks' similarity to its source fell: 0.3 + 0.4 × (1 − it)

KNN-Shapley is the closed form of Jia et al. (2019), "Efficient task-specific data valuation for nearest neighbor
algorithms" (VLDB): exact Shapley values of the K-nearest-neighbour utility in O(N log N) per test point.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.core.columns import (
    AUGMENT_SIMILARITY,
    AUGMENTED_FROM,
    ID,
    LABEL,
    LABEL_CONFLICT,
    LABEL_ISSUE,
    LABEL_QUALITY,
    LABEL_SUGGESTED,
    QUALITY_FLAGS,
    REASON,
    SPLIT,
    STAGE,
    TEXT,
    VALIDATION,
)
from curate.explore.layout import one_blas_thread
from curate.explore.review import APPROVED, STATUS

PRIORITY, WHY, CONFIDENCE, VALUE = "priority", "why", "confidence", "knn_shapley"
DECISION, DECIDED_BY, DECIDED_AT = "decision", "decided_by", "decided_at"
PENDING, DECIDED = "pending", "decided"
REVIEW_STATUS = "review_status"


def knn_shapley(distances: np.ndarray, train_labels: np.ndarray, test_labels: np.ndarray, k: int) -> np.ndarray:
    """Each training point's Shapley value for the K-nearest-neighbour utility U(S) = (1/K) Σ over the min(K, |S|)
    points of S nearest a test point of [label = the test point's label], averaged over the test points.

    `distances` is (test points × training points); ties are broken by the training point's index. Closed form,
    from the farthest point inwards: s(α_N) = [y_αN = y] / N, s(α_i) = s(α_i+1) + ([y_αi = y] − [y_αi+1 = y]) / K ×
    min(K, i) / i.
    """
    distances = np.atleast_2d(np.asarray(distances, dtype=np.float64))
    n_test, n = distances.shape
    if n == 0 or n_test == 0:
        return np.zeros(n)
    order = np.argsort(distances, axis=1, kind="stable")  # nearest first
    match = (np.asarray(train_labels)[order] == np.asarray(test_labels)[:, None]).astype(np.float64)
    values = np.empty_like(match)
    values[:, -1] = match[:, -1] / n
    if n > 1:
        i = np.arange(1, n)  # 1-based rank of α_i, for i = 1 … N − 1
        steps = (match[:, :-1] - match[:, 1:]) / k * np.minimum(k, i) / i
        values[:, :-1] = values[:, -1:] + np.cumsum(steps[:, ::-1], axis=1)[:, ::-1]
    per_point = np.zeros_like(values)
    np.put_along_axis(per_point, order, values, axis=1)
    return per_point.mean(axis=0)


def row_values(rows: pl.DataFrame, vectors: np.ndarray, k: int = 10, max_test: int = 1000, seed: int = 0) -> pl.Series:
    """KNN-Shapley of every row (cosine distance between `vectors`, one per row), valued on the approved validation
    rows (leave-one-out over the rows themselves when there are none); null for the test rows and unlabelled ones."""
    labels = rows[LABEL].cast(pl.String)
    real = rows[AUGMENTED_FROM].is_null() if AUGMENTED_FROM in rows.columns else pl.Series([True] * rows.height)
    test = (rows[STATUS] == APPROVED) & real & labels.is_not_null()
    if SPLIT in rows.columns:
        test = test & (rows[SPLIT] == VALIDATION).fill_null(False)
    test_index = test.arg_true().to_numpy()
    train_index = (labels.is_not_null() & ~test).arg_true().to_numpy()
    values = np.full(rows.height, np.nan)
    if len(test_index) == 0:  # no validation split: each row valued on all the others
        test_index = train_index
    if len(test_index) > max_test:
        test_index = np.sort(np.random.default_rng(seed).choice(test_index, max_test, replace=False))
    if len(train_index) == 0:
        return pl.Series(VALUE, values)
    with one_blas_thread():
        distances = 1.0 - vectors[test_index] @ vectors[train_index].T
    if np.array_equal(test_index, train_index):
        np.fill_diagonal(distances, np.inf)  # a row never counts as its own neighbour
    label_array = labels.fill_null("").to_numpy()
    values[train_index] = knn_shapley(distances, label_array[train_index], label_array[test_index], k)
    return pl.Series(VALUE, values).fill_nan(None)


def _column(rows: pl.DataFrame, name: str, default: pl.Expr) -> pl.Expr:
    return pl.col(name) if name in rows.columns else default


def review_queue(rows: pl.DataFrame, values: pl.Series | None = None) -> pl.DataFrame:
    """The rows (curate.explore.review.all_rows) that have a reason to be looked at, highest priority first, with
    `why` (every reason), `confidence` (how sure the label check is that the label is wrong) and `knn_shapley`."""
    frame = rows.with_columns(values if values is not None else pl.lit(None, pl.Float64).alias(VALUE))
    negative = frame[VALUE].filter(frame[VALUE] < 0)
    scale = float(negative.abs().quantile(0.9)) if negative.len() else 1.0
    quality = _column(frame, LABEL_QUALITY, pl.lit(None, pl.Float64)).cast(pl.Float64)
    confidence = (1 - quality).clip(0, 1)
    flagged_quality = _column(frame, QUALITY_FLAGS, pl.lit([], pl.List(pl.String))).list.len().fill_null(0) > 0
    dropped_quality = _column(frame, STAGE, pl.lit(None, pl.String)) == "quality"
    similarity = _column(frame, AUGMENT_SIMILARITY, pl.lit(None, pl.Float64)).cast(pl.Float64)
    generated = _column(frame, AUGMENTED_FROM, pl.lit(None, pl.String)).is_not_null() & similarity.is_not_null()
    scores = {
        "likely_mislabelled": pl.when(_column(frame, LABEL_ISSUE, pl.lit(False)).fill_null(False)).then(
            0.5 + 0.5 * confidence.fill_null(0.5)
        ),
        "label_conflict": pl.when(
            _column(frame, LABEL_CONFLICT, pl.lit(False)).fill_null(False)
            | (_column(frame, REASON, pl.lit(None, pl.String)) == "label_conflict")
        ).then(pl.lit(0.6)),
        "low_value": pl.when(pl.col(VALUE) < 0).then((0.5 * (-pl.col(VALUE) / scale)).clip(0, 0.5)),
        "quality_flag": pl.when(flagged_quality.fill_null(False) | dropped_quality.fill_null(False)).then(pl.lit(0.4)),
        "generated": pl.when(generated).then(0.3 + 0.4 * (1 - similarity).clip(0, 1)),
    }
    scored = frame.with_columns(
        *[expr.alias(f"_{name}") for name, expr in scores.items()], confidence.round(4).alias(CONFIDENCE)
    )
    names = list(scores)
    why = pl.concat_list(
        [
            pl.when(pl.col(f"_{n}").is_not_null()).then(pl.lit([n])).otherwise(pl.lit([], pl.List(pl.String)))
            for n in names
        ]
    )
    queue = (
        scored.with_columns(pl.max_horizontal([f"_{n}" for n in names]).round(4).alias(PRIORITY), why.alias(WHY))
        .filter(pl.col(PRIORITY).is_not_null())
        .drop([f"_{n}" for n in names])
        .sort([PRIORITY, VALUE, ID], descending=[True, False, False], nulls_last=True)
    )
    first = [ID, PRIORITY, WHY, CONFIDENCE, LABEL, LABEL_SUGGESTED, VALUE, STATUS, STAGE, REASON, TEXT]
    return queue.select([c for c in first if c in queue.columns] + [c for c in queue.columns if c not in first])


def with_review_status(queue: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """The queue with each row's latest decision in the reviewer's log: `review_status` (pending or decided), the
    action, who decided and when."""
    latest = (
        decisions.with_row_index("_order")
        .sort("_order")
        .group_by(ID, maintain_order=True)
        .last()
        .select(
            ID, pl.col("action").alias(DECISION), pl.col("reviewer").alias(DECIDED_BY), pl.col("at").alias(DECIDED_AT)
        )
    )
    joined = queue.drop([DECISION, DECIDED_BY, DECIDED_AT], strict=False).join(
        latest, on=ID, how="left", maintain_order="left"
    )
    return joined.with_columns(
        pl.when(pl.col(DECISION).is_not_null()).then(pl.lit(DECIDED)).otherwise(pl.lit(PENDING)).alias(REVIEW_STATUS)
    )


def progress(queue: pl.DataFrame) -> tuple[int, int]:
    """(rows decided, rows in the queue)."""
    return int((queue[REVIEW_STATUS] == DECIDED).sum()), queue.height


def has_suggestion(queue: pl.DataFrame) -> pl.Expr:
    if LABEL_SUGGESTED not in queue.columns:
        return pl.lit(False)
    return pl.col(LABEL_SUGGESTED).is_not_null() & (pl.col(LABEL_SUGGESTED) != pl.col(LABEL)).fill_null(True)


def above_confidence(queue: pl.DataFrame, confidence: float) -> list[str]:
    """The pending rows whose label the check suspects with at least `confidence` and that have another label to take."""
    chosen = queue.filter(
        has_suggestion(queue)
        & (pl.col(CONFIDENCE) >= confidence)
        & pl.col(WHY).list.contains("likely_mislabelled")
        & (pl.col(REVIEW_STATUS) == PENDING)
    )
    return chosen[ID].to_list()


def accept_suggestions(queue: pl.DataFrame, ids: list[str], reviewer: str, note: str | None = None) -> pl.DataFrame:
    """`relabel` decisions (curate.io.review's log rows) giving each of `ids` its suggested label; rows with no other
    label suggested are left out."""
    from curate.io.review import new_decision, no_decisions

    wanted = queue.filter(pl.col(ID).is_in(ids) & has_suggestion(queue))
    decisions = [
        new_decision(row[ID], "relabel", label=row[LABEL_SUGGESTED], reviewer=reviewer, note=note)
        for row in wanted.iter_rows(named=True)
    ]
    return pl.concat(decisions) if decisions else no_decisions()
