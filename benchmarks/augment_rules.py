"""What would each model-free round-trip check drop on the rows people read? Counts, per check, the read rows of
`benchmarks/results/augment_read/` it fails (by the reader's verdict) and names every `same` row it would drop.

    PYTHONPATH=. python benchmarks/augment_rules.py                  # readings 1-4, where the checks were chosen
    PYTHONPATH=. python benchmarks/augment_rules.py --suffix=-fifth  # one reading (`<set><suffix>.csv`) only
    PYTHONPATH=. python benchmarks/augment_rules.py --upto=-fifth    # readings 1-5

`hour_lost` is the protected span `protect.HOUR` as `lost_key_terms` reports it (`span:at 7`): in the stage the hour
is masked before translation, so a candidate cannot lose it; on rows read before it existed, losing it is what the
span would have stopped. "not already" counts the rows the checks before this one (key terms, `article_added`,
`sentence_type_changed`) let through, i.e. what the check adds; "only" counts the rows no other check here (nor those)
drops.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
READ = ROOT / "benchmarks" / "results" / "augment_read"
SETS = ("clinc150-full", "snips", "bitext")
READINGS = ("", "-second", "-third", "-fourth", "-fifth", "-sixth")
EARLIER = READINGS[:4]


def read_rows(suffixes: tuple[str, ...]) -> pl.DataFrame:
    frames = [
        pl.read_csv(path, infer_schema=False).select(
            pl.lit(path.stem).alias("file"), pl.col("n").cast(pl.Int32), "source", "generated", "verdict"
        )
        for name in SETS
        for suffix in suffixes
        if (path := READ / f"{name}{suffix}.csv").exists()
    ]
    return pl.concat(frames).filter(pl.col("verdict").is_in(["same", "changed", "broken"]))


def hour_lost(source: str, candidate: str) -> list[str]:
    from curate.stages.augment.protect import HOUR

    return [t for t in re.findall(HOUR, source) if t.lower() not in candidate.lower()]


def earlier_checks(source: str, candidate: str) -> bool:
    """The model-free checks as committed before these: would they drop the candidate already?"""
    from curate.stages.augment.protect import SCORE, TIME, articles_added, lost_key_terms, sentence_type_changed

    lost = [f for f in lost_key_terms(source, candidate) if not f.startswith("span:")]  # spans as they were:
    lost += [t for t in re.findall(f"{TIME}|{SCORE}", source) if t.lower() not in candidate.lower()]  # no hour
    return bool(lost or articles_added(source, candidate) or sentence_type_changed(source, candidate))


def main() -> None:
    from curate.stages.augment.roundtrip import CHECKS

    parser = argparse.ArgumentParser()
    parser.add_argument("--suffix", help="one reading only: augment_read/<set><suffix>.csv (default: readings 1-4)")
    parser.add_argument("--upto", choices=READINGS[1:], help="readings 1 to this one (`--upto=-fifth`)")
    args = parser.parse_args()
    upto = READINGS[: READINGS.index(args.upto) + 1] if args.upto else EARLIER
    rows = read_rows((args.suffix,) if args.suffix is not None else upto)
    pairs = list(zip(rows["source"].to_list(), rows["generated"].to_list()))
    before = [earlier_checks(s, c) for s, c in pairs]
    totals = rows["verdict"].value_counts().sort("verdict").rows()
    print(f"{rows.height} read rows ({', '.join(f'{v} {n}' for v, n in totals)})")
    print(
        f"{'check':<22} {'same dropped':>12} {'changed':>8} {'broken':>7}   not already: same, changed, broken"
        "   only: same, changed, broken"
    )
    checks = (("hour_lost", hour_lost), *CHECKS)
    fails = {name: pl.Series([bool(check(s, c)) for s, c in pairs]) for name, check in checks}
    named, any_failed = [], pl.Series([False] * rows.height)
    for name, check in (*checks, ("any of them", None)):
        failed = any_failed if check is None else fails[name]
        any_failed = any_failed | failed
        others = pl.Series(before)
        for other, other_failed in fails.items():
            if other != name and check is not None:
                others = others | other_failed
        only = {v: int((failed & (rows["verdict"] == v) & ~others).sum()) for v in ("same", "changed", "broken")}
        counts = {v: int((failed & (rows["verdict"] == v)).sum()) for v in ("same", "changed", "broken")}
        new = {
            v: int((failed & (rows["verdict"] == v) & ~pl.Series(before)).sum()) for v in ("same", "changed", "broken")
        }
        print(
            f"{name:<22} {counts['same']:>12} {counts['changed']:>8} {counts['broken']:>7}   "
            f"{new['same']}, {new['changed']}, {new['broken']}   {only['same']}, {only['changed']}, {only['broken']}"
        )
        named += [(name, r) for r in rows.filter(failed).iter_rows(named=True) if check is not None]
    print()
    for verdict in ("same", "changed", "broken"):
        print(f"{verdict} rows dropped:")
        for name, r in named:
            if r["verdict"] == verdict:
                print(f"  {name:<20} {r['file']} {r['n']}: {r['source']!r} → {r['generated']!r}")


if __name__ == "__main__":
    main()
