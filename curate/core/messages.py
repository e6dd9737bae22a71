"""A conversation as a row: its messages kept whole, as the JSON text of the input's `messages` list, in the
`messages` column; `text` (the user turns) and `response` (the last assistant turn) are views derived from it for the
stages that score one side.

The JSON text is an opaque passenger for every stage but three: `redact` rewrites each message's content (here,
`redact_messages`, which the runner also applies to rejected rows that never reached `redact`), the
`responses` stage can check every assistant turn, and exact dedup can key on the whole conversation. Every other key
of a message (`name`, `tool_calls`, `tool_call_id`, `function_call`, `weight`...) travels untouched, and export writes
the list back as it came in.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl

from curate.core.columns import MESSAGES, PII_TURNS
from curate.core.pii import PiiFinder, PiiSpan, redact_columns

Message = dict[str, Any]


def load(messages: str | None) -> list[Message]:
    """The messages of a row's `messages` column (none for a row without one)."""
    if not messages:
        return []
    value = json.loads(messages)
    return value if isinstance(value, list) else []


def dump(messages: list[Message]) -> str:
    return json.dumps(messages, ensure_ascii=False)


def content_text(message: Message) -> str:
    """A message's text: its content, or the text parts of a list of parts (multimodal style)."""
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def map_content(message: Message, change) -> Message:
    """The message with `change` applied to its content (each text part of a list of parts); other keys as they are."""
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": change(content)}
    if isinstance(content, list):
        parts = [
            {**part, "text": change(part["text"])}
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            else part
            for part in content
        ]
        return {**message, "content": parts}
    return message


def map_free_text(message: Message, change) -> Message:
    """`map_content`, and `change` applied to every string inside the arguments of the message's tool calls (and of a
    legacy `function_call`): a model that learns `lookup_order({"email": "ana@example.com"})` learns the address as
    surely as from the text. Arguments that are not JSON are one text; the JSON is written anew only where a string in
    it changed, so untouched calls keep their exact text."""
    message = map_content(message, change)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        calls = [
            {**call, "function": with_arguments_changed(call["function"], change)}
            if isinstance(call, dict) and isinstance(call.get("function"), dict)
            else call
            for call in calls
        ]
        message = {**message, "tool_calls": calls}
    if isinstance(message.get("function_call"), dict):
        message = {**message, "function_call": with_arguments_changed(message["function_call"], change)}
    return message


def with_arguments_changed(function: dict[str, Any], change) -> dict[str, Any]:
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        return function
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return {**function, "arguments": change(arguments)}
    changed = False

    def leaves(value):
        nonlocal changed
        if isinstance(value, str):
            new = change(value)
            changed = changed or new != value
            return new
        if isinstance(value, list):
            return [leaves(v) for v in value]
        if isinstance(value, dict):
            return {k: leaves(v) for k, v in value.items()}
        return value

    parsed = leaves(parsed)
    return {**function, "arguments": json.dumps(parsed, ensure_ascii=False)} if changed else function


def views(messages: list[Message]) -> tuple[str, str | None, str | None]:
    """(text, response, system): the user turns joined, the last assistant turn, the system prompts joined."""
    by_role: dict[str, list[str]] = {}
    for message in messages:
        by_role.setdefault(str(message.get("role")), []).append(content_text(message))
    assistant = by_role.get("assistant", [])
    return (
        "\n\n".join(by_role.get("user", [])),
        assistant[-1] if assistant else None,
        "\n\n".join(by_role.get("system", [])) or None,
    )


def assistant_turns(messages: list[Message]) -> list[tuple[int, str, str]]:
    """(message number, prompt, answer) for each assistant turn: a run of consecutive assistant messages is one turn
    (a chat reply split over several lines), numbered by its first message (from 1); its prompt is the user messages
    since the previous assistant turn (the last user message before it when there are none). A message that calls a
    tool without text answers nobody and is left out."""
    turns: list[tuple[int, str, str]] = []
    pending: list[str] = []
    last_user = ""
    current: tuple[int, list[str]] | None = None
    for number, message in enumerate(messages, start=1):
        role, text = message.get("role"), content_text(message)
        if role == "assistant" and text.strip():
            if current is None:
                current = (number, [])
                prompt = "\n\n".join(pending) if pending else last_user
                pending = []
            current[1].append(text)
            continue
        if current is not None:
            turns.append((current[0], prompt, "\n".join(current[1])))
            current = None
        if role == "user":
            pending.append(text)
            last_user = text
    if current is not None:
        turns.append((current[0], prompt, "\n".join(current[1])))
    return turns


def single_prompt(messages: list[Message]) -> bool:
    """A prompt → response pair: one user message (whatever system prompt and assistant turns), the one a prompt-side
    augmentation may reword."""
    return sum(m.get("role") == "user" for m in messages) == 1


def with_prompt(conversation: str, prompt: str) -> str:
    """The conversation (JSON text) with its one user message's content replaced by `prompt`; every other message,
    the assistant's answer included, as it was."""
    messages = [{**m, "content": prompt} if m.get("role") == "user" else m for m in load(conversation)]
    return dump(messages)


