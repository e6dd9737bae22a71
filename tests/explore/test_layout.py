"""The Map's data: rejected and flagged rows are placed and marked, a t-SNE layout is computed once and read back."""

import numpy as np
import polars as pl

from curate.explore import layout as L
from curate.explore.review import all_rows

APPROVED = pl.DataFrame(
    {
        "id": ["a", "b", "c", "c~copy0"],
        "text": ["refund my order", "where is my parcel", "cancel it please", "cancel it please"],
        "label": ["refund", "delivery", "cancel", "cancel"],
        "label_issue": [False, True, False, False],
        "quality_flags": [[], [], ["too_long"], []],
        "augmented_from": [None, None, None, "c"],
    }
)
REJECTED = pl.DataFrame(
    {
        "id": ["d", "e", "f"],
        "text": ["refund me now", "   ", "parcel not here"],
        "label": ["cancel", "refund", "delivery"],
        "stage": ["labels", "clean", "dedup:minhash"],
        "reason": ["likely_mislabelled", "empty_after_clean", "near_duplicate"],
        "label_issue": [True, None, None],
    }
)


def vectors_for(texts: pl.DataFrame) -> np.ndarray:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(texts.height, 8))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_map_places_rejected_and_flagged_rows_and_marks_them(tmp_path):
    rows = L.mappable(all_rows(APPROVED, REJECTED))
    texts = L.unique_texts(rows)
    points = L.map_points(rows, L.compute_layout(texts, vectors_for(texts), "pca", cache_dir=tmp_path))
    assert dict(zip(points["id"], points[L.MARK])) == {
        "a": "approved",
        "b": "flagged",  # likely mislabelled, kept
        "c": "flagged",  # a quality flag
        "c~copy0": "generated",
        "d": "rejected",
        "f": "rejected",
    }  # "e" has no text to place
    assert texts.height == 5 and points.filter(pl.col("id").is_in(["c", "c~copy0"]))["x"].n_unique() == 1
    assert points["flags"].to_list()[:3] == ["", "likely_mislabelled", "too_long"]
    assert len(set(L.palette(40))) == 40


def test_a_tsne_layout_is_computed_once_and_read_back(tmp_path, monkeypatch):
    rows = L.mappable(all_rows(APPROVED, REJECTED))
    texts = L.unique_texts(rows)
    calls = []
    real = L.tsne_2d
    monkeypatch.setattr(L, "tsne_2d", lambda vectors, seed: calls.append(seed) or real(vectors, seed))
    assert L.cached_layout(texts, cache_dir=tmp_path) is None
    first = L.compute_layout(texts, vectors_for(texts), "tsne", cache_dir=tmp_path)
    file = L.layout_file(texts[L.KEY], "tsne", 0, None, tmp_path)
    stamp = file.stat().st_mtime_ns
    again = L.compute_layout(texts, vectors_for(texts), "tsne", cache_dir=tmp_path)
    assert calls == [0] and file.stat().st_mtime_ns == stamp and again.equals(first)
    assert (
        L.cached_layout(texts.reverse(), cache_dir=tmp_path) is None
    )  # keyed by the texts as unique_texts orders them
    other = L.unique_texts(rows.filter(pl.col("id") != "a"))
    assert L.cached_layout(other, cache_dir=tmp_path) is None  # other texts: another layout


def test_similar_rows_come_closest_first_with_label_and_status():
    rows = L.mappable(all_rows(APPROVED, REJECTED))
    texts = L.unique_texts(rows)
    vectors = vectors_for(texts)
    near = L.similar_rows(rows, texts, vectors, "c", k=3)
    assert near["id"][0] == "c~copy0" and near[L.SIMILAR][0] == 1.0
    assert near[L.SIMILAR].to_list() == sorted(near[L.SIMILAR].to_list(), reverse=True)
    assert {"label", "status"} <= set(near.columns) and "c" not in near["id"].to_list()
    assert L.similar_rows(rows, texts, vectors, "nope").is_empty()
