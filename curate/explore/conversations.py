"""The explorer's conversation view, computed here: every conversation of a run (approved and rejected) with its
decision, and one conversation as the turns a chat shows, the message a reason names marked."""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl

from curate.core import messages as chat
from curate.core.columns import DETAIL, ID, LABEL, MESSAGES, PII_TURNS, REASON, RESPONSE_FLAGS, STAGE

APPROVED, REJECTED = "approved", "rejected"
STATUS = "status"
NAMED = re.compile(r"message (\d+)")
SHOWN = [ID, STATUS, STAGE, REASON, DETAIL, LABEL, "messages_count", PII_TURNS, RESPONSE_FLAGS]


def conversation_rows(approved: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """Every row with a conversation: approved ones first, then the rejected with their stage, reason and detail."""
    frames = [
        frame.with_columns(pl.lit(status).alias(STATUS))
        for frame, status in ((approved, APPROVED), (rejected, REJECTED))
        if MESSAGES in frame.columns
    ]
    if not frames:
        return pl.DataFrame(schema={ID: pl.String, STATUS: pl.String, MESSAGES: pl.String})
    rows = pl.concat(frames, how="diagonal_relaxed").filter(pl.col(MESSAGES).is_not_null())
    for column in (STAGE, REASON, DETAIL, LABEL, PII_TURNS):
        if column not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.String).alias(column))
    if RESPONSE_FLAGS not in rows.columns:
        rows = rows.with_columns(pl.lit(None, pl.List(pl.String)).alias(RESPONSE_FLAGS))
    counts = pl.Series("messages_count", [len(chat.load(m)) for m in rows[MESSAGES].to_list()], dtype=pl.Int64)
    return rows.with_columns(counts).select(*SHOWN, MESSAGES)


def search(rows: pl.DataFrame, query: str = "", status: str = "all", reasons: list[str] | None = None) -> pl.DataFrame:
    """The conversations of a status and reasons whose id or any message holds `query` (case-insensitive)."""
    found = rows
    if status != "all":
        found = found.filter(pl.col(STATUS) == status)
    if reasons:
        found = found.filter(pl.col(REASON).is_in(reasons))
    if query:
        needle = query.lower()
        found = found.filter(
            pl.col(ID).str.to_lowercase().str.contains(needle, literal=True)
            | pl.col(MESSAGES).str.to_lowercase().str.contains(needle, literal=True)
        )
    return found


def turns(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation's messages as a chat draws them: number, role, text, tool calls, the PII kinds redact replaced
    in it, and `named` on the message the rejection's detail names."""
    named = {int(n) for n in NAMED.findall(row.get(DETAIL) or "")} if row.get(STATUS) == REJECTED else set()
    redacted = dict(
        (int(n), kinds) for n, kinds in re.findall(r"message (\d+) \([^)]*\): ([A-Z_, ]+)", row.get(PII_TURNS) or "")
    )
    shown = []
    for number, message in enumerate(chat.load(row[MESSAGES]), start=1):
        extra = {k: v for k, v in message.items() if k not in ("role", "content")}
        shown.append(
            {
                "number": number,
                "role": str(message.get("role", "?")),
                "text": chat.content_text(message),
                "extra": json.dumps(extra, ensure_ascii=False, indent=1) if extra else None,
                "pii": redacted.get(number),
                "named": number in named,
            }
        )
    return shown
