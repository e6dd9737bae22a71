"""Explorer page: topics."""

import streamlit as st
from shared import run_data


RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()
from shared import load_topics

STAMP = (RUN / "report.json").stat().st_mtime

st.title("Topics")
k = st.slider("clusters", 2, 20, 8)
st.dataframe(load_topics(str(RUN), STAMP, k), hide_index=True)
