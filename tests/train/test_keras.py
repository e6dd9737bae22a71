"""The Keras hand-off: an exported split trains a Keras 3 model (torch backend) with model.fit."""

import os

import numpy as np
import polars as pl
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")


def test_an_exported_run_trains_a_keras_model(sample_run, tmp_path):
    import datasets
    from typer.testing import CliRunner

    from curate.cli.main import app
    from curate.train.keras import to_keras_dataset

    assert (
        CliRunner().invoke(app, ["export", str(sample_run), "--out", str(tmp_path / "hf"), "--format", "hf"]).exit_code
        == 0
    )
    splits = datasets.load_from_disk(str(tmp_path / "hf"))
    train = to_keras_dataset(splits["train"], batch_size=16, seed=1)
    ids, labels = train[0]
    assert ids.dtype == np.int64 and ids.shape[0] == 16 == labels.shape[0] and (ids[:, 0] == 101).all()  # [CLS] first
    assert train.label_names == splits["train"].features["label"].names and len(train) == -(-len(splits["train"]) // 16)

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.layers.Embedding(train.vocabulary_size, 32),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(train.num_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    validation = to_keras_dataset(splits["validation"], shuffle=False)
    history = model.fit(train, validation_data=validation, epochs=8, verbose=0).history
    majority = pl.Series(splits["validation"]["label"]).value_counts()["count"].max() / len(splits["validation"])
    assert history["loss"][-1] < history["loss"][0] / 2
    assert history["val_accuracy"][-1] > majority + 0.2, (history["val_accuracy"], majority)


def test_a_split_without_class_labels_is_a_clear_error():
    import datasets

    from curate.core.errors import CurateError
    from curate.train.keras import to_keras_dataset

    with pytest.raises(CurateError, match="ClassLabel"):
        to_keras_dataset(datasets.Dataset.from_dict({"text": ["a"], "label": ["x"]}))
