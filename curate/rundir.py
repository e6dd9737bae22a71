"""The run directory: a contract other tools (explorer, train, export, gates) read.

    approved.parquet   the rows that passed every stage
    rejected.parquet   every rejected row with id, text, label, stage, reason, detail
    clusters.parquet   duplicate clusters with their members and which one was kept (if dedup ran)
    report.json        per stage: rows in, kept, rejected by reason, seconds, stats; recipe, hash, input fingerprint
    report.md          the same for a person
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import InputError

APPROVED = "approved.parquet"
REJECTED = "rejected.parquet"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"


def write_frames(run_dir: Path, frames: dict[str, pl.DataFrame]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.write_parquet(run_dir / f"{name}.parquet", compression="zstd")


def write_report(run_dir: Path, report: dict[str, Any]) -> None:
    from curate.clean.redact import PiiFinder
    from curate.report.markdown import render_markdown

    (run_dir / REPORT_JSON).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    # Examples are redacted where they are taken; this is the safety net for the page a person reads.
    (run_dir / REPORT_MD).write_text(PiiFinder().redact(render_markdown(report))[0], encoding="utf-8")


@dataclass
class RunDir:
    """Read access to a finished run."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not (self.path / REPORT_JSON).exists():
            raise InputError("not a run directory (no report.json)", str(self.path), hint="pass the `output` folder of `curate run`")

    @cached_property
    def report(self) -> dict[str, Any]:
        return json.loads((self.path / REPORT_JSON).read_text(encoding="utf-8"))

    def frame(self, name: str) -> pl.DataFrame | None:
        file = self.path / f"{name}.parquet"
        return pl.read_parquet(file) if file.exists() else None

    @property
    def approved(self) -> pl.DataFrame:
        return pl.read_parquet(self.path / APPROVED)

    @property
    def rejected(self) -> pl.DataFrame:
        return pl.read_parquet(self.path / REJECTED)
