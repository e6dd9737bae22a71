"""`curate train` at its defaults on 2,000 training rows, beside the probe on the same backbone: the size where the
runner once fell under plain logistic regression (0.851 against 0.858 on a 77-intent banking set).

    .venv/bin/python benchmarks/runner_small.py run [--seeds 3] [--sets clinc150-77 bitext]
    .venv/bin/python benchmarks/runner_small.py table

Sets (real text, no planted defect): `clinc150-77` = the first 77 of CLINC150's intents (sorted by name), 26 training
rows each (2,002 rows) from its train split, scored on those intents' test rows (2,310); `bitext` = 2,000 rows of
Bitext (27 intents), scored on 1,000 other rows, texts that are the same after normalisation on one side. Each cell
runs the `curate train` command as a user would (its own process, its defaults: 10% of the rows held out for
validation) and stores what it printed under `benchmarks/results/runner_small/<set>/seed<N>.json`; cells already
there are skipped, so the table fills over several sittings. The cells of before a fine-tune had to beat the probe on
validation by more than chance to be kept stay under `runner_small@kept-on-any-win/`, and those of before early
stopping counted against the best trained epoch instead of the probe-initialised start under
`runner_small@patience-from-start/`, and those kept by the normal approximation of the McNemar test at z 1.28 (before
the exact test) under `runner_small@normal-z1.28/`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "runner_small"
SETS = ["clinc150-77", "bitext"]


def clinc150_77(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    data = json.loads((SHARED / "clinc150" / "data_full.json").read_text())
    intents = sorted({label for _, label in data["train"]})[:77]

    def frame(name: str) -> pl.DataFrame:
        rows = pl.DataFrame(data[name], schema=["text", "label"], orient="row")
        return rows.filter(pl.col("label").is_in(intents))

    train = frame("train")
    train = train.filter(pl.int_range(pl.len()).shuffle(seed=seed).over("label") < 26)
    return train, frame("test")


def bitext(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    from curate.core.text import normalized_text

    rows = pl.read_csv(
        SHARED / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv", infer_schema=False
    ).select(pl.col("instruction").alias("text"), pl.col("intent").alias("label"))
    texts = rows.select(normalized_text("text").alias("_text")).unique(maintain_order=True)
    texts = texts.sample(fraction=1.0, shuffle=True, seed=seed).with_row_index("_order")
    rows = rows.with_columns(normalized_text("text").alias("_text")).join(texts, on="_text")
    rows = rows.sort("_order")
    train = rows.head(2000)
    test = rows.filter(~pl.col("_text").is_in(train["_text"].implode())).head(1000)
    return train.drop("_text", "_order"), test.drop("_text", "_order")


LOADERS = {"clinc150-77": clinc150_77, "bitext": bitext}
PRINTED = {
    "macro_f1": r"accuracy ([\d.]+), macro-F1 ([\d.]+) on",
    "probe": r"baseline: .*: accuracy ([\d.]+), macro-F1 ([\d.]+)",
    "kept": r"kept the (\S+) model: (.*?) load it without curate",
}


def run_cell(set_name: str, seed: int) -> dict:
    train, test = LOADERS[set_name](seed)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        train.with_row_index("id").with_columns(pl.format("r{}", "id").alias("id")).write_csv(folder / "train.csv")
        test.with_row_index("id").with_columns(pl.format("t{}", "id").alias("id")).write_csv(folder / "test.csv")
        command = [
            str(ROOT / ".venv" / "bin" / "curate"),
            "train",
            str(folder / "train.csv"),
            "--eval",
            str(folder / "test.csv"),
            "--out",
            str(folder / "model"),
            "--seed",
            str(seed),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        printed = " ".join((done.stdout + done.stderr).split())
        if done.returncode:
            raise SystemExit(f"{set_name} seed {seed}: curate train failed:\n{done.stdout}\n{done.stderr}")
        found = {key: re.search(pattern, printed) for key, pattern in PRINTED.items()}
        missing = [key for key, match in found.items() if match is None]
        if missing:
            raise SystemExit(f"{set_name} seed {seed}: `curate train` did not print {missing}:\n{printed}")
        return {
            "set": set_name,
            "seed": seed,
            "train_rows": train.height,
            "test_rows": test.height,
            "intents": train["label"].n_unique(),
            "accuracy": float(found["macro_f1"].group(1)),
            "macro_f1": float(found["macro_f1"].group(2)),
            "probe_accuracy": float(found["probe"].group(1)),
            "probe_macro_f1": float(found["probe"].group(2)),
            "kept": found["kept"].group(1),
            "kept_why": found["kept"].group(2),
            "seconds": round(seconds, 1),
            "command": "curate train train.csv --eval test.csv --seed N",
        }


def run(sets: list[str], seeds: int) -> None:
    for set_name in sets:
        for seed in range(seeds):
            path = RESULTS / set_name / f"seed{seed}.json"
            if path.exists():
                continue
            result = run_cell(set_name, seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=1) + "\n")
            print(json.dumps(result), flush=True)


def table(sets: list[str]) -> str:
    lines = [
        "| set | seed | train / test rows | intents | curate train macro-F1 | probe macro-F1 | Δ | kept | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for set_name in sets:
        cells = sorted((RESULTS / set_name).glob("seed*.json"))
        for path in cells:
            c = json.loads(path.read_text())
            lines.append(
                f"| {set_name} | {c['seed']} | {c['train_rows']:,} / {c['test_rows']:,} | {c['intents']} | "
                f"{c['macro_f1']:.4f} | {c['probe_macro_f1']:.4f} | {c['macro_f1'] - c['probe_macro_f1']:+.4f} | "
                f"{c['kept']} | {c['seconds']:.0f} |"
            )
        if cells:
            deltas = [json.loads(p.read_text()) for p in cells]
            mean = sum(d["macro_f1"] - d["probe_macro_f1"] for d in deltas) / len(deltas)
            lines.append(f"| {set_name} | mean of {len(deltas)} |  |  |  |  | {mean:+.4f} |  |  |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["run", "table"])
    parser.add_argument("--sets", nargs="+", default=SETS, choices=SETS)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if args.action == "run":
        run(args.sets, args.seeds)
    print(table(args.sets))


if __name__ == "__main__":
    sys.exit(main())
