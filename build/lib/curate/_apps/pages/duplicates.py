"""Explorer page: duplicates."""

import streamlit as st
from shared import page_or_stop, run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

overview_table = D.cluster_overview(CLUSTERS)
page_or_stop("Duplicate clusters", overview_table, "No duplicate clusters in this run.")
st.caption(f"{overview_table.height:,} clusters, largest first")
st.dataframe(D.page(overview_table, 1, 200), hide_index=True)
choice = st.selectbox("cluster", [f"{r['stage']} / {r['cluster']} ({r['size']} rows)" for r in overview_table.head(200).iter_rows(named=True)])
stage, rest = choice.split(" / ", 1)
st.dataframe(D.cluster_members(CLUSTERS, stage, rest.rsplit(" (", 1)[0]), hide_index=True)
