"""The MarianMT back-translation path, with a tiny Marian built from a config and a SentencePiece
vocabulary trained on the bundled sample (no weights exist offline; users point at real ones)."""

import json
import re

import polars as pl
import pytest

from curate.stages.augment.methods import BackTranslator
from curate.stages.augment.protect import protect


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory):
    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    folder = tmp_path_factory.mktemp("tiny-marian")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(pl.read_csv("data/sample/eval.csv")["body"].to_list()) + "\nXQ0X XQ1X XQ2X\n")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "spm"),
        vocab_size=300,
        character_coverage=1.0,
        user_defined_symbols=["XQ0X", "XQ1X", "XQ2X"],
        bos_id=-1,
        eos_id=1,
        unk_id=2,
        pad_id=0,
    )
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    processor = spm.SentencePieceProcessor(model_file=str(folder / "spm.model"))
    for i in range(processor.get_piece_size()):
        vocab.setdefault(processor.id_to_piece(i), len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    for name in ("source.spm", "target.spm"):
        (folder / name).write_bytes((folder / "spm.model").read_bytes())
    tokenizer = MarianTokenizer(str(folder / "source.spm"), str(folder / "target.spm"), str(folder / "vocab.json"))
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    MarianMTModel(config).save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "model")
    return str(folder / "model")


def test_marian_engine_runs_forward_and_back(tiny_marian):
    translator = BackTranslator(engine="marian", forward_model=tiny_marian, backward_model=tiny_marian, batch_size=2)
    sources = ["where is my refund for order 4521", "reset my password please", "cancel it"]
    raw = translator._marian([protect(source)[0] for source in sources])  # what the two models produced
    assert len(raw) == 3 and all(isinstance(text, str) for text in raw)
    out = translator.generate(sources)
    # An untrained model mangles sentinels: a candidate comes back exactly when every sentinel survived the round
    # trip, and then with the protected spans restored, never with a changed number.
    for source, text, generated in zip(sources, raw, out):
        spans = protect(source)[1]
        intact = sorted(re.findall(r"XQ(\d+)X", text)) == [str(i) for i in range(len(spans))]
        assert (generated is not None) == intact, (source, text, generated)
    kept = [(source, generated) for source, generated in zip(sources, out) if generated is not None]
    assert all(span in generated for source, generated in kept for span in protect(source)[1])


def test_marian_needs_both_models():
    with pytest.raises(ValueError, match="forward_model and backward_model"):
        BackTranslator(engine="marian").generate(["hello there"])
