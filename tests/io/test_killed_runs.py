"""A run killed (SIGKILL) at random moments leaves the previous complete run or the new one, never a
folder that export or train would accept half-written."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import yaml
from typer.testing import CliRunner

from curate.cli.main import app
from curate.io.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_killed_at_random_points_leaves_a_complete_run(tmp_path):
    source = pl.read_csv(ROOT / "data/sample/tickets.csv").head(500)
    source.write_csv(tmp_path / "tickets.csv")
    recipe = yaml.safe_load((ROOT / "recipes/tickets.yaml").read_text())
    recipe["stages"] = [
        s for s in recipe["stages"] if not (isinstance(s, dict) and ({"train", "rebalance", "gate"} & set(s)))
    ]
    recipe["input"]["path"] = str(tmp_path / "tickets.csv")
    recipe["output"] = str(tmp_path / "run")
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    command = [sys.executable, "-m", "curate.cli.main", "run", str(tmp_path / "recipe.yaml")]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=600)
    full = time.perf_counter() - started
    reports = {(tmp_path / "run" / "report.json").read_text()}
    rng = random.Random(0)
    for attempt in range(5):
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        time.sleep(rng.uniform(0.2, full * 1.1))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        run = RunDir(tmp_path / "run")  # raises on a half-written folder
        report = (run.path / "report.json").read_text()
        assert run.approved.height + run.rejected.height == 500  # every row there: the old run or the new one, whole
        reports.add(report)
        out = tmp_path / f"export{attempt}.jsonl"
        result = CliRunner().invoke(app, ["export", str(run.path), "--out", str(out), "--split", "all"])
        assert result.exit_code == 0 and sum(1 for _ in out.open()) == run.approved.height
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.")]
    assert all(
        ".staging-" in name or ".retired-" in name for name in leftovers
    )  # hidden siblings, never mistaken for the run
    for name in leftovers:
        assert not (tmp_path / name / "_COMPLETE").exists() or ".retired-" in name
    subprocess.run(
        command, cwd=ROOT, check=True, capture_output=True, timeout=600
    )  # the next run clears what killed runs left
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.")] == [] and not (
        tmp_path / "run" / "_WRITER"
    ).exists()


def test_a_live_runs_staging_folder_is_left_alone(tmp_path):
    from curate.io.rundir import remove_abandoned, staging_dir

    live = staging_dir(tmp_path / "run")  # written by this (live) process
    dead = tmp_path / ".run.staging-deadbeef"
    dead.mkdir()
    (dead / "_WRITER").write_text(f"{__import__('socket').gethostname()} 999999999")
    elsewhere = tmp_path / ".run.staging-otherhost"
    elsewhere.mkdir()
    (elsewhere / "_WRITER").write_text("another-machine 1")
    assert remove_abandoned(tmp_path / "run") == [dead]
    assert live.exists() and elsewhere.exists() and not dead.exists()
