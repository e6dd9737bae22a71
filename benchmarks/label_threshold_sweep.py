"""How far a looser confirmation of wrong labels would go: for each cut-off on the row's own label's out-of-fold
probability (the label check's `confirm_below`, 0.02 by default), the rows that both models (the embedding model's
out-of-fold suggestion and the n-gram model's) would drop, and on a planted set how many of them are planted wrong
labels. Run on a planted set and on the same set as published, it tells whether the planted noise a default misses can
be reached at a cost the untouched set can bear. Neither the two-way rule nor the catch-all rule is applied: this is the
most the two models' agreement could catch.

    .venv/bin/python benchmarks/label_threshold_sweep.py --sets cfpb-planted cfpb --seeds 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lift  # noqa: E402

CUT_OFFS = (0.02, 0.05, 0.1, 0.2, 0.3)


def sweep(set_name: str, seed: int) -> str:
    from cleanlab.rank import get_label_quality_scores

    from curate.core.embed import Embedder
    from curate.stages.quality.labels import out_of_fold_ngram_predictions, out_of_fold_probabilities

    raw, _, _, truth = lift.load_set(set_name, seed)
    rows = lift.usable_rows(raw)
    if truth is None:
        rows = rows.with_columns(pl.lit(False).alias("mislabelled"))
    else:  # the rows a label check sees once junk is gone: originals and their resends
        rows = rows.join(truth.select(pl.col("ticket_id").alias("id"), "mislabelled", "kind"), on="id").filter(
            pl.col("kind").is_in(["original", "exact_dup", "near_dup"])
        )
    classes = sorted(rows["label"].unique().to_list())
    labels = np.searchsorted(classes, rows["label"].to_numpy())
    probabilities = out_of_fold_probabilities(Embedder().encode(rows["text"]), labels, 5, seed)
    own = get_label_quality_scores(labels, probabilities)
    suggested = probabilities.argmax(axis=1)
    disagrees = suggested != labels
    second = out_of_fold_ngram_predictions(rows["text"].to_list(), labels, 5, seed, needed=disagrees)
    planted = rows["mislabelled"].to_numpy()
    cells = []
    for cut_off in CUT_OFFS:
        dropped = (own < cut_off) & disagrees & (second == suggested)
        cells.append(f"{dropped.sum()} ({(dropped & planted).sum()})" if truth is not None else f"{dropped.sum()}")
    wrong = f"{planted.sum()}" if truth is not None else ""
    return f"| {set_name} | {seed} | {len(labels):,} | {wrong} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=["cfpb-planted", "cfpb"])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print(
        "Rows both models would drop at each cut-off on the row's own label's probability (planted wrong labels among"
    )
    print("them in brackets).\n")
    print("| set | seed | rows | planted wrong labels | " + " | ".join(f"< {c}" for c in CUT_OFFS) + " |")
    print("|---|---|---|---|" + "---|" * len(CUT_OFFS))
    for set_name in args.sets:
        for seed in range(args.seeds):
            print(sweep(set_name, seed), flush=True)


if __name__ == "__main__":
    main()
