"""Explorer page: review. Browse every row (approved and rejected), open one with the rows it links
to, record a decision about it, and sign the run off. Decisions go to the run's decision log
(`curate.io.review`); the recipe's `review` stage applies them on the next run."""

import polars as pl
import streamlit as st
from shared import REVIEW_FILTERS, REVIEW_ROW, REVIEWER, all_rows, run_data

from curate.core.columns import AUGMENTED_FROM, DETAIL, ID, LABEL, LABEL_SUGGESTED, REASON, STAGE, TEXT
from curate.core.errors import CurateError
from curate.explore import data as D
from curate.explore import review as R
from curate.io.review import (
    append_decisions,
    applied_decisions,
    new_decision,
    read_decisions,
    read_signoff,
    review_problem,
    run_decisions_file,
    sign_off,
    stale_signoff,
)
from curate.io.rundir import RunDir

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()
DECISIONS_FILE = run_decisions_file(RunDir(RUN))
DECISIONS = read_decisions(DECISIONS_FILE)
APPLIED = applied_decisions(REPORT)
ROWS = R.with_decisions(all_rows(), R.decision_marks(all_rows(), DECISIONS, APPLIED))
ACTIONS = {"keep": "keep", "reject": "reject", "fix label": "relabel", "mark generated row bad": "bad_generation"}
MESSAGE = "_decision_message"  # what the last decision recorded (or why not), shown after the rerun it causes
REVIEWER_BOX = "reviewer_box"  # the name box's own state; REVIEWER keeps the name across pages


def remember_reviewer() -> None:
    st.session_state[REVIEWER] = st.session_state[REVIEWER_BOX].strip()


def label_changed(row_id: str, current: str | None) -> None:
    """The action follows the label box: another label than the row's is a relabel, its own label a keep."""
    chosen = st.session_state[f"label_{row_id}"]
    st.session_state[f"action_{row_id}"] = "fix label" if chosen != current else "keep"


def use_suggestion(row_id: str, suggested: str) -> None:
    st.session_state[f"label_{row_id}"] = suggested
    st.session_state[f"action_{row_id}"] = "fix label"


def record(row: dict) -> None:
    """The decision form's button: check what the form says, then append the decision(s) to the log."""
    row_id, current = row[ID], row.get(LABEL)
    action = st.session_state[f"action_{row_id}"]
    label = st.session_state[f"label_{row_id}"]
    note = st.session_state[f"note_{row_id}"]
    reviewer = st.session_state[REVIEWER_BOX].strip()
    if not reviewer:
        st.session_state[MESSAGE] = ("error", "a decision needs your name: fill in “reviewer”")
        return
    remember_reviewer()
    if action == "fix label" and label == current:
        st.session_state[MESSAGE] = ("error", f"`{label}` is the row's label already: choose another one")
        return
    if action != "fix label" and label != current:
        st.session_state[MESSAGE] = (
            "error",
            f"the label box says `{label}` but the action is {action}: choose “fix label”, or set the label back "
            f"to `{current}`",
        )
        return
    if action == "fix label":
        made = [new_decision(row_id, "relabel", label=label, reviewer=reviewer, note=note)]
        made += (
            [new_decision(row_id, "keep", reviewer=reviewer, note=note)] if st.session_state[f"keep_{row_id}"] else []
        )
    elif action == "mark generated row bad":
        made = [new_decision(row[AUGMENTED_FROM], "bad_generation", text=row[TEXT], reviewer=reviewer, note=note)]
    else:
        made = [new_decision(row_id, action, reviewer=reviewer, note=note)]
    append_decisions(DECISIONS_FILE, pl.concat(made))
    st.session_state[f"note_{row_id}"] = ""  # a note belongs to one decision
    what = f"{action} to {label}" if action == "fix label" else action
    st.session_state[MESSAGE] = (
        "success",
        f"recorded: {what} {row_id} by {reviewer} (applied when the recipe runs again)",
    )


st.title("Review")
asked = st.session_state.pop(REVIEW_FILTERS, None)
if asked is not None:  # another page linked here: its filters replace the current ones
    for key in ("status", "stages", "reasons", "labels", "flags", "query"):
        st.session_state[f"filter_{key}"] = asked.get(key, "all" if key == "status" else "" if key == "query" else [])

