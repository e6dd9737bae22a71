"""The review queue's pure parts: KNN-Shapley against a brute-force Shapley computation, the ranking, the decisions
a bulk accept writes."""

from itertools import combinations
from math import factorial

import numpy as np
import polars as pl
import pytest

from curate.explore.queue import (
    CONFIDENCE,
    DECIDED,
    PENDING,
    PRIORITY,
    REVIEW_STATUS,
    WHY,
    above_confidence,
    accept_suggestions,
    knn_shapley,
    progress,
    review_queue,
    with_review_status,
)
from curate.io.review import append_decisions, new_decision, read_decisions


def knn_utility(distances: np.ndarray, train_labels, test_labels, subset: tuple[int, ...], k: int) -> float:
    """U(S): the share of each test point's K nearest in S (ties by index) that carry its label, over test points."""
    if not subset:
        return 0.0
    members = np.array(subset)
    total = 0.0
    for row, label in zip(distances, test_labels):
        nearest = members[np.lexsort((members, row[members]))][:k]
        total += sum(train_labels[j] == label for j in nearest) / k
    return total / len(test_labels)


def brute_force_shapley(distances, train_labels, test_labels, k) -> np.ndarray:
    """Shapley values by their definition: every subset, weighted |S|!(N−|S|−1)!/N!."""
    n = distances.shape[1]
    values = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for subset in combinations(others, size):
                with_i = tuple(sorted((*subset, i)))
                values[i] += weight * (
                    knn_utility(distances, train_labels, test_labels, with_i, k)
                    - knn_utility(distances, train_labels, test_labels, subset, k)
                )
    return values


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_knn_shapley_matches_the_brute_force_definition(k):
    rng = np.random.default_rng(k)
    train, test = rng.normal(size=(7, 2)), rng.normal(size=(3, 2))
    train_labels, test_labels = rng.choice(["a", "b"], size=7), rng.choice(["a", "b"], size=3)
    distances = np.linalg.norm(test[:, None] - train[None], axis=2)
    expected = brute_force_shapley(distances, train_labels, test_labels, k)
    assert np.allclose(knn_shapley(distances, train_labels, test_labels, k), expected)
    # efficiency: the values add up to U(everything) − U(nothing)
    assert np.isclose(expected.sum(), knn_utility(distances, train_labels, test_labels, tuple(range(7)), k))


def test_a_wrongly_labelled_neighbour_has_negative_value():
    distances = np.array([[0.1, 0.2, 0.3, 0.9]])
    values = knn_shapley(distances, np.array(["x", "y", "x", "x"]), np.array(["x"]), k=1)
    assert values[1] < 0 < values[0] and values[0] > values[2]


ROWS = pl.DataFrame(
    {
        "id": ["clean", "suspect", "sure", "conflict", "flagged", "copy"],
        "text": ["a", "b", "c", "d", "e", "f"],
        "label": ["x", "x", "x", "y", "y", "y"],
        "status": ["approved", "approved", "rejected", "rejected", "approved", "approved"],
        "stage": [None, None, "labels", "dedup:exact", None, None],
        "reason": [None, None, "likely_mislabelled", "label_conflict", None, None],
        "label_issue": [False, True, True, False, False, False],
        "label_quality": [0.9, 0.4, 0.05, None, 0.8, 0.9],
        "label_suggested": ["x", "y", "y", None, "y", "y"],
        "label_conflict": [False, False, False, True, False, False],
        "quality_flags": [[], [], [], [], ["too_long"], []],
        "augmented_from": [None, None, None, None, None, "clean"],
        "augment_similarity": [None, None, None, None, None, 0.5],
    }
)


def test_the_queue_ranks_sure_suspects_first_and_leaves_clean_rows_out():
    queue = review_queue(ROWS, pl.Series("knn_shapley", [0.1, -0.2, -0.5, 0.0, 0.0, 0.0]))
    assert queue["id"].to_list() == ["sure", "suspect", "conflict", "copy", "flagged"]
    assert queue.row(0, named=True)[WHY] == ["likely_mislabelled", "low_value"]
    assert queue[PRIORITY].to_list() == sorted(queue[PRIORITY].to_list(), reverse=True)
    assert queue.filter(pl.col("id") == "sure")[CONFIDENCE][0] == 0.95


def test_bulk_accept_writes_a_relabel_per_row_above_the_confidence(tmp_path):
    log = tmp_path / "review" / "decisions.parquet"
    append_decisions(log, new_decision("suspect", "keep", reviewer="ann"))
    queue = with_review_status(review_queue(ROWS), read_decisions(log))
    assert dict(zip(queue["id"], queue[REVIEW_STATUS]))["suspect"] == DECIDED and progress(queue) == (1, 5)
    assert above_confidence(queue, 0.5) == ["sure"]  # "suspect" is decided already
    written = append_decisions(log, accept_suggestions(queue, above_confidence(queue, 0.5), reviewer="bo"))
    assert written.select("id", "action", "label", "reviewer").rows() == [
        ("suspect", "keep", None, "ann"),
        ("sure", "relabel", "y", "bo"),
    ]
    queue = with_review_status(queue, read_decisions(log))
    assert set(queue.filter(pl.col(REVIEW_STATUS) == PENDING)["id"]) == {"conflict", "copy", "flagged"}
    assert accept_suggestions(queue, ["conflict"], reviewer="bo").is_empty()  # no other label to accept
