"""Which model the runner keeps, the fine-tune or its probe: candidate rules tried on training splits only.

    .venv/bin/python benchmarks/kept_rule.py run --seeds 2 [--sets clinc150 clinc150-oversample cfpb ...]
    .venv/bin/python benchmarks/kept_rule.py table [--score refit_macro_f1]

Each cell takes one set's *training* split (never its test split), holds 30% of it out as a pseudo-test (stratified,
seeded, copies on one side), and runs the runner at its defaults on the rest (its own 10% validation split). The best
fine-tuned epoch and the refitted probe are both scored on the pseudo-test, and the epoch's paired validation evidence
(rows won and lost against the probe-initialised start, the paired z of the per-row log-loss gain, the bootstrap share
of resamples with a higher macro-F1) is recorded, and the same epoch is scored again with its head refitted on the
training and validation rows (`refit_macro_f1`, what `refit_head` saves). `table` applies each candidate rule to every
cell: the rule chosen is the one whose kept model is never far under the probe and gains most on average. One JSON per
cell under `benchmarks/results/kept_rule-2/`; cells already there are skipped.

Sets: the lift benchmark's (`clinc150`, `cfpb`, `snips-cut`, `bitext-cut` as published or cut), `clinc150-oversample`
(the same rows randomly oversampled to 3:1 after the pseudo-test is held out), and runner_small's 2,000-row slices
(`clinc150-77`, `bitext-2k`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lift  # noqa: E402
import runner_small  # noqa: E402

# The cells of before the runner's probe was fitted to convergence (kept_rule/: the probe lbfgs stopped at scikit-learn's
# default tolerance, ~1.4 points weaker on CLINC150) stay as measured and print with `--cells kept_rule`; the runner as
# it is now fills kept_rule-2/.
CELLS = Path(__file__).resolve().parent / "results"
RESULTS = CELLS / "kept_rule-2"
SETS = ["clinc150-77", "bitext-2k", "clinc150", "clinc150-oversample", "cfpb", "snips-cut", "bitext-cut"]


def training_split(name: str, seed: int) -> tuple[pl.DataFrame, bool]:
    """A set's training rows (its test split is not read for anything) and whether to oversample the fit part."""
    if name in ("clinc150-77", "bitext-2k"):
        return runner_small.LOADERS[{"bitext-2k": "bitext"}.get(name, name)](seed)[0], False
    base = name.removesuffix("-oversample")
    return lift.LOADERS[base](seed)[0].select("text", "label"), name.endswith("-oversample")


