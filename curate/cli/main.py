"""The `curate` command: a thin layer over the library. Exit codes: 0 ok, 1 bug, 2 bad input or
recipe, 3 a gate failed, 4 the conservation check failed."""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from curate.core.errors import CurateError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Curate support-ticket datasets for fine-tuning.")
console = Console(stderr=True)
log = logging.getLogger("curate")


class ConsoleHandler(logging.Handler):
    """Log records on the CLI's console as written (rich markup, tables); `extra={"rich": {...}}` passes print options."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage() if isinstance(record.msg, str) else record.msg
        console.print(message, **getattr(record, "rich", {}))


def configure_logging(verbose: bool = False, quiet: bool = False) -> None:
    """INFO by default (what `run` has always printed); --quiet: warnings and errors only; --verbose: DEBUG."""
    if verbose and quiet:
        raise CurateError("--verbose and --quiet cannot be used together", "--quiet")
    log.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    if not any(isinstance(h, ConsoleHandler) for h in log.handlers):
        log.addHandler(ConsoleHandler())
    log.propagate = False


def _version(value: bool) -> None:
    if value:
        from curate import __version__

        print(f"curate {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """Curate support-ticket datasets for fine-tuning."""
    configure_logging()  # what every command prints goes through the `curate` logger; `run` takes --verbose/--quiet


def _fail(error: CurateError) -> None:
    console.print(
        f"[bold red]error[/] {escape(error.where + ': ' if error.where else '')}{escape(error.message)}",
        highlight=False,
        soft_wrap=True,
    )
    if error.hint:
        console.print(
            f"[dim]hint:[/] {escape(error.hint)}", highlight=False, soft_wrap=True
        )  # hints hold `curate[models]`
    raise typer.Exit(error.exit_code)


def command(on: typer.Typer = app, name: str | None = None) -> Callable[[Callable], Callable]:
    """Register a command whose CurateErrors become one printed paragraph and the error's exit code."""

    def register(function: Callable) -> Callable:
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except CurateError as error:
                _fail(error)

        return on.command(name)(guarded)

    return register


