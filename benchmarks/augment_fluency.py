"""Would a fluency check have caught the read rows? Score every read pair (source, generated) with the packaged
SmolLM2-135M-Instruct and count, for a few forms of "much less likely than its source" and margins, the `same` rows
dropped against the `changed` and `broken` rows caught. The form and margin are chosen on the first and second
readings (and Bitext's); the third readings are only measured, with the choice fixed below.

    PYTHONPATH=. .venv/bin/python benchmarks/augment_fluency.py

Prints the tuning table (every form and margin), the tuning rows the chosen one drops, the third readings under it
(every row it drops and every changed or broken row, with its gap), and the scoring speed on this machine.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
READ = ROOT / "benchmarks" / "results" / "augment_read"
TUNING = ["clinc150-full", "clinc150-full-second", "snips", "snips-second", "bitext"]
HELD_OUT = ["clinc150-full-third", "snips-third"]
MARGINS = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0]
# Set from the tuning table before the third readings were scored: the margin that drops under 5% of the `same` rows
CHOSEN = ("sum / source tokens", 1.0)


def read_rows(names: list[str]) -> pl.DataFrame:
    return pl.concat(
        [
            pl.read_csv(READ / f"{name}.csv", infer_schema=False)
            .select("n", "source", "generated", "verdict")
            .with_columns(pl.lit(name).alias("reading"))
            for name in names
        ]
    )


def forms(scorer, sources: list[str], candidates: list[str], lowercase: bool) -> dict[str, np.ndarray]:
    """Candidate minus source, per token of each text or summed and over the source's tokens; as written, or
    lowercased (CLINC150's sources are lowercase, their round trips are capitalised)."""
    case = ", lowercased" if lowercase else ""
    total, tokens = scorer.losses([t.lower() if lowercase else t for t in [*sources, *candidates]])
    n = len(sources)
    return {
        f"mean per token{case}": total[n:] / tokens[n:] - total[:n] / tokens[:n],
        f"sum / source tokens{case}": (total[n:] - total[:n]) / np.maximum(tokens[:n], 1),
    }


def counts(rows: pl.DataFrame, dropped: np.ndarray) -> dict[str, str]:
    verdicts = rows["verdict"].to_numpy()
    return {
        v: f"{int((dropped & (verdicts == v)).sum())}/{int((verdicts == v).sum())}"
        for v in ("same", "changed", "broken")
    }


def main() -> None:
    from curate.stages.augment.fluency import FluencyScorer

    tuning, held_out = read_rows(TUNING), read_rows(HELD_OUT)
    scorer = FluencyScorer()
    start = time.perf_counter()
    scorer._load()
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    scores = forms(scorer, tuning["source"].to_list(), tuning["generated"].to_list(), lowercase=False)
    per_100 = (time.perf_counter() - start) / tuning.height * 100
    scores |= forms(scorer, tuning["source"].to_list(), tuning["generated"].to_list(), lowercase=True)
    print(f"tuning rows: {tuning.height} ({dict(tuning['verdict'].value_counts(sort=True).iter_rows())})")
    print("| form | margin | same dropped | changed caught | broken caught |")
    print("|---|---|---|---|---|")
    for form, gap in scores.items():
        for margin in MARGINS:
            c = counts(tuning, gap > margin)
            print(f"| {form} | {margin} | {c['same']} | {c['changed']} | {c['broken']} |")
    form, margin = CHOSEN
    gap = scores[form]
    print(f"\nchosen: {form} > {margin}; tuning rows it drops:")
    for row, g in zip(tuning.iter_rows(named=True), gap, strict=True):
        if g > margin:
            print(f"  {row['reading']} {row['n']} {row['verdict']} {g:.2f}: {row['source']!r} → {row['generated']!r}")
    held = forms(scorer, held_out["source"].to_list(), held_out["generated"].to_list(), "lowercased" in form)[form]
    print("\n| third reading | same dropped | changed caught | broken caught |")
    print("|---|---|---|---|")
    for name in HELD_OUT:
        mask = (held_out["reading"] == name).to_numpy()
        c = counts(held_out.filter(mask), held[mask] > margin)
        print(f"| {name} | {c['same']} | {c['changed']} | {c['broken']} |")
    for row, g in zip(held_out.iter_rows(named=True), held, strict=True):
        if g > margin or row["verdict"] != "same":
            mark = "dropped" if g > margin else "kept"
            pair = f"{row['source']!r} → {row['generated']!r}"
            print(f"  {row['reading']} {row['n']} {row['verdict']} {mark} {g:.2f}: {pair}")
    print(f"\nmodel load {loaded:.0f} s; scoring {per_100:.1f} s per 100 candidates (source and candidate, batched)")


if __name__ == "__main__":
    main()
