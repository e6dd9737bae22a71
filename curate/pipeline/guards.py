"""Whether a dataset may be trained on: a run whose gate failed is refused unless forced; one not signed off, when review is required."""

from __future__ import annotations

from pathlib import Path

from curate.core.errors import GateFailed
from curate.io.review import review_problem
from curate.io.rundir import RunDir


def check_trainable(source: Path, force: bool = False, require_review: bool = False) -> str | None:
    """Before training on or exporting `source`: raise GateFailed for a run whose gate failed (unless `force`),
    or, with `require_review`, one nobody signed off; return a warning for data that was never gated."""
    if require_review:
        problem = (
            review_problem(source) if Path(source).is_dir() else "it is a plain file, not a reviewed run directory"
        )
        if problem:
            raise GateFailed(
                f"{source} is not reviewed: {problem}",
                str(source),
                hint="review it in `curate explore`, or drop --require-review",
            )
    if not Path(source).is_dir():
        return f"{source} is a plain file that was never gated; using it as it is"
    run = RunDir(source)
    if run.gate is None:
        return f"{source} was never gated (no gate.json); using it anyway"
    failed = run.failed_expectations()
    if failed and not force:
        raise GateFailed(
            f"the gate of {source} failed: {', '.join(failed)}", str(source), hint="fix the data, or pass --force"
        )
    return None
