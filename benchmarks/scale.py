"""Scale: the model-free default stages on many generated tickets, local engine vs Ray, on this machine.

    .venv/bin/python benchmarks/scale.py [--sizes 100000 1000000] [--engines local ray]

Each run is `curate run` in its own process (so peak memory is that run's): review, clean, redact,
quality, exact and MinHash dedup, split, on tickets from `curate.samples.scale_tickets` (Bitext
utterances with order numbers; 5% exact and 5% typo'd resends, 5% HTML, 3% emails). Prints rows/s,
wall time, peak resident memory of the driver process, the peak memory of the run's whole process tree (the driver
and everything it started: Ray's GCS, raylet, object store and workers), summed as proportional set sizes so pages
shared between processes count once, sampled every second; the growth from size to size, and each stage's seconds.
"""

from __future__ import annotations

import argparse
import json
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


def sample_tree(pid: int, peak: list[int]) -> None:
    """Until `pid` ends: the largest sum, every second, of the proportional set sizes of `pid` and its descendants."""
    try:
        root = psutil.Process(pid)
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for process in [root, *root.children(recursive=True)]:
                try:
                    total += process.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            peak[0] = max(peak[0], total)
            time.sleep(1)
    except psutil.NoSuchProcess:
        return


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
    )
    tree_peak = [0]
    sampler = threading.Thread(target=sample_tree, args=(process.pid, tree_peak), daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if done.returncode:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
    peak_kb = int(done.stdout.rsplit("PEAK_KB", 1)[1].split()[0])
    report = json.loads((folder / f"run-{engine}" / "report.json").read_text())
    return {
        "seconds": seconds,
        "peak_gb": peak_kb / 1e6,
        "tree_gb": tree_peak[0] / 1e9,
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
                previous = {**result, "size": size}


if __name__ == "__main__":
    main()
