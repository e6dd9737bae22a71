import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(sample_run) -> Path:
    return sample_run


def test_run_writes_the_run_directory_contract(run_dir):
    assert {p.name for p in run_dir.iterdir()} >= {
        "approved.parquet",
        "rejected.parquet",
        "clusters.parquet",
        "report.json",
        "report.md",
    }
    report = json.loads((run_dir / "report.json").read_text())
    approved, rejected = pl.read_parquet(run_dir / "approved.parquet"), pl.read_parquet(run_dir / "rejected.parquet")
    generated = approved.filter(pl.col("augmented_from").is_not_null())
    assert report["totals"]["input_rows"] == 2002 == approved.height - generated.height + rejected.height
    assert generated.height == report["totals"]["generated"] > 0 and set(generated["split"]) == {"train"}
    assert report["input"]["sha256"] and report["recipe"]["hash"] and "clean" in report["recipe"]["text"]
    assert [s["stage"] for s in report["stages"]] == [
        "ingest",
        "review",
        "clean",
        "redact",
        "quality",
        "dedup:exact",
        "dedup:minhash",
        "labels",
        "bias",
        "split",
        "rebalance",
        "gate",
        "train",
    ]
    metrics = json.loads((run_dir / "train/evaluation/metrics.json").read_text())
    assert metrics["rows"] == 405 and metrics["accuracy"] > 0.6  # well above chance (1/27) on the clean evaluation file
    assert 0 < metrics["probe"]["macro_f1"] <= 1 and report["stages"][-1]["stats"]["probe_macro_f1"] == round(
        metrics["probe"]["macro_f1"], 4
    )
    assert {"id", "text", "label", "stage", "reason", "detail"} <= set(rejected.columns)
    assert rejected["reason"].null_count() == 0
    by_reason = rejected.group_by("reason").len()
    assert set(by_reason["reason"]) >= {
        "empty_text",
        "empty_after_clean",
        "exact_duplicate",
        "near_duplicate",
        "no_content",
    }
    assert json.loads((run_dir / "gate.json").read_text())["success"] is True
    assert "## Gate: PASSED" in (run_dir / "report.md").read_text()
    clusters = pl.read_parquet(run_dir / "clusters.parquet")
    assert set(clusters["stage"]) == {"dedup:exact", "dedup:minhash"}
    # Every rejected duplicate is listed in its cluster, beside the row that was kept.
    duplicates = rejected.filter(pl.col("reason").str.ends_with("duplicate"))
    assert duplicates.join(clusters.filter(~pl.col("kept")), on=["id", "stage"], how="anti").is_empty()
    assert set(approved["split"]) == {"train", "validation", "test"}


def test_reports_hold_no_pii(run_dir, truth):
    values = {p["value"].lower() for planted in truth["pii"] for p in planted}
    for name in ("report.md", "report.json"):
        text = (run_dir / name).read_text().lower()
        assert not [v for v in values if v in text], name
    markdown = (run_dir / "report.md").read_text()
    assert "2,002 input rows" in markdown and "| dedup:exact |" in markdown and "placeholders: CARD" in markdown


