"""Explorer page: labels."""

import polars as pl
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
if "label_issue" in APPROVED.columns:
    st.subheader("Likely mislabelled (flagged)")
    st.dataframe(APPROVED.filter(pl.col("label_issue")).select("id", "text", "label", "label_suggested", "label_quality").sort("label_quality"),
                 hide_index=True)
