"""Embedding batches cut by tokens, and the embedding cache read by shard."""

from unittest import mock

import numpy as np
import polars as pl
import pytest
import xxhash

from curate.core import embed
from curate.core.embed import TOKENS_PER_BATCH, encode_chunk, load_sentence_model, resolve_model
from tests.conftest import SAMPLE


@pytest.mark.slow
def test_long_texts_go_in_small_batches_and_each_vector_stays_with_its_text():
    """The bundled sample's agent responses (long) between its customer messages (short), against sentence-transformers
    encoding each text on its own."""
    sample = pl.read_csv(SAMPLE / "eval.csv").head(12)
    responses = [" ".join(sample["response"][i : i + 3]) for i in range(0, 12, 3)]  # cut to 256 tokens each
    texts = [t for pair in zip(sample["body"].to_list(), responses * 3) for t in pair]
    encoder = load_sentence_model(resolve_model(None))
    sizes = []
    real_encode = encoder.encode

    def counting(batch, **kwargs):
        sizes.append((len(batch), max(len(encoder.tokenizer(t, truncation=True)["input_ids"]) for t in batch)))
        return real_encode(batch, **kwargs)

    with mock.patch.object(encoder, "encode", side_effect=counting):
        vectors = encode_chunk(encoder, texts, batch_size=64)
    alone = np.stack([real_encode([t], normalize_embeddings=True)[0] for t in texts])
    np.testing.assert_allclose(vectors, alone, atol=1e-5)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 384)
    assert all(size * min(longest, encoder.max_seq_length) <= max(TOKENS_PER_BATCH, longest) for size, longest in sizes)
    assert sizes[0][0] < 8 and sizes[-1][0] >= 6  # the long responses a few at a time, the short messages together
    assert sum(size for size, _ in sizes) == len(texts)


def test_a_model_whose_tokenizer_is_not_a_transformers_one_keeps_its_own_batches():
    """A static embedding (a `tokenizers.Tokenizer`, no `return_length`) is encoded as sentence-transformers batches it."""
    from pathlib import Path

    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import StaticEmbedding
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(resolve_model(None)) / "tokenizer.json"))
    static = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_dim=8)], device="cpu")
    texts = ["refund my order", "cannot log in to my account", "where is my parcel"]
    expected = static.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(encode_chunk(static, texts, batch_size=64), expected, atol=1e-6)


def _vectors_by_text(model, chunks, size, done):
    """A stand-in encoder: a vector that depends on its text only (seeded by its hash), so a vector read back can be
    checked."""
    parts = []
    for chunk in chunks:
        parts.append(
            np.stack([np.random.default_rng(xxhash.xxh64_intdigest(t.encode())).normal(size=8) for t in chunk]).astype(
                np.float32
            )
        )
        done(len(chunk))
    return parts


def test_the_cache_gives_back_each_texts_own_vector_and_reads_only_the_shards_that_hold_one(tmp_path):
    texts = [f"ticket {i}: my parcel number {i * 7} is late" for i in range(60)]
    writer = embed.Embedder(cache_dir=tmp_path, encode_chunks=_vectors_by_text)
    for start in range(0, 60, 20):  # three shards
        writer.encode(texts[start : start + 20])
    shards = sorted(tmp_path.rglob("*.parquet"))
    assert len(shards) == 3
    expected = np.concatenate(_vectors_by_text(None, [texts], 0, lambda n: None))
    assert len({v.tobytes() for v in expected}) == 60
    encoded = []

    def count(model, chunks, size, done):
        encoded.extend(t for chunk in chunks for t in chunk)
        return _vectors_by_text(model, chunks, size, done)

    reader = embed.Embedder(cache_dir=tmp_path, encode_chunks=count)
    wanted = [texts[3], texts[45], texts[3], "a text never seen"]  # two shards of three, a repeat, one miss
    with mock.patch.object(embed.pl, "scan_parquet", wraps=pl.scan_parquet) as scans:
        vectors = reader.encode(wanted)
    np.testing.assert_array_equal(vectors[:3], expected[[3, 45, 3]])
    assert encoded == ["a text never seen"]
    wanted_keys = set(embed.text_keys([texts[3], texts[45]]))
    holding = sorted(str(s) for s in shards if wanted_keys & set(pl.read_parquet(s)["key"].to_list()))
    assert len(holding) == 2
    read_for_vectors = sorted(map(str, scans.call_args_list[-1].args[0]))  # the last scan reads the vectors
    assert read_for_vectors == holding


@pytest.mark.slow
def test_a_single_text_and_none():
    encoder = load_sentence_model(resolve_model(None))
    one = encode_chunk(encoder, ["where is my parcel"], batch_size=64)
    assert one.shape == (1, 384) and abs(float(np.linalg.norm(one[0])) - 1) < 1e-5
    assert embed.Embedder(cache=False).encode([]).shape == (0, 0)


@pytest.mark.slow
def test_a_gpu_keeps_sentence_transformers_batches():
    """The token budget was measured on two CPU cores; on a GPU the chunk goes to sentence-transformers whole."""
    import torch

    encoder = load_sentence_model(resolve_model(None))
    texts = ["a long complaint about my mortgage servicer " * 30, "refund", "where is my parcel"]
    with (
        mock.patch.object(type(encoder), "device", new_callable=mock.PropertyMock, return_value=torch.device("cuda")),
        mock.patch.object(encoder, "encode", return_value=np.zeros((3, 384), np.float32)) as encode,
    ):
        encode_chunk(encoder, texts, batch_size=64)
    assert encode.call_count == 1 and encode.call_args.args[0] == texts and encode.call_args.kwargs["batch_size"] == 64