def run_cell(name: str, seed: int) -> dict:
    """The lift grid's runner cell (both candidates scored, the history kept) on the training split's pseudo-test."""
    rows, oversampled = training_split(name, seed)
    fit_part, pseudo_test = lift.held_out(rows.select("text", "label"), seed + 500)
    if oversampled:
        fit_part = lift.oversample(fit_part, seed)
    started = time.perf_counter()
    scores = lift.runner_scores(fit_part, pseudo_test, seed)
    return {
        "set": name,
        "seed": seed,
        "pseudo_test_rows": pseudo_test.height,
        **{
            k: scores[k]
            for k in ("fit_rows", "validation_rows", "tuned_macro_f1", "refit_macro_f1", "probe_macro_f1", "history")
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def cell_path(name: str, seed: int) -> Path:
    return RESULTS / name / f"seed{seed}.json"


# ---------------------------------------------------------------- rules
def best_epoch(history: list[dict]) -> dict | None:
    """The best fine-tuned epoch, or None when the probe-initialised start scored best."""
    from curate.train.classify import best_scored

    best = best_scored(history)
    return None if best is None or best["epoch"] == 0 else best


def mcnemar(z: float):
    return lambda b: (
        b["validation_gained"] - b["validation_lost"]
        >= max(1.0, z * math.sqrt(b["validation_gained"] + b["validation_lost"]))
    )


def exact(level: float):
    from curate.train.classify import chance_of_winning

    return lambda b: (
        b["validation_gained"] > b["validation_lost"]
        and (chance_of_winning(b["validation_gained"], b["validation_lost"]) <= level)
    )


def by_size(level: float, ties_win: bool = False):
    """From 5,000 fitted rows more rows won than lost (or as many, with `ties_win`); below, the exact test at `level`."""

    def rule(b: dict) -> bool:
        if b["fit_rows"] < 5000:
            return exact(level)(b)
        won, lost = b["validation_gained"], b["validation_lost"]
        return won >= lost if ties_win else won > lost

    return rule


def runners_rule(b: dict) -> bool:
    """`classify.kept_model` on the cell's best epoch."""
    from curate.train.classify import kept_model

    history = [{"epoch": 0, "validation_macro_f1": 0.0}, {**b, "validation_macro_f1": 1.0}]
    return kept_model(history)["kept"] == "fine-tuned"


RULES = {
    "always the probe": lambda b: False,
    "best epoch if it beats the start at all": lambda b: True,
    "the runner's (`classify.kept_model`)": runners_rule,
    "exact McNemar at 10% (the runner's until the sixth sitting and from the ninth)": exact(0.10),
    "exact McNemar at 5%": exact(0.05),
    "exact McNemar at 20%": exact(0.20),
    "exact McNemar at 25%": exact(0.25),
    "exact McNemar at 30%": exact(0.30),
    "rows won > lost, at least 10 rows apart in all": lambda b: (
        b["validation_gained"] > b["validation_lost"] and b["validation_gained"] + b["validation_lost"] >= 10
    ),
    # By size (the 10% forms written before kept_rule's seeds 2-3 of the large sets ran; the 20% form after CFPB seed 2,
    # 3 won and 0 lost, had been seen): in the sixth sitting's cells every fine-tune on 5,000+ fitted rows beat its probe
    # (stopped early then), so a win on validation need not be beyond chance there; with the converged probe
    # clinc150-oversample/2 (6,793 rows) did not.
    "5,000+ fit rows: rows won > lost; else exact at 10%": by_size(0.10),
    "5,000+ fit rows: rows won > lost; else exact at 20% (sixth to eighth sittings)": by_size(0.20),
    "5,000+ fit rows: rows won >= lost; else exact at 10%": by_size(0.10, ties_win=True),
    "McNemar z >= 1.645 (normal; runner-3 to -5)": mcnemar(1.645),
    "McNemar z >= 1.28": mcnemar(1.28),
    "McNemar z >= 1.0": mcnemar(1.0),
    "McNemar z >= 0.5": mcnemar(0.5),
    "log-loss z >= 1.645, rows won >= lost": lambda b: (
        b["validation_log_loss_z"] >= 1.645 and b["validation_gained"] >= b["validation_lost"]
    ),
    "log-loss z >= 2.33, rows won >= lost": lambda b: (
        b["validation_log_loss_z"] >= 2.33 and b["validation_gained"] >= b["validation_lost"]
    ),
    "log-loss z >= 3.0, rows won > lost": lambda b: (
        b["validation_log_loss_z"] >= 3.0 and b["validation_gained"] > b["validation_lost"]
    ),
    "bootstrap macro-F1 higher in >= 90%": lambda b: b["validation_f1_higher_share"] >= 0.9,
    "bootstrap macro-F1 higher in >= 80%": lambda b: b["validation_f1_higher_share"] >= 0.8,
}


def table(score: str = "tuned_macro_f1") -> str:
    """Per cell and per rule; `score`: the fine-tune's score a kept rule takes (`refit_macro_f1`: with its head
    refitted on training + validation rows, cells that recorded it)."""
    cells = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("*/seed*.json"))]
    cells = [c for c in cells if score in c]
    lines = [
        "Pseudo-test macro-F1 of the kept model minus the refitted probe's, per cell (set/seed), for each rule; "
        "oracle = the better of the two.",
        "",
        f"Fine-tune scored by `{score}`.",
        "",
        "| cell | fit rows | validation rows | best epoch − probe | won / lost | log-loss z | F1 higher share |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        b = best_epoch(c["history"])
        if b is None:
            lines.append(f"| {c['set']}/{c['seed']} | {c['fit_rows']} | {c['validation_rows']} | (start best) | | | |")
            continue
        lines.append(
            f"| {c['set']}/{c['seed']} | {c['fit_rows']} | {c['validation_rows']} | "
            f"{100 * (c[score] - c['probe_macro_f1']):+.2f} | "
            f"{b['validation_gained']} / {b['validation_lost']} | {b['validation_log_loss_z']:.2f} | "
            f"{b['validation_f1_higher_share']:.2f} |"
        )
    lines += [
        "",
        "| rule | mean Δ probe (points) | worst Δ | cells under the probe by > 0.3 | fine-tune kept |",
        "|---|---|---|---|---|",
    ]
    for name, rule in {**RULES, "oracle": None}.items():
        deltas, kept = [], 0
        for c in cells:
            b = best_epoch(c["history"])
            gain = c[score] - c["probe_macro_f1"] if b is not None else 0.0
            if rule is None:
                keep = b is not None and gain > 0
            else:
                keep = b is not None and rule({**b, "fit_rows": c["fit_rows"]})
            kept += keep
            deltas.append(100 * gain if keep else 0.0)
        if deltas:
            lines.append(
                f"| {name} | {np.mean(deltas):+.2f} | {min(deltas):+.2f} | {sum(d < -0.3 for d in deltas)} | "
                f"{kept}/{len(cells)} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "table"])
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0, help="start at this seed (a second process's share)")
    parser.add_argument("--cells", default="kept_rule-2", help="the folder under benchmarks/results/ to read or fill")
    parser.add_argument(
        "--score",
        default="tuned_macro_f1",
        choices=["tuned_macro_f1", "refit_macro_f1"],
        help="the fine-tune as trained, or with its head refitted on training + validation rows",
    )
    args = parser.parse_args()
    global RESULTS
    RESULTS = CELLS / args.cells
    if args.command == "table":
        print(table(args.score))
        return
    for seed in range(args.first_seed, args.seeds):
        for name in args.sets:
            path = cell_path(name, seed)
            if path.exists():
                continue
            result = run_cell(name, seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=1, default=str))
            tuned = result["tuned_macro_f1"]  # None: the probe-initialised start scored best, no fine-tune was saved
            tuned_text = "(start best)" if tuned is None else f"{tuned:.4f}"
            print(
                f"{name} seed {seed}: best epoch {tuned_text}, probe {result['probe_macro_f1']:.4f} "
                f"({result['seconds']:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
