"""Every explorer page on a real run of the bundled sample, through Streamlit's AppTest."""

import json
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "apps/explorer.py")


@pytest.fixture()
def app(sample_run, monkeypatch):
    monkeypatch.setenv("CURATE_RUN", str(sample_run))
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def test_overview_shows_the_funnel_and_gate(app, sample_run):
    report = json.loads((sample_run / "report.json").read_text())
    assert [m.value for m in app.metric] == [
        f"{report['totals']['input_rows']:,}",
        f"{report['totals']['approved']:,}",
        f"{report['totals']['rejected']:,}",
        "passed",
        "not signed",
    ]
    funnel = app.dataframe[0].value
    assert list(funnel["stage"]) == [s["stage"] for s in report["stages"]] and list(funnel["rejected"]) == [
        s["rejected"] for s in report["stages"]
    ]
    reasons = app.dataframe[1].value
    assert "exact_duplicate" in set(reasons["reason"]) and reasons["rows"].sum() == report["totals"]["rejected"]
    gate = app.dataframe[2].value
    assert (
        len(gate) == len(json.loads((sample_run / "gate.json").read_text())["outcomes"])
        and gate["observed"].str.len().min() > 0
    )


def test_words_page_draws_a_cloud_and_compares_ngrams(app):
    at = open_page(app, "words")
    assert at.image and "word cloud: (all)" in at.image[0].captions[0]
    table = at.dataframe[0].value
    assert {"ngram", "before", "after", "change"} <= set(table.columns)
    assert "order" in set(table["ngram"])
    at.selectbox[0].select("cancel_order").run()
    assert "cancel_order" in at.image[0].captions[0]
    at.radio[0].set_value(2).run()
    assert all(len(g.split()) == 2 for g in at.dataframe[0].value["ngram"])


def test_word_counts_fall_as_well_as_rise_and_open_their_rows(app, sample_run):
    at = open_page(app, "words")
    table = at.dataframe[0].value
    assert (table["change"] == table["after"] - table["before"]).all() and (
        table["change"] < 0
    ).any()  # no unsigned wrap-around
    approved = pl.read_parquet(sample_run / "approved.parquet")
    rejected = pl.read_parquet(sample_run / "rejected.parquet")
    came_in = pl.concat([approved.filter(pl.col("augmented_from").is_null()).select("text"), rejected.select("text")])
    assert any(f"the {came_in.height:,} rows that came in" in c.value for c in at.caption)
    word = at.selectbox[1].value
    rows = at.dataframe[1].value
    assert len(rows) > 0 and rows["text"].str.lower().str.contains(word).all()


def test_labels_page(app, sample_run):
    at = open_page(app, "labels")
    distribution = at.dataframe[0].value
    approved = pl.read_parquet(sample_run / "approved.parquet")
    rejected = pl.read_parquet(sample_run / "rejected.parquet")
    assert distribution["approved"].sum() == approved.height and len(distribution) == 27
    assert any("27 classes" in m.value for m in at.markdown)
    splits = at.dataframe[1].value
    report = json.loads((sample_run / "report.json").read_text())
    rebalance = next(s["stats"] for s in report["stages"] if s["stage"] == "rebalance")
    assert splits[["train", "validation", "test", "train generated"]].to_numpy().sum() == approved.height
    assert dict(zip(splits["label"], splits["rebalance after"])) == rebalance["after"]
    assert (splits["train"] + splits["train generated"] == splits["rebalance after"]).all()
    flagged = at.dataframe[3].value
    assert (
        flagged["label_suggested"].notna().all()
        and len(flagged) == approved["label_issue"].sum() + rejected["label_issue"].sum() > 0
    )