class Progress:
    """Progress inside a stage: a live line on a terminal, a plain line every `every` seconds in a log (CI)."""

    def __init__(self, status, every: float = 10.0):
        self.status, self.every, self.started, self.printed = status, every, {}, 0.0

    def __call__(self, stage: str, what: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        first_done, first_time = self.started.setdefault((stage, what.split(" (")[0]), (done, now))
        rate = (
            (done - first_done) / (now - first_time) if now > first_time else 0.0
        )  # measured from the first report on
        eta = (
            f", ETA {int((total - done) / rate) // 60}:{int((total - done) / rate) % 60:02d}"
            if total and rate
            else ", ETA …"
        )
        pace = "" if done == total and not rate else f", {rate:.1f}/s{eta}"  # a one-off report has no pace to tell
        line = f"{stage}: {what} {done:,}{f'/{total:,}' if total else ''}{pace}"
        if console.is_terminal:
            self.status.update(line)
        elif now - self.printed >= self.every or done == total:
            log.info(line, extra={"rich": {"highlight": False}})
            self.printed = now


def _summary(report: dict) -> Table:
    table = Table(title="curate run", show_lines=False)
    for column in ("stage", "in", "kept", "rejected", "added", "top reasons", "s"):
        table.add_column(column, justify="right" if column in ("in", "kept", "rejected", "added", "s") else "left")
    for s in report["stages"]:
        reasons = ", ".join(f"{r} {n}" for r, n in list(s["rejected_by_reason"].items())[:3])
        table.add_row(
            s["stage"],
            f"{s['rows_in']:,}",
            f"{s['kept']:,}",
            f"{s['rejected']:,}",
            f"{s['added']:,}",
            reasons,
            f"{s['seconds']:.1f}",
        )
    return table


@command()
def run(
    recipe: Path = typer.Argument(..., help="recipe YAML"),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="input file (overrides the recipe)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="run directory (overrides the recipe)"),
    engine: Optional[str] = typer.Option(
        None, "--engine", help="local (this process) or ray (a Ray cluster); overrides the recipe"
    ),
    address: Optional[str] = typer.Option(
        None, "--address", help="ray: an existing cluster (auto, ray://host:10001); default: start one here"
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="also each stage's parameters, every rejection reason and its statistics"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="only warnings, errors and the report's path (on stdout)"),
) -> None:
    """Run a recipe: ingest, stages, and a run directory with approved/rejected rows and reports."""
    from curate.recipe import load_recipe
    from curate.pipeline.runner import run_recipe

    configure_logging(verbose, quiet)
    parsed = load_recipe(recipe, input_path=input, output=out)
    status = console.status("")
    if not quiet:
        status.start()

    def on_start(stage, rows: int) -> None:
        status.update(f"[bold]{stage.display_name}[/] on {rows:,} rows…" if rows else f"[bold]{stage.display_name}[/]…")
        log.debug(f"{stage.display_name}: {stage!r}", extra={"rich": {"highlight": False, "soft_wrap": True}})

    def on_end(report) -> None:
        log.info(
            f"[green]✓[/] {report.stage:<16} {report.rows_in:>9,} → {report.kept:>9,} kept, "
            f"{report.rejected:,} rejected{f', {report.added:,} added' if report.added else ''} ({report.seconds:.1f}s)"
        )
        if report.rejected_by_reason:
            log.debug(
                f"  rejected by reason: {report.rejected_by_reason}",
                extra={"rich": {"highlight": False, "soft_wrap": True}},
            )
        for key, value in report.stats.items():
            log.debug(f"  {key}: {value}", extra={"rich": {"highlight": False, "soft_wrap": True, "markup": False}})

    try:
        _, report = run_recipe(
            parsed, on_start=on_start, on_end=on_end, progress=Progress(status), engine=engine, address=address
        )
    finally:
        status.stop()
    log.info(_summary(report))
    if report["input"].get("renamed_columns"):
        from curate.pipeline.report import renamed_columns

        log.warning(
            f"input columns named like columns curate writes were renamed: {renamed_columns(report['input'])}",
            extra={"rich": {"highlight": False, "soft_wrap": True, "markup": False}},
        )
    if report.get("halted"):
        log.warning(f"[bold red]stopped[/] {report['halted']}", extra={"rich": {"highlight": False, "soft_wrap": True}})
        log.warning(f"Report: [bold]{parsed.output / 'report.md'}[/]")
        raise typer.Exit(3)
    totals = report["totals"]
    generated = f" (+{totals['generated']:,} generated rows)" if totals["generated"] else ""
    log.info(
        f"{totals['input_rows']:,} input rows → {totals['approved'] - totals['generated']:,} approved{generated}, "
        f"{totals['rejected']:,} rejected: every row accounted for"
    )
    log.info(f"Report: [bold]{parsed.output / 'report.md'}[/]  (run directory: {parsed.output})")
    print(parsed.output / "report.md")


@command()
def export(
    source: Path = typer.Argument(..., help="a run directory (its approved set) or a data file"),
    out: Path = typer.Option(..., "--out", "-o", help="file to write"),
    format: str = typer.Option(
        "",
        "--format",
        "-f",
        help="parquet | jsonl | openai | hf (a Hugging Face DatasetDict folder) | splits (a folder, one Parquet file per split); default: from --out's suffix",
    ),
    system: Optional[str] = typer.Option(None, help="system prompt for OpenAI chat JSONL"),
    target: str = typer.Option("auto", help="assistant turn for OpenAI chat: response | label | auto"),
    split: Optional[str] = typer.Option(
        None,
        help="train | validation | test | all: the split of a run to export (default: all for hf and splits, which keep the splits apart; train otherwise, so held-out rows stay held out)",
    ),
    force: bool = typer.Option(False, "--force", help="export even though the run's gate failed"),
    require_review: bool = typer.Option(
        False,
        "--require-review",
        help="refuse a run that no reviewer signed off (or changed since), and rows other than those signed off",
    ),
) -> None:
    """Write the approved set as Parquet, JSONL, OpenAI chat JSONL, a Hugging Face DatasetDict or per-split Parquet."""
    from curate.io.rundir import check_written_apart
    from curate.io.writers import export_frame, load_dataset, select_split
    from curate.io.paths import check_writable
    from curate.pipeline.guards import check_trainable

    check_writable(out, "--out")
    warning = check_trainable(source, force, require_review)  # first: a folder that is not a run is named as such
    check_written_apart(out, [source])
    if warning:
        console.print(f"[yellow]warning[/] {warning}")
    split = split or ("all" if format in ("hf", "splits") else "train")
    frame = select_split(load_dataset(source), split)
    if require_review:  # exactly these rows must be the ones signed off
        from curate.io.review import check_signed

        check_signed(source, frame, split)
    written = export_frame(frame, out, format or None, system=system, target=target)
    console.print(f"wrote {written:,} rows ({split}) to {out}")


@command()
def leakage(
    a: Path = typer.Argument(..., help="first dataset (e.g. train): a file or a run directory"),
    b: Path = typer.Argument(..., help="second dataset (e.g. test)"),
    threshold: Optional[float] = typer.Option(
        None, help="similarity at which two texts count as near duplicates (default 0.8 jaccard, 0.9 edit)"
    ),
    similarity: str = typer.Option(
        "jaccard", help="jaccard (estimated, MinHash) or edit (normalised Levenshtein: finds retyped copies)"
    ),
    text: str = typer.Option("text", help="text column of plain files"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write all pairs here (.csv or .parquet)"),
) -> None:
    """Near duplicates between two datasets. Exit 0 when none, 3 when some rows leak."""
    from curate.stages.dedup.leakage import find_leakage
    from curate.stages.dedup.minhash import DEFAULT_THRESHOLD
    from curate.core.params import Similarity, check_value
    from curate.io.paths import check_writable
    from curate.io.rundir import check_written_apart
    from curate.io.writers import load_dataset

    if similarity not in ("jaccard", "edit"):
        raise CurateError(f"unknown similarity '{similarity}'", "--similarity", hint="use jaccard or edit")
    if threshold is not None:
        check_value(threshold, Similarity, "--threshold")
    if out:
        check_writable(out, "--out")
        check_written_apart(out, [a, b])
    pairs = find_leakage(load_dataset(a, text=text), load_dataset(b, text=text), threshold, similarity=similarity)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        pairs.write_parquet(out) if out.suffix == ".parquet" else pairs.write_csv(out)
    if pairs.is_empty():
        measure = "estimated Jaccard" if similarity == "jaccard" else "edit similarity"
        console.print(
            f"no near duplicates between {a} and {b} at {measure} >= {DEFAULT_THRESHOLD[similarity] if threshold is None else threshold}"
        )
        return
    table = Table(title=f"{pairs['id_b'].n_unique():,} rows of {b.name} have a near duplicate in {a.name}")
    for column in ("id_a", "id_b", "similarity", "text_a", "text_b"):
        table.add_column(column, overflow="fold", max_width=48 if column.startswith("text") else None)
    for row in pairs.head(20).iter_rows():
        table.add_row(*[str(v) for v in row])
    console.print(table)
    raise typer.Exit(3)


def _print_gate(report) -> None:
    table = Table(title=f"{report.suite}: {'passed' if report.success else 'FAILED'}")
    for column in ("", "expectation", "column", "observed", "examples"):
        table.add_column(column, overflow="fold")
    for o in report.outcomes:
        examples = "; ".join(str(e.get("id", e.get("value", ""))) for e in o.examples[:3])
        observed = o.observed if o.observed is not None else o.unexpected_count
        table.add_row(
            "[green]✓[/]" if o.success else "[red]✗[/]", o.expectation, o.column or "", str(observed)[:40], examples
        )
    console.print(table)


@command()
def validate(
    data: Path = typer.Argument(..., help="a run directory (its approved set) or a data file"),
    suite: Optional[Path] = typer.Option(
        None, "--suite", "-s", help="Great Expectations suite (JSON); default: the one curate ships"
    ),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write the results as JSON"),
    text: str = typer.Option("text", help="text column of a data file"),
    label: Optional[str] = typer.Option(None, help="label column of a data file (default: label, when present)"),
    id: Optional[str] = typer.Option(None, help="id column of a data file (default: ids made from the text)"),
) -> None:
    """Validate a dataset against an expectation suite. Exit 0 when it passes, 3 when it fails."""
    import json

    from curate.core.resources import default_suite
    from curate.stages.gates.gx import validate as run_suite
    from curate.io.rundir import check_written_apart
    from curate.io.paths import check_writable
    from curate.io.writers import load_dataset

    if out:
        check_writable(out, "--out")
        check_written_apart(out, [data, suite])
    report = run_suite(load_dataset(data, text=text, label=label, id=id), suite or default_suite())
    _print_gate(report)
    if out:
        out.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    console.print(report.summary())
    if not report.success:
        raise typer.Exit(3)


expectations_app = typer.Typer(help="Draft and manage expectation suites.", no_args_is_help=True)
app.add_typer(expectations_app, name="expectations")


@command(expectations_app, "init")
def expectations_init(
    data: Path = typer.Argument(..., help="a dataset you trust: a run directory or a data file"),
    out: Path = typer.Option(
        Path("expectations/drafted.json"), "--out", "-o", help="where to write the drafted suite (JSON)"
    ),
    name: str = typer.Option("tickets", help="the suite's name"),
    text: str = typer.Option("text", help="text column of a data file"),
    label: Optional[str] = typer.Option(None, help="label column of a data file (default: label, when present)"),
    id: Optional[str] = typer.Option(None, help="id column of a data file (default: ids made from the text)"),
) -> None:
    """Draft a suite (label set, length bounds, dataset limits) from trusted data, for you to edit."""
    import json

    from curate.stages.gates.draft import draft_suite
    from curate.io.rundir import check_written_apart
    from curate.io.paths import check_writable
    from curate.io.writers import load_dataset

    check_writable(out, "--out")
    check_written_apart(out, [data])
    suite = draft_suite(load_dataset(data, text=text, label=label, id=id), name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(suite, indent=2) + "\n")
    console.print(
        f"drafted {len(suite['expectations'])} expectations -> {out}; edit the limits, then use it with `gate: {{suite: {out}}}`"
    )


# The training options `train` and `compare` share.
Epochs = Annotated[int, typer.Option(help="passes over the training rows")]
MaxSteps = Annotated[Optional[int], typer.Option(help="stop after this many optimiser steps (overrides epochs)")]
LearningRate = Annotated[float, typer.Option("--lr", help="peak learning rate (linear warm-up, then decay)")]
BatchSize = Annotated[int, typer.Option(help="rows per optimiser step")]
Model = Annotated[
    Optional[str], typer.Option(help="a model folder or hub name (default: the packaged all-MiniLM-L6-v2)")
]
TrainableLayers = Annotated[
    int, typer.Option(help="top encoder layers to train (the lower ones run once per text); -1 for all")
]
Seed = Annotated[int, typer.Option(help="seed for initialisation and batch order")]


def _train_options(epochs, max_steps, lr, batch_size, model, trainable_layers, seed):
    """The options checked as the `train` stage's parameters are (a batch size of 0, a negative rate: refused)."""
    from curate.core.params import check_params
    from curate.stages.train import Train
    from curate.train.loop import TrainConfig

    options = dict(
        model=model,
        epochs=epochs,
        max_steps=max_steps,
        lr=lr,
        batch_size=batch_size,
        trainable_layers=None if trainable_layers == -1 else trainable_layers,
        seed=seed,
    )
    check_params(Train, options, lambda key: f"--{key.replace('_', '-')}", "training")
    return TrainConfig(**options)


@command()
def train(
    data: Path = typer.Argument(..., help="a run directory (trains on its approved set) or a data file"),
    eval: Optional[Path] = typer.Option(None, "--eval", help="clean evaluation file (default: the test split)"),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="output folder, never inside DATA (default: DATA-train beside a run)"
    ),
    force: bool = typer.Option(False, "--force", help="train even though the run's gate failed"),
    require_review: bool = typer.Option(
        False, "--require-review", help="refuse a run that no reviewer signed off (or changed since)"
    ),
    task: str = typer.Option("classify", help="classify (text -> label) or generate (text -> response)"),
    text: str = typer.Option("text", help="text column of a data file"),
    label: Optional[str] = typer.Option(None, help="label column of a data file (default: label)"),
    epochs: Epochs = 4,
    max_steps: MaxSteps = None,
    lr: LearningRate = 3e-4,
    batch_size: BatchSize = 32,
    model: Model = None,
    trainable_layers: TrainableLayers = 2,
    seed: Seed = 0,
    retrain_on_all: bool = typer.Option(
        True,
        "--retrain-on-all/--no-retrain-on-all",
        help="train a kept fine-tune again on training + validation rows for the epochs validation chose",
    ),
) -> None:
    """Fine-tune a classifier and evaluate it: metrics.json, confusion matrix, predictions, training curve."""
    from curate.io.rundir import check_written_apart
    from curate.io.writers import load_dataset
    from curate.pipeline.guards import check_trainable
    from curate.stages.train import split_for_training
    from curate.train.classify import evaluate_classifier, train_classifier

    from curate.io.paths import check_writable

    config = replace(
        _train_options(epochs, max_steps, lr, batch_size, model, trainable_layers, seed), retrain_on_all=retrain_on_all
    )
    out = out or (data.parent / f"{data.name}-train" if data.is_dir() else Path("runs") / f"train-{data.stem}")
    check_writable(out, "--out")
    warning = check_trainable(data, force, require_review)
    check_written_apart(out, [data, eval])  # a run's manifest lists what it holds: a model is written beside it
    if warning:
        console.print(f"[yellow]warning[/] {warning}")
    rows = load_dataset(data, text=text, label=label)
    train_rows, validation, evaluation = split_for_training(
        rows, load_dataset(eval, text=text, label=label) if eval else None
    )
    if task == "generate":
        from curate.train.generate import evaluate_generator, train_generator

        with console.status("training a causal LM…"):
            trained = train_generator(train_rows, validation, config, out)
        metrics = evaluate_generator(trained.model_dir, evaluation, out / "evaluation", config.max_length)
        console.print(
            f"perplexity {metrics['perplexity']} on {metrics['rows']:,} responses; results in {out / 'evaluation'}"
        )
        return
    with console.status("training…") as status:
        progress = Progress(status)
        trained = train_classifier(
            train_rows,
            validation,
            config,
            out,
            on_step=lambda step, total, loss: progress("train", f"training steps (loss {loss:.3f})", step, total),
        )
    metrics = evaluate_classifier(trained, evaluation, out / "evaluation")
    console.print(
        f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} on {metrics['rows']:,} rows; "
        f"{trained.samples_per_second:.1f} samples/s; results in {out / 'evaluation'}"
    )
    if "probe" in metrics:
        probe = metrics["probe"]
        console.print(
            f"baseline: {probe['what']}: accuracy {probe['accuracy']:.4f}, macro-F1 {probe['macro_f1']:.4f} "
            f"({metrics['macro_f1'] - probe['macro_f1']:+.4f} for the fine-tune)"
        )
    console.print(f"kept the {metrics['kept']} model: {metrics['kept_why']}")
    console.print(
        f"load it without curate: SentenceTransformer('{trained.model_dir}').encode(texts).argmax(1) → "
        "model[0].auto_model.config.id2label"
    )


