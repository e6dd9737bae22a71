"""Memory of split's `resolve` (`assign`) on the driver, step by step, on N synthetic rows (27 labels, 96% of rows in
near-duplicate groups of 5, so 2 pairs a row): the peak of a streamed run at 10M rows (benchmarks/RESULTS.md).

    .venv/bin/python benchmarks/split_finish_memory.py 10000000

Prints each step's seconds and resident memory before, at its peak (sampled every 20 ms) and after.
"""

import resource
import sys
import threading
import time

import numpy as np
import polars as pl
import psutil

n = int(sys.argv[1])
per_group = 5
proc = psutil.Process()
peak = [0]
run = [True]


def sampler():
    while run[0]:
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.02)


threading.Thread(target=sampler, daemon=True).start()


def step(name, fn):
    base = proc.memory_info().rss
    peak[0] = base
    t = time.perf_counter()
    out = fn()
    print(
        f"{name:28s} {time.perf_counter() - t:6.1f} s  before {base / 1e9:.2f} GB  peak {peak[0] / 1e9:.2f} GB  after {proc.memory_info().rss / 1e9:.2f}",
        flush=True,
    )
    return out


from curate.core.spread import ROW, packed
from curate.stages.balance.split import Split
from curate.pipeline.streaming import checked, by_block

rng = np.random.default_rng(0)
labels = [f"intent_{k:02d}_something" for k in range(27)]
rows = step(
    "rows",
    lambda: pl.DataFrame(
        {
            ROW: np.arange(n, dtype=np.int64),
            "id": [f"t{k:09d}" for k in range(n)],
            "label": pl.Series(rng.choice(labels, n)),
        }
    ),
)


def make_pairs():
    grouped = int(n * 0.96) // per_group * per_group
    g = np.arange(grouped).reshape(-1, per_group)
    i, j = np.triu_indices(per_group, 1)
    return pl.DataFrame({"i": g[:, i].ravel(), "j": g[:, j].ravel()})


pairs = step("pairs", make_pairs)
print("pairs", pairs.height, flush=True)
stage = Split(seed=7)
codes = step("packed", lambda: packed(np.stack([pairs["i"], pairs["j"]], axis=1), n))
comp = step("groups", lambda: stage.spread.groups(None, codes, n)[0])  # distinct pairs, connected components
codes = None  # freed before the next step, as in `link_rows`
result = step("assign", lambda: stage.assign(rows, comp))
comp = None
piece = step("checked", lambda: checked(stage, rows, result, None))


class B:  # blocks of 1M rows: only starts matter
    starts = np.arange(0, n, 1_000_000)

    def block_of(self, r):
        return np.searchsorted(self.starts, r, side="right") - 1

    def __len__(self):
        return len(self.starts)


b = B()
adds = step("by_block", lambda: by_block(result.kept.select(ROW, "split", "split_group"), b))
print(
    f"command: .venv/bin/python benchmarks/split_finish_memory.py {n}; {pairs.height:,} pairs; process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB"
)
