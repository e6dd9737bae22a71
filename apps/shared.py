"""State shared by the explorer's pages: the chosen run, loaded once per file version (cached)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from curate.core.columns import CLUSTERS_ARTIFACT
from curate.explore import data as D
from curate.explore import review as R
from curate.io.rundir import RunDir

RUN_KEY = "curate_run"
REVIEW_FILTERS = "review_filters"  # filters another page asks the Review page to open with
REVIEW_ROW = "review_row"  # the row the Review page shows
REVIEWER = "reviewer"


@st.cache_data(show_spinner=False)
def load(path: str, stamp: float) -> tuple[dict, pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    run = RunDir(Path(path))
    return run.report, run.approved, run.rejected, run.frame(CLUSTERS_ARTIFACT)


@st.cache_data(show_spinner=False)
def load_rows(path: str, stamp: float) -> pl.DataFrame:
    """Every row of the run, approved and rejected, with its flags (curate.explore.review.all_rows)."""
    run = RunDir(Path(path))
    return R.all_rows(run.approved, run.rejected)


@st.cache_data(show_spinner="embedding the rows…")
def load_projection(path: str, stamp: float) -> pl.DataFrame:
    rows = load_rows(path, stamp)
    return R.projection(rows.filter(pl.col(R.STATUS) == R.APPROVED))


def all_rows() -> pl.DataFrame:
    run = Path(st.session_state[RUN_KEY])
    return load_rows(str(run), (run / "report.json").stat().st_mtime)


def review_rows(**filters) -> None:
    """Open the Review page with these filters set (a link from another page: one click to the rows)."""
    st.session_state[REVIEW_FILTERS] = filters
    st.switch_page("pages/review.py")


def open_row(row_id: str) -> None:
    st.session_state[REVIEW_ROW] = row_id
    st.switch_page("pages/review.py")


@st.cache_data(show_spinner=False)
def load_gate(path: str, stamp: float) -> dict | None:
    return RunDir(Path(path)).gate


@st.cache_data(show_spinner="clustering topics…")
def load_topics(path: str, stamp: float, k: int) -> pl.DataFrame:
    return D.topics(RunDir(Path(path)).approved, k)


def run_data() -> tuple[Path, dict, pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    run = Path(st.session_state[RUN_KEY])
    return (run, *load(str(run), (run / "report.json").stat().st_mtime))


def run_gate() -> dict | None:
    run = Path(st.session_state[RUN_KEY])
    return load_gate(str(run), (run / "report.json").stat().st_mtime)


def page_or_stop(title: str, table: pl.DataFrame, when_empty: str) -> None:
    """A page's title; when its table is empty, say why and draw nothing more."""
    st.title(title)
    if table.is_empty():
        st.info(when_empty)
        st.stop()
