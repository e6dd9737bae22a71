from collections import Counter

import polars as pl
import pytest

from curate.stages.clean.clean import Clean
from curate.core.pii import PiiFinder
from curate.stages.clean.redact import Redact
from tests.conftest import frame


def test_typed_placeholders_and_consistent_mapping():
    text = "Mail a.b@x.com or c.d@y.org, again a.b@x.com; card 4111 1111 1111 1111; ip 10.2.3.4; call +1 (415) 555-0132"
    redacted, counts = PiiFinder().redact(text)
    assert redacted == "Mail [EMAIL] or [EMAIL_2], again [EMAIL]; card [CARD]; ip [IP]; call [PHONE]"
    assert counts == Counter({"EMAIL": 3, "CARD": 1, "IP": 1, "PHONE": 1})


@pytest.mark.parametrize("text", [
    "order 113542617735902 is late",          # order number: no separators, not a card brand
    "card 4111 1111 1111 1112 declined",      # fails Luhn
    "IBAN DE89 3704 0044 0532 0130 01",       # fails mod-97
    "version 1.2.3.4000 and 999.1.1.1",       # not IPv4
    "delivered on 2024-06-03 at 10:30",       # a date
    "I paid $1,299.00 for 2 items",
])
def test_lookalikes_are_left_alone(text):
    assert PiiFinder().find(text) == []


def test_iban_ssn_and_valid_card():
    spans = PiiFinder().find("IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, card 5500-0000-0000-0004")
    assert [s.kind for s in spans] == ["IBAN", "SSN", "CARD"]


def test_names_after_an_introduction_and_street_addresses():
    redacted, counts = PiiFinder().redact("Hello, my name is Maria Okafor. Please ship order 4521 to 221B Baker Street, London. "
                                          "This is Tom from accounts; the old address was 1600 Pennsylvania Avenue.")
    assert redacted == ("Hello, my name is [NAME]. Please ship order 4521 to [ADDRESS], London. "
                        "This is [NAME_2] from accounts; the old address was [ADDRESS_2].")
    assert counts == Counter({"NAME": 2, "ADDRESS": 2})


@pytest.mark.parametrize("text", [
    "my name is wrong on the invoice",          # no capitalised name
    "This is Urgent: order 12 is late",          # a sentence word, not a name
    "This is My second ticket",
    "I ordered 3 Large Boxes and 2 Small Ones",  # numbers and capitals, no street type
    "ship to {{Delivery Address}} please",       # a template slot
])
def test_name_and_address_lookalikes_are_left_alone(text):
    assert PiiFinder().find(text) == []


def test_no_name_or_address_in_the_sample_tickets_or_their_answers(sample_rows):
    """Bitext's utterances and agent answers carry no real names or addresses: anything found is a false positive."""
    finder = PiiFinder(kinds=("ADDRESS", "NAME"))
    texts = sample_rows["text"].drop_nulls().to_list() + sample_rows["response"].drop_nulls().to_list()
    assert len(texts) > 3_900
    assert [span for text in texts for span in finder.find(text)] == []


def test_redact_stage_keeps_every_row_and_marks_kinds():
    rows = frame(["no pii here", "write to me@example.com", "call 212-555-0101 or me@example.com"]).with_columns(
        pl.Series("response", ["ok", "we wrote to me@example.com", None]))
    result = Redact().apply(rows)
    assert result.rejected.is_empty()
    assert result.kept["text"].to_list() == ["no pii here", "write to [EMAIL]", "call [PHONE] or [EMAIL]"]
    assert result.kept["response"].to_list() == ["ok", "we wrote to [EMAIL]", None]
    assert result.kept["pii"].to_list() == [None, "EMAIL", "EMAIL,PHONE"]
    assert result.stats == {"rows_with_pii": 2, "placeholders": {"EMAIL": 3, "PHONE": 1}}


def pii_scores(rows: pl.DataFrame, truth: pl.DataFrame) -> tuple[float, float]:
    """Precision and recall of detected PII values against the planted ones (case-insensitive)."""
    finder = PiiFinder()
    joined = rows.join(truth, left_on="id", right_on="ticket_id")
    tp = fp = fn = 0
    for text, planted in joined.select("text", "pii").iter_rows():
        expected = Counter((p["type"], p["value"].lower()) for p in planted)
        found = Counter((s.kind, s.value.lower()) for s in finder.find(text))
        tp += sum((expected & found).values())
        fp += sum((found - expected).values())
        fn += sum((expected - found).values())
    return tp / (tp + fp), tp / (tp + fn)


def test_pii_precision_and_recall_on_the_bundled_ground_truth(sample_rows, truth):
    cleaned = Clean().apply(sample_rows).kept
    precision, recall = pii_scores(cleaned, truth)
    print(f"PII precision {precision:.3f} recall {recall:.3f}")
    assert precision >= 0.99 and recall >= 0.99
    planted = truth.select("ticket_id", pl.col("pii").alias("planted"))
    redacted = Redact().apply(cleaned).kept.join(planted, left_on="id", right_on="ticket_id")
    leaked = [row for row in redacted.iter_rows(named=True) for p in row["planted"] if p["value"].lower() in row["text"].lower()]
    assert leaked == []


def test_an_unknown_kind_in_a_recipe_names_the_key():
    from curate.recipe.loader import RecipeError
    from curate.recipe.registry import build_stage

    with pytest.raises(RecipeError, match=r"kinds\.1: Input should be 'EMAIL'.*got 'NAMES'"):
        build_stage("redact", {"kinds": ["EMAIL", "NAMES"]})
