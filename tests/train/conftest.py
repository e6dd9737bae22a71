import pytest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A two-layer BERT built from a config, with MiniLM's tokenizer: trains in seconds, downloads nothing."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from curate.core.embed import resolve_model

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(None))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