def test_duplicates_page_lists_clusters_largest_first(app, sample_run):
    at = open_page(app, "duplicates")
    clusters = at.dataframe[0].value
    assert list(clusters["size"]) == sorted(clusters["size"], reverse=True)
    members = at.dataframe[1].value
    assert members["kept"].sum() == 1 and len(members) == clusters["size"].iloc[0]
    at.toggle[0].set_value(True).run()
    conflicts = at.dataframe[0].value
    assert len(conflicts) > 0 and conflicts["label_conflict"].all()
    member = at.dataframe[1].value
    assert member["label"].nunique() > 1  # a conflict cluster's members disagree on the label
    duplicate = (
        pl.read_parquet(sample_run / "rejected.parquet").filter(pl.col("reason") == "near_duplicate").row(0, named=True)
    )
    at.toggle[0].set_value(False).run()
    at.text_input[0].input(duplicate["id"]).run()
    assert duplicate["id"] in set(at.dataframe[1].value["id"]) and any("**kept**" in m.value for m in at.markdown)


def test_rejected_page_searches_and_highlights(app):
    at = open_page(app, "rejected")
    at.text_input[0].input("EMAIL").run()
    found = at.dataframe[0].value
    assert len(found) > 0 and found["text"].str.contains("(?i)email").all()  # case-insensitive search
    assert any("`[EMAIL]`" in m.value for m in at.markdown)
    at.text_input[0].input("").run()
    at.multiselect[1].select("near_duplicate").run()
    assert set(at.dataframe[0].value["reason"]) == {"near_duplicate"}


def test_augmentation_training_and_topics(app, sample_run):
    at = open_page(app, "augmentation")
    approved = pl.read_parquet(sample_run / "approved.parquet")
    generated = approved["augmented_from"].drop_nulls().len()
    assert generated > 0  # the default recipe rebalances by copies of real rows
    assert at.dataframe[0].value["rows"].sum() == generated  # the summary by method
    pairs = at.dataframe[1].value
    assert len(pairs) == generated and pairs["source"].notna().all()
    augmented = pairs[pairs["method"] != "random_oversample"]  # the stated fallback copies its source on purpose
    assert (augmented["source"] != augmented["generated"]).all() and augmented["similarity"].notna().all()
    rebalance = next(
        s for s in json.loads((sample_run / "report.json").read_text())["stages"] if s["stage"] == "rebalance"
    )
    assert len(pairs) - len(augmented) == rebalance["stats"]["random_copies"]
    dropped = pl.read_parquet(
        sample_run / "augment_dropped.parquet"
    )  # every dropped candidate, browsable with its reason
    assert dict(dropped.group_by("reason").len().iter_rows()) == rebalance["stats"]["dropped_by_reason"]
    shown = any(h.value == f"Dropped candidates ({dropped.height:,})" for h in at.subheader)
    assert shown == (dropped.height > 0) and dropped["source_text"].null_count() == 0
    at = open_page(app, "training")
    metrics = json.loads((sample_run / "train/evaluation/metrics.json").read_text())
    assert at.metric[0].value == f"{metrics['accuracy']:.3f}" and at.get("vega_lite_chart")  # the confusion matrix
    errors = at.dataframe[-1].value
    assert not errors["correct"].any()
    assert at.image[0].captions == ["training curve"] and at.metric[3].label == "probe macro-F1"
    said = [x.value for x in [*at.info, *at.caption]]
    assert f"Kept the {metrics['kept']} model: {metrics['kept_why']}." in said  # which model the scores are, and why
    cell = at.selectbox[0].value
    true_label, predicted = cell.rsplit(" (", 1)[0].split(" → ")
    rows = at.dataframe[2].value
    assert (
        len(rows) == int(cell.rsplit("(", 1)[1].rstrip(")"))
        and set(rows["label"]) == {true_label}
        and set(rows["predicted"]) == {predicted}
    )
    at = open_page(app, "topics")
    topics = at.dataframe[0].value
    assert len(topics) == 8 and topics["rows"].sum() == approved.height and topics["top terms"].str.len().min() > 0
    members = at.dataframe[1].value
    assert len(members) == topics.set_index("topic")["rows"][at.selectbox[0].value]
