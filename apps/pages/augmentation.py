"""Explorer page: augmentation."""

import streamlit as st
from shared import run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Augmentation")
pairs = D.augmentation_pairs(APPROVED)
if pairs.is_empty():
    st.info("This run generated no rows.")
    st.stop()
st.dataframe(pairs, hide_index=True)
