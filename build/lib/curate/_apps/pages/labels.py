"""Explorer page: labels."""

import polars as pl

from curate.core.columns import ID, LABEL, LABEL_ISSUE, LABEL_QUALITY, LABEL_SUGGESTED, TEXT
import streamlit as st
from shared import run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Labels")
distribution = D.label_distribution(REPORT)
st.subheader("Class distribution: input and approved")
st.bar_chart(distribution.to_pandas(), x="label", y=["input", "approved"], stack=False)
st.dataframe(distribution, hide_index=True)
st.subheader("Length by class")
st.dataframe(D.length_by_label(APPROVED), hide_index=True)
bias = D.stage_stats(REPORT, "bias")
if bias:
    st.subheader("Bias findings")
    for finding in bias["findings"]:
        st.markdown(f"- {finding}")
if LABEL_ISSUE in APPROVED.columns:
    st.subheader("Likely mislabelled (flagged)")
    st.dataframe(APPROVED.filter(pl.col(LABEL_ISSUE)).select(ID, TEXT, LABEL, LABEL_SUGGESTED, LABEL_QUALITY).sort(LABEL_QUALITY),
                 hide_index=True)
