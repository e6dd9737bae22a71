"""Validate a dataset against a Great Expectations 1.x suite (JSON in `expectations/`).

GX takes pandas, so the frame is converted once, here. Row-level expectations run on the rows;
expectations with `"meta": {"on": "metrics"}` run on the one-row frame of `dataset_metrics`.
Failing examples are passed through the PII redactor before they reach any report (here, where they are taken: the
gate's result is written as it is made; curate/pipeline/privacy.py has the whole policy).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.columns import ID
from curate.core.errors import CurateError
from curate.core.extras import require
from curate.stages.gates.metrics import dataset_metrics

MAX_EXAMPLES = 5


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    observed: Any
    unexpected_count: int | None
    examples: list[dict[str, Any]] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    on: str = "rows"


@dataclass
class GateReport:
    suite: str
    success: bool
    outcomes: list[ExpectationOutcome]
    metrics: dict[str, float]

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "success": self.success,
            "metrics": self.metrics,
            "outcomes": [asdict(o) for o in self.outcomes],
        }

    def summary(self) -> str:
        if self.success:
            return f"gate passed: all {len(self.outcomes)} expectations of {self.suite} hold"
        names = ", ".join(f"{o.expectation}({o.column or ''})" for o in self.failed)
        return f"gate failed: {len(self.failed)} of {len(self.outcomes)} expectations of {self.suite} fail: {names}"


def load_suite(path: str | Path) -> dict[str, Any]:
    if Path(path).is_dir():
        raise CurateError(
            "the suite is a folder, not a JSON file",
            str(path),
            hint="name a suite file, e.g. expectations/tickets.json",
        )
    path = Path(path)
    if path.exists() and not path.is_file():  # a FIFO or a device: reading it would block or never end
        raise CurateError(
            "the suite is not a regular file", str(path), hint="name a suite file, e.g. expectations/tickets.json"
        )
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CurateError(
            "expectation suite not found",
            str(path),
            hint="suites live in expectations/; draft one with `curate expectations init DATA`",
        ) from None
    except OSError as exc:  # a symlink loop, a name too long
        raise CurateError(f"cannot read the suite ({exc.strerror})", str(path)) from None
    except json.JSONDecodeError as exc:
        raise CurateError(f"not valid JSON: {exc.msg}", f"{path}:{exc.lineno}") from None
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise CurateError("a suite is a JSON object with a list of `expectations`", str(path))
    for i, expectation in enumerate(suite["expectations"]):
        if not isinstance(expectation, dict) or "type" not in expectation:
            raise CurateError("each expectation needs a `type` and `kwargs`", f"{path} (expectations[{i}])")
    return suite


def _quiet_gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    require("the gate (Great Expectations)", "great_expectations", "pandas")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context


def _validate_frame(gx, context, frame, expectations: list[dict], name: str, suite_origin: str):
    if not expectations:
        return []
    source = context.data_sources.add_pandas(f"curate_{name}")
    batch = (
        source.add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name=f"curate_{name}")
    for e in expectations:
        try:
            suite.add_expectation_configuration(
                gx.expectations.expectation_configuration.ExpectationConfiguration(
                    type=e["type"], kwargs=e.get("kwargs", {}), meta=e.get("meta", {})
                )
            )
        except Exception as exc:  # noqa: BLE001 - GX raises pydantic and its own errors for a bad entry
            message = str(exc).replace("\n", " ")
            raise CurateError(
                f"invalid expectation {e['type']}: {message}",
                f"{suite_origin} ({e['type']} on {e.get('kwargs', {}).get('column')})",
            ) from None
    result_format = (
        {"result_format": "COMPLETE", "unexpected_index_column_names": [ID]} if ID in frame.columns else "SUMMARY"
    )
    try:
        return batch.validate(suite, result_format=result_format).results
    except Exception as exc:  # noqa: BLE001 - GX raises many types for a malformed expectation
        raise CurateError(f"Great Expectations could not run the suite: {exc}", name) from None


def _examples(result, rows: pl.DataFrame, redact) -> list[dict[str, Any]]:
    details = result.result or {}
    ids = [item.get(ID) for item in details.get("unexpected_index_list") or [] if isinstance(item, dict)][:MAX_EXAMPLES]
    if ids and ID in rows.columns:
        sample = rows.filter(pl.col(ID).is_in(ids)).head(MAX_EXAMPLES)
        return [
            {
                k: (redact(v) if isinstance(v, str) and k != ID else v)
                for k, v in row.items()
                if k in (ID, "text", "label")
            }
            for row in sample.iter_rows(named=True)
        ]
    values = details.get("partial_unexpected_list") or []
    return [{"value": redact(v) if isinstance(v, str) else v} for v in values[:MAX_EXAMPLES]]


def validate(rows: pl.DataFrame, suite_path: str | Path) -> GateReport:
    """Run the suite on `rows` (and on its dataset metrics); nothing in the result holds raw PII."""
    from curate.core.pii import PiiFinder

    suite = load_suite(suite_path)
    expectations = suite["expectations"]
    on_metrics = [e for e in expectations if e.get("meta", {}).get("on") == "metrics"]
    on_rows = [e for e in expectations if e not in on_metrics]
    metrics = dataset_metrics(rows)
    gx, context = _quiet_gx()
    import pandas as pd

    frame = rows.select([c for c in rows.columns if rows[c].dtype != pl.Object]).to_pandas()
    finder = PiiFinder()
    outcomes = []
    for on, results, source in (
        ("rows", _validate_frame(gx, context, frame, on_rows, "rows", str(suite_path)), rows),
        (
            "metrics",
            _validate_frame(gx, context, pd.DataFrame([metrics]), on_metrics, "metrics", str(suite_path)),
            None,
        ),
    ):
        for result in results:
            config = result.expectation_config
            details = result.result or {}
            observed = details.get("observed_value")
            if observed is None and on == "metrics":
                observed = metrics.get(config.kwargs.get("column"))
            outcomes.append(
                ExpectationOutcome(
                    expectation=config.type,
                    column=config.kwargs.get("column"),
                    success=bool(result.success),
                    observed=observed,
                    unexpected_count=details.get("unexpected_count"),
                    examples=[]
                    if result.success or source is None
                    else _examples(result, source, lambda t: finder.redact(t)[0]),
                    kwargs={k: v for k, v in config.kwargs.items() if k not in ("batch_id",)},
                    on=on,
                )
            )
    return GateReport(
        suite=str(suite_path), success=all(o.success for o in outcomes), outcomes=outcomes, metrics=metrics
    )
