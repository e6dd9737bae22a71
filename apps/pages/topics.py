"""Explorer page: topics."""

import polars as pl
import streamlit as st
from shared import run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()
from shared import load_topics

STAMP = (RUN / "report.json").stat().st_mtime

st.title("Topics")
k = st.slider("clusters", 2, 20, 8)
st.dataframe(load_topics(str(RUN), STAMP, k), hide_index=True)
