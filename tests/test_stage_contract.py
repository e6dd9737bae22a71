"""Every registered stage through the same contract (as imbalanced-learn's estimator checks do):
parameters stored by the constructor, deterministic output, conservation of rows, reasons on every
rejected row, and the rejected schema."""

import dataclasses

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from curate.columns import DETAIL, ID, REASON, STAGE
from curate.pipeline import check_stage_conservation
from curate.registry import STAGES, build_stage

ENTRIES = [(name, {}) if isinstance(entry, str) else (name, {"method": method})
           for name, entry in STAGES.items() for method in ([None] if isinstance(entry, str) else entry)]


@pytest.fixture(scope="module")
def rows(sample_rows):
    return sample_rows.head(400)


@pytest.mark.parametrize("name, params", ENTRIES, ids=[f"{n}:{p.get('method', '')}" for n, p in ENTRIES])
def test_stage_contract(name, params, rows, tmp_path):
    stage = build_stage(name, params)
    if hasattr(stage, "output_dir"):
        stage.output_dir = str(tmp_path / name)
    assert dataclasses.is_dataclass(stage)
    first, second = stage.apply(rows), stage.apply(rows)
    assert_frame_equal(first.kept, second.kept)
    assert_frame_equal(first.rejected, second.rejected)
    check_stage_conservation(stage.label, rows, first)
    if first.rejected.height:
        assert {ID, STAGE, REASON, DETAIL} <= set(first.rejected.columns)
        assert first.rejected[REASON].null_count() == 0 and set(first.rejected[STAGE]) == {stage.label}
    assert isinstance(first.stats, dict)
    assert all(isinstance(v, pl.DataFrame) for v in first.artifacts.values())
