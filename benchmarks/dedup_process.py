"""MinHash dedup as a whole process, as a user times it: start, read a CSV, dedup, write the kept rows.

    .venv/bin/python benchmarks/dedup_process.py [--docs 200000] [--repeats 3] [--skip-batch]

Contenders, each a fresh process on the same file, run in interleaved rounds (the order turns each round); the figures
are medians of wall time and of CPU time (user + system, from the child's rusage: less moved by other work on shared
cores than wall time):
- rensa, per row: polars read, character 3-grams of the lowercased text, `RMinHashDeduplicator(0.8, 128
  permutations, LSH, 16 bands).add_pairs`, which keeps the first of each group, then a Parquet write of the kept rows;
- rensa, batch API: the 3-grams hashed in numpy (each packed exactly into a u64), one digest matrix
  (`digest_matrix_from_flat_token_hashes`), `query_duplicate_flags_matrix_one_shot` to find the rows that share an LSH
  band with any other row (the rest are kept with no more work), and the same keep-first deduplicator on those rows
  only, since one-shot flags mark every row of a colliding group, the first included;
- `curate run` with one MinHash stage like for like (Jaccard 0.8, 3-grams, 128 permutations, none of curate's ticket
  rules: numbers, distinct words, contact clauses; rejected rows written as read, `rejected_text: raw`, as rensa's
  are not redacted), and at the stage's and the recipe's defaults (LSH at 0.5, each candidate verified by edit
  similarity >= 0.9; rejected rows redacted), each writing the whole run directory (approved, rejected with reasons,
  clusters, report.json and report.md, the conservation check).
The baseline is the faster rensa script.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from common import synthetic_tickets

ROOT = Path(__file__).resolve().parents[1]
RENSA_PAIRS = """
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
RENSA_BATCH = """
import sys
import numpy as np
import polars as pl
from rensa import RMinHash, RMinHashDeduplicator, RMinHashLSH

frame = pl.read_csv(sys.argv[1])
texts = frame["text"].fill_null("").str.to_lowercase().str.replace_all(r"\\s+", " ")
lengths = texts.str.len_chars().to_numpy().astype(np.int64)
codes = np.frombuffer("".join(texts.to_list()).encode("utf-32-le"), np.uint32).astype(np.uint64)
codes = np.concatenate([codes, np.zeros(2, np.uint64)])
starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
shingles = np.maximum(lengths - 2, 1)  # a text under 3 characters is one shingle
offsets = np.concatenate([[0], np.cumsum(shingles)]).astype(np.uint64)
within = np.arange(int(offsets[-1])) - np.repeat(offsets[:-1].astype(np.int64), shingles)
at = np.repeat(starts, shingles) + within
size = np.repeat(lengths, shingles)
hashes = (  # three 21-bit code points and the shingle's length: one exact u64 per shingle
    (codes[at] << np.uint64(42))
    | (np.where(within + 1 < size, codes[at + 1], 0).astype(np.uint64) << np.uint64(21))
    | np.where(within + 2 < size, codes[at + 2], 0).astype(np.uint64)
    | (np.minimum(size, 3).astype(np.uint64) << np.uint64(62))
)
matrix = RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, 128, 42)
flagged = np.flatnonzero(RMinHashLSH(0.8, 128, 16).query_duplicate_flags_matrix_one_shot(matrix))
dedup = RMinHashDeduplicator(0.8, 128, True, 16)
keep = np.ones(frame.height, dtype=bool)
keep[flagged] = dedup.add_pairs(
    [(str(i), [t[j:j + 3] for j in range(max(len(t) - 2, 1))]) for i, t in zip(flagged.tolist(), texts.gather(flagged).to_list())]
)
kept = frame.filter(pl.Series(keep))
kept.write_parquet(sys.argv[2])
print(frame.height - kept.height)
"""
LIKE_FOR_LIKE = (
    "{method: minhash, similarity: jaccard, threshold: 0.8, ngram: 3, same_numbers: false, "
    "distinct_words: false, ignore_pii_clauses: false}"
)


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system) of one child process, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-batch", action="store_true", help="leave out rensa's batch-API script (slower here)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="curate-dedup-process-"))
    data = folder / "tickets.csv"
    synthetic_tickets(args.docs).write_csv(data)
    python, curate = sys.executable, str(Path(sys.executable).with_name("curate"))
    commands: dict[str, list[str]] = {}
    scripts = [("rensa, per row (add_pairs)", RENSA_PAIRS), ("rensa, batch API + add_pairs", RENSA_BATCH)]
    for name, script in scripts[:1] if args.skip_batch else scripts:
        path = folder / f"{name.split(',')[1].split()[0]}.py"
        path.write_text(script)
        commands[name] = [python, str(path), str(data), str(folder / "rensa.parquet")]
    for name, stage, extra in (
        ("curate run, Jaccard 0.8", LIKE_FOR_LIKE, "rejected_text: raw\n"),
        ("curate run, default (edit 0.9)", "{method: minhash}", ""),
    ):
        recipe = folder / f"recipe{len(commands)}.yaml"
        recipe.write_text(
            f"input: {{path: {data}, text: text, id: id}}\nstages:\n  - dedup: {stage}\n"
            f"output: {folder / ('run' + str(len(commands)))}\n{extra}"
        )
        commands[name] = [curate, "run", "--quiet", str(recipe)]
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    removed: dict[str, int] = {}
    names = list(commands)
    for round_ in range(args.repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            wall, cpu, out = timed(commands[name])
            walls[name].append(wall)
            cpus[name].append(cpu)
            if name.startswith("rensa"):
                removed[name] = int(out.strip().splitlines()[-1])
            else:
                recipe = Path(commands[name][-1]).read_text()
                run = Path(recipe.split("output: ")[1].splitlines()[0])
                removed[name] = pl.read_parquet(run / "rejected.parquet").height
    wall = {name: statistics.median(times) for name, times in walls.items()}
    cpu = {name: statistics.median(times) for name, times in cpus.items()}
    baseline = min(wall[name] for name in names if name.startswith("rensa"))
    cpu_baseline = min(cpu[name] for name in names if name.startswith("rensa"))
    print(f"{args.docs:,} synthetic tickets, whole processes, medians of {args.repeats} interleaved rounds")
    print(f"{'contender':<32} {'wall s':>7} {'docs/s':>9} {'x rensa':>8} {'CPU s':>7} {'x rensa':>8} {'removed':>8}")
    for name in names:
        print(
            f"{name:<32} {wall[name]:>7.1f} {args.docs / wall[name]:>9,.0f} {baseline / wall[name]:>8.2f} "
            f"{cpu[name]:>7.1f} {cpu_baseline / cpu[name]:>8.2f} {removed[name]:>8,}"
        )


if __name__ == "__main__":
    main()
