"""Explorer page: labels. Classes before and after, per split and through rebalancing; bias findings; flags."""

import altair as alt
import polars as pl
import streamlit as st
from shared import review_rows, run_data

from curate.core.columns import ID, LABEL, LABEL_ISSUE, LABEL_QUALITY, LABEL_SUGGESTED, TEXT
from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

st.title("Labels")
distribution = D.label_distribution(REPORT)
generated = APPROVED["augmented_from"].drop_nulls().len() if "augmented_from" in APPROVED.columns else 0
st.caption(
    f"Counts on this page are rows. `approved` is after every stage, rebalancing included: it counts the "
    f"{generated:,} rows rebalancing generated for the training split; the per-split table shows them apart."
)
st.subheader("Class distribution: input and approved")
st.markdown(f"{distribution.height} classes")
long = distribution.unpivot(index="label", on=["input", "approved"], variable_name="rows of", value_name="rows")
st.altair_chart(
    alt.Chart(long.to_pandas())
    .mark_bar()
    .encode(
        y=alt.Y("label:N", sort=distribution["label"].to_list(), axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        yOffset="rows of:N",
        x=alt.X("rows:Q", title="rows"),
        color=alt.Color("rows of:N", legend=alt.Legend(orient="top", title=None)),
        tooltip=["label", "rows of", alt.Tooltip("rows:Q", format=",")],
    )
    .properties(height=30 * distribution.height),
    width="stretch",
)
st.dataframe(distribution, hide_index=True)
st.subheader("Per split, and through rebalancing")
st.caption(
    "approved rows per split (written by people), rows generated for the training split, and the rebalance "
    "stage's training counts before, its targets and after (report.json)"
)
st.dataframe(D.classes_by_split(APPROVED, REPORT), hide_index=True)
st.subheader("Length by class")
st.dataframe(
    D.length_by_label(APPROVED),
    hide_index=True,
    column_config={"mean chars": st.column_config.NumberColumn(format="%.1f")},
)
bias = D.stage_stats(REPORT, "bias")
if bias:
    st.subheader("Bias findings")
    for finding in bias["findings"]:
        st.markdown(f"- {finding}")
flagged = pl.concat([APPROVED, REJECTED], how="diagonal_relaxed")
if LABEL_ISSUE in flagged.columns:
    flagged = flagged.filter(pl.col(LABEL_ISSUE).fill_null(False))
    st.subheader(f"Likely mislabelled ({flagged.height:,} rows flagged)")
    st.dataframe(
        flagged.select(ID, TEXT, LABEL, LABEL_SUGGESTED, LABEL_QUALITY).sort(LABEL_QUALITY),
        hide_index=True,
        column_config={
            LABEL_QUALITY: st.column_config.NumberColumn(
                "label quality", format="%.3f", help="out-of-fold probability of the row's own label"
            ),
            TEXT: st.column_config.TextColumn(width="large"),
        },
    )
    if flagged.height and st.button("review them (fix labels)"):
        review_rows(flags=["likely_mislabelled"])
