import polars as pl

from curate.stages.clean.clean import Clean
from curate.stages.dedup.exact import ExactDedup
from tests.conftest import frame


def test_keeps_one_per_group_and_names_the_duplicate():
    rows = frame(["Where is my order?", "where is my ORDER", "Cancel it", "where  is my order!!"])
    result = ExactDedup().apply(rows)
    assert result.kept["id"].to_list() == ["r0", "r2"]
    assert result.rejected.select("id", "reason", "duplicate_of").rows() == [
        ("r1", "exact_duplicate", "r0"),
        ("r3", "exact_duplicate", "r0"),
    ]
    assert result.rejected["detail"][0] == "duplicate of r0 (similarity 1.0)"
    clusters = result.artifacts["clusters"]
    assert clusters.select("id", "kept", "size").rows() == [("r0", True, 3), ("r1", False, 3), ("r3", False, 3)]


def test_normalize_off_compares_raw_text():
    rows = frame(["Where is my order?", "where is my order?"])
    assert ExactDedup(normalize=False).apply(rows).kept.height == 2


def test_keep_longest_and_most_complete():
    rows = frame(["refund", "REFUND!!!", "Refund."])
    assert ExactDedup(keep="longest").apply(rows).kept["id"].to_list() == ["r1"]
    with_response = rows.with_columns(pl.Series("response", [None, None, "Sure"]))
    assert ExactDedup(keep="most_complete").apply(with_response).kept["id"].to_list() == ["r2"]


def test_label_conflicts_flag_majority_or_drop():
    rows = frame(
        ["cancel my order", "Cancel my order", "cancel my order.", "hello"], ["cancel", "refund", "refund", "greet"]
    )
    flagged = ExactDedup(on_label_conflict="flag").apply(rows)
    assert flagged.kept.select("id", "label", "label_conflict").rows() == [
        ("r0", "cancel", True),
        ("r3", "greet", False),
    ]
    assert flagged.stats["label_conflict_clusters"] == 1
    majority = ExactDedup(on_label_conflict="majority").apply(rows)
    assert majority.kept.filter(pl.col("id") == "r0").select("label", "label_before_dedup").row(0) == (
        "refund",
        "cancel",
    )
    dropped = ExactDedup(on_label_conflict="drop").apply(rows)
    assert dropped.kept["id"].to_list() == ["r3"]
    assert set(dropped.rejected["reason"]) == {"label_conflict"} and dropped.rejected.height == 3


def test_planted_exact_duplicates_are_found(sample_rows, truth):
    """Each planted resend lands in one cluster with its original, and one of the two is kept."""
    result = ExactDedup().apply(Clean().apply(sample_rows).kept)
    cluster_of = result.artifacts["clusters"].select("id", "cluster")
    planted = (
        truth.filter(pl.col("kind") == "exact_dup")
        .select("ticket_id", "duplicate_of")
        .join(cluster_of, left_on="ticket_id", right_on="id", how="left")
        .join(cluster_of, left_on="duplicate_of", right_on="id", how="left", suffix="_original")
    )
    recall = (planted["cluster"] == planted["cluster_original"]).fill_null(False).mean()
    assert recall >= 0.97, recall
    kept_ids = set(result.kept["id"])
    assert not any(a in kept_ids and b in kept_ids for a, b in planted.select("ticket_id", "duplicate_of").iter_rows())


def test_copies_weight_counts_each_removed_copy_in_the_kept_row(sample_rows):
    """`copies: weight` keeps the same rows as dropping copies, and each kept row weighs as many input rows as share
    its text and the label it ends with (a copy whose label lost a conflict adds nothing)."""
    from curate.core.text import normalized_text

    cleaned = Clean().apply(sample_rows).kept
    dropped, weighted = ExactDedup().apply(cleaned), ExactDedup(copies="weight").apply(cleaned)
    assert weighted.kept["id"].to_list() == dropped.kept["id"].to_list()
    assert weighted.rejected["id"].to_list() == dropped.rejected["id"].to_list()
    copies = cleaned.group_by(normalized_text().alias("_text"), "label").len()
    kept = weighted.kept.with_columns(normalized_text().alias("_text")).join(copies, on=["_text", "label"], how="left")
    assert kept["sample_weight"].to_list() == kept["len"].cast(pl.Float64).to_list()
    assert kept["sample_weight"].max() >= 2 and "sample_weight" not in dropped.kept.columns


def test_copies_weight_adds_to_a_weight_the_rows_carry():
    rows = frame(["refund please", "Refund please!", "cancel it", "refund please"]).with_columns(
        pl.Series("sample_weight", [2.0, None, 5.0, 0.5])
    )
    kept = ExactDedup(copies="weight").apply(rows).kept
    assert kept.select("id", "sample_weight").rows() == [("r0", 3.5), ("r2", 5.0)]
