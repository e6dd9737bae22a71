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

from curate.core.errors import CurateError
from curate.explore import data as D
from curate.io.rundir import RunDir

st.set_page_config(page_title="curate explorer", layout="wide")
QUERY_RUN = "run_from_query"


def is_run(candidate: str | None) -> bool:
    return bool(candidate) and (Path(candidate) / "report.json").exists()


def chosen_run() -> Path | None:
    """`?run=` when given (and kept in the session, so moving between pages stays on it), else the
    command line, CURATE_RUN, or a picker over runs/."""
    asked = st.query_params.get("run")
    if asked is not None:
        if is_run(asked):
            st.session_state[QUERY_RUN] = asked
        else:
            st.warning(f"`?run={asked}` is not a run directory (no report.json); showing another run instead")
    if is_run(st.session_state.get(QUERY_RUN)):  # a page link drops the query string; the session remembers it
        return Path(st.session_state[QUERY_RUN])
    for candidate in (next(iter(sys.argv[1:]), None), os.environ.get("CURATE_RUN")):
        if is_run(candidate):
            return Path(candidate)
    runs = D.list_runs(Path("runs"))
    return Path(st.sidebar.selectbox("run", [str(r) for r in runs])) if runs else None


run = chosen_run()
if run is None:
    st.title("curate explorer")
    st.info(
        "No run directory found. Run `make demo` (or `curate run RECIPE`), then open it with `curate explore runs/tickets`."
    )
    st.stop()
st.session_state[RUN_KEY] = str(run)
st.sidebar.caption(f"run: `{run}`")
page = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", default=True),
        st.Page("pages/review.py", title="Review"),
        st.Page("pages/changes.py", title="Changes"),
        st.Page("pages/queue.py", title="Review queue"),
        st.Page("pages/map.py", title="Map"),
        st.Page("pages/words.py", title="Words"),
        st.Page("pages/labels.py", title="Labels"),
        st.Page("pages/duplicates.py", title="Duplicates"),
        st.Page("pages/rejected.py", title="Rejected rows"),
        st.Page("pages/conversations.py", title="Conversations"),
        st.Page("pages/augmentation.py", title="Augmentation"),
        st.Page("pages/training.py", title="Training"),
        st.Page("pages/topics.py", title="Topics"),
    ]
)
try:  # after the navigation is drawn: hashing a big run must not leave the browser without it meanwhile
    RunDir(run)  # verified against its manifest (hashed once per process, then again only when a file's stat moves)
except CurateError as error:
    st.error(f"{error.where}: {error.message}")
    st.caption(error.hint or "")
    st.stop()
page.run()
