"""Files that ship beside the code: the explorer app and the default expectation suite.

In a wheel they are package data (`curate/_apps`, `curate/_expectations`, mapped from the top-level
`apps/` and `expectations/` by pyproject.toml); in a source checkout they are those folders.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def shipped(folder: str) -> Path:
    """`apps` or `expectations`: the installed copy, else the checkout's folder."""
    for candidate in (PACKAGE / f"_{folder}", PACKAGE.parent / folder):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"curate's {folder}/ is neither installed with the package nor beside it ({PACKAGE})")


def explorer_path() -> Path:
    return shipped("apps") / "explorer.py"


def default_suite() -> Path:
    return shipped("expectations") / "generic.json"
