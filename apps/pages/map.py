"""Explorer page: map. Every row with text, approved, flagged and rejected, placed by meaning (t-SNE of the sentence
embeddings, computed once per set of texts and kept on disk; a PCA is drawn until it exists), one label highlighted
or all on a palette that tells them apart; a row's nearest rows in meaning, with their labels and status."""

import os
import subprocess
import sys
import time
from pathlib import Path

import altair as alt
import numpy as np
import polars as pl
import streamlit as st
from shared import RUN_KEY, load_rows, open_row

from curate.explore import layout as L
from curate.explore.review import STATUS

POINT = "map_point"  # the row chosen on the map (a click, or typed), kept across reruns
EVERY = "every label"


@st.cache_resource
def layout_jobs() -> dict[str, subprocess.Popen]:
    """The t-SNE processes this server started, by run and version of its report."""
    return {}


@st.cache_data(show_spinner=False)
def load_map_rows(path: str, stamp: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = L.mappable(load_rows(path, stamp))
    return rows, L.unique_texts(rows)


@st.cache_data(show_spinner="embedding the rows…")
def load_vectors(path: str, stamp: float) -> np.ndarray:
    return L.text_vectors(load_map_rows(path, stamp)[1])


@st.cache_data(show_spinner=False)
def load_layout(path: str, stamp: float, method: str) -> pl.DataFrame | None:
    """A kept t-SNE (None when there is none yet: no embedding is read before the first draw), or the PCA."""
    texts = load_map_rows(path, stamp)[1]
    if method == "pca":
        return L.compute_layout(texts, load_vectors(path, stamp), method)
    return L.cached_layout(texts, method)


def chart(points: pl.DataFrame, labels: list[str], highlight: str) -> alt.Chart:
    colour = alt.Color(
        "label:N",
        scale=alt.Scale(domain=labels, range=L.palette(len(labels))),
        legend=alt.Legend(columns=2, labelLimit=260, symbolLimit=0, title="label"),
    )
    if highlight != EVERY:
        colour = alt.condition(alt.datum.label == highlight, colour, alt.value("#d0d0d0"))
    return (
        alt.Chart(points.to_pandas())
        .mark_point(filled=True, opacity=0.85)
        .encode(
            x=alt.X("x", axis=None),
            y=alt.Y("y", axis=None),
            color=colour,
            shape=alt.Shape(
                f"{L.MARK}:N",
                scale=alt.Scale(domain=list(L.MARKS), range=list(L.MARKS.values())),
                legend=alt.Legend(title="row", orient="top"),
            ),
            size=alt.condition(alt.datum.mark == "approved", alt.value(35), alt.value(110)),
            order=alt.condition(alt.datum.label == highlight, alt.value(1), alt.value(0)),
            tooltip=[f"{c}:N" for c in ("id", "label", STATUS, "stage", "reason", "label_suggested", "flags", "text")],
        )
        .add_params(alt.selection_point(name="point", fields=["id"]))
        .properties(height=640)
    )


RUN = Path(st.session_state[RUN_KEY])
STAMP = (RUN / "report.json").stat().st_mtime
st.title("Map")
rows, texts = load_map_rows(str(RUN), STAMP)
if rows.is_empty():
    st.info("No row of this run has text to place.")
    st.stop()
layout = load_layout(str(RUN), STAMP, "tsne")
method = "t-SNE" if layout is not None else "PCA"
if layout is None:
    layout = load_layout(str(RUN), STAMP, "pca")

labels = sorted(rows["label"].drop_nulls().unique().to_list())
left, right = st.columns([2, 3])
highlight = left.selectbox("colour", [EVERY, *labels], help="one label in colour, every other row grey")
kinds = right.multiselect("rows to draw", list(L.MARKS), default=list(L.MARKS), help="what each shape stands for")
points = L.map_points(rows, layout).filter(pl.col(L.MARK).is_in(kinds))
counts = rows[L.MARK].value_counts()
count = dict(zip(counts[L.MARK], counts["count"]))
st.caption(
    f"Counts are rows of this run, approved and rejected, generated copies included: {rows.height:,} with text "
    f"({', '.join(f'{count.get(k, 0):,} {k}' for k in L.MARKS)}); {texts.height:,} distinct texts placed by the "
    f"{method} of their sentence embeddings; {points.height:,} drawn. Click a point to see the rows nearest it."
)
slot = st.empty()
clicked = slot.altair_chart(chart(points, labels, highlight), on_select="rerun", width="stretch", key="map")
if method == "PCA":
    job = layout_jobs().get(f"{RUN}@{STAMP}")
    if job is None:  # one t-SNE per run and server, in a process of its own at low priority: the page stays live
        job = subprocess.Popen(
            [sys.executable, "-m", "curate.explore.layout", str(RUN)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: os.nice(10),
        )
        layout_jobs()[f"{RUN}@{STAMP}"] = job
    with st.spinner(f"computing the t-SNE map of {texts.height:,} texts, once for this run (about 10-60 s)…"):
        while job.poll() is None:
            time.sleep(0.5)
    load_layout.clear()
    if job.returncode == 0 and load_layout(str(RUN), STAMP, "tsne") is not None:
        st.rerun()
    st.warning(f"The t-SNE map could not be computed; the PCA stays. {job.stderr.read().decode()[-500:]}")

chosen = [p["id"] for p in (clicked.selection.get("point") or []) if "id" in p] if clicked else []
if chosen:
    st.session_state[POINT] = chosen[0]
st.subheader("Rows nearest in meaning")
row_id = st.text_input("row id", value=st.session_state.get(POINT, rows["id"][0]), key="map_row_id").strip()
near = L.similar_rows(rows, texts, load_vectors(str(RUN), STAMP), row_id, k=15)
if near.is_empty():
    st.info(f"No row `{row_id}` with text in this run.")
    st.stop()
me = rows.filter(pl.col("id") == row_id).row(0, named=True)
st.markdown(f"`{row_id}` ({me[STATUS]}, label **{me['label']}**): {me['text']}")
st.dataframe(
    near.select(
        [
            c
            for c in ("id", L.SIMILAR, "label", STATUS, "stage", "reason", "label_suggested", "text")
            if c in near.columns
        ]
    ),
    hide_index=True,
    width="stretch",
    column_config={
        L.SIMILAR: st.column_config.NumberColumn("similarity", format="%.3f", width="small"),
        "text": st.column_config.TextColumn("text", width="large"),
    },
)
same = (near["label"] == me["label"]).sum()
st.caption(f"{same} of these {near.height} rows carry the same label as `{row_id}`.")
if st.button("open this row on the Review page"):
    open_row(row_id)
