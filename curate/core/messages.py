"""A conversation as a row: its messages kept whole, as the JSON text of the input's `messages` list, in the
`messages` column; `text` (the user turns) and `response` (the last assistant turn) are views derived from it for the
stages that score one side.

The JSON text is an opaque passenger for every stage but three: `redact` rewrites each message's content, the
`responses` stage can check every assistant turn, and exact dedup can key on the whole conversation. Every other key
of a message (`name`, `tool_calls`, `tool_call_id`, `function_call`, `weight`...) travels untouched, and export writes
the list back as it came in.
"""

from __future__ import annotations

import json
from typing import Any

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


def views(messages: list[Message]) -> tuple[str, str | None, str | None]:
    """(text, response, system): the user turns joined, the last assistant turn, the system prompts joined."""
    by_role: dict[str, list[str]] = {}
    for message in messages:
        by_role.setdefault(str(message.get("role")), []).append(content_text(message))
    assistant = [text for text in by_role.get("assistant", [])]
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


def turn_label(messages: list[Message], number: int) -> str:
    """`message 3 (assistant)`: how a reason names the turn it is about."""
    role = messages[number - 1].get("role", "?") if 0 < number <= len(messages) else "?"
    return f"message {number} ({role})"
