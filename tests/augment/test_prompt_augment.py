"""Prompt-side augmentation of conversations: the user message of a prompt → response pair is reworded and checked
as any text is; the assistant's answer and the system prompt stay; a multi-turn conversation is never a source."""

import json

import polars as pl

from curate.io.writers import to_openai_chat
from curate.stages.augment.augment import Augment

SYSTEM = {"role": "system", "content": "You are a support agent."}


def test_the_user_turn_is_reworded_and_the_answer_kept(sample_rows):
    rows = (
        sample_rows.filter(pl.col("label").is_in(["cancel_order", "create_account"]), pl.col("response").is_not_null())
        .head(120)
        .select("id", "text", "label", "response")
    )
    conversations = [
        json.dumps([SYSTEM, {"role": "user", "content": t}, {"role": "assistant", "content": r}])
        for t, r in zip(rows["text"], rows["response"], strict=True)
    ]
    multi_turn = json.dumps(
        [{"role": "user", "content": "I want to cancel my order"}, {"role": "assistant", "content": "Which one?"}]
        + [{"role": "user", "content": "The one from yesterday"}, {"role": "assistant", "content": "Done."}]
    )
    conversations[0] = multi_turn
    rows = rows.with_columns(pl.Series("messages", conversations))
    result = Augment(methods=["synonym"], classes=["cancel_order", "create_account"], label_check=False).apply(rows)
    generated = result.kept.filter(pl.col("augmented_from").is_not_null())
    assert generated.height > 0
    assert rows["id"][0] not in generated["augmented_from"].to_list()  # multi-turn: not a source
    sources = {r["id"]: r for r in rows.iter_rows(named=True)}
    for row, record in zip(generated.iter_rows(named=True), to_openai_chat(generated), strict=True):
        system, user, assistant = record["messages"]
        source = sources[row["augmented_from"]]
        assert system == SYSTEM and user == {"role": "user", "content": row["text"]}
        assert assistant == {"role": "assistant", "content": source["response"]}
        assert row["text"] != source["text"] and row["augment_similarity"] >= 0.75
