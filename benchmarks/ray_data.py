"""Ray Data against curate's own Ray pieces, per spread, on generated tickets (issue 29).

    nice .venv/bin/python benchmarks/ray_data.py [--rows 1000000] [--repeats 2] [--kinds by_rows by_key by_totals]

One local Ray cluster (`--cpus`, 2 by default) serves both contenders; each kind runs curate, Ray Data, curate, Ray
Data... (`--repeats` pairs) so load from anything else on the machine hits both alike. The input is the tickets cut
into Parquet blocks of `--block-rows` (250,000: the Ray engine's block) before the clock starts; each contender writes
its kept and rejected rows to Parquet.

- curate: `RayEngine.apply(stage, blocks)`, the engine's own streamed path for that one stage (`streaming.py`: each
  piece a Ray task reading and writing block files, checked per piece), then the rejected rows written (what the
  runner does with them);
- Ray Data: `read_parquet(blocks, override_num_blocks=<files>)` (a read task per block; `--reader v1`, the default
  here: 2.60's own default, v2, read every file in one task after seconds of listing), the stage's own functions in
  `map_batches(batch_format="pyarrow")` (polars inside, each batch checked by the same conservation check), order
  preserved (`preserve_order`: curate keeps input order), kept and rejected rows tagged and written by one
  `write_parquet(partition_cols=...)` (a map has one output, so the kept files also carry the rejected rows' columns,
  null). by_totals: `map_batches(partial)` gathered on the driver (the totals), then `map_batches(decide)` with them.
  by_key: the key's hash as a column, `repartition(n, keys=[hash])` (the hash shuffle `groupby(...).map_groups` itself
  runs, without its per-group call), `map_batches(apply, batch_size=None)` per partition, then `sort` by row number
  (curate puts every row back in input order; "ray data, no sort" leaves the rows in partition order). Ray Data has no
  row number, so its by_key input carries one, written with the blocks.

Per run: wall seconds; CPU seconds of every process of the cluster (this process and its descendants: GCS, raylet,
workers; sampled every second, so a process that ends between samples loses at most its last second) and of this
driver alone; the peak of the tree's summed proportional set sizes; rows kept and rejected; whether both contenders'
kept and rejected rows are equal (sorted by id, on curate's columns); whether the kept rows come out in input order.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import polars as pl
import psutil

ROOT = Path(__file__).resolve().parents[1]
ROW = "_curate_row"
TAG = "_outcome"  # kept / rejected: the partition column of Ray Data's one write
KINDS = {
    "by_rows": ("redact", {}),
    "by_totals": ("quality", {}),
    "by_key": ("dedup", {"method": "exact"}),
}


class Meter:
    """CPU seconds and peak memory of this process and every process it started (the local Ray cluster) while open."""

    def __init__(self, every: float = 1.0) -> None:
        self.every, self.me = every, psutil.Process()
        self.first: dict[tuple[int, float], float] = {}
        self.last: dict[tuple[int, float], float] = {}
        self.peak = 0
        self.stop = threading.Event()

    def sample(self, initial: bool = False) -> None:
        total = 0
        for process in [self.me, *self.me.children(recursive=True)]:
            try:
                with process.oneshot():
                    key = (process.pid, process.create_time())
                    times = process.cpu_times()
                    cpu = times.user + times.system
                    if not initial:
                        total += process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
                continue
            self.first.setdefault(key, cpu if initial else 0.0)
            self.last[key] = cpu
        self.peak = max(self.peak, total)

    def loop(self) -> None:
        while not self.stop.wait(self.every):
            self.sample()

    def __enter__(self) -> Meter:
        self.sample(initial=True)
        times = self.me.cpu_times()
        self.driver0 = times.user + times.system
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.started = time.perf_counter()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.started
        self.stop.set()
        self.thread.join()
        self.sample()
        times = self.me.cpu_times()
        self.driver = times.user + times.system - self.driver0
        self.cpu = sum(self.last[k] - self.first[k] for k in self.last)


def no_http_filesystem() -> None:
    """This venv's fsspec lacks aiohttp: Ray Data's check for an HTTP filesystem then fails with ImportError (not the
    ModuleNotFoundError it expects) when threads import it at once; local files are never HTTP. Run in every worker."""
    from ray.data.datasource import path_util

    checked = path_util._is_http_filesystem

    def is_http(fs) -> bool:
        try:
            return checked(fs)
        except ImportError:
            return False

    path_util._is_http_filesystem = is_http


# Ray Data's functions (module level: sent to workers). Each gets the stage and a pyarrow batch.


def tagged(kept: pl.DataFrame, rejected: pl.DataFrame):
    """Kept and rejected rows as one Arrow table with `TAG` (Ray Data's map gives one output)."""
    return pl.concat(
        [kept.with_columns(pl.lit("kept").alias(TAG)), rejected.with_columns(pl.lit("rejected").alias(TAG))],
        how="diagonal_relaxed",
    ).to_arrow()


def through(batch, stage):
    from curate.core.context import RunContext
    from curate.pipeline.conservation import check_stage_conservation

    given = pl.from_arrow(batch)
    result = stage.apply(given, RunContext(seed=0))
    check_stage_conservation(stage.display_name, given, result)
    return tagged(result.kept, result.rejected)


def partial_of(batch, stage):
    from curate.core.context import RunContext

    return stage.spread.partial(pl.from_arrow(batch), RunContext(seed=0)).to_arrow()


def given_totals(batch, stage, totals):
    from curate.core.context import RunContext
    from curate.pipeline.conservation import check_stage_conservation

    given = pl.from_arrow(batch)
    result = stage.spread.decide(given, totals, RunContext(seed=0))
    check_stage_conservation(stage.display_name, given, result)
    return tagged(result.kept, result.rejected)


def with_key_hash(batch, stage):
    frame = pl.from_arrow(batch)
    return frame.with_columns(stage.spread.key.hash(seed=0).alias("_key_hash")).to_arrow()


def one_partition(batch, stage):
    """A hash partition through the stage, in row order (keep: first is first in the input)."""
    from curate.core.context import RunContext
    from curate.pipeline.conservation import check_stage_conservation

    given = pl.from_arrow(batch).drop("_key_hash").sort(ROW)
    result = stage.apply(given, RunContext(seed=0))
    check_stage_conservation(stage.display_name, given, result)
    return tagged(result.kept, result.rejected)


def ray_data_run(
    kind: str, stage, paths: list[Path], out: Path, block_rows: int, partitions: int, order: bool = True
) -> None:
    import ray
    import ray.data

    ds = ray.data.read_parquet([str(p) for p in paths], override_num_blocks=len(paths))  # a read task per block
    if kind == "by_rows":
        done = ds.map_batches(through, batch_format="pyarrow", batch_size=block_rows, fn_kwargs={"stage": stage})
    elif kind == "by_totals":
        parts = ds.map_batches(partial_of, batch_format="pyarrow", batch_size=block_rows, fn_kwargs={"stage": stage})
        totals = pl.concat([pl.from_arrow(t) for t in ray.get(parts.to_arrow_refs())], how="diagonal_relaxed")
        done = ds.map_batches(
            given_totals,
            batch_format="pyarrow",
            batch_size=block_rows,
            fn_kwargs={"stage": stage, "totals": totals},
        )
    else:
        keyed = ds.map_batches(with_key_hash, batch_format="pyarrow", batch_size=block_rows, fn_kwargs={"stage": stage})
        done = keyed.repartition(partitions, keys=["_key_hash"]).map_batches(
            one_partition, batch_format="pyarrow", batch_size=None, fn_kwargs={"stage": stage}
        )
        done = (done.sort(ROW) if order else done).drop_columns([ROW])
    done.write_parquet(str(out), partition_cols=[TAG])


def ray_data_rows(out: Path, outcome: str) -> pl.DataFrame | None:
    files = sorted((out / f"{TAG}={outcome}").glob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed") if files else None


def curate_run(engine, stage, frame: pl.DataFrame, out: Path):
    """The engine's streamed path for one stage; the input blocks written before the clock (`apply` deletes them)."""
    from curate.core.context import RunContext

    blocks = engine.to_blocks(frame.drop(ROW))
    with Meter() as meter:
        result = engine.apply(stage, blocks, RunContext(seed=0))
        if result.rejected.height:
            result.rejected.write_parquet(out / "rejected.parquet")
    return meter, result.kept.collect(), result.rejected


def same(mine: pl.DataFrame, theirs: pl.DataFrame | None) -> tuple[bool, list[str]]:
    """Equal rows (sorted by id, on `mine`'s columns), and the columns `theirs` has beyond them."""
    if theirs is None:
        return mine.height == 0, []
    extra = [c for c in theirs.columns if c not in mine.columns]
    if any(c not in theirs.columns for c in mine.columns):
        return False, extra
    return mine.sort("id").equals(theirs.select(mine.columns).sort("id")), extra


def in_order(kept: pl.DataFrame, frame: pl.DataFrame) -> bool:
    return kept["id"].equals(frame.filter(pl.col("id").is_in(kept["id"].implode()))["id"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--block-rows", type=int, default=250_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument(
        "--reader", choices=["v1", "v2"], default="v1", help="Ray Data's Parquet datasource (2.60's default: v2)"
    )
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    args = parser.parse_args()
    print("command: nice .venv/bin/python benchmarks/ray_data.py " + " ".join(sys.argv[1:]), flush=True)

    import ray
    import ray.data

    from curate.core.context import RunContext  # noqa: F401  (imported before the clock)
    from curate.pipeline.engines import RayEngine
    from curate.recipe.registry import build_stage
    from curate.samples.scale_tickets import generate_tickets

    no_http_filesystem()
    ray.init(
        num_cpus=args.cpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="ERROR",
        runtime_env={"worker_process_setup_hook": no_http_filesystem},
    )
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.use_datasource_v2 = args.reader == "v2"
    context.execution_options.preserve_order = True  # curate keeps rows in input order: the same job
    print(
        f"machine: {os.cpu_count()} cores; one local Ray cluster of {args.cpus} CPUs for both; ray {ray.__version__}; "
        f"{args.rows:,} generated tickets in blocks of {args.block_rows:,}; Ray Data's Parquet reader {args.reader}, "
        "order preserved",
        flush=True,
    )
    frame = generate_tickets(args.rows, seed=0).with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    with tempfile.TemporaryDirectory(prefix="ray-data-bench-") as tmp:
        folder = Path(tmp)
        inputs = {}  # Ray Data's input: the same blocks, by_key's with the row number
        for name, rows in (("plain", frame.drop(ROW)), ("numbered", frame)):
            (folder / name).mkdir()
            inputs[name] = []
            for k, start in enumerate(range(0, rows.height, args.block_rows)):
                path = folder / name / f"{k:04d}.parquet"
                rows.slice(start, args.block_rows).write_parquet(path, compression="lz4", statistics=False)
                inputs[name].append(path)
        partitions = len(inputs["plain"])
        engine = RayEngine(block_rows=args.block_rows, blocks_dir=folder / "spill")
        warm = frame.head(min(args.rows, 20_000))
        for kind in args.kinds:
            stage = build_stage(*KINDS[kind])
            print(f"\n### {kind}: {stage.display_name} ({KINDS[kind][1] or 'defaults'})", flush=True)
            # Warm-up, not timed: imports and worker start for both contenders on a small input.
            warm_paths = []
            for name in ("plain", "numbered"):
                path = folder / f"warm-{name}.parquet"
                (warm.drop(ROW) if name == "plain" else warm).write_parquet(path)
                warm_paths.append(path)
            curate_run(engine, stage, warm, folder)
            ray_data_run(kind, stage, [warm_paths[kind == "by_key"]], folder / "warm-out", args.block_rows, partitions)
            shutil.rmtree(folder / "warm-out")
            print(
                "| contender | run | wall s | CPU s, all processes | CPU s, driver | peak GB, all processes "
                "| kept | rejected | equal | kept in input order |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            reference = None
            for run in range(1, args.repeats + 1):
                contenders = ["curate", "ray data"] + (["ray data, no sort"] if kind == "by_key" else [])
                for contender in contenders:
                    out = folder / "out"
                    out.mkdir()
                    if contender == "curate":
                        meter, kept, rejected = curate_run(engine, stage, frame, out)
                        reference = (kept, rejected)
                        equal, order = "reference", in_order(kept, frame)
                    else:
                        paths = inputs["numbered" if kind == "by_key" else "plain"]
                        with Meter() as meter:
                            ray_data_run(
                                kind, stage, paths, out, args.block_rows, partitions, order=contender == "ray data"
                            )
                        kept, rejected = ray_data_rows(out, "kept"), ray_data_rows(out, "rejected")
                        kept_equal, extra_kept = same(reference[0], kept)
                        rejected_equal, extra_rejected = same(reference[1], rejected)
                        equal = "yes" if kept_equal and rejected_equal else "NO"
                        if extra_kept:
                            equal += f" (kept files also carry {len(extra_kept)} null columns)"
                        order = kept is not None and in_order(kept, frame)
                        kept = kept if kept is not None else pl.DataFrame()
                        rejected = rejected if rejected is not None else pl.DataFrame()
                    print(
                        f"| {contender} | {run} | {meter.wall:.1f} | {meter.cpu:.1f} | {meter.driver:.1f} "
                        f"| {meter.peak / 1e9:.2f} | {kept.height:,} | {rejected.height:,} | {equal} "
                        f"| {'yes' if order else 'no'} |",
                        flush=True,
                    )
                    shutil.rmtree(out)
        engine.close()


if __name__ == "__main__":
    main()
