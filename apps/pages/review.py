"""Explorer page: review. Browse every row (approved and rejected), open one with the rows it links
to, record a decision about it, and sign the run off. Decisions go to the run's decision log
(`curate.io.review`); the recipe's `review` stage applies them on the next run."""

import polars as pl
import streamlit as st
from shared import REVIEW_FILTERS, REVIEW_ROW, REVIEWER, all_rows, run_data

from curate.core.columns import AUGMENTED_FROM, DETAIL, ID, LABEL, LABEL_SUGGESTED, REASON, STAGE, TEXT
from curate.explore import data as D
from curate.explore import review as R
from curate.io.review import (
    append_decisions,
    new_decision,
    read_decisions,
    read_signoff,
    review_problem,
    run_decisions_file,
    sign_off,
)
from curate.io.rundir import RunDir

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()
ROWS = all_rows()
DECISIONS_FILE = run_decisions_file(RunDir(RUN))

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
    st.subheader(
        f"{row[ID]} · {row[R.STATUS]}" + (f" by {row[STAGE]} ({row[REASON]})" if row[R.STATUS] == R.REJECTED else "")
    )
    if row.get(DETAIL):
        st.caption(row[DETAIL])
    st.markdown(
        f"**label** `{row.get(LABEL)}`"
        + (f" · suggested `{row[LABEL_SUGGESTED]}`" if row.get(LABEL_SUGGESTED) else "")
        + (f" · flags: {', '.join(row[R.FLAGS])}" if row[R.FLAGS] else "")
    )
    st.markdown(D.highlight_placeholders(row.get(TEXT) or "") or "*(empty)*")
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
                st.markdown(
                    f"- `{member[ID]}` ({stage}, {marker}, `{member[LABEL]}`): {R.word_diff(kept_text, member[TEXT])}"
                )

    st.subheader("Decision")
    all_labels = sorted(ROWS[LABEL].drop_nulls().unique().to_list())
    generated = bool(row.get(AUGMENTED_FROM))
    actions = ["keep", "reject", "fix label"] + (["mark generated row bad"] if generated else [])
    with st.form("decision", clear_on_submit=True):  # a note belongs to one decision
        action = st.radio(
            "action",
            actions,
            horizontal=True,
            help="keep: keep it whatever a stage decides (restores a rejected row); fix label: give it another label",
        )
        suggested = row.get(LABEL_SUGGESTED) or row.get(LABEL)
        new_label = st.selectbox(
            "label", all_labels, index=all_labels.index(suggested) if suggested in all_labels else 0
        )
        also_keep = st.checkbox("and keep the row", value=True, help="a fixed label usually means the row should stay")
        reviewer = st.text_input("reviewer", value=st.session_state.get(REVIEWER, ""))
        note = st.text_input("note")
        if st.form_submit_button("record decision"):
            st.session_state[REVIEWER] = reviewer
            if action == "fix label":
                made = [new_decision(row[ID], "relabel", label=new_label, reviewer=reviewer, note=note)]
                made += [new_decision(row[ID], "keep", reviewer=reviewer, note=note)] if also_keep else []
            elif action == "mark generated row bad":
                made = [
                    new_decision(row[AUGMENTED_FROM], "bad_generation", text=row[TEXT], reviewer=reviewer, note=note)
                ]
            else:
                made = [new_decision(row[ID], action, reviewer=reviewer, note=note)]
            append_decisions(DECISIONS_FILE, pl.concat(made))
            st.success(f"recorded: {action} {row[ID]} (applied when the recipe runs again)")

st.subheader("Decisions and sign-off")
decisions = read_decisions(DECISIONS_FILE)
st.caption(
    f"{decisions.height} decision(s) in `{DECISIONS_FILE}`; a recipe with a `review` stage applies them on its next run"
)
if decisions.height:
    st.dataframe(decisions.reverse(), hide_index=True, key="decisions")
signoff, problem = read_signoff(RUN), review_problem(RUN)
if signoff and problem is None:
    st.success(f"signed off by {signoff['reviewer']} at {signoff['at']}")
else:
    st.info(f"not reviewed: {problem}")
with st.form("sign-off"):
    who = st.text_input("your name", value=st.session_state.get(REVIEWER, ""))
    remark = st.text_input("sign-off note")
    if st.form_submit_button("sign off this run"):
        if not who.strip():
            st.error("a sign-off needs your name")
        else:
            record = sign_off(RUN, who, remark)
            st.session_state[REVIEWER] = who
            st.success(f"signed off by {record['reviewer']} ({record['decisions']} decisions)")