@command()
def compare(
    recipe: Path = typer.Argument(..., help="the recipe whose curation is compared with its raw input"),
    eval: Path = typer.Option(..., "--eval", help="clean evaluation file, never touched by curation"),
    out: Path = typer.Option(
        Path("runs/compare"), "--out", "-o", help="folder for both models, their evaluations and compare.md"
    ),
    epochs: Epochs = 4,
    max_steps: MaxSteps = None,
    lr: LearningRate = 3e-4,
    batch_size: BatchSize = 32,
    model: Model = None,
    trainable_layers: TrainableLayers = 2,
    seed: Seed = 0,
    seeds: int = typer.Option(
        1, min=1, help="train each side with this many seeds (seed, seed+1, ...): mean ± std and the paired difference"
    ),
) -> None:
    """Train the same model on the raw input and on the curated set; evaluate both on one clean file."""
    from curate.recipe import load_recipe
    from curate.io.paths import check_writable
    from curate.pipeline.compare import compare_recipe

    config = _train_options(epochs, max_steps, lr, batch_size, model, trainable_layers, seed)
    check_writable(out, "--out")
    parsed = load_recipe(recipe)
    with console.status("curating, then training on raw and curated data…") as status:
        summary = compare_recipe(parsed, eval, config, out, seeds, progress=Progress(status))
    table = Table(
        title=f"raw ({summary['rows']['raw']:,} rows) vs curated ({summary['rows']['curated']:,} rows), "
        f"{summary['budget']['optimizer_steps']} steps each, on {summary['rows']['evaluation']:,} clean rows"
        + (f", {seeds} seeds (mean ± std)" if seeds > 1 else "")
    )
    for column in ("metric", "raw", "curated", "difference"):
        table.add_column(column, justify="left" if column == "metric" else "right")

    def cell(value) -> str:
        return f"{value['mean']:.4f} ± {value['std']:.4f}" if isinstance(value, dict) else f"{value:.4f}"

    for name, v in summary["metrics"].items():
        table.add_row(name, cell(v["raw"]), cell(v["curated"]), cell(v["difference"]))
    probe = summary.get("probe") or {}
    if probe.get("raw") is not None:
        table.add_row("probe macro_f1", cell(probe["raw"]), cell(probe["curated"]), "")
    console.print(table)
    console.print(f"details: {out / 'compare.md'}")