def test_export_formats(run_dir, tmp_path):
    for name, fmt in [
        ("a.parquet", []),
        ("a.jsonl", []),
        ("chat.jsonl", ["--format", "openai", "--system", "You are support."]),
    ]:
        result = runner.invoke(app, ["export", str(run_dir), "--out", str(tmp_path / name), *fmt])
        assert result.exit_code == 0, result.output
    approved = pl.read_parquet(run_dir / "approved.parquet")
    train = approved.filter(pl.col("split") == "train")  # held-out rows never reach a fine-tuning file by default
    assert pl.read_parquet(tmp_path / "a.parquet").equals(train)
    first = json.loads((tmp_path / "chat.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert (
        first["messages"][1]["content"] == train["text"][0] and first["messages"][2]["content"] == train["response"][0]
    )
    everything = runner.invoke(app, ["export", str(run_dir), "--split", "all", "--out", str(tmp_path / "all.parquet")])
    assert everything.exit_code == 0 and pl.read_parquet(tmp_path / "all.parquet").equals(approved)


def test_export_refuses_a_run_whose_gate_failed(run_dir, tmp_path):
    import shutil

    from curate.io.rundir import reseal

    failed = tmp_path / "failed"
    shutil.copytree(run_dir, failed)
    gate = json.loads((failed / "gate.json").read_text())
    gate["outcomes"][0]["success"], gate["success"] = False, False
    (failed / "gate.json").write_text(json.dumps(gate))
    reseal(
        failed, "gate.json"
    )  # as if the run itself had failed its gate (an edited gate.json alone is refused as changed)
    refused = runner.invoke(app, ["export", str(failed), "--out", str(tmp_path / "x.jsonl")])
    assert refused.exit_code == 3 and "--force" in refused.output and not (tmp_path / "x.jsonl").exists()
    forced = runner.invoke(app, ["export", str(failed), "--force", "--out", str(tmp_path / "x.jsonl")])
    assert forced.exit_code == 0


def test_version():
    from curate import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"curate {__version__}"


def test_bad_recipe_exits_2_with_the_key(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("input: x.csv\nstages:\n  - dedup: {method: exact, threshold: high}\noutput: out\n")
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 2
    assert "r.yaml:3 (stages[0].dedup).threshold" in result.output and "unknown parameter 'threshold'" in result.output
    assert "Traceback" not in result.output


def test_leakage_command(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text("id,text\n1,reset my password please\n2,where is order 77\n")
    test.write_text("id,text\n9,reset my pasword please\n8,opening hours?\n")
    result = runner.invoke(
        app, ["leakage", str(train), str(test), "--threshold", "0.5", "--out", str(tmp_path / "pairs.csv")]
    )
    assert result.exit_code == 3 and "1 rows of test.csv have a near duplicate in train.csv" in result.output
    assert pl.read_csv(tmp_path / "pairs.csv", schema_overrides={"id_a": pl.String, "id_b": pl.String}).select(
        "id_a", "id_b"
    ).rows() == [("1", "9")]
    clean = runner.invoke(app, ["leakage", str(train), str(train.with_name("none.csv"))])
    assert clean.exit_code == 2 and "input file not found" in clean.output
    # A retyped copy: Jaccard 0.8 misses it, edit similarity finds it.
    test.write_text('id,text\n9,"I need to chek the staus of ordr 4521, it has not arived yet"\n')
    train.write_text('id,text\n1,"I need to check the status of order 4521, it has not arrived yet"\n')
    missed = runner.invoke(app, ["leakage", str(train), str(test)])
    assert missed.exit_code == 0 and "at estimated Jaccard >= 0.8" in " ".join(missed.output.split())
    found = runner.invoke(app, ["leakage", str(train), str(test), "--similarity", "edit"])
    assert found.exit_code == 3 and "0.9365" in found.output
    wrong = runner.invoke(app, ["leakage", str(train), str(test), "--similarity", "cosine"])
    assert wrong.exit_code == 2 and "unknown similarity 'cosine'" in wrong.output


def test_bad_input_exits_2_with_the_line(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("id,text\n1,a\n2,b,c\n")
    result = runner.invoke(
        app, ["run", str(ROOT / "recipes/tickets.yaml"), "--input", str(data), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and f"{data}:3" in result.output.replace("\n", "")


def write_recipe(folder: Path, output: str, input_path: Path) -> Path:
    recipe = folder / "recipe.yaml"
    recipe.write_text(f"input: {{path: {input_path}, text: body, label: intent}}\nstages: [clean]\noutput: {output}\n")
    return recipe


@pytest.mark.parametrize("where", ["input folder", "not a run", "empty", "current folder"])
def test_an_output_folder_whose_replacement_would_destroy_files_is_refused_before_anything_runs(
    tmp_path, where, monkeypatch
):
    data = tmp_path / "data"
    data.mkdir()
    source = data / "tickets.csv"
    source.write_bytes((ROOT / "data/sample/tickets.csv").read_bytes())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path)
    output = {"input folder": str(data), "not a run": str(tmp_path / "mine"), "empty": '""', "current folder": "."}[
        where
    ]
    result = runner.invoke(app, ["run", str(write_recipe(tmp_path, output, source))])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert source.exists() and (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert {
        "input folder": "which this run reads",
        "not a run": "is not a curate run",
        "empty": "empty or the current folder",
        "current folder": "empty or the current folder",
    }[where] in result.output


def test_nested_yaml_aliases_are_refused_at_once(tmp_path):
    import time

    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + chr(96 + i)] * 9)}]" for i in range(1, 9)
    ]
    recipe = tmp_path / "bomb.yaml"
    recipe.write_text("\n".join(lines) + "\ninput: {path: x.csv}\nstages: [clean]\noutput: out\n")
    started = time.perf_counter()
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 2 and "nested YAML aliases" in result.output and time.perf_counter() - started < 10


def test_export_to_a_hugging_face_dataset_dict(run_dir, tmp_path):
    import datasets

    result = runner.invoke(
        app, ["export", str(run_dir), "--out", str(tmp_path / "hf"), "--format", "hf", "--split", "all"]
    )
    assert result.exit_code == 0, result.output
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    approved = pl.read_parquet(run_dir / "approved.parquet")
    assert {name: len(ds) for name, ds in loaded.items()} == dict(approved.group_by("split").len().iter_rows())
    names = loaded["train"].features["label"].names
    assert names == sorted(approved["label"].unique()) and loaded["test"].features["label"].names == names
    first = loaded["validation"][0]
    row = approved.filter(pl.col("id") == first["id"]).row(0, named=True)
    assert (first["text"], names[first["label"]]) == (row["text"], row["label"])


def test_export_one_parquet_file_per_split_for_load_dataset(run_dir, tmp_path):
    import datasets

    result = runner.invoke(app, ["export", str(run_dir), "--out", str(tmp_path / "splits"), "--format", "splits"])
    assert result.exit_code == 0, result.output
    files = {name: str(tmp_path / "splits" / f"{name}.parquet") for name in ("train", "validation", "test")}
    loaded = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "cache"))
    approved = pl.read_parquet(run_dir / "approved.parquet")
    assert {name: len(ds) for name, ds in loaded.items()} == dict(approved.group_by("split").len().iter_rows())
    test_ids = set(loaded["test"]["id"])
    assert test_ids == set(approved.filter(pl.col("split") == "test")["id"]) and not test_ids & set(
        loaded["train"]["id"]
    )
    assert set(loaded["train"].column_names) >= {"id", "text", "label"}


