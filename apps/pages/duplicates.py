"""Explorer page: duplicates. Every cluster, label conflicts first when asked, members side by side."""

import polars as pl
import streamlit as st
from shared import open_row, run_data

from curate.core.columns import ID, LABEL, REASON, TEXT
from curate.explore import data as D
from curate.explore import review as R

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Duplicate clusters")
overview_table = D.cluster_overview(CLUSTERS)
duplicates_rejected = (
    REJECTED.filter(pl.col(REASON).str.contains("duplicate|label_conflict")).height if REJECTED.height else 0
)
if overview_table.is_empty():
    st.info(
        "No duplicate clusters in this run."
        if not duplicates_rejected
        else f"{duplicates_rejected:,} rows were rejected as duplicates, but this run has no clusters.parquet to show their clusters."
    )
    st.stop()
conflicts_only = st.toggle(f"only clusters whose labels disagree ({overview_table['label_conflict'].sum():,})")
member = st.text_input("find the cluster of row id")
table = overview_table.filter(pl.col("label_conflict")) if conflicts_only else overview_table
if member:
    mine = CLUSTERS.filter(pl.col(ID) == member).select("stage", "cluster").unique()
    table = table.join(mine, on=["stage", "cluster"])
st.caption(f"{table.height:,} of {overview_table.height:,} clusters, largest first")
pages = max(1, -(-table.height // 200))
number = st.number_input("page", min_value=1, max_value=pages, value=1)
shown = D.page(table, int(number), 200)
st.dataframe(shown, hide_index=True)
if shown.height:
    choice = st.selectbox(
        "cluster", [f"{r['stage']} / {r['cluster']} ({r['size']} rows)" for r in shown.iter_rows(named=True)]
    )
    stage, rest = choice.split(" / ", 1)
    members = D.cluster_members(CLUSTERS, stage, rest.rsplit(" (", 1)[0])
    st.dataframe(members, hide_index=True)
    kept_text = members.filter(pl.col("kept"))[TEXT].first() or ""
    st.markdown("**side by side** (words that differ from the kept row in bold)")
    for row in members.iter_rows(named=True):
        st.markdown(
            f"- `{row[ID]}` {'**kept**' if row['kept'] else ''} `{row[LABEL]}`: {R.word_diff(kept_text, row[TEXT])}"
        )
    if st.button("review a member"):
        open_row(members.filter(~pl.col("kept"))[ID].first() or members[ID][0])
