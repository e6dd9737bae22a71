"""The explorer as a review tool, through Streamlit's AppTest: flagged rows two clicks from the overview,
decisions and a sign-off recorded from the app, and every page on a run without train, clusters or augmentation."""

import json
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from curate.io.review import read_decisions, review_problem

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "apps/explorer.py")
PAGES = [
    "overview",
    "review",
    "changes",
    "map",
    "words",
    "labels",
    "duplicates",
    "rejected",
    "augmentation",
    "training",
    "topics",
]


def start(run: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CURATE_RUN", str(run))
    at = AppTest.from_file(APP, default_timeout=240).run()
    assert not at.exception, at.exception
    return at


def widget(elements, label):
    return next(e for e in elements if e.label == label)


def test_every_flagged_row_is_two_clicks_from_the_overview(sample_run, monkeypatch):
    at = start(sample_run, monkeypatch)
    rows = pl.concat(
        [pl.read_parquet(sample_run / "approved.parquet"), pl.read_parquet(sample_run / "rejected.parquet")],
        how="diagonal_relaxed",
    )
    expected = {
        "likely_mislabelled": int(rows["label_issue"].sum()),
        "label_conflict": int(rows["label_conflict"].sum()),
        "toxic_terms": int(rows["toxic"].sum()),
    }
    buttons = [b for b in at.button if b.label.startswith("review ") and "flagged" in b.label]
    assert {b.key.removeprefix("flag-") for b in buttons} >= set(expected)
    for flag, count in expected.items():
        at.button(key=f"flag-{flag}").click().run()  # click 1: the overview's button
        assert not at.exception, at.exception
        at.switch_page("pages/review.py")  # AppTest does not follow st.switch_page for the runs after this one
        assert widget(at.multiselect, "flag").value == [flag] and at.caption[0].value.startswith(
            f"{count:,} of {rows.height:,} rows"
        )
        table = at.dataframe[0].value
        assert len(table) == min(count, 50) and table["flags"].map(lambda f: flag in list(f)).all()
        at.text_input(key="review_row").input(
            table["id"].iloc[0]
        ).run()  # click 2: the row (a click on the table sets this id)
        assert at.subheader[0].value.startswith(f"{table['id'].iloc[0]} ·")
        at.switch_page("pages/overview.py").run()
    reason = widget(at.selectbox, "open the rows of")
    reason.select(reason.options[-1]).run()
    widget(at.button, "review these rows").click().run()
    at.switch_page("pages/review.py")
    stage, rest = reason.options[-1].split(" / ", 1)
    assert widget(at.multiselect, "stage").value == [stage] and len(at.dataframe[0].value) == int(
        rest.rsplit("(", 1)[1].split()[0].replace(",", "")
    )


SMALL_RECIPE = """
input: {{path: {data}, text: body, label: intent, id: ticket_id}}
stages: [review, clean, quality, {{dedup: {{method: exact}}}}, {{split: {{validation: 0.1, test: 0.1, seed: 7}}}},
         {{rebalance: {{target: max_ratio, max_ratio: 2}}}}]
output: {out}
"""


def small_run(folder: Path) -> tuple[Path, Path]:
    """A run of 150 sample tickets through the model-free stages (a few seconds; rebalancing generates rows), and
    the recipe that reruns it: (run directory, recipe file)."""
    from curate.pipeline.runner import run_recipe
    from curate.recipe import load_recipe

    folder.mkdir(parents=True, exist_ok=True)
    pl.read_csv(ROOT / "data/sample/tickets.csv").head(150).write_csv(folder / "tickets.csv")
    recipe = folder / "recipe.yaml"
    recipe.write_text(SMALL_RECIPE.format(data=folder / "tickets.csv", out=folder / "run"))
    run_recipe(load_recipe(recipe))
    return folder / "run", recipe


def test_the_decision_form_follows_the_label_needs_a_name_and_marks_decided_rows(tmp_path, monkeypatch):
    from curate.pipeline.runner import run_recipe
    from curate.recipe import load_recipe

    run, recipe = small_run(tmp_path)
    at = start(run, monkeypatch)
    at.switch_page("pages/review.py").run()
    approved = pl.read_parquet(run / "approved.parquet")
    row = approved.filter(pl.col("augmented_from").is_null()).row(0, named=True)
    other = sorted(set(approved["label"]) - {row["label"]})[0]
    at.text_input(key="review_row").input(row["id"]).run()
    assert widget(at.radio, "action").value == "keep" and widget(at.selectbox, "label").value == row["label"]
    widget(at.selectbox, "label").select(other).run()
    assert widget(at.radio, "action").value == "fix label"  # the action follows the label
    widget(at.text_input, "note").input("a billing question").run()
    widget(at.button, "record decision").click().run()
    assert (
        any("needs your name" in e.value for e in at.error)
        and read_decisions(run / "review/decisions.parquet").is_empty()
    )
    widget(at.radio, "action").set_value("keep").run()
    widget(at.text_input, "reviewer").input("ana").run()
    widget(at.button, "record decision").click().run()
    assert any(f"the label box says `{other}` but the action is keep" in e.value for e in at.error)
    widget(at.radio, "action").set_value("fix label").run()
    widget(at.button, "record decision").click().run()
    assert not at.exception, at.exception
    decisions = read_decisions(run / "review" / "decisions.parquet")
    assert decisions.select("id", "action", "label", "reviewer", "note").rows() == [
        (row["id"], "relabel", other, "ana", "a billing question"),
        (row["id"], "keep", None, "ana", "a billing question"),
    ]
    assert at.subheader[0].value.endswith(
        f"decided: relabel to {other} by ana (pending: applied on the next run); keep by ana (pending: applied on the next run)"
    )
    generated = approved.filter(pl.col("augmented_from").is_not_null()).row(0, named=True)
    at.text_input(key="review_row").input(generated["id"]).run()
    assert widget(at.text_input, "reviewer").value == "ana"  # remembered
    widget(at.radio, "action").set_value("mark generated row bad").run()
    widget(at.button, "record decision").click().run()
    assert read_decisions(run / "review" / "decisions.parquet").row(-1, named=True) | {"at": None} == {
        "id": generated["augmented_from"],
        "action": "bad_generation",
        "label": None,
        "text": generated["text"],
        "reviewer": "ana",
        "note": None,
        "at": None,
    }
    assert "marked bad by ana" in at.subheader[0].value
    table = at.dataframe[-1].value  # the decision log, last on the page
    assert {"text", "label in this run", "new label", "state"} <= set(table.columns)
    assert list(table["state"]) == ["pending"] * 3 and row["text"] in list(table["text"])
    widget(at.text_input, "your name").input("ana")
    widget(at.button, "sign off this run").click().run()
    assert any("3 review decision(s) are not applied yet" in e.value for e in at.error)
    assert "has not been signed off" in review_problem(run)

    run_recipe(load_recipe(recipe))  # the decisions applied
    at = start(run, monkeypatch)
    at.switch_page("pages/review.py").run()
    widget(at.text_input, "your name").input("ana")
    widget(at.button, "sign off this run").click().run()
    assert review_problem(run) is None and json.loads((run / "review/signoff.json").read_text())["decisions"] == 3
    at.switch_page("pages/overview.py").run()
    assert at.metric[4].value == "signed off"


def test_a_rerun_shows_the_sign_off_stale_with_the_changed_rows_on_review_and_changes(tmp_path, monkeypatch):
    from curate.io.review import append_decisions, decisions_path, new_decision, sign_off
    from curate.pipeline.runner import run_recipe
    from curate.recipe import load_recipe

    run, recipe = small_run(tmp_path)
    sign_off(run, "ana")
    rejected = pl.read_parquet(run / "rejected.parquet").filter(pl.col("stage") == "quality")["id"][0]
    approved = pl.read_parquet(run / "approved.parquet").filter(pl.col("augmented_from").is_null())["id"][0]
    append_decisions(
        decisions_path(run),
        pl.concat([new_decision(rejected, "keep", reviewer="ana"), new_decision(approved, "reject", reviewer="ana")]),
    )
    run_recipe(load_recipe(recipe))
    at = start(run, monkeypatch)
    assert at.metric[4].value == "stale"
    at.switch_page("pages/review.py").run()
    assert any("STALE sign-off" in w.value and "sign-off by ana" in w.value for w in at.warning)
    changed = at.dataframe[-1].value  # the changed rows, below the summary
    assert set(changed["id"]) >= {rejected, approved}
    assert set(changed.loc[changed["id"] == approved, "change"]) == {"approved_to_rejected"}
    assert set(changed.loc[changed["id"] == rejected, "change"]) == {"rejected_to_approved"}
    assert "keep by ana" in changed.loc[changed["id"] == rejected, "decided"].iloc[0]
    at.switch_page("pages/changes.py").run()
    assert not at.exception, at.exception
    assert widget(at.selectbox, "compare with").value == "the rows of the last sign-off"
    assert at.metric[0].value == f"{changed['id'].nunique():,}"


def test_meaning_search_finds_rows_without_the_words(sample_run, monkeypatch):
    at = start(sample_run, monkeypatch)
    at.switch_page("pages/review.py").run()
    widget(at.text_input, "search text or id").input("I never got my money back").run()
    assert at.caption[0].value.startswith("0 of")  # no row has these words
    at.toggle[0].set_value(True).run()
    found = at.dataframe[0].value
    assert len(found) == 50 and list(found["score"]) == sorted(found["score"], reverse=True)
    assert found["label"].head(10).str.contains("refund").mean() >= 0.5


@pytest.fixture(scope="module")
def bare_run(tmp_path_factory) -> Path:
    """A run with none of the optional parts: no training, no duplicate clusters, nothing generated."""
    from curate.pipeline.runner import run_recipe
    from curate.recipe import parse_recipe

    folder = tmp_path_factory.mktemp("bare")
    source = pl.read_csv(ROOT / "data/sample/tickets.csv").unique("body", keep="first", maintain_order=True).head(60)
    source.write_csv(folder / "tickets.csv")
    recipe = parse_recipe(
        f"input: {{path: {folder / 'tickets.csv'}, text: body, label: intent, id: ticket_id}}\n"
        f"stages: [review, clean, quality]\noutput: {folder / 'run'}\n"
    )
    run_recipe(recipe)
    return folder / "run"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_on_a_run_without_train_clusters_or_augmentation(bare_run, monkeypatch, page):
    at = start(bare_run, monkeypatch)
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    said = " ".join(i.value for i in at.info)
    expected = {
        "duplicates": "No duplicate clusters",
        "augmentation": "generated no rows",
        "training": "trained no model",
    }
    if page in expected:
        assert expected[page] in said


def test_a_bad_run_in_the_address_is_said_not_hidden(sample_run, monkeypatch):
    monkeypatch.setenv("CURATE_RUN", str(sample_run))
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["run"] = "/no/such/run"
    at.run()
    assert any("/no/such/run" in w.value and "not a run directory" in w.value for w in at.warning)


def test_the_map_draws_every_approved_row_and_keeps_a_class_together(sample_run):
    import numpy as np

    from curate.explore.review import all_rows, projection

    rows = all_rows(pl.read_parquet(sample_run / "approved.parquet"), pl.read_parquet(sample_run / "rejected.parquet"))
    approved = rows.filter(pl.col("status") == "approved")
    points = projection(approved)
    assert (
        sorted(points["id"]) == sorted(approved["id"])
        and points["flagged"].sum() == (approved["flags"].list.len() > 0).sum()
    )
    xy, labels = points.select("x", "y").to_numpy(), points["label"].to_numpy()
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    same = labels[:, None] == labels[None]
    assert distances[same].mean() < 0.5 * distances[~same].mean()  # a map of meaning, not noise
