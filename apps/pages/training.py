"""Explorer page: training. Scores beside the probe, per class, the curve, and a confusion cell's rows."""

import polars as pl
import streamlit as st
from shared import run_data

from curate.core.columns import LABEL
from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Training")
result = D.training(RUN)
if result is None:
    st.info(
        "This run trained no model (add `train` to the recipe; `curate train RUN` writes beside the run, not into it)."
    )
    st.stop()
metrics = result["metrics"]
cols = st.columns(4)
cols[0].metric("accuracy", f"{metrics['accuracy']:.3f}")
cols[1].metric("macro-F1", f"{metrics['macro_f1']:.3f}")
cols[2].metric("evaluation rows", f"{metrics['rows']:,}")
if "probe" in metrics:
    cols[3].metric(
        "probe macro-F1",
        f"{metrics['probe']['macro_f1']:.3f}",
        f"{metrics['macro_f1'] - metrics['probe']['macro_f1']:+.3f} fine-tune",
        help=metrics["probe"].get("what"),
    )
st.subheader("Per class (worst first)")
st.dataframe(result["per_class"], hide_index=True)
pictures = st.columns(2)
pictures[0].image(str(result["confusion_png"]), caption="confusion matrix")
if result["curve_png"] is not None:
    pictures[1].image(str(result["curve_png"]), caption="training curve")
cells = D.confusions(result["predictions"])
st.subheader("Confusions: a cell's rows")
if cells.is_empty():
    st.caption("no evaluation row was misclassified")
else:
    st.dataframe(cells.head(30), hide_index=True)
    cell = st.selectbox("true label → predicted", [f"{a} → {b} ({n})" for a, b, n in cells.iter_rows()])
    true_label, rest = cell.split(" → ", 1)
    predicted = rest.rsplit(" (", 1)[0]
    st.dataframe(
        result["predictions"].filter((pl.col(LABEL) == true_label) & (pl.col("predicted") == predicted)),
        hide_index=True,
    )
st.subheader("Worst errors")
st.dataframe(result["errors"], hide_index=True)
