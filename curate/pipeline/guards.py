"""Whether a dataset may be trained on: a run whose gate failed is refused unless forced."""

from __future__ import annotations

from pathlib import Path

from curate.core.errors import GateFailed
from curate.io.rundir import RunDir


def check_trainable(source: Path, force: bool = False) -> str | None:
    """Raise GateFailed for a run whose gate failed (unless `force`); return a warning for ungated data."""
    if not Path(source).is_dir():
        return f"{source} is a plain file that was never gated; training on it as it is"
    run = RunDir(source)
    if run.gate is None:
        return f"{source} was never gated (no gate.json); training anyway"
    failed = run.failed_expectations()
    if failed and not force:
        raise GateFailed(f"the gate of {source} failed: {', '.join(failed)}", str(source), hint="fix the data, or pass --force")
    return None
