"""The label check's speed on real sets: today's `LabelCheck.find_issues` against the one it replaced, in one process.

    .venv/bin/python benchmarks/label_check_speed.py [--sets clinc150 cfpb] [--rounds 2] [--cold]

Sets as `lift.py` loads them (seed 0): CLINC150's imbalanced train + oos_train (10,625 queries, 151 intents) and the
CFPB narratives' 70% train split (710 complaints, 4 products). Each round runs the old check then the new one
(old, new, old, new: the machine is shared, so only the ratio within one run is a figure) on a warm embedding cache
(every text encoded once before the first round) and prints the time of each step (embed, out-of-fold logistic
regression, cleanlab, out-of-fold n-gram SVM), rows per second and the ratio; embed is the read of the cached vectors
(the old read scanned every shard's vectors). Every round's decisions are compared
with the first old round's: `label_issue`, `label_issue_confirmed` and `label_suggested` on every row, with the ids of
any row that differs. `--cold` also times one encode of each set on an empty cache (the same encode in both versions).

The baseline is a copy of the check as of commit e1642ee (`old_*` below), kept here so the comparison stays
reproducible after the stage changes again.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
from lift import load_set

from curate.core.columns import LABEL, LABEL_CONFIRMED, LABEL_ISSUE, LABEL_QUALITY, LABEL_SUGGESTED, TEXT
from curate.core.embed import Embedder
from curate.stages.quality import labels
from curate.stages.quality.labels import CATCH_ALL, LabelCheck


# ---------------------------------------------------------------- the check as of e1642ee (the baseline)
def old_out_of_fold_probabilities(vectors: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(max_iter=2000, C=4.0)
    return cross_val_predict(
        model, vectors, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba"
    )


def old_out_of_fold_ngram_predictions(texts: list[str], labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True),
    )
    model = make_pipeline(features, LinearSVC(C=0.5))
    return cross_val_predict(model, texts, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed))


class OldCacheEmbedder(Embedder):
    """The embedding cache as read at e1642ee: every shard's vectors scanned, then joined to the wanted keys."""

    def _read_cache(self, keys: list[str]) -> dict[str, np.ndarray]:
        folder = self._cache_folder()
        shards = sorted(folder.glob("*.parquet")) if folder.exists() else []
        if not shards:
            return {}
        wanted = pl.DataFrame({"key": list(set(keys))})
        found = pl.scan_parquet(shards).join(wanted.lazy(), on="key", how="semi").unique("key").collect()
        return dict(zip(found["key"].to_list(), found["vector"].to_numpy()))


def old_find_issues(check: LabelCheck, rows: pl.DataFrame, seed: int, embedder: Embedder, steps: Steps) -> pl.DataFrame:
    """`LabelCheck.find_issues` as of e1642ee, each step timed into `steps`."""
    embedder = OldCacheEmbedder(embedder.model, cache_dir=embedder.cache_dir)
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    counts = rows.group_by(LABEL).len()
    enough = counts.filter(pl.col("len") >= max(check.folds, check.min_rows_to_judge))[LABEL]
    judged = rows[LABEL].is_in(enough.implode()) & rows[LABEL].is_not_null()
    index = judged.arg_true().to_numpy()
    classes = sorted(rows[LABEL].filter(judged).unique().to_list())
    vectors = steps.timed("embed", embedder.encode, rows[TEXT].gather(index))
    labels_ = np.searchsorted(classes, rows[LABEL].gather(index).to_numpy())
    probabilities = steps.timed("oof_lr", old_out_of_fold_probabilities, vectors, labels_, check.folds, seed)
    issues = steps.timed("cleanlab", find_label_issues, labels_, probabilities, n_jobs=1)
    quality = steps.timed("cleanlab", get_label_quality_scores, labels_, probabilities)
    best = probabilities.argmax(axis=1)
    catch_all = np.array(
        [c in check.catch_all if check.catch_all is not None else bool(CATCH_ALL.match(c)) for c in classes]
    )
    candidate = (quality < check.confirm_below) & (best != labels_) & ~catch_all[best] & ~catch_all[labels_]
    second = np.full(len(index), -1)
    if candidate.any():
        texts = rows[TEXT].gather(index).fill_null("").to_list()
        second = steps.timed("oof_svm", old_out_of_fold_ngram_predictions, texts, labels_, check.folds, seed)
    suspects = issues | candidate
    pairs = {(int(g), int(b)) for g, b in zip(labels_[suspects], best[suspects])}
    one_way = np.array([(int(b), int(g)) not in pairs for g, b in zip(labels_, best)])
    confirmed_here = candidate & (second == best) & one_way
    issues = issues | confirmed_here
    issue, confirmed, suggested, score = (
        np.zeros(rows.height, bool),
        np.zeros(rows.height, bool),
        [None] * rows.height,
        np.full(rows.height, np.nan),
    )
    issue[index] = issues
    confirmed[index] = confirmed_here
    score[index] = quality
    for position, b in zip(index, best):
        suggested[position] = classes[b]
    return pl.DataFrame(
        {
            LABEL_ISSUE: issue,
            LABEL_CONFIRMED: confirmed,
            LABEL_SUGGESTED: pl.Series(suggested, dtype=pl.String),
            LABEL_QUALITY: pl.Series(score).fill_nan(None).round(4),
        }
    )


