"""Scale: the model-free default stages on many generated tickets, local engine vs Ray, on this machine.

    .venv/bin/python benchmarks/scale.py [--sizes 100000 1000000] [--engines local ray]

Each run is `curate run` in its own process (so peak memory is that run's): review, clean, redact,
quality, exact and MinHash dedup, split, on tickets from `curate.samples.scale_tickets` (Bitext
utterances with order numbers; 5% exact and 5% typo'd resends, 5% HTML, 3% emails). Prints rows/s,
wall time, peak resident memory of the driver process, the peak memory of the run's whole process tree (the driver
and everything it started: Ray's GCS, raylet, object store and workers), summed as proportional set sizes so pages
shared between processes count once, sampled every second, and that peak while each stage ran (from the stage lines
`curate run` prints as each stage ends); the growth from size to size, and each stage's seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = [
    "review",
    "clean",
    "redact",
    "quality",
    {"dedup": {"method": "exact"}},
    {"dedup": {"method": "minhash", "similarity": "edit", "threshold": 0.9, "keep": "longest"}},
    {"split": {"validation": 0.1, "test": 0.1, "seed": 7}},
]


def sample_tree(pid: int, samples: list[tuple[float, int]]) -> None:
    """Until `pid` ends: every second, (time, the sum of the proportional set sizes of `pid` and its descendants)."""
    try:
        root = psutil.Process(pid)
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for process in [root, *root.children(recursive=True)]:
                try:
                    total += process.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            samples.append((time.perf_counter(), total))
            time.sleep(1)
    except psutil.NoSuchProcess:
        return


def read_stage_ends(stream, ends: list[tuple[float, str]], lines: list[str]) -> None:
    """Each line of the run's output as it comes; a stage's line ("✓ dedup:minhash  ...") marks when it ended."""
    for line in stream:
        lines.append(line)
        words = line.split()
        if len(words) > 1 and words[0] == "✓":
            ends.append((time.perf_counter(), words[1]))


def peaks_by_stage(samples: list[tuple[float, int]], ends: list[tuple[float, str]]) -> dict[str, float]:
    """The largest sample (GB) while each stage ran, from the end of the one before to its own; "after" is the writing
    of the outputs and report that follows the last stage."""
    peaks, start = {}, float("-inf")
    for end, stage in [*ends, (float("inf"), "after")]:
        during = [size for at, size in samples if start < at <= end]
        if during:
            peaks[stage] = max(during) / 1e9
        start = end
    return peaks


def run_once(data: Path, engine: str, folder: Path) -> dict:
    recipe = {"input": {"path": str(data)}, "stages": STAGES, "output": str(folder / f"run-{engine}"), "seed": 0}
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    code = (
        "import resource, sys, time; from curate.cli.main import app; "
        "sys.argv = ['curate', 'run', sys.argv[1], '--engine', sys.argv[2]]\n"
        "try:\n    app()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(folder / "recipe.yaml"), engine],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each stage's line when it ends, not when the run does
    )
    samples: list[tuple[float, int]] = []
    ends: list[tuple[float, str]] = []
    lines: list[str] = []
    sampler = threading.Thread(target=sample_tree, args=(process.pid, samples), daemon=True)
    # curate prints a line as each stage ends on stderr, the last line of its report on stdout
    reader = threading.Thread(target=read_stage_ends, args=(process.stderr, ends, lines), daemon=True)
    sampler.start()
    reader.start()
    stdout = process.stdout.read()
    process.wait()
    seconds = time.perf_counter() - started
    sampler.join()
    reader.join()
    stderr = "".join(lines)
    if process.returncode:
        raise SystemExit(stdout[-2000:] + stderr[-2000:])
    peak_kb = int(stdout.rsplit("PEAK_KB", 1)[1].split()[0])
    report = json.loads((folder / f"run-{engine}" / "report.json").read_text())
    return {
        "seconds": seconds,
        "peak_gb": peak_kb / 1e6,
        "tree_gb": max((size for _, size in samples), default=0) / 1e9,
        "by_stage_gb": peaks_by_stage(samples, ends),
        "stages": {s["stage"]: s["seconds"] for s in report["stages"]},
        "approved": report["totals"]["approved"],
        "rejected": report["totals"]["rejected"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["local", "ray"])
    args = parser.parse_args()
    from curate.samples.scale_tickets import generate_tickets

    print(
        f"command: .venv/bin/python benchmarks/scale.py --sizes {' '.join(map(str, args.sizes))} --engines {' '.join(args.engines)}"
    )
    print(
        f"machine: {__import__('os').cpu_count()} cores; peak = the driver process's maximum resident memory; "
        "all processes = the run's process tree (Ray's included), summed proportional set sizes, sampled every second"
    )
    print(
        "| engine | rows | wall s | rows/s | peak GB | all processes GB | growth (time, memory) vs previous size | slowest stages (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for engine in args.engines:
            previous = None
            for size in args.sizes:
                data = folder / f"tickets-{size}.parquet"
                if not data.exists():
                    generate_tickets(size, seed=0).write_parquet(data)
                result = run_once(data, engine, folder)
                growth = (
                    (
                        f"{result['seconds'] / previous['seconds']:.1f}× time, {result['peak_gb'] / previous['peak_gb']:.1f}× memory "
                        f"for {size / previous['size']:.0f}× rows"
                    )
                    if previous
                    else ""
                )
                slowest = ", ".join(
                    f"{k} {v:.1f}" for k, v in sorted(result["stages"].items(), key=lambda kv: -kv[1])[:4]
                )
                print(
                    f"| {engine} | {size:,} | {result['seconds']:.1f} | {size / result['seconds']:,.0f} | {result['peak_gb']:.2f} | {result['tree_gb']:.2f} | {growth} | {slowest} |",
                    flush=True,
                )
                by_stage = ", ".join(f"{stage} {gb:.2f}" for stage, gb in result["by_stage_gb"].items())
                print(f"|  | all processes' peak while each stage ran (GB): {by_stage} | | | | | | |", flush=True)
                previous = {**result, "size": size}


if __name__ == "__main__":
    main()
