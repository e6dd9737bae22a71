"""Explorer page: conversations. Each conversation of the run as a chat, turn by turn, with its decision: the stage
and reason of a rejected one (the message the reason names marked), the PII redact replaced, the response flags."""

import streamlit as st
from shared import open_row, run_data

from curate.core.columns import DETAIL, ID, REASON, STAGE
from curate.explore import conversations as C
from curate.explore import data as D

RUN, REPORT, APPROVED, REJECTED, CLUSTERS = run_data()


@st.cache_data(show_spinner=False)
def rows_of(run: str, stamp: float):
    return C.conversation_rows(APPROVED, REJECTED)


ROWS = rows_of(str(RUN), (RUN / "report.json").stat().st_mtime)
st.title("Conversations")
if ROWS.is_empty():
    st.info("This run has no conversations (read OpenAI chat JSONL, with a `messages` list per line, to have them).")
    st.stop()
left, middle, right = st.columns([1, 2, 2])
status = left.radio("status", ["all", C.APPROVED, C.REJECTED], horizontal=False)
reasons = middle.multiselect("reason", sorted(ROWS[REASON].drop_nulls().unique().to_list()))
query = right.text_input("search the messages or the id")
found = C.search(ROWS, query, status, reasons)
rejected = found.filter(found[C.STATUS] == C.REJECTED).height
st.caption(f"{found.height:,} conversations ({found.height - rejected:,} approved, {rejected:,} rejected)")
st.dataframe(D.page(found.drop("messages"), 1, 500), hide_index=True)
if found.is_empty():
    st.stop()
chosen = st.selectbox("conversation", found[ID].to_list())
row = found.filter(found[ID] == chosen).row(0, named=True)
if row[C.STATUS] == C.REJECTED:
    st.error(f"rejected by **{row[STAGE]}**: `{row[REASON]}` — {row[DETAIL]}")
else:
    flags = ", ".join(row["response_flags"] or []) or "none"
    st.success(f"approved · response flags: {flags}")
for turn in C.turns(row):
    with st.chat_message(turn["role"], avatar={"system": "⚙️", "tool": "🔧"}.get(turn["role"])):
        notes = [f"message {turn['number']} · {turn['role']}"]
        if turn["pii"]:
            notes.append(f"redacted: {turn['pii']}")
        if turn["named"]:
            notes.append(f"**the reason is about this message: `{row[REASON]}`**")
        st.caption(" · ".join(notes))
        st.markdown(D.highlight_placeholders(turn["text"]) if turn["text"] else "*(no text)*")
        if turn["extra"]:
            st.code(turn["extra"], language="json")
if st.button("open it on the Review page"):
    open_row(chosen)
