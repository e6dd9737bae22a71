"""A run directory is written whole or not at all: a rerun replaces it, a failed run leaves the previous
one as it was, and tools refuse a folder that is incomplete."""

from dataclasses import dataclass
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.core.errors import InputError
from curate.core.stage import Stage
from curate.io.rundir import COMPLETE, RunDir
from curate.pipeline.runner import run_recipe
from curate.recipe import parse_recipe
from tests.conftest import ROOT

RECIPE = f"input: {{path: {ROOT / 'data/sample/tickets.csv'}, text: body, label: intent, id: ticket_id}}\nstages:\n  - clean\n  - dedup: {{method: exact}}\n"


@dataclass
class Breaks(Stage):
    name: ClassVar[str] = "breaks"

    def apply(self, rows, ctx=None):
        (ctx.output_dir / "half-written.parquet").write_text("x")  # a file the broken run had started
        raise RuntimeError("disk full")


def test_a_rerun_replaces_the_whole_folder_and_a_failed_run_changes_nothing(tmp_path):
    out = tmp_path / "run"
    run_recipe(parse_recipe(RECIPE + "  - gate: {on_fail: warn}\n", output=out))
    assert (out / "gate.json").exists() and RunDir(out).report["totals"]["input_rows"] == 2002
    run_recipe(parse_recipe(RECIPE, output=out))
    assert not (out / "gate.json").exists(), "a stale gate.json of the older run must not survive"
    before = sorted(p.name for p in out.iterdir())
    broken = parse_recipe(RECIPE, output=out)
    broken.stages.append(Breaks())
    with pytest.raises(RuntimeError):
        run_recipe(broken)
    assert sorted(p.name for p in out.iterdir()) == before and RunDir(out).approved.height > 0
    assert [p.name for p in tmp_path.iterdir()] == ["run"], "no staging folder is left behind"


def test_tools_refuse_an_incomplete_run(tmp_path):
    out = tmp_path / "run"
    run_recipe(parse_recipe(RECIPE, output=out))
    (out / COMPLETE).unlink()  # as if the process died before the end
    with pytest.raises(InputError, match="incomplete run directory"):
        RunDir(out)
    for command in (["export", str(out), "--out", str(tmp_path / "x.jsonl")], ["train", str(out)]):
        result = CliRunner().invoke(app, command)
        assert (
            result.exit_code == 2
            and "incomplete run directory" in result.output
            and not (tmp_path / "x.jsonl").exists()
        )


def test_an_output_that_is_a_file_is_refused_before_anything_runs(tmp_path):
    target = tmp_path / "run"
    target.write_text("not a folder")
    with pytest.raises(InputError, match="the output is a file"):
        run_recipe(parse_recipe(RECIPE, output=target))
    assert target.read_text() == "not a folder"