# ---------------------------------------------------------------- timing
class Steps:
    """Wall and CPU seconds (every thread of this process) per step of one run of the check."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    def timed(self, step: str, function, *args, **kwargs):
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            self.seconds[step] += time.perf_counter() - started
            self.cpu[step] += time.process_time() - cpu_started


def new_find_issues(check: LabelCheck, rows: pl.DataFrame, seed: int, embedder: Embedder, steps: Steps) -> pl.DataFrame:
    """Today's `LabelCheck.find_issues`, its steps timed by wrapping the module's functions for the call."""
    import cleanlab.filter
    import cleanlab.rank

    patched = [
        (labels, "out_of_fold_probabilities", "oof_lr"),
        (labels, "out_of_fold_ngram_predictions", "oof_svm"),
        (cleanlab.filter, "find_label_issues", "cleanlab"),
        (cleanlab.rank, "get_label_quality_scores", "cleanlab"),
    ]
    originals = [getattr(module, name) for module, name, _ in patched]
    for (module, name, step), original in zip(patched, originals):
        setattr(module, name, lambda *a, _f=original, _s=step, **k: steps.timed(_s, _f, *a, **k))
    timed_embedder = Embedder(embedder.model)
    timed_embedder.encode = lambda texts: steps.timed("embed", embedder.encode, texts)
    try:
        return check.find_issues(rows, seed, timed_embedder)
    finally:
        for (module, name, _), original in zip(patched, originals):
            setattr(module, name, original)


VERSIONS = {"old": old_find_issues, "new": new_find_issues}
STEPS = ["embed", "oof_lr", "cleanlab", "oof_svm"]
DECIDED = [LABEL_ISSUE, LABEL_CONFIRMED, LABEL_SUGGESTED]


def differences(rows: pl.DataFrame, reference: pl.DataFrame, result: pl.DataFrame) -> tuple[list[str], float]:
    """(ids of rows whose decisions differ, the largest change of label quality)."""
    differ = np.zeros(rows.height, bool)
    for column in DECIDED:
        differ |= ~(reference[column].eq_missing(result[column])).to_numpy()
    quality = (reference[LABEL_QUALITY] - result[LABEL_QUALITY]).abs().max()
    return rows["id"].filter(pl.Series(differ)).to_list(), float(quality or 0.0)


def run_set(name: str, rounds: int, cold: bool) -> None:
    rows = load_set(name, 0)[0].filter(pl.col(TEXT).is_not_null() & (pl.col(TEXT).str.strip_chars() != ""))
    check = LabelCheck(mislabelled="drop")
    embedder = Embedder()
    print(f"\n== {name}: {rows.height:,} rows, {rows[LABEL].n_unique()} labels")
    if cold:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            Embedder(cache_dir=Path(folder)).encode(rows[TEXT])
            print(f"cold-cache encode of every text: {time.perf_counter() - started:.1f} s (the same in both versions)")
    embedder.encode(rows[TEXT])  # warm the cache: every timed run below reads its vectors from disk
    import cleanlab.filter  # noqa: F401  imported before the first round, which would otherwise pay for it
    import cleanlab.rank  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.svm  # noqa: F401

    reference = None
    timings: dict[str, list[Steps]] = {"old": [], "new": []}
    totals: dict[str, list[float]] = {"old": [], "new": []}
    cpus: dict[str, list[float]] = {"old": [], "new": []}  # CPU seconds of every thread of this process
    for round_ in range(rounds):
        for version, find_issues in VERSIONS.items():
            np.random.seed(round_)  # LinearSVC's liblinear seed comes from numpy's global state in both versions
            steps = Steps()
            started, cpu_started = time.perf_counter(), time.process_time()
            result = find_issues(check, rows, 0, embedder, steps)
            total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            cpus[version].append(cpu)
            timings[version].append(steps)
            totals[version].append(total)
            reference = result if reference is None else reference
            ids, quality = differences(rows, reference, result)
            print(
                f"round {round_ + 1} {version}: {total:7.1f} s (CPU {cpu:6.1f} s)  {rows.height / total:7.1f} rows/s  "
                + "  ".join(f"{s} {steps.seconds.get(s, 0.0):6.1f} (CPU {steps.cpu.get(s, 0.0):5.1f})" for s in STEPS)
                + f"  | issues {int(result[LABEL_ISSUE].sum())} confirmed {int(result[LABEL_CONFIRMED].sum())}"
                + f"  | vs round 1 old: {len(ids)} rows differ{' ' + str(ids[:20]) if ids else ''},"
                + f" label quality max change {quality:.4f}"
            )
    old, new = statistics.median(totals["old"]), statistics.median(totals["new"])
    print(f"median of {rounds} rounds, warm embedding cache (seconds per step):")
    for version in VERSIONS:
        per_step = {s: statistics.median(t.seconds.get(s, 0.0) for t in timings[version]) for s in STEPS}
        per_step_cpu = {s: statistics.median(t.cpu.get(s, 0.0) for t in timings[version]) for s in STEPS}
        total = statistics.median(totals[version])
        print(
            f"  {version}: {total:7.1f} s (CPU {statistics.median(cpus[version]):6.1f} s)  {rows.height / total:8.1f} rows/s  "
            + "  ".join(f"{s} {v:6.1f} (CPU {per_step_cpu[s]:5.1f})" for s, v in per_step.items())
        )
    ratios = [o / n for o, n in zip(totals["old"], totals["new"])]
    print(f"  speed-up {old / new:.1f}x (median over medians); per round: {', '.join(f'{r:.1f}x' for r in ratios)}")
    cpu_ratio = statistics.median(cpus["old"]) / statistics.median(cpus["new"])
    print(f"  CPU seconds: {cpu_ratio:.1f}x fewer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["clinc150", "cfpb"], choices=["clinc150", "cfpb"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="also time one encode of each set on an empty cache")
    args = parser.parse_args()
    for name in args.sets:
        run_set(name, args.rounds, args.cold)


if __name__ == "__main__":
    main()
