"""A run folder proves what it holds: _COMPLETE lists every file with its sha256, every reader (export, train,
review, `load_run`, the explorer) refuses a changed, missing or added file, no command writes into the run it
reads, a folder holding anything else is never replaced, and a symlinked output is followed."""

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import curate
from curate.cli.main import app
from curate.core.errors import InputError
from curate.explore import data as D
from curate.io.review import decisions_path, sign_off
from curate.io.rundir import COMPLETE, RunDir, file_hash, read_manifest, report_hash

ROOT = Path(__file__).resolve().parents[2]
CSV = "id,text,label\n" + "".join(
    f"r{i},please help me with order number {i} today,{'a' if i % 2 else 'b'}\n" for i in range(40)
)


def curate_run(folder: Path, output: str = "run") -> Path:
    """`curate run` on a 40-row file with one stage, into `folder/output`; returns the recipe."""
    (folder / "t.csv").write_text(CSV)
    recipe = folder / "r.yaml"
    recipe.write_text(
        f"input: {{path: {folder / 't.csv'}, label: label}}\nstages: [clean]\noutput: {folder / output}\n"
    )
    return recipe


def run_cli(*argv) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in argv])
    assert "Traceback" not in result.output and (
        result.exception is None or isinstance(result.exception, SystemExit)
    ), result.exception
    return result.exit_code, result.output


@pytest.fixture()
def run(tmp_path) -> Path:
    code, output = run_cli("run", curate_run(tmp_path))
    assert code == 0, output
    return tmp_path / "run"


def swap_approved(run: Path) -> None:
    """Another valid Parquet file where the run's approved set was (what a careless copy or a bad actor leaves)."""
    pl.read_parquet(run / "approved.parquet").head(3).write_parquet(run / "approved.parquet")


def test_complete_lists_every_file_of_the_run_with_its_hash(run):
    files = read_manifest(run)
    assert set(files) == {"approved.parquet", "rejected.parquet", "report.json", "report.md"}
    assert all(files[name] == file_hash(run / name) for name in files)
    assert json.loads((run / COMPLETE).read_text())["files"] == files  # readable JSON


def test_a_folder_holding_other_files_is_never_replaced(tmp_path):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "report.json").write_text("{}")
    (project / "thesis.tex").write_text("\\section{Results}")
    (project / "data" / "raw.csv").write_text("a,b\n1,2\n")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    code, output = run_cli("run", curate_run(tmp_path, "project"))
    assert code == 2 and "project" in output and "is not a curate run (no _COMPLETE)" in output
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".project.")] == []


def test_a_complete_run_with_a_file_added_is_not_replaced_but_review_decisions_are_carried(tmp_path, run):
    recipe = tmp_path / "r.yaml"
    (run / "notes").mkdir()
    (run / "notes" / "thesis.tex").write_text("mine")
    code, output = run_cli("run", recipe)
    assert code == 2 and "notes/thesis.tex" in output and (run / "notes" / "thesis.tex").read_text() == "mine"
    (run / "notes" / "thesis.tex").unlink()
    (run / "notes").rmdir()
    decisions_path(run).parent.mkdir()
    pl.DataFrame({"id": ["r1"], "action": ["reject"]}).write_parquet(
        decisions_path(run)
    )  # review/ is the reviewer's, outside the manifest
    assert RunDir(run).approved.height == 40
    code, output = run_cli("run", recipe)
    assert code == 0, output


def test_a_run_of_an_older_curate_is_replaced_when_it_holds_only_a_run_but_never_read(tmp_path, run):
    (run / COMPLETE).write_text(report_hash(run) + "\n")  # the marker before the manifest: report.json's hash alone
    with pytest.raises(InputError, match="older curate"):
        RunDir(run)
    (run / "thesis.tex").write_text("mine")
    code, output = run_cli("run", tmp_path / "r.yaml")
    assert code == 2 and "not a run this curate can recognise" in output and (run / "thesis.tex").read_text() == "mine"
    (run / "thesis.tex").unlink()
    code, output = run_cli("run", tmp_path / "r.yaml")
    assert code == 0, output
    assert RunDir(run).approved.height == 40


