"""Explorer page: augmentation. Generated rows beside their sources, by method; a bad one can be marked on Review."""

import polars as pl
import streamlit as st
from shared import open_row, page_or_stop, run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

pairs = D.augmentation_pairs(APPROVED)
page_or_stop("Augmentation", pairs, "This run generated no rows.")
by_method = pairs.group_by("method").agg(
    pl.len().alias("rows"),
    pl.col("similarity").mean().round(3).alias("mean similarity"),
    pl.col("label").n_unique().alias("classes"),
)
st.dataframe(by_method, hide_index=True)
for stage in ("augment", "rebalance"):
    stats = D.stage_stats(REPORT, stage)
    if stats and stats.get("dropped_by_reason"):
        st.caption(
            f"{stage}: {stats.get('candidates', '?')} candidates, {stats.get('kept', '?')} kept; dropped by reason: "
            + ", ".join(f"{reason} {n}" for reason, n in stats["dropped_by_reason"].items())
        )
method = st.selectbox("method", ["(all)"] + sorted(pairs["method"].drop_nulls().unique().to_list()))
shown = pairs if method == "(all)" else pairs.filter(pl.col("method") == method)
st.dataframe(
    shown.select("id", "label", "method", "similarity", "source", "generated"),
    hide_index=True,
    column_config={
        "source": st.column_config.TextColumn(width="large"),
        "generated": st.column_config.TextColumn(width="large"),
    },
)
generated_id = st.selectbox("generated row", shown["id"].to_list())
if st.button("review it (mark it bad, or keep it)"):
    open_row(generated_id)
dropped = D.dropped_candidates(RUN)
if dropped is not None and dropped.height:
    st.subheader(f"Dropped candidates ({dropped.height:,})")
    reason = st.selectbox("dropped because", ["(all)"] + sorted(dropped["reason"].unique().to_list()))
    st.dataframe(
        (dropped if reason == "(all)" else dropped.filter(pl.col("reason") == reason)).head(500),
        hide_index=True,
        column_config={
            "source_text": st.column_config.TextColumn(width="large"),
            "text": st.column_config.TextColumn(width="large"),
        },
    )
