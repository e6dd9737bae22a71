"""Explorer page: review queue. The rows that most need a person, highest priority first (curate.explore.queue), each
with its status in the reviewer's log; one row at a time with next / previous, or many at once: accept the suggested
label for the selected rows or for every pending row above a confidence. Decisions go to the run's decision log
(curate.io.review), which the next run applies."""

from pathlib import Path

import polars as pl
import streamlit as st
from shared import REVIEWER, RUN_KEY, load_rows, open_row

from curate.explore import queue as Q
from curate.explore.review import STATUS
from curate.io.review import append_decisions, new_decision, read_decisions, run_decisions_file
from curate.io.rundir import RunDir

AT, AT_INDEX = "queue_row", "queue_index"  # the row the reviewer is on, by id and by place in the list


@st.cache_data(show_spinner="ranking the rows (embeddings, KNN-Shapley)…")
def load_queue(path: str, stamp: float) -> pl.DataFrame:
    from curate.core.embed import Embedder

    rows = load_rows(path, stamp)
    vectors = Embedder().encode(rows["text"].fill_null(""))
    return Q.review_queue(rows, Q.row_values(rows, vectors))


RUN = Path(st.session_state[RUN_KEY])
STAMP = (RUN / "report.json").stat().st_mtime
DECISIONS_FILE = run_decisions_file(RunDir(RUN))
st.title("Review queue")
queue = Q.with_review_status(load_queue(str(RUN), STAMP), read_decisions(DECISIONS_FILE))
if queue.is_empty():
    st.info("No row of this run is flagged, suspected, conflicting or of negative value: the queue is empty.")
    st.stop()

decided, total = Q.progress(queue)
st.progress(decided / total, text=f"{decided:,} of {total:,} rows decided ({decided / total:.0%})")
st.caption(
    "Counts are rows of this run, approved and rejected, generated copies included. A row is in the queue for each "
    "reason in `why`: likely_mislabelled (by confidence, 1 − the probability of its own label), label_conflict, "
    "low_value (KNN-Shapley below zero on the validation rows: as a training example it makes a nearest-neighbour "
    "classifier worse), quality_flag, generated (by its checks' similarity to its source). Decisions are applied by "
    "the next run."
)

reviewer = st.text_input("reviewer", value=st.session_state.get(REVIEWER, ""), help="recorded with every decision")
if reviewer.strip():
    st.session_state[REVIEWER] = reviewer.strip()

left, middle, right = st.columns([3, 2, 2])
reasons = left.multiselect("why", sorted({w for ws in queue[Q.WHY].to_list() for w in ws}), placeholder="every reason")
shown_status = middle.selectbox("status", ["pending", "decided", "all"])
minimum = right.number_input("confidence at least", 0.0, 1.0, 0.0, 0.05, format="%.2f")
shown = queue
if reasons:
    shown = shown.filter(pl.col(Q.WHY).list.eval(pl.element().is_in(reasons)).list.any())
if shown_status != "all":
    shown = shown.filter(pl.col(Q.REVIEW_STATUS) == shown_status)
if minimum > 0:
    shown = shown.filter(pl.col(Q.CONFIDENCE) >= minimum)


def decide(decisions: pl.DataFrame, what: str) -> None:
    if not reviewer.strip():
        st.error("Type your name in `reviewer` first: every decision records who made it.")
        return
    if decisions.is_empty():
        st.warning("Nothing to record: none of these rows has another label suggested.")
        return
    append_decisions(DECISIONS_FILE, decisions)
    st.session_state["queue_saved"] = f"Recorded {decisions.height:,} decision(s): {what}."
    st.rerun()


if "queue_saved" in st.session_state:
    st.success(st.session_state.pop("queue_saved"))

st.subheader(f"One row at a time ({shown.height:,} shown)")
if shown.is_empty():
    st.info("No row matches these filters.")
