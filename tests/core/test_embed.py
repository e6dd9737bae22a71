"""Embedding batches cut by tokens: long texts in small batches, every vector where its text is, and the same vector
as sentence-transformers gives the text on its own."""

from unittest import mock

import numpy as np
import polars as pl
import pytest

from curate.core import embed
from curate.core.embed import TOKENS_PER_BATCH, encode_chunk, load_sentence_model, resolve_model
from tests.conftest import ROOT

CFPB = ROOT.parent / "shared" / "data" / "cfpb" / "complaints.csv"


@pytest.mark.skipif(not CFPB.exists(), reason="the shared real data sets are not on this machine")
def test_long_texts_go_in_small_batches_and_each_vector_stays_with_its_text():
    narratives = pl.read_csv(CFPB)["Consumer complaint narrative"].head(12).to_list()
    queries = ["refund my order", "cannot log in", "where is my parcel", "cancel it", "hi"]
    texts = [t for pair in zip(narratives, queries * 3) for t in pair] + narratives[len(queries) * 3 :]
    encoder = load_sentence_model(resolve_model(None))
    sizes = []
    real_encode = encoder.encode

    def counting(batch, **kwargs):
        sizes.append((len(batch), max(len(encoder.tokenizer(t)["input_ids"]) for t in batch)))
        return real_encode(batch, **kwargs)

    with mock.patch.object(encoder, "encode", side_effect=counting):
        vectors = encode_chunk(encoder, texts, batch_size=64)
    alone = np.stack([real_encode([t], normalize_embeddings=True)[0] for t in texts])
    np.testing.assert_allclose(vectors, alone, atol=1e-5)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 384)
    # long narratives (up to 256 tokens) four at a time, the short queries together in one batch
    assert all(size * min(longest, encoder.max_seq_length) <= max(TOKENS_PER_BATCH, longest) for size, longest in sizes)
    assert sizes[0][0] < 8 and sizes[-1][0] >= len(queries)
    assert sum(size for size, _ in sizes) == len(texts)


def test_a_single_text_and_none():
    encoder = load_sentence_model(resolve_model(None))
    one = encode_chunk(encoder, ["where is my parcel"], batch_size=64)
    assert one.shape == (1, 384) and abs(float(np.linalg.norm(one[0])) - 1) < 1e-5
    assert embed.Embedder(cache=False).encode([]).shape == (0, 0)


def _vectors_by_text(model, chunks, size, done):
    """A stand-in encoder: a vector that depends on its text only, so a vector read back can be checked."""
    parts = []
    for chunk in chunks:
        parts.append(
            np.stack([np.random.default_rng(sum(t.encode())).normal(size=8) for t in chunk]).astype(np.float32)
        )
        done(len(chunk))
    return parts


def test_the_cache_gives_back_each_texts_own_vector_from_many_shards(tmp_path):
    texts = [f"ticket {i}: my parcel number {i * 7} is late" for i in range(60)]
    writer = embed.Embedder(cache_dir=tmp_path, encode_chunks=_vectors_by_text)
    for start in range(0, 60, 20):  # three shards
        writer.encode(texts[start : start + 20])
    assert len(list(tmp_path.rglob("*.parquet"))) == 3
    expected = np.concatenate(_vectors_by_text(None, [texts], 0, lambda n: None))
    encoded = []

    def count(model, chunks, size, done):
        encoded.extend(t for chunk in chunks for t in chunk)
        return _vectors_by_text(model, chunks, size, done)

    reader = embed.Embedder(cache_dir=tmp_path, encode_chunks=count)
    wanted = [texts[3], texts[45], texts[3], "a text never seen"]  # two shards of three, a repeat, one miss
    vectors = reader.encode(wanted)
    np.testing.assert_array_equal(vectors[:3], expected[[3, 45, 3]])
    assert encoded == ["a text never seen"]
