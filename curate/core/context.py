"""What a stage may know about the run it is part of, handed in by the executor.

Everything that depends on where and how a run happens lives here (output folder, seed, datasets
the recipe names besides the input, the redactor for reports, progress reporting), so a stage never
imports io, recipe, run or cli, and the same stage object runs in a notebook, locally or on a cluster.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import polars as pl

# progress(stage, what, done, total): total None when unknown.
Progress = Callable[[str, str, int, int | None], None]


@dataclass
class RunContext:
    seed: int = 0
    output_dir: Path | None = None  # the run directory; None: nothing is written (a notebook, a test)
    datasets: dict[str, pl.DataFrame] = field(
        default_factory=dict
    )  # e.g. {"train.eval": rows of a clean evaluation file}
    progress: Progress | None = None
    # Where embeddings are computed (core/embed.py's ChunkEncoder): None, in this process; the Ray engine sets a pool of
    # actors that hold the model, so a model stage on the driver encodes on every worker (a GPU where there is one).
    encode_chunks: Callable | None = None

    def seed_for(self, explicit: int | None) -> int:
        """A stage's own seed when the recipe set one, else the recipe's."""
        return self.seed if explicit is None else explicit

    def workdir(self, stage_name: str) -> Path:
        """A folder for a stage's files: `<run directory>/<stage>`, or a fresh temporary folder."""
        if self.output_dir is None:
            return Path(tempfile.mkdtemp(prefix=f"curate-{stage_name}-"))
        return Path(self.output_dir) / stage_name

    def embedder(self, model: str | None = None, **options):
        """An `Embedder` (core/embed.py) that encodes where this run encodes; `options` are its other fields."""
        from curate.core.embed import Embedder

        return Embedder(model, encode_chunks=self.encode_chunks, **options)

    def report(self, stage: str, what: str, done: int, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress(stage, what, done, total)

    def reporter(self, stage: str, what: str) -> Callable[[int, int | None], None] | None:
        """`report` bound to one stage and one measure, for code below the stage (an encoder, a generator)."""
        return None if self.progress is None else lambda done, total=None: self.report(stage, what, done, total)

    @cached_property
    def redactor(self):
        """The PII finder that keeps personal data out of findings and examples."""
        from curate.core.pii import PiiFinder

        return PiiFinder()

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)[0]