else:
    ids = shown["id"].to_list()
    # the same row as before; when a decision took it out of the filter, the row now in its place
    position = ids.index(st.session_state[AT]) if st.session_state.get(AT) in ids else st.session_state.get(AT_INDEX, 0)
    position = min(position, len(ids) - 1)
    back, counter, forward = st.columns([1, 4, 1])
    if back.button("◀ previous", disabled=position == 0, width="stretch"):
        position -= 1
    if forward.button("next ▶", disabled=position >= len(ids) - 1, width="stretch"):
        position += 1
    st.session_state[AT], st.session_state[AT_INDEX] = ids[position], position
    counter.markdown(f"row **{position + 1:,}** of {len(ids):,}")
    row = shown.row(position, named=True)
    value = "—" if row[Q.VALUE] is None else f"{row[Q.VALUE]:+.5f}"
    confidence = "—" if row[Q.CONFIDENCE] is None else f"{row[Q.CONFIDENCE]:.2f}"
    st.markdown(
        f"`{row['id']}` · {row[STATUS]}{' by ' + row['stage'] if row.get('stage') else ''} · priority "
        f"**{row[Q.PRIORITY]:.2f}** · why: {', '.join(row[Q.WHY])} · confidence {confidence} · KNN-Shapley {value}"
    )
    st.markdown(f"label **{row['label']}**, suggested **{row.get('label_suggested') or '—'}**")
    st.text(row["text"] if (row["text"] or "").strip() else "(no text)")
    if row[Q.REVIEW_STATUS] == Q.DECIDED:
        st.info(f"Decided: {row[Q.DECISION]} by {row[Q.DECIDED_BY] or 'someone unnamed'} at {row[Q.DECIDED_AT]}.")
    accept, keep, reject, details = st.columns(4)
    if accept.button("accept the suggested label", disabled=not row.get("label_suggested")):
        decide(Q.accept_suggestions(shown, [row["id"]], reviewer.strip()), f"{row['id']} relabelled")
    if keep.button("keep as it is"):
        decide(new_decision(row["id"], "keep", reviewer=reviewer.strip()), f"keep {row['id']}")
    if reject.button("reject"):
        decide(new_decision(row["id"], "reject", reviewer=reviewer.strip()), f"reject {row['id']}")
    if details.button("open on the Review page"):
        open_row(row["id"])

st.subheader("Every row in the queue")
columns = ["id", Q.PRIORITY, Q.WHY, Q.CONFIDENCE, "label", "label_suggested", Q.VALUE, Q.REVIEW_STATUS, Q.DECIDED_BY]
columns += [STATUS, "reason", "text"]
table = st.dataframe(
    shown.select([c for c in columns if c in shown.columns]).with_columns(pl.col(Q.DECIDED_BY).fill_null("")),
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="multi-row",
    key="queue_table",
    column_config={
        "id": st.column_config.TextColumn("id", width=110),
        Q.PRIORITY: st.column_config.NumberColumn("priority", format="%.2f", width=80),
        Q.WHY: st.column_config.ListColumn("why", width=260),
        Q.CONFIDENCE: st.column_config.NumberColumn("confidence", format="%.2f", width=100),
        "label": st.column_config.TextColumn("label", width=200),
        "label_suggested": st.column_config.TextColumn("suggested", width=200),
        Q.VALUE: st.column_config.NumberColumn(
            "KNN-Shapley", format="%+.5f", width=120, help="the row's value as a training example (below 0: harmful)"
        ),
        Q.REVIEW_STATUS: st.column_config.TextColumn("status", width=90),
        Q.DECIDED_BY: st.column_config.TextColumn("decided by", width=110),
        STATUS: st.column_config.TextColumn("in the run", width=100),
        "reason": st.column_config.TextColumn("reason", width=170),
        "text": st.column_config.TextColumn("text", width=600),
    },
)
selected = [shown["id"][i] for i in (table.selection.rows if table else [])]
bulk_selected, bulk_above = st.columns(2)
if bulk_selected.button(f"accept the suggested label for the {len(selected):,} selected rows", disabled=not selected):
    decide(Q.accept_suggestions(shown, selected, reviewer.strip()), "suggested labels accepted")
threshold = bulk_above.slider("confidence for the bulk accept", 0.5, 1.0, 0.9, 0.01)
above = Q.above_confidence(queue, threshold)
if bulk_above.button(f"accept the suggested label for every pending row at or above {threshold:.2f} ({len(above):,})"):
    decide(
        Q.accept_suggestions(queue, above, reviewer.strip()),
        f"suggested labels accepted at confidence ≥ {threshold:.2f}",
    )
