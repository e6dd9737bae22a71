"""Pair-aware dedup: same or near-same prompts grouped, their answers compared, each policy applied, never file order."""

import polars as pl
import pytest

from curate.core.errors import RecipeError
from curate.core.text import stable_ids
from curate.recipe.registry import build_stage
from curate.samples.scale_tickets import BITEXT
from curate.stages.dedup.pairs import PairDedup
from curate.stages.quality.responses import ResponseChecks

GROUP = pl.DataFrame(
    {
        "id": list("abcdef"),
        "text": [
            "Where is my order?",
            "where is my order",
            "Where is my order?",
            "WHERE IS MY ORDER?",
            "hi there",
            "Refund please",
        ],
        "response": ["It ships today.", "It ships today!", "We lost it, sorry.", "It ships today.", "Hello!", "Done."],
    }
)


@pytest.mark.parametrize(
    "policy, kept, reasons",
    [
        ("best_scored", ["a", "e", "f"], {"b": "duplicate_pair", "c": "answer_conflict", "d": "duplicate_pair"}),
        ("majority", ["a", "e", "f"], {"b": "duplicate_pair", "c": "answer_conflict", "d": "duplicate_pair"}),
        ("flag", ["a", "c", "e", "f"], {"b": "duplicate_pair", "d": "duplicate_pair"}),
        ("drop", ["e", "f"], {i: "answer_conflict" for i in "abcd"}),
    ],
)
def test_each_policy_resolves_a_conflict_as_it_says(policy, kept, reasons):
    result = PairDedup(on_conflict=policy).apply(GROUP)
    assert result.kept["id"].to_list() == kept
    assert dict(zip(result.rejected["id"], result.rejected["reason"], strict=True)) == reasons
    assert result.kept.filter(pl.col("id") == "e")["answer_conflict"].to_list() == [False]
    assert result.stats["answer_conflict_groups"] == 1 and result.artifacts["pair_groups"].height == 4


def test_a_tie_under_majority_drops_the_group_and_no_decision_follows_file_order():
    tie = GROUP.head(3)  # "It ships today" twice vs "We lost it" once: a majority; without "b" a tie
    assert PairDedup(on_conflict="majority").apply(tie.filter(pl.col("id") != "b")).kept.is_empty()
    for policy in ("best_scored", "majority", "flag"):
        forward = PairDedup(on_conflict=policy).apply(GROUP)
        backward = PairDedup(on_conflict=policy).apply(GROUP.reverse())
        assert sorted(forward.kept["id"]) == sorted(backward.kept["id"])


def test_best_scored_prefers_the_answer_fewer_response_checks_fired_on():
    prompt = "can you help me canceling purchase 00004587345"
    rows = pl.DataFrame(
        {
            "id": ["x1", "x2"],
            "text": [prompt, prompt],
            "response": [  # Bitext's two answers to this prompt
                "Let's walk through the process of canceling your purchase with the ID {{Purchase ID Anonymized}}: log into your {{Website Name}} account.",
                "I'd be happy to assist you in canceling your purchase with the order number 00004587345. Log in to your account on our website.",
            ],
        }
    )
    flagged = rows.with_columns(pl.Series("response_flags", [["template_slot"], []]))
    assert PairDedup().apply(flagged).kept["id"].to_list() == ["x2"]
    assert PairDedup().apply(rows).kept["id"].to_list() == ["x1"]  # no checks ran: the longer answer


def test_near_prompts_group_but_different_numbers_do_not():
    rows = pl.DataFrame(
        {
            "id": ["p1", "p2", "p3"],
            "text": [
                "I want a refund of $299 for my order",
                "I want a refund of $299 for my ordr",
                "I want a refund of $350 for my order",
            ],
            "response": [
                "Your refund of $299 is on its way.",
                "We are sorry: no refund is possible.",
                "Your refund of $350 is on its way.",
            ],
        }
    )
    assert PairDedup(prompts="exact").apply(rows).stats["prompt_groups"] == 0
    near = PairDedup(prompts="near").apply(rows)
    assert near.rejected["reason"].to_list() == ["answer_conflict"] and "p3" in near.kept["id"].to_list()


def test_an_unknown_policy_is_refused_with_its_key():
    with pytest.raises(RecipeError) as error:
        build_stage("dedup", {"method": "pairs", "on_conflict": "first"}, "stages[3]")
    assert "on_conflict" in str(error.value.where)


@pytest.mark.skipif(not BITEXT.exists(), reason="the shared real data sets are not on this machine")
def test_on_real_bitext_meaning_separates_paraphrased_answers_from_ones_that_disagree():
    bitext = pl.read_csv(BITEXT, infer_schema=False).select(pl.col("instruction").alias("text"), "response")
    rows = ResponseChecks().apply(bitext.with_columns(stable_ids(bitext["text"])).select("id", "text", "response")).kept
    by_characters = PairDedup().apply(rows)
    assert (
        by_characters.stats["prompt_groups"] == by_characters.stats["answer_conflict_groups"] > 50
    )  # no two answers alike in characters
    by_meaning = PairDedup(answers="semantic").apply(rows)
    reasons = by_meaning.rejected["reason"].value_counts()
    assert (
        dict(zip(reasons["reason"], reasons["count"])).get("duplicate_pair", 0)
        > 2 * by_meaning.stats["answer_conflict_groups"]
    )
    # "i expect a reimbursement of 1200 dollars": one answer speaks of $12, the other of $1200
    wrong_amount = by_meaning.artifacts["pair_groups"].filter(
        pl.col("text").str.to_lowercase() == "i expect a reimbursement of 1200 dollars"
    )
    assert wrong_amount["answer_conflict"].all() and wrong_amount.height == 2
