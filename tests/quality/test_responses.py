"""The response checks: planted defects in real Bitext answers are found with their reasons, untouched real answers stay."""

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from curate.core.context import RunContext
from curate.core.errors import RecipeError
from curate.core.stage import combine
from curate.core.text import stable_ids
from curate.recipe.registry import build_stage
from curate.samples.scale_tickets import BITEXT
from curate.stages.quality.responses import DEFAULT_ACTIONS, ResponseChecks


@pytest.fixture(scope="module")
def answered(sample_rows):
    """200 answered tickets of the bundled sample (Bitext prompts with their real Bitext answers)."""
    return sample_rows.filter(pl.col("response").is_not_null()).head(200).select("id", "text", "label", "response")


def plant(rows: pl.DataFrame, defects: dict[int, str]) -> pl.DataFrame:
    responses = rows["response"].to_list()
    for i, response in defects.items():
        responses[i] = response
    return rows.with_columns(pl.Series("response", responses))


def test_planted_defects_are_dropped_or_flagged_with_their_reason(answered):
    first = answered["response"][0]
    defects = {
        1: "   ",
        2: first[: first.index(" ", 200)],  # cut in the middle of a sentence, at a word's end
        3: "I'm sorry, but I can't assist with that request.",
        4: answered["text"][4],  # the prompt said back
        5: "Entiendo que quieres cancelar tu pedido. Por favor, inicia sesión en tu cuenta y ve a la sección de pedidos.",
        6: "Okay, done.",
        7: " ".join([answered["response"][7]] * 12),
        8: answered["response"][8] + " Ask [Agent Name] for help.",
        9: "To reach us, call {{Customer Support Phone Number}} during {{Customer Support Hours}}.",
        **{i: "Thank you for your message. Our team will get back to you shortly." for i in range(10, 16)},
    }
    result = ResponseChecks().apply(plant(answered, defects))
    reasons = dict(zip(result.rejected["id"], result.rejected["reason"], strict=True))
    ids = answered["id"]
    expected_drops = {
        1: "empty_response",
        2: "cut_off",
        3: "refusal",
        4: "copies_prompt",
        5: "other_language",
        6: "short_response",
        7: "long_response",
    }
    assert {ids[i]: reasons.get(ids[i]) for i in expected_drops} == {ids[i]: r for i, r in expected_drops.items()}
    flags = dict(zip(result.kept["id"], result.kept["response_flags"].to_list(), strict=True))
    assert "bracket_placeholder" in flags[ids[8]]
    assert flags[ids[9]] == ["template_slot"] and result.kept.filter(pl.col("id") == ids[9])["r_template_slots"][0] == 2
    assert all("canned_answer" in flags[ids[i]] for i in range(10, 16))
    assert set(reasons) == {ids[i] for i in expected_drops}, "no untouched answer is dropped"


def test_an_answer_in_another_language_to_a_prompt_too_short_to_tell_is_judged_against_the_expected_languages(answered):
    rows = plant(
        answered,
        {
            0: "Claro, con gusto le ayudo a cancelar su pedido. Inicie sesión en su cuenta y vaya a la sección de pedidos."
        },
    )
    rows = rows.with_columns(
        pl.when(pl.col("id") == rows["id"][0]).then(pl.lit("cancel order pls")).otherwise(pl.col("text")).alias("text")
    )
    result = ResponseChecks().apply(rows)
    assert result.rejected["reason"].to_list() == ["other_language"]
    assert "too short to tell; expected en" in result.rejected["detail"][0]
    german = rows.with_columns(
        pl.when(pl.col("id") == rows["id"][0])
        .then(pl.lit("ICH WILL MEINE BESTELLUNG STORNIEREN BITTE SCHNELL"))
        .otherwise(pl.col("text"))
        .alias("text"),
        pl.when(pl.col("id") == rows["id"][0])
        .then(pl.lit("Hallo! Du kannst deine Bestellung in deinem Konto unter Bestellungen stornieren."))
        .otherwise(pl.col("response"))
        .alias("response"),
    )
    assert (
        "other_language" not in ResponseChecks().apply(german).rejected["reason"].to_list()
    )  # a German answer to a German prompt
    assert ResponseChecks(languages=["en", "es"]).apply(rows).rejected.is_empty()


def test_curates_own_redaction_is_no_placeholder_but_a_templates_is():
    prompt, answer = "Where is my refund? I asked twice already.", "We sent the refund confirmation to {} yesterday."
    rows = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "text": [prompt] * 3,
            "response": [answer.format("[EMAIL]"), answer.format("[EMAIL]"), answer.format("[NAME]")],
            "pii": ["EMAIL", None, "EMAIL"],
        }
    )
    kept = ResponseChecks().apply(rows).kept
    assert kept["r_bracket_placeholders"].to_list() == [
        0,
        1,
        1,
    ]  # only where redact found an e-mail is [EMAIL] curate's


