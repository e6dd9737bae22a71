import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.core.errors import CurateError
from curate.stages.gates.draft import draft_suite
from curate.stages.gates.gx import validate
from curate.stages.gates.gate import Gate
from curate.pipeline.executor import run_stages

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "expectations/tickets.json"


@pytest.fixture(scope="module")
def good(sample_rows) -> pl.DataFrame:
    """Sample rows that satisfy the shipped suite: redacted, deduplicated, labelled."""
    from curate.stages.clean.clean import Clean
    from curate.stages.clean.redact import Redact
    from curate.stages.dedup.exact import ExactDedup
    from curate.stages.quality.quality import Quality

    rows = sample_rows
    for stage in (Clean(), Redact(), Quality(), ExactDedup()):
        rows = stage.apply(rows).kept
    return rows


def failing(report) -> set[tuple[str, str]]:
    return {(o.expectation, o.column) for o in report.failed}


def test_clean_data_passes(good):
    report = validate(good, SUITE)
    assert report.success, report.summary()
    assert report.metrics["row_count"] == good.height


def test_planted_defects_fail_with_the_right_expectation(good):
    leaked = good.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("mail me at jo.doe@example.com"))
        .otherwise(pl.col("text"))
        .alias("text")
    )
    report = validate(leaked, SUITE)
    assert failing(report) == {("expect_column_values_to_not_match_regex_list", "text")}
    example = report.failed[0].examples[0]
    assert (
        example["id"] == good["id"][3]
        and "jo.doe@example.com" not in json.dumps(report.to_dict())
        and "[EMAIL]" in example["text"]
    )

    unknown = good.with_columns(
        pl.when(pl.int_range(pl.len()) < 2).then(pl.lit("wire_fraud")).otherwise(pl.col("label")).alias("label")
    )
    assert failing(validate(unknown, SUITE)) == {("expect_column_values_to_be_in_set", "label")}

    top = good["label"].value_counts(sort=True)["label"][0]
    dominant = pl.concat(
        [good, good.filter(pl.col("label") == top).with_columns(pl.col("id") + "-copy", pl.col("text") + " again")] * 2
    )
    report = validate(dominant, SUITE)
    assert ("expect_column_values_to_be_between", "largest_class_share") in failing(report)
    outcome = next(o for o in report.failed if o.column == "largest_class_share")
    assert outcome.observed > 0.15


def test_gate_stage_stops_the_recipe(good):
    bad = good.with_columns(pl.lit("wire_fraud").alias("label"))
    later = Gate(suite=str(SUITE))
    result = run_stages([Gate(suite=str(SUITE)), later], rows=bad)
    assert result.halted.startswith("gate: gate failed") and result.stages_not_run == ["gate"]
    assert len(result.stages) == 1 and result.approved.height == bad.height
    assert result.artifacts["gate"]["success"] is False  # the gate's result travels as an artifact (gate.json)
    warned = run_stages([Gate(suite=str(SUITE), on_fail="warn")], rows=bad)
    assert warned.halted is None and warned.stages[0].stats["success"] is False


def test_bad_suite_names_the_expectation(tmp_path, good):
    suite = tmp_path / "s.json"
    suite.write_text(
        json.dumps(
            {
                "expectations": [
                    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "text", "mni_value": 1}}
                ]
            }
        )
    )
    with pytest.raises(CurateError) as caught:
        validate(good, suite)
    assert "expect_column_values_to_be_between" in caught.value.message and "mni_value" in caught.value.message
    (tmp_path / "broken.json").write_text("{\n  nope")
    with pytest.raises(CurateError, match="not valid JSON") as caught:
        validate(good, tmp_path / "broken.json")
    assert caught.value.where == f"{tmp_path / 'broken.json'}:2"


def test_draft_then_validate_through_the_cli(good, tmp_path):
    data = tmp_path / "good.parquet"
    good.write_parquet(data)
    runner = CliRunner()
    drafted = tmp_path / "drafted.json"
    result = runner.invoke(app, ["expectations", "init", str(data), "--out", str(drafted)])
    assert result.exit_code == 0, result.output
    suite = json.loads(drafted.read_text())
    labels = next(e for e in suite["expectations"] if e["type"] == "expect_column_values_to_be_in_set")
    assert set(labels["kwargs"]["value_set"]) == set(good["label"].unique())
    assert runner.invoke(app, ["validate", str(data), "--suite", str(drafted)]).exit_code == 0
    good.head(50).write_parquet(tmp_path / "small.parquet")
    small = runner.invoke(
        app, ["validate", str(tmp_path / "small.parquet"), "--suite", str(drafted), "--out", str(tmp_path / "r.json")]
    )
    assert small.exit_code == 3 and "row_count" in small.output
    assert json.loads((tmp_path / "r.json").read_text())["success"] is False
    assert draft_suite(good)["expectations"][-1]["meta"]["on"] == "metrics"


SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.skipif(
    not (SHARED / "clinc150" / "data_full.json").exists(), reason="the shared real data sets are not on this machine"
)
def test_a_suite_drafted_from_real_trusted_data_passes_that_data(tmp_path):
    clinc = json.loads((SHARED / "clinc150" / "data_full.json").read_text())["train"]
    complaints = pl.read_csv(SHARED / "cfpb" / "complaints.csv")
    for rows in (
        pl.DataFrame(
            {"id": [str(i) for i in range(len(clinc))], "text": [t for t, _ in clinc], "label": [l for _, l in clinc]}
        ),
        complaints.select(
            pl.int_range(pl.len()).cast(pl.String).alias("id"),
            pl.col("Consumer complaint narrative").alias("text"),
            pl.col("Product").alias("label"),
        ),
    ):
        (tmp_path / "suite.json").write_text(json.dumps(draft_suite(rows)))
        report = validate(rows, tmp_path / "suite.json")
        assert report.success, report.summary()


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "snips" / "train.csv").exists(), reason="the shared real data sets are not on this machine"
)
def test_the_default_recipe_runs_on_another_labelled_set_and_its_gate_passes(tmp_path):
    """The default recipe's stages and gate, unchanged, on real queries whose labels it has never seen (SNIPS): the gate
    binds no label set, and split and the gate count near duplicates across splits the same way."""
    import yaml

    import curate

    rows = pl.read_csv(SHARED / "snips" / "train.csv", infer_schema=False)
    rows = rows.filter(pl.int_range(pl.len()).over("label") < 60)
    rows.write_csv(tmp_path / "queries.csv")
    recipe = yaml.safe_load((Path(__file__).resolve().parents[2] / "recipes" / "tickets.yaml").read_text())
    recipe["input"] = {"path": str(tmp_path / "queries.csv"), "text": "text", "label": "label", "id": "id"}
    recipe["stages"] = [s for s in recipe["stages"] if not (isinstance(s, dict) and "train" in s)]
    run = curate.run(recipe)
    gate = next(s for s in run.report["stages"] if s["stage"] == "gate")
    assert gate["stats"]["success"] is True, gate["stats"]["failed"]
    assert run.report["totals"]["approved"] + run.report["totals"]["rejected"] == rows.height
    assert run.approved.filter(pl.col("split") == "train").group_by("label").len()["len"].min() > 0
