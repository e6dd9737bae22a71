"""Shared fixtures: the bundled raw sample with its ground truth, and tiny inline frames."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl
import pytest

# Under pytest-xdist (`make test` runs two workers, one a core) each worker's torch and BLAS take one thread, so the
# two workers do not fight over the cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

# Embedding caches of the tests stay out of the user's ~/.cache.
os.environ.setdefault("CURATE_CACHE_DIR", tempfile.mkdtemp(prefix="curate-test-cache-"))

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE / "tickets.csv"


@pytest.fixture(scope="session")
def truth() -> pl.DataFrame:
    """Ground truth of the bundled sample, keyed by ticket_id (the sample's id column)."""
    return pl.read_csv(SAMPLE / "truth.csv").with_columns(
        pl.col("pii").str.json_decode(pl.List(pl.Struct({"type": pl.String, "value": pl.String})))
    )


@pytest.fixture(scope="session")
def sample_rows(sample_path) -> pl.DataFrame:
    """The sample as the pipeline sees it after ingest (id/text/label/response)."""
    from curate.io.readers import read_input
    from curate.io.spec import InputSpec

    spec = InputSpec(path=sample_path, text="body", label="intent", id="ticket_id", response="response")
    return read_input(spec).result.kept


def frame(texts: list[str], labels: list[str] | None = None) -> pl.DataFrame:
    labels = labels or ["a"] * len(texts)
    return pl.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts, "label": labels})


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """The default recipe run once on the bundled sample: a real run directory for CLI and explorer tests."""
    from typer.testing import CliRunner

    from curate.cli.main import app

    out = tmp_path_factory.mktemp("run") / "tickets"
    result = CliRunner().invoke(
        app, ["run", str(ROOT / "recipes/tickets.yaml"), "--input", str(SAMPLE / "tickets.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out
