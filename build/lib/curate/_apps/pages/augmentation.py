"""Explorer page: augmentation."""

import streamlit as st
from shared import page_or_stop, run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

pairs = D.augmentation_pairs(APPROVED)
page_or_stop("Augmentation", pairs, "This run generated no rows.")
st.dataframe(pairs, hide_index=True)