def test_model_stages_report_progress_in_a_log(tmp_path):
    """Not a terminal (as in CI): texts encoded and candidates generated and kept, each with its total."""
    import re

    data, recipe = tmp_path / "t.csv", tmp_path / "r.yaml"
    pl.read_csv(ROOT / "data/sample/tickets.csv").head(300).write_csv(data)
    recipe.write_text(
        f"input: {{path: {data}, text: body, label: intent, id: ticket_id}}\nstages:\n  - clean\n"
        f"  - dedup: {{method: semantic, cache: false}}\n  - augment: {{methods: [synonym], label_check: false}}\n"
        f"output: {tmp_path / 'run'}\n"
    )
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    stages = {s["stage"]: s for s in json.loads((tmp_path / "run" / "report.json").read_text())["stages"]}
    encoded = [re.match(r"dedup:semantic: texts encoded (\d+)/(\d+)", line) for line in lines]
    encoded = [m for m in encoded if m]
    dedup = stages[
        "dedup:semantic"
    ]  # every distinct text encoded once: at least the rows it kept (no two alike), at most its input
    assert (
        encoded
        and encoded[-1].group(1) == encoded[-1].group(2)
        and dedup["kept"] <= int(encoded[-1].group(2)) <= dedup["rows_in"]
    )
    augment = stages["augment"]["stats"]
    total = augment["source_rows"]
    assert any(line.startswith(f"augment: candidates generated (synonym) {total}/{total}") for line in lines), (
        result.output
    )
    assert f"augment: candidates checked ({augment['kept']} kept) {total}/{total}" in lines, result.output


def test_every_option_and_argument_of_every_command_has_help():
    import typer

    def commands(group, path=()):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):  # a group of commands
                yield from commands(command, (*path, name))
            else:
                yield " ".join((*path, name)), command

    found = list(commands(typer.main.get_command(app)))
    assert {"run", "export", "review", "expectations init", "compare"} <= {name for name, _ in found}
    missing = [
        f"{name} {param.name}"
        for name, command in found
        for param in command.params
        if param.name != "help" and not getattr(param, "help", None)
    ]
    assert not missing, missing


def test_model_free_stages_report_progress_in_a_log(tmp_path):
    """Redact, quality and MinHash take tens of seconds at a million rows: each says how far it is."""
    import re

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"input: {{path: {ROOT / 'data/sample/tickets.csv'}, text: body, label: intent, id: ticket_id}}\n"
        f"stages: [clean, redact, quality, {{dedup: {{method: minhash}}}}]\noutput: {tmp_path / 'run'}\n"
    )
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 0, result.output
    stages = {s["stage"]: s for s in json.loads((tmp_path / "run" / "report.json").read_text())["stages"]}
    finals = {}
    for line in result.output.splitlines():
        match = re.match(r"([\w:]+): ([a-zA-Z ]+) ([\d,]+)/([\d,]+)", line)
        if match:
            finals[(match.group(1), match.group(2))] = (
                int(match.group(3).replace(",", "")),
                int(match.group(4).replace(",", "")),
            )
    quality_rows, minhash_rows = stages["quality"]["rows_in"], stages["dedup:minhash"]["rows_in"]
    assert finals[("quality", "rows scored")] == (quality_rows, quality_rows)
    assert finals[("dedup:minhash", "signatures")] == (minhash_rows, minhash_rows)
    examined, candidates = finals[("redact", "texts examined for PII")]
    # candidates are counted over the text and the response (the sample has both), each only where a detector's gate opens
    assert examined == candidates and 0 < candidates <= 2 * stages["redact"]["rows_in"], result.output
