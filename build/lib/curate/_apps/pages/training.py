"""Explorer page: training."""

import streamlit as st
from shared import run_data

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Training")
result = D.training(RUN)
if result is None:
    st.info("This run trained no model (add `train` to the recipe, or run `curate train`).")
    st.stop()
metrics = result["metrics"]
cols = st.columns(3)
cols[0].metric("accuracy", f"{metrics['accuracy']:.3f}")
cols[1].metric("macro-F1", f"{metrics['macro_f1']:.3f}")
cols[2].metric("evaluation rows", f"{metrics['rows']:,}")
st.subheader("Per class (worst first)")
st.dataframe(result["per_class"], hide_index=True)
st.image(str(result["confusion_png"]), caption="confusion matrix")
st.subheader("Worst errors")
st.dataframe(result["errors"], hide_index=True)
