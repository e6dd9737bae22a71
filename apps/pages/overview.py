"""Explorer page: overview."""

import polars as pl
import streamlit as st
from shared import run_data, run_gate

from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

totals = REPORT["totals"]
st.title("Overview")
cols = st.columns(4)
cols[0].metric("input rows", f"{totals['input_rows']:,}")
cols[1].metric("approved", f"{totals['approved']:,}")
cols[2].metric("rejected", f"{totals['rejected']:,}")
gate = run_gate()
cols[3].metric("gate", "no gate" if gate is None else ("passed" if gate["success"] else "FAILED"))
if REPORT.get("halted"):
    st.error(f"Stopped: {REPORT['halted']}")
funnel = D.funnel(REPORT)
st.subheader("Rows through the stages")
st.bar_chart(funnel.to_pandas(), x="stage", y=["kept", "rejected"], stack=True, horizontal=True, sort=False)
st.dataframe(funnel, hide_index=True)
st.subheader("Rejected rows by stage and reason")
st.dataframe(D.rejections(REJECTED), hide_index=True)
if gate is not None:
    st.subheader("Gate")
    st.dataframe(pl.DataFrame([{"ok": o["success"], "expectation": o["expectation"], "column": o["column"], "observed": str(o["observed"])}
                               for o in gate["outcomes"]]), hide_index=True)
