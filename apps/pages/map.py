"""Explorer page: map. The approved rows' embeddings in two dimensions, coloured by label, flagged rows
marked; a click opens the row on the Review page."""

import altair as alt
import streamlit as st
from shared import load_projection, open_row, run_data

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Map")
points = load_projection(str(RUN), (RUN / "report.json").stat().st_mtime)
st.caption(
    f"{points.height:,} approved rows (t-SNE of their sentence embeddings); flagged rows are drawn as crosses. "
    "Click a point to review its row."
)
chart = (
    alt.Chart(points.to_pandas())
    .mark_point(filled=True, size=40)
    .encode(
        x=alt.X("x", axis=None),
        y=alt.Y("y", axis=None),
        color=alt.Color("label", legend=alt.Legend(columns=2, labelLimit=300)),
        shape=alt.Shape("flagged", scale=alt.Scale(domain=[False, True], range=["circle", "cross"])),
        tooltip=["id", "label", "text"],
    )
    .add_params(alt.selection_point(name="point", fields=["id"]))
)
clicked = st.altair_chart(chart, on_select="rerun", width="stretch", key="map")
chosen = [p["id"] for p in (clicked.selection.get("point") or []) if "id" in p] if clicked else []
if chosen:
    open_row(chosen[0])
