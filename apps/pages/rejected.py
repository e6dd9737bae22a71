"""Explorer page: rejected. Search the rejections; what `clean` emptied is shown as it came in."""

import streamlit as st
from shared import open_row, run_data

from curate.core.columns import TEXT_BEFORE_CLEAN
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
    shown = row["text"] or (
        f"*(empty after clean; it came in as:)* {row[TEXT_BEFORE_CLEAN]}" if row.get(TEXT_BEFORE_CLEAN) else "*(empty)*"
    )
    st.markdown(f"**{row['id']}** · {row['stage']} / {row['reason']}: {D.highlight_placeholders(shown)}")
if found.height and st.button("review the first of them (restore it, or confirm)"):
    open_row(found["id"][0])
