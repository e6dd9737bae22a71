"""Explorer page: overview. The funnel, the rejections and the gate, each a click away from its rows."""

import streamlit as st
from shared import all_rows, review_rows, run_data, run_gate

from curate.explore import data as D
from curate.io.review import read_signoff, review_problem

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()

totals = REPORT["totals"]
st.title("Overview")
cols = st.columns(5)
cols[0].metric("input rows", f"{totals['input_rows']:,}")
cols[1].metric("approved", f"{totals['approved']:,}")
cols[2].metric("rejected", f"{totals['rejected']:,}")
gate = run_gate()
cols[3].metric("gate", "no gate" if gate is None else ("passed" if gate["success"] else "FAILED"))
signoff, problem = read_signoff(RUN), review_problem(RUN)
review = "signed off" if signoff and problem is None else "stale" if "STALE" in (problem or "") else "not signed"
cols[4].metric("review", review, help=problem or f"signed off by {signoff['reviewer']} at {signoff['at']}")
if REPORT.get("halted"):
    st.error(f"Stopped: {REPORT['halted']}")
funnel = D.funnel(REPORT)
st.subheader("Rows through the stages")
st.bar_chart(
    funnel.to_pandas(),
    x="stage",
    y=["kept", "rejected"],
    x_label="stage",
    y_label="rows",
    stack=True,
    horizontal=True,
    sort=False,
)
st.dataframe(funnel, hide_index=True, height=D.table_height(funnel.height))

st.subheader("Flagged rows")
flags = D.flag_counts(all_rows())
if flags.is_empty():
    st.caption("no row carries a flag")
else:
    st.caption("rows that stages flagged for a person's attention; a button opens them on the Review page")
    for flag, approved, rejected in flags.iter_rows():
        if st.button(
            f"review {approved + rejected:,} rows flagged {flag} ({approved:,} approved, {rejected:,} rejected)",
            key=f"flag-{flag}",
        ):
            review_rows(flags=[flag])

st.subheader("Rejected rows by stage and reason")
reasons = D.rejections(REJECTED)
st.dataframe(reasons, hide_index=True, height=D.table_height(reasons.height))
if reasons.height:
    choice = st.selectbox("open the rows of", [f"{s} / {r} ({n:,} rows)" for s, r, n in reasons.iter_rows()])
    if st.button("review these rows"):
        stage, rest = choice.split(" / ", 1)
        review_rows(status="rejected", stages=[stage], reasons=[rest.rsplit(" (", 1)[0]])
if gate is not None:
    st.subheader("Gate")
    table = D.gate_table(gate)
    st.dataframe(table, hide_index=True, height=D.table_height(table.height))
