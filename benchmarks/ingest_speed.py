"""CSV ingest against polars: curate's `read_input` (line-accurate errors, ids checked unique, empty texts rejected,
the file's sha256 fingerprint) and `pl.read_csv` reading the same ticket CSV whole into memory, same columns.

    .venv/bin/python benchmarks/ingest_speed.py [--rows 1000000] [--repeats 5] [--readers OLD_READERS_PY ...]
        [--without-ids [--stable-ids OLD_TEXT_PY]]

Both run in one process, interleaved (polars first in odd rounds, curate first in even ones); the figures are medians.
polars is timed twice, with its type inference and with every column read as text (as curate reads), and the faster
of the two is the baseline. CPU seconds are the process's (every thread's, user + system) while each reader ran: on
busy shared cores wall seconds swing with the load, the CPU work much less. `--readers` times the `read_input` of
another version of curate/io/readers.py beside them, in the same rounds (`git show main:curate/io/readers.py >
/tmp/main_readers.py`): a before and after that the load cannot tell apart across two processes. `--without-ids`
writes the CSV without its id column, so curate makes stable ids; `--stable-ids` then times this reader making them
with the StableIds of another curate/core/text.py (`git show main:curate/core/text.py > /tmp/main_text.py`).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from curate.io import readers
from curate.io.readers import read_input
from curate.io.spec import InputSpec
from curate.samples.scale_tickets import generate_tickets


def timed(read) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the process (all its threads) and the rows read."""
    started, cpu = time.perf_counter(), time.process_time()
    rows = read()
    return time.perf_counter() - started, time.process_time() - cpu, rows


def medians(contenders: dict, repeats: int, rows: int) -> tuple[dict[str, float], dict[str, float]]:
    """Each contender's median wall and CPU seconds over `repeats` rounds, the order reversed every other round."""
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    cpu_seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(repeats):
        order = list(contenders) if round_ % 2 == 0 else list(reversed(contenders))
        for name in order:
            took, cpu, read = timed(contenders[name])
            assert read == rows, (name, read)
            seconds[name].append(took)
            cpu_seconds[name].append(cpu)
    return (
        {name: statistics.median(times) for name, times in seconds.items()},
        {name: statistics.median(times) for name, times in cpu_seconds.items()},
    )


def readers_from(file: Path):
    """A copy of curate.io.readers loaded from `file` (another version of it), under a name of its own."""
    spec = importlib.util.spec_from_file_location(f"readers_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--readers", type=Path, action="append", default=[], help="another curate/io/readers.py")
    parser.add_argument("--without-ids", action="store_true", help="no id column: curate makes stable ids")
    parser.add_argument("--stable-ids", type=Path, action="append", default=[], help="another curate/core/text.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="curate-ingest-") as folder:  # the CSV (85 MB at 1M rows) goes after
        path = Path(folder) / "tickets.csv"
        tickets = generate_tickets(args.rows)
        (tickets.drop("id") if args.without_ids else tickets).write_csv(path)
        size = path.stat().st_size / 1e6
        spec = InputSpec(path=path, text="text", id=None if args.without_ids else "id", label="label")
        contenders = {
            "pl.read_csv": lambda: pl.read_csv(path).height,
            "pl.read_csv, all text": lambda: pl.read_csv(path, infer_schema=False).height,
            "curate read_input": lambda: read_input(spec).result.kept.height,
        }
        for file in args.readers:
            other = readers_from(file)
            contenders[f"read_input, {file.stem}"[:24]] = lambda other=other: other.read_input(spec).result.kept.height
        for file in args.stable_ids:
            other = readers_from(Path(readers.__file__))
            other.StableIds = readers_from(file).StableIds  # this copy's batches() makes its ids with those
            contenders[f"ids, {file.stem}"[:24]] = lambda other=other: other.read_input(spec).result.kept.height
        median, median_cpu = medians(contenders, args.repeats, args.rows)
    baseline = min(median["pl.read_csv"], median["pl.read_csv, all text"])
    cpu_baseline = min(median_cpu["pl.read_csv"], median_cpu["pl.read_csv, all text"])
    print(f"{args.rows:,} ticket rows ({size:.0f} MB CSV), medians of {args.repeats} interleaved rounds")
    print(f"{'reader':<24} {'seconds':>8} {'rows/s':>12} {'x polars':>9} {'CPU s':>7} {'x polars':>9}")
    for name, took in median.items():
        cpu = median_cpu[name]
        wall = f"{took:>8.3f} {args.rows / took:>12,.0f} {baseline / took:>9.2f}"
        print(f"{name:<24} {wall} {cpu:>7.3f} {cpu_baseline / cpu:>9.2f}")


if __name__ == "__main__":
    main()
