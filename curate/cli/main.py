"""The `curate` command: a thin layer over the library. Exit codes: 0 ok, 1 bug, 2 bad input or
recipe, 3 a gate failed, 4 the conservation check failed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from curate.errors import CurateError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Curate support-ticket datasets for fine-tuning.")
console = Console(stderr=True)


def _fail(error: CurateError) -> None:
    console.print(f"[bold red]error[/] {error.where + ': ' if error.where else ''}{error.message}", highlight=False, soft_wrap=True)
    if error.hint:
        console.print(f"[dim]hint:[/] {error.hint}", highlight=False, soft_wrap=True)
    raise typer.Exit(error.exit_code)


def _summary(report: dict) -> Table:
    table = Table(title="curate run", show_lines=False)
    for column in ("stage", "in", "kept", "rejected", "added", "top reasons", "s"):
        table.add_column(column, justify="right" if column in ("in", "kept", "rejected", "added", "s") else "left")
    for s in report["stages"]:
        reasons = ", ".join(f"{r} {n}" for r, n in list(s["rejected_by_reason"].items())[:3])
        table.add_row(s["stage"], f"{s['rows_in']:,}", f"{s['kept']:,}", f"{s['rejected']:,}", f"{s['added']:,}", reasons, f"{s['seconds']:.1f}")
    return table


@app.command()
def run(
    recipe: Path = typer.Argument(..., help="recipe YAML"),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="input file (overrides the recipe)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="run directory (overrides the recipe)"),
) -> None:
    """Run a recipe: ingest, stages, and a run directory with approved/rejected rows and reports."""
    from curate.recipe import load_recipe
    from curate.runner import run_recipe

    try:
        parsed = load_recipe(recipe, input_path=input, output=out)
        status = console.status("")
        status.start()

        def on_start(stage, rows: int) -> None:
            name = stage if isinstance(stage, str) else stage.label
            status.update(f"[bold]{name}[/] on {rows:,} rows…" if rows else f"[bold]{name}[/]…")

        def on_end(report) -> None:
            console.print(f"[green]✓[/] {report.stage:<16} {report.rows_in:>9,} → {report.kept:>9,} kept, "
                          f"{report.rejected:,} rejected{f', {report.added:,} added' if report.added else ''} ({report.seconds:.1f}s)")

        try:
            _, report = run_recipe(parsed, on_start=on_start, on_end=on_end)
        finally:
            status.stop()
    except CurateError as error:
        _fail(error)
    console.print(_summary(report))
    if report.get("halted"):
        console.print(f"[bold red]stopped[/] {report['halted']}", highlight=False, soft_wrap=True)
        console.print(f"Report: [bold]{parsed.output / 'report.md'}[/]")
        raise typer.Exit(3)
    totals = report["totals"]
    console.print(f"{totals['input_rows']:,} input rows → {totals['approved']:,} approved, {totals['rejected']:,} rejected (all accounted for)")
    console.print(f"Report: [bold]{parsed.output / 'report.md'}[/]  (run directory: {parsed.output})")
    print(parsed.output / "report.md")


@app.command()
def export(
    source: Path = typer.Argument(..., help="a run directory (its approved set) or a data file"),
    out: Path = typer.Option(..., "--out", "-o", help="file to write"),
    format: str = typer.Option("", "--format", "-f", help="parquet | jsonl | openai (default: from --out's suffix)"),
    system: Optional[str] = typer.Option(None, help="system prompt for OpenAI chat JSONL"),
    target: str = typer.Option("auto", help="assistant turn for OpenAI chat: response | label | auto"),
) -> None:
    """Write the approved set as Parquet, JSONL or OpenAI chat fine-tuning JSONL."""
    from curate.io.writers import export_frame, load_dataset

    try:
        frame = load_dataset(source)
        written = export_frame(frame, out, format or None, system=system, target=target)
    except CurateError as error:
        _fail(error)
    console.print(f"wrote {written:,} rows to {out}")


@app.command()
def leakage(
    a: Path = typer.Argument(..., help="first dataset (e.g. train): a file or a run directory"),
    b: Path = typer.Argument(..., help="second dataset (e.g. test)"),
    threshold: float = typer.Option(0.8, help="estimated Jaccard at which two texts count as near duplicates"),
    text: str = typer.Option("text", help="text column of plain files"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write all pairs here (.csv or .parquet)"),
) -> None:
    """Near duplicates between two datasets. Exit 0 when none, 3 when some rows leak."""
    from curate.dedup.leakage import find_leakage
    from curate.io.writers import load_dataset

    try:
        pairs = find_leakage(load_dataset(a, text=text), load_dataset(b, text=text), threshold)
    except CurateError as error:
        _fail(error)
    if out:
        pairs.write_parquet(out) if out.suffix == ".parquet" else pairs.write_csv(out)
    if pairs.is_empty():
        console.print(f"no near duplicates between {a} and {b} at Jaccard >= {threshold}")
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
        table.add_row("[green]✓[/]" if o.success else "[red]✗[/]", o.expectation, o.column or "", str(observed)[:40], examples)
    console.print(table)


@app.command()
def validate(
    data: Path = typer.Argument(..., help="a run directory (its approved set) or a data file"),
    suite: Path = typer.Option(Path("expectations/tickets.json"), "--suite", "-s", help="Great Expectations suite (JSON)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="write the results as JSON"),
    text: str = typer.Option("text"), label: Optional[str] = typer.Option(None), id: Optional[str] = typer.Option(None),
) -> None:
    """Validate a dataset against an expectation suite. Exit 0 when it passes, 3 when it fails."""
    import json

    from curate.gates.gx import validate as run_suite
    from curate.io.writers import load_dataset

    try:
        report = run_suite(load_dataset(data, text=text, label=label, id=id), suite)
    except CurateError as error:
        _fail(error)
    _print_gate(report)
    if out:
        out.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    console.print(report.summary())
    if not report.success:
        raise typer.Exit(3)


expectations_app = typer.Typer(help="Draft and manage expectation suites.", no_args_is_help=True)
app.add_typer(expectations_app, name="expectations")


@expectations_app.command("init")
def expectations_init(
    data: Path = typer.Argument(..., help="a dataset you trust: a run directory or a data file"),
    out: Path = typer.Option(Path("expectations/drafted.json"), "--out", "-o"),
    name: str = typer.Option("tickets"),
    text: str = typer.Option("text"), label: Optional[str] = typer.Option(None), id: Optional[str] = typer.Option(None),
) -> None:
    """Draft a suite (label set, length bounds, dataset limits) from trusted data, for you to edit."""
    import json

    from curate.gates.draft import draft_suite
    from curate.io.writers import load_dataset

    try:
        suite = draft_suite(load_dataset(data, text=text, label=label, id=id), name)
    except CurateError as error:
        _fail(error)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(suite, indent=2) + "\n")
    console.print(f"drafted {len(suite['expectations'])} expectations -> {out}; edit the limits, then use it with `gate: {{suite: {out}}}`")


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    app()