def test_a_recipe_chooses_drop_flag_or_off_per_check(answered):
    rows = plant(answered, {0: answered["response"][0] + " Or call {{Customer Support Phone Number}}.", 1: "   "})
    dropped = ResponseChecks(actions={"template_slot": "drop"}).apply(rows)
    assert dropped.rejected.filter(pl.col("id") == rows["id"][0])["reason"].to_list() == ["template_slot"]
    off = ResponseChecks(actions={"template_slot": "off", "empty_response": "flag"}).apply(rows)
    assert off.rejected.is_empty() or rows["id"][1] not in off.rejected["id"]
    assert off.kept.filter(pl.col("id") == rows["id"][1])["response_flags"].to_list() == [["empty_response"]]
    assert "template_slot" not in off.kept["response_flags"].explode().to_list()
    with pytest.raises(RecipeError) as error:
        build_stage("responses", {"actions": {"slots": "drop"}}, "stages[2]")
    assert "slots" in str(error.value)


def test_blocks_decided_with_the_totals_of_all_blocks_equal_one_piece(answered):
    rows = plant(
        answered,
        {i: "Thank you for your message. Our team will get back to you shortly." for i in (3, 150, 160, 170, 199)},
    )
    stage, ctx = ResponseChecks(), RunContext()
    whole = stage.apply(rows, ctx)
    halves = [rows.slice(0, 100), rows.slice(100)]
    totals = pl.concat([stage.partial(h, ctx) for h in halves])
    parts = combine([stage.apply_given(h, totals, ctx) for h in halves])
    assert_frame_equal(parts.kept, whole.kept)
    assert whole.kept.filter(pl.col("response_flags").list.contains("canned_answer")).height == 5


@pytest.mark.skipif(not BITEXT.exists(), reason="the shared real data sets are not on this machine")
def test_on_untouched_real_bitext_answers_at_most_one_percent_is_dropped():
    bitext = pl.read_csv(BITEXT, infer_schema=False).select(pl.col("instruction").alias("text"), "response")
    rows = bitext.with_columns(stable_ids(bitext["text"])).select("id", "text", "response")
    result = ResponseChecks().apply(rows)
    assert result.rejected.height <= 0.01 * rows.height
    assert set(result.rejected["reason"]) <= {"refusal", "short_response"}
    ai_self_talk = rows.filter(pl.col("response").str.contains("as an AI language model"))["id"]
    assert ai_self_talk.len() and ai_self_talk.is_in(result.rejected["id"].to_list()).all()
    assert result.stats["flagged"]["template_slot"] >= 0.6 * rows.height  # a set of templates, by design: flagged, kept
    leaked_instruction = result.kept.filter(pl.col("response").str.contains("continue answering with the rest"))
    assert leaked_instruction.height and leaked_instruction["response_flags"].list.contains("bracket_placeholder").all()


def test_every_check_has_a_default_action():
    assert {check.reason for check in ResponseChecks().checks()} == set(DEFAULT_ACTIONS)


def conversation(*turns: tuple[str, str]) -> str:
    return json.dumps([{"role": role, "content": content} for role, content in turns])


def test_every_assistant_turn_is_checked_and_the_reason_names_the_message():
    threads = [
        conversation(
            ("user", "How do I find out which kernel I am running?"),
            ("assistant", "Type in uname -a"),  # a command, not a cut-off sentence
            ("user", "thanks, and which file keeps the mount options?"),
            ("assistant", "It is /etc/fstab, open it with sudo."),
        ),
        conversation(
            ("user", "My laptop screen stays dark after the upgrade to the new release."),
            ("assistant", "Open the power settings and"),
            ("user", "and what?"),
            ("assistant", "Then turn the dimming off and reboot the machine."),
        ),
        conversation(
            ("user", "Is there a script that mounts an image file for me?"),
            ("assistant", "I'm sorry, but I cannot find the file I thought should be there."),  # no refusal
            ("assistant", "Try this one: it mounts the image under /mnt."),
        ),
        conversation(("user", "Can you write my essay on the French revolution for me?")),
    ]
    views = {"text": ["t"] * 4, "response": ["r", "r", "r", None]}  # d has no assistant turn: no response
    rows = pl.DataFrame({"id": ["a", "b", "c", "d"], **views, "messages": threads})
    result = ResponseChecks(turns="every").apply(rows)
    assert result.kept["id"].to_list() == ["a", "c"]
    assert result.kept["r_turn"].to_list() == [4, 2]  # the scores are the last turn's (a run of messages is one turn)
    rejected = {row["id"]: (row["reason"], row["detail"]) for row in result.rejected.iter_rows(named=True)}
    assert rejected["b"][0] == "cut_off" and rejected["b"][1].startswith("message 2 (assistant): ends mid-sentence")
    assert rejected["d"] == ("empty_response", "no response")
    assert result.stats["assistant_turns_checked"] == 6


def test_the_same_reply_to_different_askers_is_canned_whatever_the_mention():
    askers = ["kim", "lee", "ana", "bo", "cy"]
    rows = pl.DataFrame(
        {
            "id": askers,
            "text": [f"my account {i} is locked, what can I do about it?" for i in range(5)],
            "response": [
                f"@{name} Please send us an email at help.example.com/requests and we will assist." for name in askers
            ],
        }
    )
    kept = ResponseChecks().apply(rows).kept
    assert kept["response_flags"].list.contains("canned_answer").all()
