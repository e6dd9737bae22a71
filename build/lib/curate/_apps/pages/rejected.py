"""Explorer page: rejected."""

import streamlit as st
from shared import run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Rejected rows")
query = st.text_input("search text or id")
stages = st.multiselect("stage", sorted(REJECTED["stage"].unique().to_list()))
reasons = st.multiselect("reason", sorted(REJECTED["reason"].unique().to_list()))
found = D.search_rejected(REJECTED, query, stages, reasons)
pages = max(1, -(-found.height // 50))
number = st.number_input("page", min_value=1, max_value=pages, value=1)
st.caption(f"{found.height:,} rows; page {number} of {pages}")
st.dataframe(D.page(found, int(number)), hide_index=True)
for row in D.page(found, int(number), 5).iter_rows(named=True):
    st.markdown(f"**{row['id']}** · {row['stage']} / {row['reason']}: {D.highlight_placeholders(row['text'] or '')}")
