import numpy as np
import polars as pl
import pytest
from datasketch import MinHash, MinHashLSH

from curate.clean.normalize import Clean
from curate.dedup.minhash import MinHashDedup, MinHasher, normalize_for_shingles, shingle_hashes
from tests.conftest import frame

TEXTS = ["Where is my order 123?", "where is my ordr 123", "hi", "", "cancel my subscription please",
         "I want to cancel my subscription, please", "Ünïcödé tickét naïve café"]


@pytest.mark.parametrize("unit, ngram", [("char", 3), ("char", 5), ("word", 1), ("word", 2)])
def test_signatures_equal_datasketch_on_the_same_shingles(unit, ngram):
    hasher = MinHasher(num_perm=64, ngram=ngram, unit=unit, seed=3)
    ours = hasher.signatures(pl.Series(TEXTS))
    hashes, offsets = shingle_hashes(normalize_for_shingles(pl.Series(TEXTS)).to_list(), ngram, unit)
    ends = np.append(offsets[1:], len(hashes))
    for d, (start, end) in enumerate(zip(offsets, ends)):
        reference = MinHash(num_perm=64, seed=3, hashfunc=lambda value: value)
        reference.update_batch([int(h) for h in hashes[start:end]])
        np.testing.assert_array_equal(reference.hashvalues, ours[d])


def test_shingles_of_a_text_do_not_depend_on_its_neighbours():
    alone = MinHasher().signatures(pl.Series(["", "ab"]))
    other = MinHasher().signatures(pl.Series(["", "zzzz"]))
    np.testing.assert_array_equal(alone[0], other[0])


def test_finds_near_duplicates_and_names_similarity():
    rows = frame(["I need to cancel my order 4521 today please",
                  "i need to cancel my ordr 4521 today please!!",
                  "I need to cancel my order 9981 today please",
                  "What are your opening hours?"])
    result = MinHashDedup(threshold=0.7).apply(rows)
    assert result.kept["id"].to_list() == ["r0", "r2", "r3"]
    rejected = result.rejected.row(0, named=True)
    assert (rejected["id"], rejected["reason"], rejected["duplicate_of"]) == ("r1", "near_duplicate", "r0")
    assert 0.7 <= rejected["similarity"] < 1 and rejected["detail"].startswith("duplicate of r0 (similarity 0.")
    # Order 9981 is another customer's ticket: different numbers are never merged by default.
    merged = MinHashDedup(threshold=0.7, same_numbers=False).apply(rows)
    assert set(merged.rejected["id"]) == {"r1", "r2"}


def test_lsh_candidates_agree_with_datasketch_index(sample_rows):
    """Our banding finds the pairs that datasketch's MinHashLSH finds for the same signatures."""
    rows = Clean().apply(sample_rows).kept.head(600)
    hasher = MinHasher(num_perm=128)
    signatures = hasher.signatures(rows["text"])
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    for i, signature in enumerate(signatures):
        lsh.insert(str(i), MinHash(num_perm=128, hashvalues=signature, scheme="affine32"))
    from curate.dedup.minhash import near_duplicate_clusters

    labels = near_duplicate_clusters(signatures, 0.8)
    for i, signature in enumerate(signatures):
        query = MinHash(num_perm=128, hashvalues=signature, scheme="affine32")
        neighbours = [int(j) for j in lsh.query(query) if int(j) != i and (signatures[int(j)] == signature).mean() >= 0.8]
        for j in neighbours:
            assert labels[i] == labels[j] != -1


def test_planted_resends_found(sample_rows, truth):
    rows = Clean().apply(sample_rows).kept
    result = MinHashDedup().apply(rows)
    cluster_of = result.artifacts["clusters"].select("id", "cluster")
    planted = (truth.filter(pl.col("kind").is_in(["exact_dup", "near_dup"])).select("ticket_id", "duplicate_of", "kind")
               .join(cluster_of, left_on="ticket_id", right_on="id", how="left")
               .join(cluster_of, left_on="duplicate_of", right_on="id", how="left", suffix="_original"))
    found = (planted["cluster"] == planted["cluster_original"]).fill_null(False)
    assert found.filter(planted["kind"] == "exact_dup").mean() == 1.0
    assert found.mean() >= 0.75
