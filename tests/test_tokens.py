"""The tokens stage: counts equal the target tokenizer's on whole formatted examples, the context flags or drops,
the cost follows the price, and report.md shows it."""

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from curate.core.context import RunContext
from curate.core.errors import CurateError
from curate.core.stage import combine
from curate.pipeline.report import render_token_counts
from curate.stages.tokens import Tokens, load_tokenizer


@pytest.fixture(scope="module")
def pairs(sample_rows):
    """60 real Bitext prompt → response pairs of the bundled sample, half of them with a system prompt."""
    rows = sample_rows.filter(pl.col("response").is_not_null()).head(60).select("id", "text", "label", "response")
    return rows.with_columns(pl.Series("system", [None] * 30 + ["You are Acme's support agent. Be brief."] * 30))


def test_smollm2_counts_are_the_chat_template_tokens_training_sees(pairs):
    pytest.importorskip("gguf")
    tokenizer = load_tokenizer("smollm2")
    kept = Tokens().apply(pairs).kept
    exact = []
    for row in pairs.iter_rows(named=True):
        messages = ([{"role": "system", "content": row["system"]}] if row["system"] else []) + [
            {"role": "user", "content": row["text"]},
            {"role": "assistant", "content": row["response"]},
        ]
        exact.append(
            len(
                tokenizer(tokenizer.apply_chat_template(messages, tokenize=False), add_special_tokens=False)[
                    "input_ids"
                ]
            )
        )
    assert kept["tokens"].to_list() == exact
    assert (kept["prompt_tokens"] + kept["response_tokens"] < kept["tokens"]).all()


def test_minilm_counts_a_text_pair_with_its_special_tokens(pairs):
    tokenizer = load_tokenizer("minilm")
    rows = pairs.drop("system")
    kept = Tokens(tokenizer="minilm").apply(rows).kept
    assert kept["tokens"].to_list() == [
        len(tokenizer(t, r)["input_ids"]) for t, r in zip(rows["text"], rows["response"], strict=True)
    ]


def test_over_the_context_is_flagged_or_dropped_and_the_cost_is_billed_up_to_it(pairs):
    rows = pairs.drop("system")
    counted = Tokens(tokenizer="minilm").apply(rows).kept["tokens"]
    limit = int(counted.median())
    over = counted > limit
    flagged = Tokens(tokenizer="minilm", max_tokens=limit, price_per_million=2.5, epochs=3).apply(rows)
    assert flagged.rejected.is_empty()
    assert flagged.kept["token_flags"].list.contains("over_context").to_list() == over.to_list()
    counts = flagged.stats["token_counts"]
    billed = int(counted.clip(upper_bound=limit).sum())
    assert (counts["over_context"], counts["billed_tokens_per_epoch"], counts["tokens"]) == (
        int(over.sum()),
        billed,
        int(counted.sum()),
    )
    assert counts["cost_per_epoch"] == round(billed * 2.5 / 1e6, 4) and counts["cost"] == round(
        3 * billed * 2.5 / 1e6, 4
    )
    dropped = Tokens(tokenizer="minilm", max_tokens=limit, over_limit="drop").apply(rows)
    assert dropped.rejected.height == over.sum() and set(dropped.rejected["reason"]) == {"over_context"}
    assert dropped.rejected["detail"][0].endswith(f"tokens (context {limit})")


def test_blocks_counted_apart_give_the_same_rows_and_totals(pairs):
    stage, ctx = Tokens(tokenizer="minilm", price_per_million=1.0), RunContext()
    whole = stage.apply(pairs, ctx)
    halves = [pairs.slice(0, 25), pairs.slice(25)]
    totals = pl.concat([stage.partial(h, ctx) for h in halves])
    parts = combine([stage.apply_given(h, totals, ctx) for h in halves])
    assert_frame_equal(parts.kept, whole.kept)
    assert stage.finish_stats(parts.stats, totals, ctx) == whole.stats


def test_the_report_shows_tokens_and_cost(pairs):
    stats = (
        Tokens(tokenizer="minilm", max_tokens=100, price_per_million=4.0, epochs=2).apply(pairs.drop("system")).stats
    )
    text = "\n".join(render_token_counts("tokens", stats["token_counts"]))
    counts = stats["token_counts"]
    assert (
        "## Tokens and cost" in text
        and f"{counts['tokens']:,}" in text
        and f"| 100 | {counts['over_context']:,} |" in text
    )
    assert (
        f"**{counts['cost_per_epoch']:,.2f} an epoch** at 4 per million tokens; 2 epoch(s): **{counts['cost']:,.2f}**"
        in text
    )


def test_a_tokenizer_that_is_not_here_is_refused_without_downloading(pairs, tmp_path):
    with pytest.raises(CurateError) as error:
        Tokens(tokenizer=str(tmp_path / "no-such-tokenizer")).apply(pairs)
    assert error.value.where == "tokens.tokenizer"


def test_a_tokenizer_by_folder_and_a_label_as_the_answer(pairs, tmp_path):
    load_tokenizer("minilm").save_pretrained(tmp_path / "tok")
    labelled = pairs.select(
        "id", "text", "label"
    )  # a classification set: `export` writes the label as the assistant's turn
    by_folder = Tokens(tokenizer=str(tmp_path / "tok")).apply(labelled)
    packaged = Tokens(tokenizer="minilm").apply(labelled)
    assert (
        by_folder.kept["tokens"].equals(packaged.kept["tokens"]) and by_folder.stats["token_counts"]["context"] == 512
    )
    tokenizer = load_tokenizer("minilm")
    assert packaged.kept["response_tokens"].to_list() == [
        len(tokenizer(label, add_special_tokens=False)["input_ids"]) for label in labelled["label"]
    ]


def test_a_conversation_is_counted_whole_through_the_chat_template():
    turns = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "Where is my parcel?"},
        {"role": "assistant", "content": "It arrives tomorrow."},
    ]
    rows = pl.DataFrame(
        {"id": ["pair", "thread"], "text": ["Hello there"] * 2, "response": ["Hi! How can I help?"] * 2}
    ).with_columns(pl.Series("messages", [None, json.dumps(turns)]))
    counted = Tokens().apply(rows).kept
    tokenizer = load_tokenizer("smollm2")
    whole = len(tokenizer(tokenizer.apply_chat_template(turns, tokenize=False), add_special_tokens=False)["input_ids"])
    assert counted["tokens"].to_list()[1] == whole and whole > counted["tokens"].to_list()[0]
    answers = sum(len(tokenizer(m["content"], add_special_tokens=False)["input_ids"]) for m in turns[2::2])
    assert counted["response_tokens"].to_list()[1] == answers
