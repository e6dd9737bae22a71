"""Explorer page: topics. The approved set clustered on its embeddings; a topic's rows one click away."""

import polars as pl
import streamlit as st
from shared import load_topics, open_row, run_data

from curate.core.columns import ID, LABEL, TEXT

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()
STAMP = (RUN / "report.json").stat().st_mtime

st.title("Topics")
k = st.slider("clusters", 2, 20, 8)
topics = load_topics(str(RUN), STAMP, k)
st.dataframe(topics.drop("ids"), hide_index=True)
topic = st.selectbox(
    "rows of topic",
    topics["topic"].to_list(),
    format_func=lambda t: f"{t}: {topics.filter(pl.col('topic') == t)['top terms'].item()}",
)
members = APPROVED.filter(pl.col(ID).is_in(topics.filter(pl.col("topic") == topic)["ids"].item().implode()))
st.dataframe(members.select(ID, LABEL, TEXT), hide_index=True)
if members.height and st.button("review one of them"):
    open_row(members[ID][0])
