"""Explorer page: training. Scores beside the probe, per class, an interactive confusion matrix, the curve, and a
confusion cell's rows."""

import altair as alt
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
if metrics.get("kept"):  # the runner may keep its probe: a reader must know which model these scores are
    say = st.info if metrics["kept"] == "probe" else st.caption
    say(f"Kept the {metrics['kept']} model: {metrics['kept_why']}.")
st.subheader("Per class (worst first)")
st.dataframe(
    result["per_class"],
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in ("precision", "recall", "f1")
        if c in result["per_class"]
    },
)
st.subheader("Confusion matrix")
grid = D.confusion_grid(result["predictions"])
st.caption(
    "Counts are evaluation rows. Each cell: the rows of a true label (row) that the model predicted as a label "
    "(column), coloured by their share of the true label's rows; the diagonal is right. Click a cell for its rows."
)
base = alt.Chart(grid.to_pandas()).encode(
    x=alt.X("predicted:N", title="predicted", axis=alt.Axis(labelAngle=-50, labelLimit=240, labelOverlap=False)),
    y=alt.Y(f"{LABEL}:N", title="true label", axis=alt.Axis(labelLimit=240, labelOverlap=False)),
)
cell = alt.selection_point(name="cell", fields=[LABEL, "predicted"])
heatmap = (
    base.mark_rect(stroke="#ffffff", strokeWidth=0.5)
    .encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), title="share of the true label"),
        tooltip=[LABEL, "predicted", alt.Tooltip("rows:Q", format=","), alt.Tooltip("share:Q", format=".1%")],
    )
    .add_params(cell)
)
counts = (
    base.transform_filter(alt.datum.rows > 0)
    .mark_text(fontSize=10)
    .encode(
        text=alt.Text("rows:Q", format=","),
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("#333333")),
    )
)
side = 26 * max(grid[LABEL].n_unique(), 4)  # every label readable on both axes
clicked = st.altair_chart((heatmap + counts).properties(width=side, height=side), on_select="rerun", key="confusion")
if result["curve_png"] is not None:
    st.image(str(result["curve_png"]), caption="training curve", width=640)
cells = D.confusions(result["predictions"])
st.subheader("Confusions: a cell's rows")
if cells.is_empty():
    st.caption("no evaluation row was misclassified")
else:
    st.dataframe(cells.head(30), hide_index=True)
    picked = (clicked.selection.get("cell") or []) if clicked else []
    options = [f"{a} → {b} ({n})" for a, b, n in cells.iter_rows()]
    clicked_cell = next(
        (o for o in options for p in picked if o.startswith(f"{p.get(LABEL)} → {p.get('predicted')} (")), None
    )
    cell_name = st.selectbox(
        "true label → predicted", options, index=options.index(clicked_cell) if clicked_cell else 0
    )
    true_label, rest = cell_name.split(" → ", 1)
    predicted = rest.rsplit(" (", 1)[0]
    st.dataframe(
        result["predictions"].filter((pl.col(LABEL) == true_label) & (pl.col("predicted") == predicted)),
        hide_index=True,
        column_config={"confidence": st.column_config.NumberColumn(format="%.3f")},
    )
st.subheader("Worst errors")
st.dataframe(result["errors"], hide_index=True)
