"""The run directory: a contract other tools (explorer, train, export, gates) read.

    approved.parquet   the rows that passed every stage
    rejected.parquet   every rejected row with id, text, label, stage, reason, detail
    <artifact>.parquet frame artifacts of the stages, e.g. clusters.parquet (duplicate clusters)
    <artifact>.json    dict artifacts, e.g. gate.json (the gate's result)
    report.json        per stage: rows in, kept, rejected by reason, seconds, stats; recipe, hash, input fingerprint
    report.md          the same for a person
    _COMPLETE          written last, holding report.json's sha256

A run is written into a temporary sibling folder (`staging_dir`) and swapped into place whole
(`publish`), so a reader sees the previous complete run or the new one, never a mix or a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.columns import GATE_ARTIFACT
from curate.core.errors import InputError
from curate.io.blocks import Blocks

APPROVED = "approved"
REJECTED = "rejected"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
OWNER = "_WRITER"  # in a staging folder: "host pid" of the run writing it, so an abandoned one can be told apart
COMPLETE = "_COMPLETE"  # written last, with report.json's hash: a folder without it is incomplete or not a run


def artifact_file(name: str, artifact: pl.DataFrame | Blocks | dict) -> str:
    return f"{name}.parquet" if isinstance(artifact, (pl.DataFrame, Blocks)) else f"{name}.json"


def check_output(run_dir: Path, keep: list[Path] = ()) -> None:
    """Refuse an output folder whose replacement would destroy something that is not a run: a rerun replaces
    the folder whole, so it must be empty, absent or an earlier run, and must not hold a file the run reads."""
    if not str(run_dir).strip() or str(run_dir).strip() in (".", "./"):
        raise InputError("the output folder is empty or the current folder", str(run_dir), hint="name a folder of its own, e.g. runs/tickets")
    folder = Path(run_dir).resolve()
    if folder in Path.cwd().resolve().parents or folder == Path.cwd().resolve() or folder == folder.parent:
        raise InputError("the output folder holds the current folder", str(run_dir), hint="name a folder of its own, e.g. runs/tickets")
    for path in keep:
        if path is not None and (folder == Path(path).resolve() or folder in Path(path).resolve().parents):
            raise InputError(f"the output folder holds {path}, which this run reads; a run replaces its folder whole", str(run_dir),
                             hint="write the run somewhere else, e.g. runs/tickets")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / REPORT_JSON).exists():
        raise InputError("the output folder exists and is not a curate run; a run replaces its folder whole", str(run_dir),
                         hint="choose a new folder, or empty this one yourself")


def staging_dir(run_dir: Path) -> Path:
    """A fresh folder beside `run_dir` (same file system, so the final rename is atomic)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError("the output is a file, not a folder", str(run_dir), hint="choose another `output` (or --out)")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(run_dir)
    staging = run_dir.parent / f".{run_dir.name}.staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    (staging / OWNER).write_text(f"{socket.gethostname()} {os.getpid()}", encoding="utf-8")
    return staging


def remove_abandoned(run_dir: Path) -> list[Path]:
    """Delete what killed runs left beside `run_dir`: staging folders whose writer (on this machine) is gone,
    and retired runs that a publish did not get to delete. A staging folder of a live run is left alone."""
    removed = []
    for folder in run_dir.parent.glob(f".{run_dir.name}.*-*"):
        if ".retired-" in folder.name:
            abandoned = True
        elif ".staging-" in folder.name:
            owner = (folder / OWNER).read_text(encoding="utf-8").split() if (folder / OWNER).exists() else []
            abandoned = len(owner) == 2 and owner[0] == socket.gethostname() and not _alive(int(owner[1]))
        else:
            continue
        if abandoned:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def publish(staging: Path, run_dir: Path) -> None:
    """Replace `run_dir` by the complete run in `staging`: nothing of an older run survives beside the new one."""
    (staging / OWNER).unlink(missing_ok=True)
    retired = run_dir.parent / f".{run_dir.name}.retired-{uuid.uuid4().hex[:8]}"
    if run_dir.exists():
        run_dir.rename(retired)
    staging.rename(run_dir)
    shutil.rmtree(retired, ignore_errors=True)


def write_run(run_dir: Path, artifacts: dict[str, pl.DataFrame | dict], report: dict[str, Any], markdown: str) -> None:
    """Write every artifact (frames as Parquet, dicts as JSON), report.json, report.md and, last, the completion marker."""
    from curate.core.pii import PiiFinder

    run_dir.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        path = run_dir / artifact_file(name, artifact)
        if isinstance(artifact, (pl.DataFrame, Blocks)):  # Blocks: a streamed run's rows, written a block at a time
            artifact.write_parquet(path, compression="zstd")
        else:
            path.write_text(json.dumps(artifact, indent=2, default=str), encoding="utf-8")
    (run_dir / REPORT_JSON).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    # Examples are redacted where they are taken; this is the safety net for the page a person reads.
    (run_dir / REPORT_MD).write_text(PiiFinder().redact(markdown)[0], encoding="utf-8")
    (run_dir / COMPLETE).write_text(report_hash(run_dir) + "\n", encoding="utf-8")


def report_hash(run_dir: Path) -> str:
    return hashlib.sha256((run_dir / REPORT_JSON).read_bytes()).hexdigest()


@dataclass
class RunDir:
    """Read access to a finished run."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not (self.path / REPORT_JSON).exists():
            raise InputError("not a run directory (no report.json)", str(self.path), hint="pass the `output` folder of `curate run`")
        marker = self.path / COMPLETE
        if not marker.exists() or marker.read_text(encoding="utf-8").strip() != report_hash(self.path):
            raise InputError("an incomplete run directory (interrupted, or its report changed after the run)", str(self.path),
                             hint="run the recipe again; curate writes a run whole or not at all")

    @cached_property
    def report(self) -> dict[str, Any]:
        return json.loads((self.path / REPORT_JSON).read_text(encoding="utf-8"))

    def frame(self, name: str) -> pl.DataFrame | None:
        file = self.path / f"{name}.parquet"
        return pl.read_parquet(file) if file.exists() else None

    def artifact(self, name: str) -> dict[str, Any] | None:
        file = self.path / f"{name}.json"
        return json.loads(file.read_text(encoding="utf-8")) if file.exists() else None

    @property
    def gate(self) -> dict[str, Any] | None:
        """The gate's result, or None for a run that was never gated."""
        return self.artifact(GATE_ARTIFACT)

    def failed_expectations(self) -> list[str]:
        gate = self.gate or {"outcomes": []}
        return [f"{o['expectation']}({o['column'] or ''})" for o in gate["outcomes"] if not o["success"]]

    @property
    def approved(self) -> pl.DataFrame:
        return pl.read_parquet(self.path / f"{APPROVED}.parquet")

    @property
    def rejected(self) -> pl.DataFrame:
        return pl.read_parquet(self.path / f"{REJECTED}.parquet")