def test_an_empty_folder_is_a_fine_output(tmp_path):
    (tmp_path / "run").mkdir()
    code, output = run_cli("run", curate_run(tmp_path))
    assert code == 0, output
    assert RunDir(tmp_path / "run").approved.height == 40


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "{run}", "--out", "{run}/approved.parquet"],
        ["export", "{run}", "--out", "{run}", "--format", "splits"],
        ["export", "{run}", "--out", "{run}/sub/x.jsonl"],
        ["leakage", "{run}", "{dir}/t.csv", "--out", "{run}/pairs.csv"],
        ["expectations", "init", "{run}", "--out", "{run}/suite.json"],
        ["validate", "{run}", "--out", "{run}/gate.json"],
        ["train", "{run}", "--out", "{run}/train", "--max-steps", "1"],
        ["export", "{dir}/t.csv", "--out", "{dir}/t.csv", "--format", "jsonl"],
    ],
    ids=[
        "export-over-approved",
        "export-splits-into-run",
        "export-below-run",
        "leakage",
        "expectations-init",
        "validate",
        "train",
        "export-over-its-file",
    ],
)
def test_no_command_writes_into_what_it_reads(tmp_path, run, argv):
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, output = run_cli(*(a.replace("{run}", str(run)).replace("{dir}", str(tmp_path)) for a in argv))
    assert code == 2 and "which this command reads" in output, output
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    RunDir(run)  # still proves what it holds


def test_train_writes_beside_the_run_by_default(tmp_path, run):
    swap_approved(run)  # refused before any model work, so no model is needed to see where it would have gone
    code, output = run_cli("train", run)
    assert code == 2 and "approved.parquet changed after the run" in output
    assert not (tmp_path / "run-train").exists() and not (run / "train").exists()


def test_a_swapped_approved_set_is_refused_by_every_reader(tmp_path, run):
    swap_approved(run)
    says = "approved.parquet changed after the run"
    for argv in (
        ["export", run, "--out", tmp_path / "x.jsonl", "--split", "all"],
        ["train", run, "--max-steps", "1"],
        ["review", run],
        ["review", run, "--sign-off", "--reviewer", "ana"],
        ["validate", run],
        ["expectations", "init", run, "--out", tmp_path / "s.json"],
    ):
        code, output = run_cli(*argv)
        assert code == 2 and says in output and str(run / "approved.parquet") in output.replace("\n", ""), (
            argv,
            output,
        )
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "s.json").exists() and not (run / "review").exists()
    for read in (RunDir, curate.load_run, D.training, D.dropped_candidates):
        with pytest.raises(InputError, match=says):
            read(run)


def test_the_explorer_shows_the_refusal_instead_of_the_run(run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    swap_approved(run)
    monkeypatch.setenv("CURATE_RUN", str(run))
    at = AppTest.from_file(str(ROOT / "apps/explorer.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert any("approved.parquet changed after the run" in e.value for e in at.error)


@pytest.mark.parametrize(
    "change, says",
    [
        (lambda run: (run / "notes.txt").write_text("x"), "notes.txt was added after the run"),
        (lambda run: (run / "rejected.parquet").unlink(), "rejected.parquet is missing"),
        (lambda run: (run / "report.md").write_text("# a nicer report"), "report.md changed after the run"),
        (lambda run: (run / COMPLETE).write_text("0" * 64), "does not list the run's files"),
    ],
    ids=["added", "missing", "changed report", "old marker"],
)
def test_an_added_missing_or_changed_file_is_named(run, change, says):
    RunDir(run)  # verified once: the refusal below is not a stale answer
    change(run)
    with pytest.raises(InputError, match=says):
        RunDir(run)


def test_a_sign_off_and_review_decisions_keep_the_run_verifiable(run):
    sign_off(run, "ana", "looked at it")
    assert "Signed off by **ana**" in (run / "report.md").read_text()
    assert read_manifest(run)["report.md"] == file_hash(run / "report.md")
    assert RunDir(run).approved.height == 40


def test_a_symlinked_output_is_followed_not_replaced(tmp_path):
    target = tmp_path / "disk" / "tickets"
    target.mkdir(parents=True)
    link = tmp_path / "run"
    link.symlink_to(target, target_is_directory=True)
    recipe = curate_run(tmp_path)
    for _ in range(2):  # the first run fills the empty target, the second replaces that run
        code, output = run_cli("run", recipe)
        assert code == 0, output
        assert link.is_symlink() and link.resolve() == target.resolve()
        assert (target / COMPLETE).exists() and RunDir(link).approved.height == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk", "r.yaml", "run", "t.csv"]
    assert [p.name for p in target.parent.iterdir()] == ["tickets"], (
        "no staging or retired folder is left beside the target"
    )
