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
    assert result.rejected.select("id", "reason", "detail").rows() == [
        ("r2", "small_class", "class 'y' has 1 rows (minimum 2)")
    ]


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


@pytest.mark.slow
@pytest.mark.parametrize("sizes", [[2], [40, 3, 2], [31, 29]])
def test_any_class_sizes_are_judged_where_they_can_be_and_never_fail(sizes):
    """Fewer than two classes big enough to judge (a 60-row sample of 25 intents, a two-row file) raised a polars
    ShapeError; the rows now come back unjudged, every one accounted for."""
    texts, labels = [], []
    for k, n in enumerate(sizes):
        texts += [f"question {i} about topic {k} and its details" for i in range(n)]
        labels += [f"class{k}"] * n
    result = LabelCheck(mislabelled="flag", min_class_size=1).apply(frame(texts, labels))
    assert result.kept.height + result.rejected.height == sum(sizes)
    assert not result.kept["label_issue"].any() and not result.kept["label_issue_confirmed"].any()


@pytest.mark.slow
def test_drop_takes_only_rows_a_second_model_confirms(sample_rows, truth):
    """`mislabelled: drop` drops the suspicions both models share and flags the rest; on the sample (planted wrong
    labels) the drops are mostly real errors, and every dropped row was also a confident-learning suspect."""
    flagged = LabelCheck(mislabelled="flag").apply(sample_rows).kept
    dropped = LabelCheck(mislabelled="drop").apply(sample_rows)
    suspects = set(flagged.filter(pl.col("label_issue"))["id"])
    drops = dropped.rejected.filter(pl.col("reason") == "likely_mislabelled")
    assert 0 < drops.height < len(suspects) and set(drops["id"]) <= suspects
    kept_suspects = dropped.kept.filter(pl.col("label_issue"))
    assert kept_suspects.height == len(suspects) - drops.height
    assert set(kept_suspects["label_flags"].explode()) >= {"possibly_mislabelled"}
    wrong = truth.filter(pl.col("mislabelled"))["ticket_id"]
    assert drops["id"].is_in(wrong.implode()).mean() >= 0.8
