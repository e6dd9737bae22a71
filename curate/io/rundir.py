"""The run directory: a contract other tools (explorer, train, export, gates) read.

    approved.parquet   the rows that passed every stage
    rejected.parquet   every rejected row with id, text, label, stage, reason, detail
    <artifact>.parquet frame artifacts of the stages, e.g. clusters.parquet (duplicate clusters)
    <artifact>.json    dict artifacts, e.g. gate.json (the gate's result)
    report.json        per stage: rows in, kept, rejected by reason, seconds, stats; recipe, hash, input fingerprint
    report.md          the same for a person
    review/            a reviewer's decisions and sign-off (curate.io.review): outside the manifest, see below
    _COMPLETE          written last: the manifest, {relative path: sha256} of every other file of the run

A run is written into a temporary sibling folder (`staging_dir`) and swapped into place whole
(`publish`), so a reader sees the previous complete run or the new one, never a mix or a half-written one.

A run proves what it holds: `RunDir` (which export, train, review, `load_run` and the explorer open a run with)
refuses a run whose files are not exactly those `_COMPLETE` lists with their hashes: a changed, missing or added
file is named. Two kinds of change after a run are legitimate: files under `review/` (the append-only decision
log and the sign-off, which records report.json's hash itself) are outside the manifest by rule, and a sign-off's
line appended to report.md is recorded by `reseal`, called by the code that writes it. Nothing else writes into a
finished run: commands refuse an output inside the run they read (`check_written_apart`).
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
from curate.io.blocks import Rows

APPROVED = "approved"
REJECTED = "rejected"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
OWNER = "_WRITER"  # in a staging folder: "host pid" of the run writing it, so an abandoned one can be told apart
COMPLETE = "_COMPLETE"  # written last, the manifest of the run's files: a folder without it is incomplete or not a run
REVIEW_FOLDER = "review"  # written by reviewers after the run: outside the manifest (see the module docstring)
MANIFEST_VERSION = 2  # 1 was report.json's hash alone


def artifact_file(name: str, artifact: Rows | dict) -> str:
    return f"{name}.json" if isinstance(artifact, dict) else f"{name}.parquet"


def check_output(run_dir: Path, keep: list[Path] = ()) -> None:
    """Refuse an output folder whose replacement would destroy something that is not a run: a rerun replaces
    the folder whole, so it must be empty, absent or a complete run holding nothing but what a run writes (its
    manifest's files and review/), and must not hold a file the run reads. A symlink is followed, not replaced."""
    if not str(run_dir).strip() or str(run_dir).strip() in (".", "./"):
        raise InputError(
            "the output folder is empty or the current folder",
            str(run_dir),
            hint="name a folder of its own, e.g. runs/tickets",
        )
    folder = output_target(run_dir)
    if folder in Path.cwd().resolve().parents or folder == Path.cwd().resolve() or folder == folder.parent:
        raise InputError(
            "the output folder holds the current folder",
            str(run_dir),
            hint="name a folder of its own, e.g. runs/tickets",
        )
    for path in keep:
        if path is not None and (folder == Path(path).resolve() or folder in Path(path).resolve().parents):
            raise InputError(
                f"the output folder holds {path}, which this run reads; a run replaces its folder whole",
                str(run_dir),
                hint="write the run somewhere else, e.g. runs/tickets",
            )
    problem = replacement_problem(folder)
    if problem:
        raise InputError(
            f"the output folder {problem}; a run replaces its folder whole",
            str(run_dir),
            hint="choose a new folder, or move your files out of this one yourself",
        )


def replacement_problem(folder: Path) -> str | None:
    """Why replacing `folder` would destroy something (None: absent, empty, or a complete run and nothing else)."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    if not (folder / COMPLETE).is_file():
        return "exists and is not a curate run (no _COMPLETE)"
    try:
        manifest = read_manifest(folder)
    except InputError as error:
        return None if _older_run(folder) else f"is not a run this curate can recognise ({error.message})"
    foreign = [name for name in run_files(folder) if name not in manifest]
    if foreign:
        more = f" and {len(foreign) - 1} more file(s)" if len(foreign) > 1 else ""
        return f"holds {foreign[0]}{more}, which no curate run wrote"
    return None


def _older_run(folder: Path) -> bool:
    """A complete run of an older curate (its _COMPLETE held report.json's hash alone) holding only what such a run
    wrote: Parquet and JSON artifacts, report.md, and the review/ and train/ folders (the train stage, `curate train`)."""
    marker = (folder / COMPLETE).read_text(encoding="utf-8", errors="replace").strip()
    if not (folder / REPORT_JSON).is_file() or marker != report_hash(folder):
        return False
    return all(
        entry.name in (REVIEW_FOLDER, "train")
        if entry.is_dir() and not entry.is_symlink()
        else entry.suffix in (".parquet", ".json") or entry.name in (REPORT_MD, COMPLETE)
        for entry in folder.iterdir()
    )


def check_written_apart(out: Path, read: list[Path | None], option: str = "--out") -> None:
    """Refuse an output that is, or lies inside, something this command reads (a run folder, a data file): writing
    it would change the run while it is read, and the run's manifest would no longer prove what it holds."""
    target = output_target(out)
    for source in read:
        if source is None or not Path(source).exists():
            continue
        where = Path(source).resolve()
        if target == where or (where.is_dir() and where in target.parents):
            raise InputError(
                f"{option} would write into {source}, which this command reads",
                str(out),
                hint="write it somewhere else, e.g. beside the run (runs/tickets-export.jsonl)",
            )


def output_target(path: Path) -> Path:
    """Where an output really goes: a symlink is followed (its target is written, the link kept)."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as error:  # RuntimeError: a symlink loop
        raise InputError(
            f"cannot follow this path ({error})", str(path), hint="point the output at a real folder"
        ) from None


def staging_dir(run_dir: Path) -> Path:
    """A fresh folder beside `run_dir` (same file system, so the final rename is atomic); beside its target when
    `run_dir` is a symlink."""
    run_dir = output_target(run_dir)
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
    """Replace `run_dir` (a symlink's target) by the complete run in `staging`: nothing of an older run survives beside
    the new one."""
    run_dir = output_target(run_dir)
    (staging / OWNER).unlink(missing_ok=True)
    retired = run_dir.parent / f".{run_dir.name}.retired-{uuid.uuid4().hex[:8]}"
    if run_dir.exists():
        run_dir.rename(retired)
    staging.rename(run_dir)
    shutil.rmtree(retired, ignore_errors=True)


def write_run(run_dir: Path, artifacts: dict[str, Rows | dict], report: dict[str, Any], markdown: str) -> None:
    """Write every artifact (frames as Parquet, dicts as JSON), report.json, report.md and, last, the manifest, each as
    given: what personal data each may hold is decided before (`curate.pipeline.privacy`)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        path = run_dir / artifact_file(name, artifact)
        if isinstance(artifact, dict):
            path.write_text(json.dumps(artifact, indent=2, default=str), encoding="utf-8")
        else:  # rows: a streamed run's blocks are written a block at a time
            artifact.write_parquet(path, compression="zstd")
    (run_dir / REPORT_JSON).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (run_dir / REPORT_MD).write_text(markdown, encoding="utf-8")
    seal(run_dir)


def report_hash(run_dir: Path) -> str:
    return file_hash(run_dir / REPORT_JSON)


def file_hash(path: Path) -> str:
    with open(path, "rb") as handle:  # streamed: a run's files may be larger than memory
        return hashlib.file_digest(handle, "sha256").hexdigest()


def run_files(run_dir: Path) -> list[str]:
    """Every file of a run as a relative POSIX path, sorted: all but the manifest, the writer mark and review/."""
    names = []
    for folder, subfolders, files in os.walk(run_dir):
        relative = Path(folder).relative_to(run_dir)
        if relative == Path("."):
            subfolders[:] = [d for d in subfolders if d != REVIEW_FOLDER]
            files = [f for f in files if f not in (COMPLETE, OWNER)]
        names += [
            (relative / name).as_posix() for name in files + [d for d in subfolders if Path(folder, d).is_symlink()]
        ]
    return sorted(names)


def seal(run_dir: Path) -> None:
    """Write the manifest: every file of the run with its sha256 (the last file a run writes)."""
    _write_manifest({name: file_hash(run_dir / name) for name in run_files(run_dir)}, run_dir / COMPLETE)


def _write_manifest(files: dict[str, str], path: Path) -> None:
    text = json.dumps({"curate_run": MANIFEST_VERSION, "files": files}, indent=1, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def reseal(run_dir: Path, *names: str) -> None:
    """Record the new hashes of `names` after curate itself changed them in a finished run (a sign-off's line in
    report.md); the manifest is replaced atomically and its other entries are kept as they were."""
    run_dir = Path(run_dir).resolve()
    files = read_manifest(run_dir)
    files.update({name: file_hash(run_dir / name) for name in names})
    temporary = (
        run_dir.parent / f".{run_dir.name}.manifest-{uuid.uuid4().hex[:8]}"
    )  # same file system: os.replace is atomic
    _write_manifest(files, temporary)
    os.replace(temporary, run_dir / COMPLETE)


def read_manifest(run_dir: Path) -> dict[str, str]:
    """The files a run recorded, {relative path: sha256}; refuses a folder without a readable manifest."""
    marker = Path(run_dir) / COMPLETE
    if not marker.is_file():
        raise InputError(
            "an incomplete run directory (interrupted, or not written by curate: no _COMPLETE)",
            str(run_dir),
            hint="run the recipe again; curate writes a run whole or not at all",
        )
    try:
        manifest = json.loads(marker.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        manifest = None
    if (
        not isinstance(manifest, dict)
        or manifest.get("curate_run") != MANIFEST_VERSION
        or not isinstance(manifest.get("files"), dict)
    ):
        raise InputError(
            "_COMPLETE does not list the run's files (written by an older curate, or damaged)",
            str(marker),
            hint="run the recipe again into a new folder, so the run records every file it holds",
        )
    return manifest["files"]


_verified: dict[Path, tuple] = {}  # run folder -> its manifest and its files' stat when last verified in this process


def verify(run_dir: Path) -> None:
    """Refuse a run whose files are not exactly those of its manifest, with the same contents: the error names
    each changed, missing or added file. Hashing streams every file once per process; a run is hashed again only
    when a file's inode, size, mtime or ctime changed (ctime moves on every write or rename, whatever a user sets)."""
    run_dir = Path(run_dir).resolve()
    manifest = read_manifest(run_dir)
    present = run_files(run_dir)
    stamp = ((run_dir / COMPLETE).read_bytes(), tuple((name, *_stat(run_dir / name)) for name in present))
    if _verified.get(run_dir) == stamp:
        return
    problems = [(name, "was added after the run") for name in present if name not in manifest]
    problems += [(name, "is missing") for name in manifest if name not in present]
    problems += [
        (name, "changed after the run")
        for name in present
        if name in manifest and _hash_or_none(run_dir / name) != manifest[name]
    ]
    if problems:
        listed = "; ".join(f"{name} {what}" for name, what in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InputError(
            f"this run's files are not the ones it wrote: {listed}{more}",
            str(run_dir / problems[0][0]),
            hint="curate reads a run only as it wrote it (its _COMPLETE lists every file's sha256); "
            "move added files out, or run the recipe again",
        )
    _verified[run_dir] = stamp


def _hash_or_none(path: Path) -> str | None:
    try:
        return file_hash(path)
    except OSError:  # a dangling link, a folder where a file was, a file that cannot be read
        return None


def _stat(path: Path) -> tuple[int, int, int, int]:
    info = path.lstat()
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


@dataclass
class RunDir:
    """Read access to a finished run, verified against its manifest when opened (see `verify`)."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not (self.path / REPORT_JSON).exists() and not (self.path / COMPLETE).exists():
            raise InputError(
                "not a run directory (no report.json)", str(self.path), hint="pass the `output` folder of `curate run`"
            )
        verify(self.path)

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