KNOWN_KEYS = frozenset({"role", "content", "name", "function_call", "tool_calls", "tool_call_id", "weight"})
KNOWN_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def format_errors(record: Any) -> list[str]:
    """What OpenAI's fine-tuning format checks (the data-preparation cookbook's) find wrong with one exported record,
    by their names; tool calls accepted as the API accepts them."""
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list) or not messages:
        return ["missing_messages_list"]
    errors = []
    for message in messages:
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            errors.append("message_missing_key")
            continue
        if set(message) - KNOWN_KEYS:
            errors.append("message_unrecognized_key")
        if message["role"] not in KNOWN_ROLES:
            errors.append("unrecognized_role")
        calls = message.get("tool_calls") or message.get("function_call")
        if not calls and not (content_text(message).strip() and isinstance(message["content"], (str, list))):
            errors.append("missing_content")
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        errors.append("example_missing_assistant_message")
    return sorted(set(errors))


def turn_label(messages: list[Message], number: int) -> str:
    """`message 3 (assistant)`: how a reason names the turn it is about."""
    role = messages[number - 1].get("role", "?") if 0 < number <= len(messages) else "?"
    return f"message {number} ({role})"


def redact_frame(
    rows: pl.DataFrame, columns: list[str], finder: PiiFinder, on_progress=None, answer_finder: PiiFinder | None = None
):
    """`redact_columns` over the text columns, `redact_messages` over a conversation's `messages` (and `pii_turns`
    written; `answer_finder` for the assistant's messages): the frame, the kinds found per row position and the
    placeholder counts."""
    redacted, kinds_by_row, totals = redact_columns(rows, [c for c in columns if c != MESSAGES], finder, on_progress)
    if MESSAGES in columns and MESSAGES in rows.columns:
        conversations, turns, turn_kinds, turn_totals = redact_messages(rows[MESSAGES], finder, answer_finder)
        totals.update(turn_totals)
        for position, found in turn_kinds.items():
            kinds_by_row.setdefault(position, set()).update(*found.values())
        redacted = redacted.with_columns(conversations, turns)
    return redacted, kinds_by_row, totals


TOLL_FREE = frozenset({"800", "833", "844", "855", "866", "877", "888"})  # North American toll-free: a business line
ROLE_ADDRESS = re.compile(
    r"(?i)^(?:abuse|support|help|helpdesk|info|service|customerservice|customercare|care|contact|privacy|security"
    r"|phish|reportphish|spam|noreply|no-reply|feedback|sales|billing|legal|press)@"
)
BUSINESS_CONTACTS = ("toll_free", "role_email")


@dataclass
class AnswerFinder(PiiFinder):
    """The PII finder for an agent's answers, leaving the business contacts it names as they are (`keep`): a toll-free
    number or a role address (`abuse@chase.com`) is the company's, and a responder trained on `[PHONE]` would say it."""

    keep: tuple[str, ...] = ()

    def find(self, text: str, open_gates: list[bool] | None = None) -> list[PiiSpan]:
        return [span for span in super().find(text, open_gates) if not self.business_contact(span)]

    def business_contact(self, span: PiiSpan) -> bool:
        if span.kind == "PHONE" and "toll_free" in self.keep:
            digits = re.sub(r"\D", "", span.value)
            digits = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
            return len(digits) == 10 and digits[:3] in TOLL_FREE
        return span.kind == "EMAIL" and "role_email" in self.keep and bool(ROLE_ADDRESS.match(span.value))


def redact_messages(
    conversations: pl.Series, finder: PiiFinder, answer_finder: PiiFinder | None = None
) -> tuple[pl.Series, pl.Series, dict, Counter]:
    """Every message's content redacted (each text part of a list of parts), and every string in its tool calls'
    arguments (other keys as they are; the assistant's with `answer_finder` when given); returns the conversations, the messages changed per row
    (`pii_turns`), {row: {message number: kinds}} and the placeholder counts."""
    parsed = [load(c) for c in conversations.to_list()]
    texts: list[str] = []
    owners: list[tuple[int, int]] = []  # (row, message number) of each text
    for row, messages in enumerate(parsed):
        for number, message in enumerate(messages, start=1):
            map_free_text(message, lambda text, at=(row, number): texts.append(text) or owners.append(at) or text)
    redacted, kinds_by_text, totals = list(texts), {}, Counter()
    is_answer = [parsed[row][number - 1].get("role") == "assistant" for row, number in owners]
    for group_finder, answers in ((finder, False), (answer_finder or finder, True)):
        index = [i for i, answer in enumerate(is_answer) if answer == answers]
        contents = pl.DataFrame({"content": [texts[i] for i in index]}, schema={"content": pl.String})
        contents, kinds, counts = redact_columns(contents, ["content"], group_finder)
        totals.update(counts)
        for position, text in enumerate(contents["content"].to_list()):
            redacted[index[position]] = text
        kinds_by_text.update({index[position]: found for position, found in kinds.items()})
    found: dict[int, dict[int, set[str]]] = {}
    for index, kinds in kinds_by_text.items():
        row, number = owners[index]
        found.setdefault(row, {}).setdefault(number, set()).update(kinds)
    starts = {}  # each row's first text
    for index, (row, _) in enumerate(owners):
        starts.setdefault(row, index)
    values = conversations.to_list()
    for row in found:  # only the conversations redact changed are written anew
        new_texts = iter(redacted[starts[row] :])
        values[row] = dump([map_free_text(m, lambda _: next(new_texts)) for m in parsed[row]])
    described = [  # `message 2 (user): EMAIL; message 4 (assistant): NAME, PHONE`
        "; ".join(f"{turn_label(parsed[row], n)}: {', '.join(sorted(found[row][n]))}" for n in sorted(found[row]))
        if row in found
        else None
        for row in range(len(values))
    ]
    return (
        pl.Series(MESSAGES, values, dtype=pl.String),
        pl.Series(PII_TURNS, described, dtype=pl.String),
        found,
        totals,
    )
