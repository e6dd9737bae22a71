"""The Map and the Review queue on a real run of the bundled sample (Streamlit AppTest), and the queue's ranking
against the sample's ground truth."""

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from curate.explore import layout as L
from curate.explore import queue as Q
from curate.explore.review import all_rows
from curate.io.review import read_decisions

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "apps/explorer.py")
TRUTH = ROOT / "data/sample/truth.csv"


def open_page(run: Path, name: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("CURATE_RUN", str(run))
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def test_the_map_draws_rejected_rows_from_a_layout_computed_once(sample_run, monkeypatch):
    at = open_page(sample_run, "map", monkeypatch)
    approved = pl.read_parquet(sample_run / "approved.parquet")
    rejected = pl.read_parquet(sample_run / "rejected.parquet")
    placed = rejected.filter(pl.col("text").fill_null("").str.strip_chars() != "").height
    caption = next(c.value for c in at.caption if c.value.startswith("Counts are rows"))
    assert f"{placed:,} rejected" in caption and "t-SNE" in caption  # the page recomputed it, then drew it
    assert at.get("vega_lite_chart")
    rows = L.mappable(all_rows(approved, rejected))
    file = L.layout_file(L.unique_texts(rows)[L.KEY], "tsne", 0, None)
    stamp = file.stat().st_mtime_ns
    near = at.dataframe[0].value
    assert len(near) == 15 and near["cosine"].is_monotonic_decreasing and {"label", "status"} <= set(near)
    mislabelled = rejected.filter(pl.col("reason") == "likely_mislabelled")["id"][0]
    at.text_input(key="map_row_id").input(mislabelled).run()
    assert not at.exception and mislabelled in at.markdown[0].value
    at.selectbox[0].select(approved["label"][0]).run()
    assert not at.exception
    at = open_page(sample_run, "map", monkeypatch)  # a new session: the layout is read back, not recomputed
    assert file.stat().st_mtime_ns == stamp


def test_the_queue_puts_the_planted_mislabelled_rows_first(sample_run):
    approved = pl.read_parquet(sample_run / "approved.parquet")
    rejected = pl.read_parquet(sample_run / "rejected.parquet")
    rows = all_rows(approved, rejected)
    from curate.core.embed import Embedder

    values = Q.row_values(rows, Embedder().encode(rows["text"].fill_null("")))
    queue = Q.review_queue(rows, values)
    truth = pl.read_csv(TRUTH).select(pl.col("ticket_id").alias("id"), "mislabelled")
    ranked = rows.select("id").join(truth, on="id").join(queue.select("id", Q.PRIORITY), on="id", how="left")
    wrong = ranked.filter(pl.col("mislabelled"))[Q.PRIORITY].fill_null(0).to_numpy()
    clean = ranked.filter(~pl.col("mislabelled"))[Q.PRIORITY].fill_null(0).to_numpy()
    # the chance that a planted wrong label ranks above a clean row (ties count half)
    above = (wrong[:, None] > clean[None]).mean() + 0.5 * (wrong[:, None] == clean[None]).mean()
    assert len(wrong) > 50 and above > 0.9
    top = queue.head(len(wrong)).join(truth, on="id", how="left")["mislabelled"].fill_null(False)
    assert top.mean() > 0.6
    # KNN-Shapley alone, with no label check: wrong labels are worth less
    valued = rows.select("id").with_columns(values).join(truth, on="id").drop_nulls(Q.VALUE)
    assert np.median(valued.filter(pl.col("mislabelled"))[Q.VALUE]) < np.median(
        valued.filter(~pl.col("mislabelled"))[Q.VALUE]
    )


@pytest.fixture()
def run_copy(sample_run, tmp_path) -> Path:
    """The sample run copied, so that decisions written here reach no other test."""
    return Path(shutil.copytree(sample_run, tmp_path / "tickets"))


def test_the_queue_page_navigates_and_bulk_accepts(run_copy, monkeypatch):
    at = open_page(run_copy, "queue", monkeypatch)
    table = at.dataframe[0].value
    assert list(table["priority"]) == sorted(table["priority"], reverse=True)
    assert "0 of" in at.get("progress")[0].proto.text
    first = table["id"].iloc[0]
    assert f"`{first}`" in at.markdown[1].value
    next(b for b in at.button if b.label == "next ▶").click().run()
    assert f"`{table['id'].iloc[1]}`" in at.markdown[1].value
    bulk = next(b for b in at.button if b.label.startswith("accept the suggested label for every"))
    bulk.click().run()
    assert at.error and not (run_copy / "review/decisions.parquet").exists()  # no reviewer name: nothing written
    at.text_input[0].input("ann").run()
    at.slider[0].set_value(0.8).run()
    queue = Q.with_review_status(Q.review_queue(all_rows(*_rows(run_copy))), read_decisions(None))
    expected = Q.above_confidence(queue, 0.8)
    bulk = next(b for b in at.button if b.label.startswith("accept the suggested label for every"))
    assert f"({len(expected):,})" in bulk.label and expected
    bulk.click().run()
    assert not at.exception
    decisions = read_decisions(run_copy / "review/decisions.parquet")
    suggested = dict(zip(queue["id"], queue["label_suggested"]))
    assert sorted(decisions["id"]) == sorted(expected) and set(decisions["action"]) == {"relabel"}
    assert all(suggested[i] == label for i, label in zip(decisions["id"], decisions["label"]))
    assert set(decisions["reviewer"]) == {"ann"}
    assert f"{len(expected):,} of" in at.get("progress")[0].proto.text


def _rows(run: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    return pl.read_parquet(run / "approved.parquet"), pl.read_parquet(run / "rejected.parquet")
