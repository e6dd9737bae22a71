"""A reviewer's decisions and sign-off, kept in a run directory's `review/` folder.

    review/decisions.parquet  append-only: one row per decision (id, action, label, text, reviewer, note, at)
    review/signoff.json       who signed the run off, when, for which report.json (its sha256) and how many decisions

Both change after the run, so `review/` is outside the run's manifest (curate.io.rundir); the sign-off's line
appended to report.md is recorded in the manifest by `sign_off` itself (`reseal`).

Decisions outlive the run they were made on: a recipe's `review` stage reads them on the next run
(by default from its own output folder, where the runner carries them forward), so a fixed label or a
restored row is part of the recipe's record, not a one-off edit of a Parquet file. A sign-off belongs
to one run: a rerun, or a decision made after it, makes it stale.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.columns import ID, LABEL, TEXT
from curate.core.errors import CurateError, InputError
from curate.io.paths import check_input_file
from curate.io.rundir import REPORT_MD, REVIEW_FOLDER, RunDir, report_hash, reseal

DECISIONS_FILE = "decisions.parquet"
SIGNOFF_FILE = "signoff.json"

# keep: keep the row whatever a stage decides (restores a false rejection); reject: drop it;
# relabel: give it `label`; bad_generation: never generate `text` again from row `id`.
ACTIONS = ("keep", "reject", "relabel", "bad_generation")
DECISION_SCHEMA = {
    ID: pl.String,
    "action": pl.String,
    LABEL: pl.String,
    TEXT: pl.String,
    "reviewer": pl.String,
    "note": pl.String,
    "at": pl.String,
}


def decisions_path(run_dir: Path) -> Path:
    return Path(run_dir) / REVIEW_FOLDER / DECISIONS_FILE


def no_decisions() -> pl.DataFrame:
    return pl.DataFrame(schema=DECISION_SCHEMA)


def read_decisions(path: Path | None) -> pl.DataFrame:
    """The decisions in `path`, oldest first; none when the file does not exist yet (no review so far)."""
    if path is None or not Path(path).exists():
        return no_decisions()
    check_input_file(path)
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several kinds for a file that is not Parquet
        raise InputError(
            f"cannot read the decisions file ({type(exc).__name__})",
            str(path),
            hint="it is written by the explorer or `curate review`; restore it from version control",
        ) from None
    missing = [c for c in (ID, "action") if c not in frame.columns]
    if missing:
        raise InputError(f"the decisions file has no column(s) {', '.join(missing)}", str(path))
    frame = frame.with_columns(
        [pl.lit(None, dtype).alias(c) for c, dtype in DECISION_SCHEMA.items() if c not in frame.columns]
    )
    frame = frame.select([pl.col(c).cast(dtype) for c, dtype in DECISION_SCHEMA.items()])
    bad = frame.with_row_index("row").filter(
        ~pl.col("action").is_in(ACTIONS)
        | pl.col(ID).is_null()
        | ((pl.col("action") == "relabel") & pl.col(LABEL).is_null())
        | ((pl.col("action") == "bad_generation") & pl.col(TEXT).is_null())
    )
    if bad.height:
        first = bad.row(0, named=True)
        raise InputError(
            f"decision {first['row']} (id {first[ID]!r}, action {first['action']!r}) is not valid",
            str(path),
            hint=f"actions: {', '.join(ACTIONS)}; relabel needs a label, bad_generation the generated text",
        )
    return frame


def new_decision(
    id: str,
    action: str,
    label: str | None = None,
    text: str | None = None,
    reviewer: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> pl.DataFrame:
    """One decision as a row; refuses an action it does not know or one that lacks what it needs."""
    if action not in ACTIONS:
        raise CurateError(f"unknown review action '{action}'", "action", hint=f"one of {', '.join(ACTIONS)}")
    if action == "relabel" and not label:
        raise CurateError("a relabel decision needs the new label", "label")
    if action == "bad_generation" and not text:
        raise CurateError("a bad_generation decision needs the generated text", "text")
    when = (at or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    return pl.DataFrame(
        [
            {
                ID: id,
                "action": action,
                LABEL: label,
                TEXT: text,
                "reviewer": reviewer or None,
                "note": note or None,
                "at": when,
            }
        ],
        schema=DECISION_SCHEMA,
    )


def _write_atomically(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    frame.write_parquet(temporary)
    os.replace(temporary, path)  # a reader sees the old file or the new one, never half of one


def append_decisions(path: Path, decisions: pl.DataFrame) -> pl.DataFrame:
    """Add `decisions` after the ones already in `path` (earlier ones are never changed); returns the whole log."""
    log = pl.concat([read_decisions(path), decisions.select(list(DECISION_SCHEMA))])
    _write_atomically(log, Path(path))
    return log


def write_decisions(path: Path, decisions: pl.DataFrame) -> None:
    """Write a decision log as it is (the runner's copy of the decisions a run applied)."""
    _write_atomically(decisions.select(list(DECISION_SCHEMA)), Path(path))


def run_decisions_file(run: RunDir) -> Path:
    """Where decisions about `run` go: the file its review stage read (so the next run applies them), else its own folder."""
    configured = (run.report.get("review") or {}).get("decisions_file")
    return Path(configured) if configured else decisions_path(run.path)


def sign_off(run_dir: Path, reviewer: str, note: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Record that `reviewer` approved this run as it is now (verified against its manifest), and say so at the end of
    report.md, whose new hash goes into the manifest."""
    if not reviewer or not reviewer.strip():
        raise CurateError("a sign-off needs the reviewer's name", "--reviewer")
    run = RunDir(Path(run_dir))
    decisions = read_decisions(run_decisions_file(run))
    record = {
        "reviewer": reviewer.strip(),
        "note": note or None,
        "at": (at or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "report_sha256": report_hash(run.path),
        "decisions": decisions.height,
    }
    folder = run.path / REVIEW_FOLDER
    folder.mkdir(exist_ok=True)
    (folder / SIGNOFF_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    with (run.path / REPORT_MD).open("a", encoding="utf-8") as report:  # report.json stays as the run wrote it
        report.write(
            f"\n## Sign-off\n\nSigned off by **{record['reviewer']}** on {record['at']} "
            f"({record['decisions']} review decisions recorded){': ' + note if note else ''}.\n"
        )
    reseal(run.path, REPORT_MD)
    return record


def read_signoff(run_dir: Path) -> dict[str, Any] | None:
    file = Path(run_dir) / REVIEW_FOLDER / SIGNOFF_FILE
    return json.loads(file.read_text(encoding="utf-8")) if file.exists() else None


def review_problem(run_dir: Path) -> str | None:
    """Why `run_dir` does not count as reviewed (None when it is signed off and nothing changed since)."""
    run = RunDir(Path(run_dir))
    signoff = read_signoff(run.path)
    if signoff is None:
        return (
            "it has not been signed off (the explorer's Review page, or `curate review RUN --sign-off --reviewer NAME`)"
        )
    if signoff["report_sha256"] != report_hash(run.path):
        return f"its sign-off by {signoff['reviewer']} was for an earlier run of this folder"
    made = read_decisions(run_decisions_file(run)).height
    if made > signoff["decisions"]:
        return f"{made - signoff['decisions']} review decision(s) were made after {signoff['reviewer']} signed it off; rerun and sign off again"
    return None
