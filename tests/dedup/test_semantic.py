from collections import Counter

import numpy as np
import polars as pl
import pytest

from curate.stages.dedup.clusters import components
from curate.stages.dedup.semantic import SemanticDedup, partitioned_pairs, similar_pairs
from curate.core.embed import Embedder
from tests.conftest import frame


def test_blocked_search_finds_exactly_the_pairs_over_threshold():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors[150] = vectors[3] + 0.01
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = vectors @ vectors.T
    expected = {(i, j) for i in range(300) for j in range(i + 1, 300) if sims[i, j] >= 0.6}
    assert {tuple(p) for p in similar_pairs(vectors, 0.6, block=64).tolist()} == expected
    assert (3, 150) in {tuple(p) for p in partitioned_pairs(vectors, 0.99, partition_size=100, seed=0).tolist()}


def test_components_link_chains():
    assert components(5, np.array([[0, 1], [1, 3]])).tolist()[4] == -1
    labels = components(5, np.array([[0, 1], [1, 3]]))
    assert labels[0] == labels[1] == labels[3] != -1


def test_linked_groups_from_packed_pairs_match_a_union_find():
    """`Linked.groups` takes the held pairs packed (one int64 each, repeats and both orders allowed) and finds the
    same groups as a plain union-find over the pairs."""
    from curate.core.spread import Linked, packed

    rng = np.random.default_rng(3)
    n = 2_000
    pairs = rng.integers(0, n, size=(900, 2))
    pairs = np.concatenate([pairs, pairs[:100]])  # repeats, as two LSH bands find the same pair
    parent = list(range(n))

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, j in pairs.tolist():
        parent[root(i)] = root(j)
    roots = [root(k) for k in range(n)]
    linked = Linked(features=lambda rows, ctx: rows, keys=lambda f: [], resolve=lambda *a: None)
    groups, _ = linked.groups(None, packed(pairs, n), n)
    for a in range(0, n, 7):
        for b in range(a + 1, n, 13):
            assert (groups[a] == groups[b] and groups[a] >= 0) == (roots[a] == roots[b])
    sizes = Counter(roots)
    assert (groups >= 0).sum() == sum(1 for k in range(n) if sizes[roots[k]] > 1)


@pytest.mark.slow
def test_semantic_dedup_with_minilm(tmp_path):
    rows = frame(
        [
            "password reset link does not work",
            "the link to reset my password is broken",
            "What are your opening hours?",
            "When do you open?",
        ]
    )
    result = SemanticDedup(threshold=0.75).apply(rows)
    assert (
        "r1" in set(result.rejected["id"]) and result.rejected.filter(pl.col("id") == "r1")["duplicate_of"][0] == "r0"
    )
    assert "r2" in set(result.kept["id"])
    assert result.rejected["reason"].unique().to_list() == ["semantic_duplicate"]


@pytest.mark.slow
def test_embedding_cache_means_no_second_encode(tmp_path, monkeypatch):
    embedder = Embedder(cache_dir=tmp_path)
    first = embedder.encode(["refund please", "where is my parcel"])
    assert len(list((tmp_path / "embeddings").rglob("*.parquet"))) == 1
    import curate.core.embed as embed

    monkeypatch.setattr(embed, "load_sentence_model", lambda *_: pytest.fail("encoded again"))
    np.testing.assert_allclose(embedder.encode(["where is my parcel", "refund please"]), first[::-1])
    assert abs(np.linalg.norm(first[0]) - 1) < 1e-5
