"""curate explorer: review a run before approving it for training.

    streamlit run apps/explorer.py -- runs/tickets        (or: curate explore runs/tickets)

The run comes from `?run=`, the command line, CURATE_RUN, or a picker over runs/. Every figure is
computed by `curate.explore.data`; the pages in `pages/` only load (cached, `shared.py`) and draw.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st
from shared import RUN_KEY

from curate.explore import data as D

st.set_page_config(page_title="curate explorer", layout="wide")


def chosen_run() -> Path | None:
    for candidate in (st.query_params.get("run"), next(iter(sys.argv[1:]), None), os.environ.get("CURATE_RUN")):
        if candidate and (Path(candidate) / "report.json").exists():
            return Path(candidate)
    runs = D.list_runs(Path("runs"))
    return Path(st.sidebar.selectbox("run", [str(r) for r in runs])) if runs else None


run = chosen_run()
if run is None:
    st.title("curate explorer")
    st.info("No run directory found. Run `make demo` (or `curate run RECIPE`), then open it with `curate explore runs/tickets`.")
    st.stop()
st.session_state[RUN_KEY] = str(run)
st.sidebar.caption(f"run: `{run}`")
st.navigation([
    st.Page("pages/overview.py", title="Overview", default=True),
    st.Page("pages/review.py", title="Review"),
    st.Page("pages/map.py", title="Map"),
    st.Page("pages/words.py", title="Words"),
    st.Page("pages/labels.py", title="Labels"),
    st.Page("pages/duplicates.py", title="Duplicates"),
    st.Page("pages/rejected.py", title="Rejected rows"),
    st.Page("pages/augmentation.py", title="Augmentation"),
    st.Page("pages/training.py", title="Training"),
    st.Page("pages/topics.py", title="Topics"),
]).run()