@command()
def review(
    run_dir: Path = typer.Argument(..., help="a run directory"),
    sign_off: bool = typer.Option(False, "--sign-off", help="sign the run off as reviewed (needs --reviewer)"),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="who signs off"),
    note: Optional[str] = typer.Option(None, "--note", help="a note kept with the sign-off"),
    summary: bool = typer.Option(True, "--summary/--quiet", help="print the decisions and the sign-off"),
) -> None:
    """A run's review: the decisions recorded in the explorer (applied by the `review` stage on the next run) and its sign-off."""
    from curate.io.review import read_decisions, read_signoff, review_problem, run_decisions_file, stale_signoff
    from curate.io.review import sign_off as record_sign_off
    from curate.io.rundir import RunDir

    run = RunDir(run_dir)
    if sign_off:
        record = record_sign_off(run.path, reviewer or "", note)
        console.print(f"signed off by {record['reviewer']} at {record['at']} ({record['decisions']} decisions)")
    if not summary:
        return
    file = run_decisions_file(run)
    decisions = read_decisions(file)
    applied = (run.report.get("review") or {}).get("decisions")
    console.print(
        f"{decisions.height} decision(s) in {file}"
        + (
            f"; this run applied {applied}"
            if applied is not None
            else "; this run has no review stage, so none were applied"
        )
    )
    if decisions.height:
        table = Table("at", "reviewer", "action", "id", "label / text", "note")
        for row in decisions.tail(50).iter_rows(named=True):
            table.add_row(
                row["at"],
                row["reviewer"] or "",
                row["action"],
                row["id"],
                row["label"] or (row["text"] or "")[:60],
                row["note"] or "",
            )
        console.print(table)
        counts = decisions.group_by("action").len().sort("action")
        console.print(", ".join(f"{a}: {n}" for a, n in counts.iter_rows()))
    signoff, problem = read_signoff(run.path), review_problem(run.path)
    if signoff:
        console.print(
            f"signed off by {signoff['reviewer']} at {signoff['at']}"
            + (f": {signoff['note']}" if signoff.get("note") else "")
        )
    stale = stale_signoff(run.path) if signoff is None else None
    if stale is not None and stale[1] is not None:
        console.print(f"what changed since the sign-off by {stale[0]['reviewer']} ({stale[0]['at']}):")
        _print_diff(stale[1])
    console.print("reviewed: yes" if problem is None else f"reviewed: no ({problem})")


