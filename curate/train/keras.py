"""The Keras hand-off: an exported split as a `keras.utils.PyDataset` that `model.fit` takes.

Keras 3 runs on the torch backend that curate already installs (`pip install curate[keras]`), so
TensorFlow is not needed. Batches are token ids from a Hugging Face tokenizer (the packaged MiniLM
one by default, so nothing is downloaded), padded to the longest text in the batch rather than to a
fixed length, and the label's `ClassLabel` index, so the class order is the export's.
"""

from __future__ import annotations

import math
import os

import numpy as np

from curate.core.columns import LABEL, TEXT
from curate.core.errors import CurateError
from curate.core.extras import require


def _rows(split) -> tuple[list[str], list[int], list[str]]:
    """Texts, label indices and label names from a `datasets.Dataset` (ClassLabel) or a polars frame."""
    import polars as pl

    if isinstance(split, pl.DataFrame):
        names = sorted(split[LABEL].drop_nulls().unique().to_list())
        index = {name: i for i, name in enumerate(names)}
        return split[TEXT].to_list(), [index[v] for v in split[LABEL].to_list()], names
    feature = split.features.get(LABEL)
    if feature is None or not hasattr(feature, "names"):
        raise CurateError(
            "the split has no ClassLabel `label` column",
            LABEL,
            hint="export the run with `curate export RUN --format hf --split all` and load it with datasets.load_from_disk",
        )
    return list(split[TEXT]), list(split[LABEL]), list(feature.names)


def to_keras_dataset(
    split, tokenizer=None, batch_size: int = 32, max_length: int = 128, shuffle: bool = True, seed: int = 0
):
    """A PyDataset of (token ids, label index) batches; `.num_classes`, `.vocabulary_size` and `.label_names`
    size the model's first and last layers. Shuffled once per epoch (seeded) when `shuffle`."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    require("to_keras_dataset (Keras 3 on the torch backend)", "keras", "torch")
    import keras

    if tokenizer is None:
        require("to_keras_dataset's default tokenizer", "transformers")
        from transformers import AutoTokenizer

        from curate.core.embed import resolve_model

        tokenizer = AutoTokenizer.from_pretrained(resolve_model(None), local_files_only=True)
    texts, labels, names = _rows(split)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    labels = np.asarray(labels, dtype=np.int64)
    pad = tokenizer.pad_token_id or 0

    class TicketBatches(keras.utils.PyDataset):
        num_classes, vocabulary_size, label_names = len(names), len(tokenizer), names

        def __init__(self):
            super().__init__()
            self.order = np.arange(len(encoded))
            self.rng = np.random.default_rng(seed)
            if shuffle:
                self.rng.shuffle(self.order)

        def __len__(self) -> int:
            return math.ceil(len(encoded) / batch_size)

        def __getitem__(self, index: int):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            width = max(len(encoded[r]) for r in rows)
            ids = np.full((len(rows), width), pad, dtype=np.int64)
            for i, r in enumerate(rows):
                ids[i, : len(encoded[r])] = encoded[r]
            return ids, labels[rows]

        def on_epoch_end(self) -> None:
            if shuffle:
                self.rng.shuffle(self.order)

    return TicketBatches()