with st.expander("filters", expanded=True):
    top = st.columns(3)
    status = top[0].radio("status", ["all", R.APPROVED, R.REJECTED], horizontal=True, key="filter_status")
    query = top[1].text_input("search text or id", key="filter_query")
    meaning = top[2].toggle("search by meaning", help="closest rows by sentence embedding, not by the words")
    more = st.columns(4)
    stages = more[0].multiselect("stage", sorted(ROWS[STAGE].drop_nulls().unique().to_list()), key="filter_stages")
    reasons = more[1].multiselect("reason", sorted(ROWS[REASON].drop_nulls().unique().to_list()), key="filter_reasons")
    labels = more[2].multiselect("label", sorted(ROWS[LABEL].drop_nulls().unique().to_list()), key="filter_labels")
    flags = more[3].multiselect("flag", R.flag_names(ROWS), key="filter_flags")

found = R.filter_rows(
    ROWS, None if status == "all" else status, stages, reasons, labels, flags, "" if meaning else query
)
if meaning and query:
    found = R.meaning_search(found, query, k=50)
pages = max(1, -(-found.height // 50))
number = st.number_input("page", min_value=1, max_value=pages, value=1)
st.caption(f"{found.height:,} of {ROWS.height:,} rows; page {number} of {pages}. Select a row to open it.")
shown = D.page(found, int(number))
picked = st.dataframe(
    shown.select(
        [c for c in R.BROWSER_COLUMNS if c in shown.columns] + (["score"] if "score" in shown.columns else [])
    ),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="browser",
    column_config={
        R.DECIDED: st.column_config.TextColumn(width="medium"),
        R.FLAGS: st.column_config.ListColumn(width="medium"),  # flag names read whole ("identity_terms", "toxic_words")
        "stage": st.column_config.TextColumn(width="small"),
    },
)
selection = shown[ID][picked.selection.rows[0]] if picked and picked.selection.rows else None
if selection != st.session_state.get("_picked"):  # a new click opens its row; a typed id stays until the next click
    st.session_state["_picked"] = selection
    if selection:
        st.session_state[REVIEW_ROW] = selection

row_id = st.text_input("row id", key=REVIEW_ROW, placeholder="select a row above, or type its id")
view = R.row_view(ROWS, row_id, CLUSTERS) if row_id else None
if row_id and view is None:
    st.warning(f"no row with id {row_id!r} in this run")
if view:
    row = view["row"]
    st.subheader(R.row_title(row))
    if row.get(DETAIL):
        st.caption(row[DETAIL])
    st.markdown(
        f"**label** `{row.get(LABEL)}`"
        + (f" · suggested `{row[LABEL_SUGGESTED]}`" if row.get(LABEL_SUGGESTED) else "")
        + (f" · flags: {', '.join(row[R.FLAGS])}" if row[R.FLAGS] else "")
    )
    st.markdown(D.shown_text(row.get(TEXT)))
    if view.get("before_clean"):
        st.markdown("**before clean:** " + D.highlight_placeholders(view["before_clean"]))
    for key, title in (
        ("kept_row", "kept in its place"),
        ("source_row", "generated from"),
        ("generated", "rows generated from it"),
    ):
        if key in view and view[key].height:
            st.markdown(f"**{title}**")
            st.dataframe(view[key], hide_index=True)
    if "cluster" in view:
        st.markdown("**its duplicate cluster** (words that differ from the kept row in bold)")
        for (stage, cluster), members in view["cluster"].group_by(STAGE, "cluster", maintain_order=True):
            kept_text = members.filter(pl.col("kept"))[TEXT].first() or ""
            for member in members.iter_rows(named=True):
                marker = "kept" if member["kept"] else f"similarity {member['similarity']:.3f}"
                if member.get(R.DECIDED):
                    marker += f"; decided: {member[R.DECIDED]}"
                st.markdown(
                    f"- `{member[ID]}` ({stage}, {marker}, `{member[LABEL]}`): {R.word_diff(kept_text, member[TEXT])}"
                )

    st.subheader("Decision")
    all_labels = sorted(ROWS[LABEL].drop_nulls().unique().to_list())
    current, suggested = row.get(LABEL), row.get(LABEL_SUGGESTED)
    options = all_labels if current in all_labels else [current, *all_labels]
    actions = ["keep", "reject", "fix label"] + (["mark generated row bad"] if row.get(AUGMENTED_FROM) else [])
    key = row[ID]
    st.session_state.setdefault(f"action_{key}", "keep")
    st.session_state.setdefault(f"label_{key}", current)
    st.session_state.setdefault(f"note_{key}", "")
    st.session_state.setdefault(REVIEWER_BOX, st.session_state.get(REVIEWER, ""))
    cols = st.columns([2, 2, 1])
    cols[0].radio(
        "action",
        actions,
        horizontal=True,
        key=f"action_{key}",
        help="keep: keep it whatever a stage decides (restores a rejected row); fix label: give it another label "
        "(changing the label chooses it)",
    )
    cols[1].selectbox("label", options, key=f"label_{key}", on_change=label_changed, args=(key, current))
    if suggested and suggested != current:
        cols[2].button(f"use the suggestion `{suggested}`", on_click=use_suggestion, args=(key, suggested))
    st.checkbox(
        "and keep the row", value=True, key=f"keep_{key}", help="a fixed label usually means the row should stay"
    )
    names = st.columns(2)
    names[0].text_input("reviewer", key=REVIEWER_BOX, on_change=remember_reviewer, help="required; remembered")
    names[1].text_input("note", key=f"note_{key}")
    st.button("record decision", type="primary", on_click=record, args=(row,))
    said = st.session_state.pop(MESSAGE, None)
    if said:
        (st.success if said[0] == "success" else st.error)(said[1])

st.subheader("Decisions and sign-off")
pending = max(0, DECISIONS.height - APPLIED)
st.caption(
    f"{DECISIONS.height} decision(s) in `{DECISIONS_FILE}`, {APPLIED} applied by this run, {pending} pending "
    "(a recipe with a `review` stage applies them on its next run)"
)
if DECISIONS.height:
    st.dataframe(R.decisions_table(DECISIONS, ROWS, APPLIED), hide_index=True, key="decisions")
signoff, problem = read_signoff(RUN), review_problem(RUN)
stale = stale_signoff(RUN) if signoff is None else None
if signoff and problem is None:
    st.success(
        f"signed off by {signoff['reviewer']} at {signoff['at']}: {signoff['approved']['rows']:,} approved rows, "
        f"sha256 {signoff['approved']['sha256']['all'][:16]}…"
    )
elif stale is not None:
    st.warning(f"STALE sign-off: {problem}")
    signed, changes = stale
    if changes is not None and changes.changes.height:
        st.markdown(f"**What changed since the sign-off by {signed['reviewer']}** (only these rows need a look)")
        st.dataframe(changes.summary, hide_index=True, key="stale_summary")
        changed = R.with_decisions(changes.changes, R.decision_marks(ROWS, DECISIONS, APPLIED))
        st.dataframe(changed, hide_index=True, key="stale_rows")
else:
    st.info(f"not signed off: {problem}")
if pending:
    st.warning(f"{pending} decision(s) pending: rerun the recipe so the run shows them, then sign off the new run")
name = st.session_state.get(REVIEWER, "")
with st.form("sign-off"):
    who = st.text_input("your name", value=name)
    remark = st.text_input("sign-off note")
    if st.form_submit_button("sign off this run"):
        if not who.strip():
            st.error("a sign-off needs your name")
        else:
            try:
                made = sign_off(RUN, who, remark)
            except CurateError as error:
                st.error(f"not signed off: {error.message}" + (f" ({error.hint})" if error.hint else ""))
            else:
                st.session_state[REVIEWER] = who.strip()
                st.success(
                    f"signed off by {made['reviewer']} ({made['decisions']} decisions; "
                    f"{made['approved']['rows']:,} approved rows, sha256 {made['approved']['sha256']['all'][:16]}…)"
                )
