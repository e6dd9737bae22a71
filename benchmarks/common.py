"""Synthetic ticket corpora of any size for the benchmarks, built from the bundled sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "please urgent again today order refund account invoice delivery parcel password card "
    "address help thanks asap still waiting week email phone"
).split()


def synthetic_tickets(n: int, seed: int = 0) -> pl.DataFrame:
    """`n` tickets: sample bodies with random extra words and numbers, about 10% resent with a typo."""
    rng = np.random.default_rng(seed)
    bodies = pl.read_csv(ROOT / "data/sample/tickets.csv")["body"].drop_nulls().to_list()
    base = rng.integers(0, len(bodies), n)
    extra = rng.integers(0, len(WORDS), (n, 4))
    numbers = rng.integers(1000, 10_000_000, n)
    texts = [f"{bodies[b]} {' '.join(WORDS[w] for w in ws)} ref {num}" for b, ws, num in zip(base, extra, numbers)]
    resend = rng.random(n) < 0.1
    source = rng.integers(0, n, n)
    for i in np.flatnonzero(resend):
        t = texts[source[i]]
        cut = rng.integers(0, max(len(t) - 1, 1))
        texts[i] = t[:cut] + t[cut + 1 :]
    return pl.DataFrame({"id": [f"s{i}" for i in range(n)], "text": texts, "label": ["x"] * n})
