import polars as pl
import pytest

from curate.stages.clean.clean import Clean
from curate.stages.quality.quality import Quality
from tests.conftest import frame


@pytest.mark.parametrize(
    "text, reason",
    [
        ("k", "too_short"),
        ("ok", "no_content"),
        ("asdfghjkl please", "no_content"),
        ("test test 123", "no_content"),
        ("I am out of the office until Monday with limited access to email.", "auto_reply"),
        ("help!!! ???? .... #### %%%% &&&& me", "few_letters"),
        ("1234567890 0987654321", "few_letters"),
        ("ggggg hhhhh", "repeated_characters"),
        ("qwerty qwerty qwerty qwerty qwerty", "no_content"),
        ("refund refund refund refund refund now", "repeated_words"),
        ("Your order {{Order Number}} is late", "template_slot"),
        ("Quiero cancelar mi pedido, no llegó a tiempo y estoy muy molesto", "other_language"),
    ],
)
def test_each_check_drops_with_its_reason(text, reason):
    result = Quality().apply(frame([text, "Where is my parcel? It was due yesterday."]))
    assert result.kept["id"].to_list() == ["r1"]
    assert result.rejected["reason"].to_list() == [reason], result.rejected["detail"].to_list()
    assert result.rejected["detail"][0]


def test_scores_are_columns_and_caps_only_flag():
    result = Quality().apply(frame(["WHERE IS MY REFUND I WAITED TWO WEEKS", "track order 00004587345"]))
    assert result.rejected.is_empty()
    assert result.kept["quality_flags"].to_list() == [["all_caps"], []]
    assert {"q_chars", "q_words", "q_letter_share", "q_caps_share", "q_language"} <= set(result.kept.columns)
    assert result.stats["flagged"] == {"all_caps": 1}


def test_thresholds_are_configurable():
    rows = frame(["refund please now"])
    assert Quality(min_words=5).apply(rows).rejected["reason"].to_list() == ["too_short"]
    assert Quality(flag_only=["too_short", "all_caps"], min_words=5).apply(rows).kept["quality_flags"].to_list() == [
        ["too_short"]
    ]


def test_on_the_sample_all_junk_goes_and_clean_rows_stay(sample_rows, truth):
    cleaned = Clean().apply(sample_rows)
    result = Quality().apply(cleaned.kept)
    gone = (
        set(result.rejected["id"])
        | set(cleaned.rejected["id"])
        | set(truth.filter(pl.col("kind") == "empty")["ticket_id"])
    )
    junk = truth.filter(pl.col("kind") == "junk")["ticket_id"]
    assert junk.is_in(gone).all()
    clean = truth.filter(pl.col("kind") != "junk", pl.col("kind") != "empty")["ticket_id"]
    assert clean.is_in(result.rejected["id"].to_list()).mean() < 0.01


def test_short_and_content_free_texts_that_are_normal_for_their_class_are_kept():
    """CLINC150-style intents: "yes" and "hi" are whole requests when their class is made of such texts."""
    greetings = ["hi", "hello there", "hey", "hi, how are you", "good morning to you"] * 5
    tickets = [f"where is my parcel number {i}, it was due yesterday" for i in range(25)]
    rows = frame(greetings + tickets + ["hi"], ["greeting"] * 25 + ["track"] * 25 + ["track"])
    result = Quality().apply(rows)
    assert result.rejected["id"].to_list() == ["r50"]  # "hi" labelled track: unlike the rest of its class
    assert result.rejected["reason"].to_list() == ["no_content"]


def test_long_narratives_with_masks_and_common_words_are_kept():
    """CFPB-style complaints: the bureau's XXXX masks and a long story's repeated words are not junk."""
    story = (
        "On XX/XX/2019 I called XXXX XXXX about the account ending in XXXX and they told me the debt was sold. "
        "I asked them to send me the letter and they said that they would send the letter to my address. "
        "I never received the letter and the account is still on my credit report with the wrong balance of $XXXX. "
    ) * 3
    result = Quality().apply(
        frame([story + "I want the account removed.", "Where is my parcel? It was due yesterday."])
    )
    assert result.rejected.is_empty(), result.rejected["detail"].to_list()


def test_real_rows_that_looked_like_junk_are_kept_and_slots_are_seen():
    """Rows read among quality's drops on unseen real sets, each a real request: a complaint ending in the bureau's
    masks, a 25,000-character complaint, a form letter that lists its disputed items, "thank you" as thank_you, "no!",
    a stretched word in a sentence, a narrative's own aside in angle brackets. `Events in <City>` (a template slot that
    clean used to strip) is dropped."""
    narrative = (
        "I disputed the collection account with the bureau and sent the letters they asked for. " * 6
        + "XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX XXXX"
    )
    long_complaint = " ".join(
        f"On day {i} I called the servicer about my escrow account and was told something else again."
        for i in range(300)
    )
    form_letter = "I was a victim of identity theft. " + " ".join(
        f"The following personal information is incorrect Account Number : EMPLOYER : XXXX item {k}." for k in range(8)
    )
    texts = [
        narrative,
        long_complaint,
        form_letter,
        "thank you",
        "no!",
        "why are you talking so sloooooooooowly, please speed it up!",
        "I called the servicer three times and each time <call is disconnected> before I reached anyone who could help.",
        "Events in <City>",
    ]
    labels = [
        "Debt collection",
        "Mortgage",
        "Credit reporting",
        "thank_you",
        "no",
        "change_speed",
        "Mortgage",
        "events",
    ]
    result = Quality().apply(frame(texts, labels))
    assert len(long_complaint) > 25_000
    assert result.rejected.select("text", "reason").rows() == [("Events in <City>", "template_slot")]