def _print_diff(changes, rows: int = 50) -> None:
    """A run diff as two tables: rows per change, stage and reason; then the changed rows (the first `rows`)."""
    summary = Table("change", "stage", "reason", "rows")
    for change, stage, reason, count in changes.summary.iter_rows():
        summary.add_row(change, stage or "", reason or "", f"{count:,}")
    console.print(summary)
    table = Table("id", "change", "stage / reason", "label", "split", "text")
    for row in changes.changes.head(rows).iter_rows(named=True):
        label, split = (
            row[f"{c}_b"] if row[f"{c}_a"] == row[f"{c}_b"] else f"{row[f'{c}_a'] or '-'} → {row[f'{c}_b'] or '-'}"
            for c in ("label", "split")
        )
        table.add_row(
            row["id"],
            row["change"],
            f"{row['stage']}: {row['reason']}" if row["reason"] else row["stage"] or "",
            label or "",
            split or "",
            " ".join((row["text"] or "").split())[:60],
        )
    console.print(table)
    if changes.changes.height > rows:
        console.print(f"… and {changes.changes.height - rows:,} more (--json lists every one)")
    console.print(f"{len(changes.changed_ids):,} row(s) changed from {changes.a} to {changes.b}")


@command()
def diff(
    run_a: Path = typer.Argument(..., help="the older run directory (the one reviewed)"),
    run_b: Path = typer.Argument(..., help="the newer run directory"),
    as_json: bool = typer.Option(False, "--json", help="print the changes as JSON (every changed row)"),
) -> None:
    """What changed from RUN_A to RUN_B: rows added, removed, relabelled, moved between splits, approved or rejected,
    generated rows swapped; per stage and reason."""
    import json

    from curate.io.diff import diff_runs

    changes = diff_runs(run_a, run_b)
    if as_json:
        print(json.dumps(changes.to_dict(), indent=1, default=str))
    else:
        _print_diff(changes)


@command()
def explore(
    run_dir: Optional[Path] = typer.Argument(None, help="run directory to open (default: a picker over runs/)"),
    port: int = typer.Option(8501, help="port to serve the explorer on"),
    address: str = typer.Option("127.0.0.1", help="listen address (local only by default)"),
) -> None:
    """Open the Streamlit explorer on a run directory (127.0.0.1, no usage statistics)."""
    import os
    import subprocess

    from curate.core.extras import require
    from curate.core.resources import explorer_path
    from curate.io.rundir import RunDir

    require("curate explore", "streamlit", "altair", "wordcloud", "matplotlib")
    app_file = explorer_path()
    if run_dir is not None:
        RunDir(run_dir)  # a clear error for a folder that is not a run
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_file),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.headless",
        "true",
        "--",
        *([str(run_dir.resolve())] if run_dir else []),
    ]
    console.print(f"explorer on http://{address}:{port}")
    raise typer.Exit(
        subprocess.call(command, env={**os.environ, "CURATE_RUN": str(run_dir.resolve()) if run_dir else ""})
    )


if __name__ == "__main__":  # pragma: no cover
    app()
