"""Loading or encoding with a model changes nothing for the rest of the process: a notebook that encodes with curate
can still download a model afterwards, and its own transformers logging stays as it set it."""

import os

import pytest
from transformers.utils import logging as transformers_logging

from curate.core.embed import Embedder, load_sentence_model
from curate.core.model_loading import local_files, quiet_transformers
from curate.train.classify import load_backbone


def process_settings() -> tuple[dict[str, str], int, bool]:
    hugging_face = {name: value for name, value in os.environ.items() if name.startswith(("HF_", "TRANSFORMERS_"))}
    return hugging_face, transformers_logging.get_verbosity(), transformers_logging.is_progress_bar_enabled()


@pytest.fixture
def users_settings(monkeypatch):
    """A user who left the hub on and asked transformers for info logs and progress bars; put back afterwards."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    verbosity, bars = transformers_logging.get_verbosity(), transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_info()
    transformers_logging.enable_progress_bar()
    yield
    transformers_logging.set_verbosity(verbosity)
    (transformers_logging.enable_progress_bar if bars else transformers_logging.disable_progress_bar)()


def test_encoding_and_loading_the_classifier_leave_hugging_face_settings_as_they_were(users_settings, tiny_model):
    before = process_settings()
    load_sentence_model.cache_clear()  # load the model here, not in an earlier test
    vectors = Embedder(cache=False).encode(["refund my order", "cannot log in"])
    _, network = load_backbone(tiny_model, 2)
    assert vectors.shape[0] == 2 and network.head.out_features == 2
    assert process_settings() == before
    assert "HF_HUB_OFFLINE" not in os.environ and transformers_logging.get_verbosity() == transformers_logging.INFO


def test_quiet_transformers_silences_the_block_only_even_when_it_fails(users_settings):
    with pytest.raises(OSError), quiet_transformers():
        assert transformers_logging.get_verbosity() == transformers_logging.ERROR
        assert not transformers_logging.is_progress_bar_enabled()
        raise OSError("no such model")
    assert transformers_logging.get_verbosity() == transformers_logging.INFO
    assert transformers_logging.is_progress_bar_enabled()


def test_a_folder_loads_from_its_files_and_a_hub_name_is_left_to_the_hub(tiny_model):
    assert local_files(tiny_model) == {"local_files_only": True}
    assert local_files("sentence-transformers/all-mpnet-base-v2") == {}
