"""Explorer page: changes. What changed from another run (by default the rows the last sign-off certified) to this
one, per change, stage and reason (`curate.io.diff`, the same as `curate diff`): the rows a reviewer of a rerun needs
to look at, and only those."""

from pathlib import Path

import polars as pl
import streamlit as st
from shared import all_rows, open_row, run_data

from curate.core.errors import CurateError
from curate.explore import data as D
from curate.explore import review as R
from curate.io.diff import CHANGE, CHANGES, diff_runs
from curate.io.review import applied_decisions, read_decisions, run_decisions_file, stale_signoff
from curate.io.rundir import RunDir

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()
SIGNED = "the rows of the last sign-off"


@st.cache_data(show_spinner="comparing the runs…")
def changes_from(other: str, run: str, stamp: tuple[float, ...]):
    if other == SIGNED:
        return stale_signoff(Path(run))[1]
    return diff_runs(Path(other), Path(run))


st.title("Changes")
stale = stale_signoff(RUN)
others = [str(r) for r in D.list_runs(RUN.parent) if r.resolve() != RUN.resolve()]
choices = ([SIGNED] if stale is not None and stale[1] is not None else []) + others
if not choices:
    st.info(
        "Nothing to compare with: no earlier sign-off travelled into this run, and no other run lies beside it. "
        "`curate diff RUN_A RUN_B` compares any two runs."
    )
    st.stop()
other = st.selectbox("compare with", choices, help="the older side; this run is the newer one")
if other == SIGNED:
    st.caption(f"the rows signed off by {stale[0]['reviewer']} at {stale[0]['at']}, before this run replaced them")
stamp = tuple((Path(p) / "report.json").stat().st_mtime for p in (RUN, other) if p != SIGNED)
try:
    changes = changes_from(other, str(RUN), stamp)
except CurateError as error:
    st.error(f"{error.where}: {error.message}")
    st.stop()

st.metric("rows changed", f"{len(changes.changed_ids):,}")
if changes.changes.is_empty():
    st.success("no row changed")
    st.stop()
st.subheader("Per change, stage and reason")
st.dataframe(changes.summary, hide_index=True, height=D.table_height(changes.summary.height))
st.subheader("The changed rows")
present = [c for c in CHANGES if c in set(changes.changes[CHANGE])]
kinds = st.multiselect("change", present, default=present)
decisions = read_decisions(run_decisions_file(RunDir(RUN)))
rows = R.with_decisions(
    changes.changes.filter(pl.col(CHANGE).is_in(kinds)),
    R.decision_marks(all_rows(), decisions, applied_decisions(REPORT)),
)
st.caption(f"{rows.height:,} change(s) on {rows['id'].n_unique():,} row(s); a row can change in several ways")
st.dataframe(rows, hide_index=True, key="changes")
if rows.height:
    picked = st.selectbox("open a row on the Review page", rows["id"].unique(maintain_order=True).to_list())
    if st.button("open it"):
        open_row(picked)
