"""MinHash dedup as a whole process, as a user times it: start, read a CSV, dedup, write the kept rows.

    .venv/bin/python benchmarks/dedup_process.py [--docs 200000] [--repeats 2]

Contenders, each a fresh process on the same file, best of `--repeats`:
- rensa: the strongest script its API allows (polars read, character 3-grams of the lowercased text,
  `RMinHashDeduplicator(0.8, 128 permutations, LSH, 16 bands).add_pairs`, which keeps the first of each group,
  then a Parquet write of the kept rows);
- `curate run` with one MinHash stage like for like (Jaccard 0.8, 3-grams, 128 permutations, none of curate's
  ticket rules: numbers, distinct words, contact clauses), and at the stage's
  default (LSH at 0.5, each candidate verified by edit similarity >= 0.9), each writing the whole run directory
  (approved, rejected with reasons, clusters, report.json and report.md, the conservation check).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from common import synthetic_tickets

ROOT = Path(__file__).resolve().parents[1]
RENSA_SCRIPT = """
import sys
import polars as pl
from rensa import RMinHashDeduplicator

frame = pl.read_csv(sys.argv[1])
texts = frame["text"].str.to_lowercase().str.replace_all(r"\\s+", " ").to_list()
dedup = RMinHashDeduplicator(0.8, 128, True, 16)
keep = dedup.add_pairs([(str(i), [t[j:j + 3] for j in range(max(len(t) - 2, 1))]) for i, t in enumerate(texts)])
kept = frame.filter(pl.Series(keep))
kept.write_parquet(sys.argv[2])
print(frame.height - kept.height)
"""


def best_of(command: list[str], repeats: int) -> tuple[float, str]:
    times, output = [], ""
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        output = done.stdout
    return min(times), output


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="curate-dedup-process-"))
    data = folder / "tickets.csv"
    synthetic_tickets(args.docs).write_csv(data)
    (folder / "rensa_dedup.py").write_text(RENSA_SCRIPT)
    python, curate = sys.executable, str(Path(sys.executable).with_name("curate"))
    rows = []
    seconds, output = best_of(
        [python, str(folder / "rensa_dedup.py"), str(data), str(folder / "rensa.parquet")], args.repeats
    )
    rows.append(("rensa script (Jaccard 0.8)", seconds, int(output.strip().splitlines()[-1])))
    for label, stage in (
        (
            "curate run, Jaccard 0.8",
            "{method: minhash, similarity: jaccard, threshold: 0.8, ngram: 3, same_numbers: false, "
            "distinct_words: false, ignore_pii_clauses: false}",
        ),
        ("curate run, default (edit 0.9)", "{method: minhash}"),
    ):
        recipe = folder / "recipe.yaml"
        recipe.write_text(
            f"input: {{path: {data}, text: text, id: id}}\nstages:\n  - dedup: {stage}\noutput: {folder / 'run'}\n"
        )
        seconds, _ = best_of([curate, "run", str(recipe)], args.repeats)
        rejected = pl.read_parquet(folder / "run" / "rejected.parquet").height
        rows.append((label, seconds, rejected))
    rensa_seconds = rows[0][1]
    print(f"{args.docs:,} synthetic tickets, whole processes, best of {args.repeats}")
    print(f"{'contender':<32} {'seconds':>8} {'docs/s':>9} {'x rensa':>8} {'rejected':>9}")
    for label, seconds, rejected in rows:
        print(
            f"{label:<32} {seconds:>8.1f} {args.docs / seconds:>9,.0f} {rensa_seconds / seconds:>8.2f} {rejected:>9,}"
        )


if __name__ == "__main__":
    main()
