"""What the label check's drops are worth, screened with the probe: the default recipe's stages up to `labels` (with
`mislabelled: flag`, so every suspect is kept and marked), then the rows oversampled as the default does and the probe
scored on the set's untouched test split, for each way of treating the suspects.

    .venv/bin/python benchmarks/label_drop_screen.py --sets cfpb snips-cut clinc150 bitext-cut --seeds 3
    .venv/bin/python benchmarks/label_drop_screen.py --sets cfpb-planted --seeds 1

Columns: keep every suspect; drop the confirmed ones (the default's `mislabelled: drop`); drop every flagged row
(cleanlab's issues). On a planted set also the generator's truth: the same rows with their true labels, and without the
planted wrong rows. One probe per cell; a different oversampling draw moves a cell by about 0.1-0.3 points.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lift  # noqa: E402


def stages_to_labels() -> tuple[list[tuple[str, dict]], dict]:
    """The default recipe's data stages before `labels`, and the label check's own parameters, read from the recipe."""
    entries = lift.default_entries()
    at = [name for name, _ in entries].index("labels")
    return entries[:at], entries[at][1]


def screen(set_name: str, seed: int) -> str:
    from curate.core.context import RunContext
    from curate.recipe.registry import build_stage

    raw, test, _, truth = lift.load_set(set_name, seed)
    ctx = RunContext()
    rows = raw
    before, label_params = stages_to_labels()
    for name, params in before:
        rows = build_stage(name, dict(params)).apply(rows, ctx).kept
    checked = build_stage("labels", {**label_params, "mislabelled": "flag", "seed": seed}).apply(rows, ctx).kept

    def score(kept: pl.DataFrame) -> float:
        rows = lift.oversample(kept.select("id", "text", "label"), seed)
        return lift.probe_scores(rows, test, seed)["macro_f1"]

    flagged, confirmed = pl.col("label_issue").fill_null(False), pl.col("label_issue_confirmed").fill_null(False)
    line = (
        f"{set_name} seed {seed}: {checked.height} rows, {int(checked['label_issue'].sum())} flagged, "
        f"{int(checked['label_issue_confirmed'].sum())} confirmed | keep all {score(checked):.4f} | "
        f"drop confirmed {score(checked.filter(~confirmed)):.4f} | drop every flagged {score(checked.filter(~flagged)):.4f}"
    )
    if truth is not None:
        truth = truth.select(pl.col("ticket_id").alias("id"), "mislabelled", "true_intent")
        true_label = dict(zip(truth["id"], truth["true_intent"]))
        wrong = set(truth.filter(pl.col("mislabelled"))["id"].to_list())
        fixed = checked.with_columns(
            pl.col("id").replace_strict(true_label, default=None).fill_null(pl.col("label")).alias("label")
        )
        line += (
            f" | true labels {score(fixed):.4f} | without the planted wrong rows "
            f"{score(checked.filter(~pl.col('id').is_in(list(wrong)))):.4f} "
            f"({len(wrong & set(checked['id'].to_list()))} reach the check; of the confirmed, "
            f"{len(wrong & set(checked.filter(confirmed)['id'].to_list()))} planted)"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["cfpb", "snips-cut"])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for set_name in args.sets:
        for seed in range(args.seeds):
            print(screen(set_name, seed), flush=True)


if __name__ == "__main__":
    main()
