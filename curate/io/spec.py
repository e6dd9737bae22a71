"""Where rows come from: a file and the columns that hold id, text, label and response."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass
class InputSpec:
    """Where the raw rows come from and which columns hold id, text, label and response."""

    path: Path
    format: str | None = None  # csv | jsonl | parquet | openai; None: from the file's suffix
    text: str = "text"
    label: str | None = None  # None: the `label` column if there is one
    id: str | None = None  # None: the `id` column if there is one, else stable ids made from the text
    response: str | None = None
    encoding: str = "utf-8"
    on_bad_rows: Literal["error", "reject"] = "error"


def shared_column(spec: InputSpec) -> str | None:
    """What is wrong when two roles name one column (`id: text`), else None: one column cannot be both."""
    seen: dict[str, str] = {}
    for role in ("text", "label", "id", "response"):
        column = getattr(spec, role)
        if column in seen:
            return f"the {seen[column]} and the {role} are both column '{column}'"
        if column is not None:
            seen[column] = role
    return None
