import polars as pl
import pytest

from curate.stages.quality.labels import LabelCheck
from tests.conftest import frame


def test_missing_unknown_and_small_classes_without_a_model():
    rows = frame(["a b", "c d", "e f", "g h", "i j"], ["billing", None, "spam", "billing", "tech"])
    result = LabelCheck(allowed=["billing", "tech"], min_class_size=2, mislabelled="off").apply(rows)
    assert result.rejected.select("id", "reason").rows() == [("r1", "missing_label"), ("r2", "unknown_label")]
    assert result.kept.select("id", "label_flags").rows() == [("r0", []), ("r3", []), ("r4", ["small_class"])]
    assert "class 'tech' has 1 rows (minimum 2)" not in result.rejected["detail"].to_list()


def test_small_classes_can_be_dropped():
    rows = frame(["a b", "c d", "e f"], ["x", "x", "y"])
    result = LabelCheck(min_class_size=2, small_classes="drop", mislabelled="off").apply(rows)
    assert result.rejected.select("id", "reason", "detail").rows() == [("r2", "small_class", "class 'y' has 1 rows (minimum 2)")]


@pytest.mark.slow
def test_mislabelled_rows_on_the_sample(sample_rows, truth):
    result = LabelCheck(mislabelled="flag").apply(sample_rows)
    flagged = set(result.kept.filter(pl.col("label_issue"))["id"])
    scored = truth.filter(pl.col("ticket_id").is_in(result.kept["id"].to_list()), pl.col("kind") == "original")
    wrong = scored.filter(pl.col("mislabelled"))["ticket_id"]
    right = scored.filter(~pl.col("mislabelled"))["ticket_id"]
    assert wrong.is_in(list(flagged)).mean() >= 0.6
    assert right.is_in(list(flagged)).mean() < 0.03
    suggested = result.kept.filter(pl.col("label_issue")).join(truth, left_on="id", right_on="ticket_id")
    assert (suggested["label_suggested"] == suggested["true_intent"]).mean() > 0.5
