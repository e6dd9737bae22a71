"""A reviewer's decisions and sign-off, kept in a run directory's `review/` folder.

    review/decisions.parquet  append-only: one row per decision (id, action, label, text, reviewer, note, at)
    review/signoff.json       who signed the run off, when, for which report.json, and the sha256 of the exact
                              approved set (and of each split) and rejected set it certifies (`data_hash`)
    review/signed/rows.parquet  the rows it certified (`curate.io.diff.row_states`), to compare a rerun with
    review/previous/          the last sign-off of the run this one replaced or was made from, and its rows: a rerun
                              is not signed, and shows what changed since (`stale_signoff`)

Both change after the run, so `review/` is outside the run's manifest (curate.io.rundir); the sign-off's line
appended to report.md is recorded in the manifest by `sign_off` itself (`reseal`).

Decisions outlive the run they were made on: a recipe's `review` stage reads them on the next run
(by default from its own output folder, where the runner carries them forward), so a fixed label or a
restored row is part of the recipe's record, not a one-off edit of a Parquet file. A sign-off belongs
to one run's data: it is refused while decisions are pending (made, not yet applied by a run), and a rerun, a
decision made after it, or other rows than those it hashed make it stale. `--require-review` hashes exactly what it
exports and compares it with the sign-off (`check_signed`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.columns import ID, LABEL, MESSAGES, REASON, RESPONSE, SPLIT, STAGE, TEXT
from curate.core.errors import CurateError, GateFailed, InputError
from curate.io.diff import RunDiff, diff, row_states
from curate.io.paths import check_input_file
from curate.io.rundir import REPORT_MD, REVIEW_FOLDER, RunDir, report_hash, reseal

DECISIONS_FILE = "decisions.parquet"
SIGNOFF_FILE = "signoff.json"
SIGNED_FOLDER = "signed"  # review/signed/rows.parquet: the rows a sign-off certified
SIGNED_ROWS = "rows.parquet"
PREVIOUS_FOLDER = "previous"  # review/previous/: the last sign-off (and its rows) of the run this one replaced
# What a hash of a set certifies: each row's id and content, never the scores, which may move with a library.
APPROVED_HASHED = (ID, TEXT, MESSAGES, RESPONSE, LABEL, SPLIT)
REJECTED_HASHED = (ID, TEXT, MESSAGES, RESPONSE, LABEL, STAGE, REASON)

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


def data_hash(rows: pl.DataFrame, columns: tuple[str, ...] = APPROVED_HASHED) -> str:
    """The sha256 of a set of rows, whatever their order: each row's `columns` (those it has) as one JSON line,
    sorted by id. The same rows give the same hash on any machine; one changed label, text or split changes it."""
    present = [c for c in columns if c in rows.columns]
    lines = (
        rows.select(pl.col(c).cast(pl.String) for c in present)
        .sort(ID)
        .select(pl.struct(present).struct.json_encode().alias("line"))["line"]
    )
    digest = hashlib.sha256(("\n".join(present) + "\n").encode())
    for start in range(0, len(lines), 100_000):  # a chunk at a time: a big set is not one string in memory
        digest.update(("\n".join(lines.slice(start, 100_000).to_list()) + "\n").encode())
    return digest.hexdigest()


def split_hashes(approved: pl.DataFrame) -> dict[str, str]:
    """The hash of the approved set (`all`) and of each of its splits: what each `curate export --split` writes."""
    hashes = {"all": data_hash(approved)}
    if SPLIT in approved.columns:
        for (name,), part in approved.group_by(SPLIT):
            if name is not None:
                hashes[str(name)] = data_hash(part)
    return hashes


def applied_decisions(report: dict[str, Any]) -> int:
    """How many decisions of the log a run applied: the first ones (the log only grows); 0 without a review stage."""
    return (report.get("review") or {}).get("decisions") or 0


def pending_decisions(run: RunDir) -> int:
    """Decisions made about `run` that no run applied yet."""
    return max(0, read_decisions(run_decisions_file(run)).height - applied_decisions(run.report))


def sign_off(run_dir: Path, reviewer: str, note: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Record that `reviewer` approved this run's data as it is (verified against its manifest): the hashes of its
    approved and rejected sets and the rows themselves, and say so at the end of report.md, whose new hash goes into
    the manifest. Refused while decisions are pending: the run does not show them yet, so they would go unsigned."""
    if not reviewer or not reviewer.strip():
        raise CurateError("a sign-off needs the reviewer's name", "--reviewer")
    run = RunDir(Path(run_dir))
    pending = pending_decisions(run)
    if pending:
        raise CurateError(
            f"{pending} review decision(s) are not applied yet: this run does not show them, so a sign-off would "
            "certify data they change",
            str(run.path),
            hint="run the recipe again (its review stage applies them), then sign off the new run",
        )
    approved, rejected = run.approved, run.rejected
    record = {
        "reviewer": reviewer.strip(),
        "note": note or None,
        "at": (at or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "run": str(run.path.resolve()),
        "report_sha256": report_hash(run.path),
        "decisions": read_decisions(run_decisions_file(run)).height,
        "approved": {"rows": approved.height, "sha256": split_hashes(approved)},
        "rejected": {"rows": rejected.height, "sha256": data_hash(rejected, REJECTED_HASHED)},
    }
    folder = run.path / REVIEW_FOLDER
    (folder / SIGNED_FOLDER).mkdir(parents=True, exist_ok=True)
    row_states(approved, rejected).write_parquet(folder / SIGNED_FOLDER / SIGNED_ROWS)
    (folder / SIGNOFF_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    with (run.path / REPORT_MD).open("a", encoding="utf-8") as report:  # report.json stays as the run wrote it
        report.write(
            f"\n## Sign-off\n\nSigned off by **{record['reviewer']}** on {record['at']} "
            f"({record['decisions']} review decisions recorded; approved set sha256 "
            f"`{record['approved']['sha256']['all'][:16]}`){': ' + note if note else ''}.\n"
        )
    reseal(run.path, REPORT_MD)
    return record


def read_signoff(run_dir: Path) -> dict[str, Any] | None:
    file = Path(run_dir) / REVIEW_FOLDER / SIGNOFF_FILE
    return json.loads(file.read_text(encoding="utf-8")) if file.exists() else None


def carry_signoff(source_run: Path | None, new_run: Path) -> bool:
    """Into the review folder of `new_run` (a run being written): the sign-off of `source_run` (the run it replaces,
    or whose decisions it applies) with the rows it certified, as `review/previous/`, or the previous sign-off that run
    carried itself when nobody signed it. Returns whether there was one."""
    if source_run is None:
        return False
    review = Path(source_run) / REVIEW_FOLDER
    target = Path(new_run) / REVIEW_FOLDER / PREVIOUS_FOLDER
    if (review / SIGNOFF_FILE).is_file():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(review / SIGNOFF_FILE, target / SIGNOFF_FILE)
        if (review / SIGNED_FOLDER / SIGNED_ROWS).is_file():
            shutil.copy2(review / SIGNED_FOLDER / SIGNED_ROWS, target / SIGNED_ROWS)
        return True
    if (review / PREVIOUS_FOLDER / SIGNOFF_FILE).is_file():
        shutil.copytree(review / PREVIOUS_FOLDER, target, dirs_exist_ok=True)
        return True
    return False


def stale_signoff(run_dir: Path) -> tuple[dict[str, Any], RunDiff | None] | None:
    """The sign-off of the run this one replaced (or was made from), now stale, and what changed since: the diff from
    the rows it certified to this run's. None when no earlier run was signed; the diff is None when its rows are lost."""
    folder = Path(run_dir) / REVIEW_FOLDER / PREVIOUS_FOLDER
    if not (folder / SIGNOFF_FILE).is_file():
        return None
    record = json.loads((folder / SIGNOFF_FILE).read_text(encoding="utf-8"))
    if not (folder / SIGNED_ROWS).is_file():
        return record, None
    run = RunDir(Path(run_dir))
    signed = pl.read_parquet(folder / SIGNED_ROWS)
    name = f"signed by {record['reviewer']} on {record['at']}"
    return record, diff(signed, row_states(run.approved, run.rejected), name, str(run_dir))


def _stale_problem(run_dir: Path) -> str | None:
    stale = stale_signoff(run_dir)
    if stale is None:
        return None
    record, changes = stale
    changed = f": {len(changes.changed_ids):,} row(s) changed since" if changes is not None else ""
    return (
        f"the sign-off by {record['reviewer']} ({record['at']}) is STALE, it was for an earlier run{changed}; "
        "look at the changed rows (the Review page, or `curate review RUN`) and sign off again"
    )


def review_problem(run_dir: Path) -> str | None:
    """Why `run_dir` does not count as reviewed (None when it is signed off and nothing changed since)."""
    run = RunDir(Path(run_dir))
    signoff = read_signoff(run.path)
    if signoff is None:
        return _stale_problem(run.path) or (
            "it has not been signed off (the explorer's Review page, or `curate review RUN --sign-off --reviewer NAME`)"
        )
    if signoff["report_sha256"] != report_hash(run.path):
        return f"its sign-off by {signoff['reviewer']} was for an earlier run of this folder"
    if "approved" not in signoff:
        return f"its sign-off by {signoff['reviewer']} certifies no data (made by an older curate); sign off again"
    made = read_decisions(run_decisions_file(run)).height
    if made > signoff["decisions"]:
        return (
            f"{made - signoff['decisions']} review decision(s) were made after {signoff['reviewer']} signed it off "
            "and are not applied yet; rerun and sign off again"
        )
    if (
        split_hashes(run.approved)["all"] != signoff["approved"]["sha256"]["all"]
        or data_hash(run.rejected, REJECTED_HASHED) != signoff["rejected"]["sha256"]
    ):
        return f"its rows are not the ones {signoff['reviewer']} signed off"
    return None


def check_signed(run_dir: Path, exported: pl.DataFrame, split: str) -> None:
    """Refuse to export `exported` (split `split` of the run's approved set) unless it is exactly what was signed."""
    signoff = read_signoff(run_dir) or {}
    signed = (signoff.get("approved") or {}).get("sha256", {}).get(split)
    if signed is None and split != "all" and SPLIT not in exported.columns:
        signed = (signoff.get("approved") or {}).get("sha256", {}).get("all")  # a run without splits is all train
    if signed != data_hash(exported):
        raise GateFailed(
            f"the {split} rows to export ({exported.height:,}) are not the ones "
            f"{signoff.get('reviewer', 'anyone')} signed off (their sha256 differs)",
            str(run_dir),
            hint="review the run again and sign it off (the explorer's Review page, or `curate review --sign-off`)",
        )
