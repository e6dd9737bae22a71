"""MinHash dedup throughput: curate's batched signatures vs datasketch's batch API and rensa.

Same data, same parameters (128 permutations, character 3-gram shingles of the normalised text,
LSH at Jaccard 0.8) for every contender. Prints documents per second and ratios. curate's stage is
also timed at its default (LSH candidates at Jaccard 0.5, verified by edit similarity >= 0.9), which
does more work per document than any contender: more bands, more candidates, a Levenshtein per candidate.

    .venv/bin/python benchmarks/dedup_throughput.py [--sizes 10000 100000 1000000] [--baseline-limit 100000]

datasketch runs as its strongest form on the CPU: `MinHash.generator` (`MinHash.bulk` without holding every
MinHash; `update_batch` per document with one set of permutations) with xxhash's 32-bit digest as its hashfunc
where xxhash is installed (its docs advise a fast hash over the SHA1 default), and `MinHashLSH.insertion_session`.
rensa runs its classic MinHash digest matrix and, beside it, its faster Rho sketch (a different estimator).
Above `--baseline-limit` datasketch is timed on the first `--baseline-limit` documents only (its rate is per
document and flat in size).
"""

from __future__ import annotations

import argparse
import resource
import time

import polars as pl
from common import synthetic_tickets

from curate.stages.dedup.minhash import MinHashDedup, MinHasher, normalize_for_shingles

NUM_PERM, NGRAM, THRESHOLD = 128, 3, 0.8


def shingle_sets(texts: list[str]):
    """Character 3-gram lists, one document at a time (a generator keeps a million documents' sets out of memory)."""
    return ([t[i : i + NGRAM] for i in range(max(len(t) - NGRAM + 1, 1))] for t in texts)


def _datasketch_hashfunc():
    """The fastest hash datasketch can take that this environment has: datasketch's docs advise a fast non-cryptographic
    hash (farmhash in its example) over its SHA1 default; xxhash's 32-bit digest is one, in C."""
    try:
        import xxhash
    except ImportError:
        return None, "sha1"
    return xxhash.xxh32_intdigest, "xxh32"


def datasketch_bulk(texts: list[str]) -> float:
    """datasketch's strongest CPU path: `MinHash.generator` (the streaming form of `MinHash.bulk`: one set of
    permutations reused, `update_batch` per document, numpy over all of a document's shingles at once) with a fast
    hashfunc, and `MinHashLSH.insertion_session` (buffered inserts)."""
    from datasketch import MinHash, MinHashLSH

    hashfunc, _ = _datasketch_hashfunc()
    kwargs = {"num_perm": NUM_PERM} if hashfunc is None else {"num_perm": NUM_PERM, "hashfunc": hashfunc}
    started = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    encoded = ([s.encode("utf-8") for s in shingles] for shingles in shingle_sets(texts))
    with lsh.insertion_session() as session:
        for i, m in enumerate(MinHash.generator(encoded, **kwargs)):
            session.insert(str(i), m)
    return time.perf_counter() - started


def rensa_batch(texts: list[str], rho: bool = False) -> float | None:
    """rensa's batch path: one digest matrix for all documents, then its LSH on the matrix. `rho`: its faster Rho
    multi-probe sketch (each shingle hashed into one or more buckets, empty ones densified), not classic MinHash."""
    try:
        from rensa import RMinHash, RMinHashLSH
    except ImportError:
        return None
    digest = RMinHash.digest_matrix_from_token_sets_rho if rho else RMinHash.digest_matrix_from_token_sets
    started = time.perf_counter()
    matrix = digest(shingle_sets(texts), NUM_PERM, 42)
    lsh = RMinHashLSH(THRESHOLD, NUM_PERM, 16)  # rensa needs bands dividing num_perm; 16 x 8 is closest
    lsh.insert_matrix(matrix, 0)
    return time.perf_counter() - started


def curate_stage(frame: pl.DataFrame) -> tuple[float, float, int, float, int]:
    """Seconds for curate's signatures alone, for the stage as the contenders run it (Jaccard 0.8) and
    rows it rejects, and the same for the stage's default (LSH at 0.5, verified by edit similarity)."""
    started = time.perf_counter()
    MinHasher(NUM_PERM, NGRAM).signatures(frame["text"])
    signatures_only = time.perf_counter() - started
    started = time.perf_counter()
    jaccard = MinHashDedup(similarity="jaccard", threshold=THRESHOLD, ngram=NGRAM, same_numbers=False).apply(frame)
    jaccard_seconds = time.perf_counter() - started
    started = time.perf_counter()
    edit = MinHashDedup(ngram=NGRAM, same_numbers=False).apply(frame)
    return (
        signatures_only,
        jaccard_seconds,
        jaccard.rejected.height,
        time.perf_counter() - started,
        edit.rejected.height,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--baseline-limit", type=int, default=100_000)
    parser.add_argument("--stage-only", action="store_true", help="time curate alone (for its peak memory)")
    args = parser.parse_args()
    MinHasher(NUM_PERM, NGRAM).signatures(pl.Series(["warm up the compiled kernel"]))
    print(
        "datasketch bulk: MinHash.generator (update_batch per document) + MinHashLSH.insertion_session, "
        f"hashfunc {_datasketch_hashfunc()[1]}"
    )
    print(f"{'docs':>9} {'contender':<34} {'seconds':>8} {'docs/s':>10} {'x datasketch':>12}")
    for n in args.sizes:
        frame = synthetic_tickets(n)
        texts = normalize_for_shingles(frame["text"]).to_list() if not args.stage_only else []
        base_n = min(n, args.baseline_limit)
        base_rate = base_n / datasketch_bulk(texts[:base_n]) if not args.stage_only else float("nan")
        note = "" if base_n == n else f" (first {base_n:,})"
        if not args.stage_only:
            print(f"{n:>9,} {'datasketch bulk' + note:<34} {base_n / base_rate:>8.1f} {base_rate:>10,.0f} {1.0:>12.1f}")
        for label, rho in (("rensa digest matrix + LSH", False), ("rensa Rho matrix + LSH", True)):
            seconds = rensa_batch(texts, rho) if not args.stage_only else None
            if seconds is not None:
                print(f"{n:>9,} {label:<34} {seconds:>8.1f} {n / seconds:>10,.0f} {n / seconds / base_rate:>12.1f}")
        signatures_only, stage_seconds, rejected, edit_seconds, edit_rejected = curate_stage(frame)
        print(
            f"{n:>9,} {'curate signatures':<34} {signatures_only:>8.1f} {n / signatures_only:>10,.0f} {n / signatures_only / base_rate:>12.1f}"
        )
        print(
            f"{n:>9,} {'curate stage, jaccard 0.8':<34} {stage_seconds:>8.1f} {n / stage_seconds:>10,.0f} {n / stage_seconds / base_rate:>12.1f}"
            f"   rejected {rejected:,}"
        )
        print(
            f"{n:>9,} {'curate stage, default (edit 0.9)':<34} {edit_seconds:>8.1f} {n / edit_seconds:>10,.0f} {n / edit_seconds / base_rate:>12.1f}"
            f"   rejected {edit_rejected:,}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
