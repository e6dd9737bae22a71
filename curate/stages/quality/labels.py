"""`labels`: missing and unknown labels, classes too small to train on, and likely wrong labels.

Likely wrong labels come from out-of-fold class probabilities of a logistic regression on sentence
embeddings. cleanlab's `find_label_issues` marks suspects; on real sets, whose labels are mostly
right, most of those rows are correct (43 of 70 read on a home-assistant set), so they are flagged
for review (`label_issue`, the suggested label, the label-quality score), never dropped on that
evidence alone. `mislabelled: drop` drops only confirmed suspects: the row's own label gets under
`confirm_below` (2%) out of fold, a second, different model (word and character n-grams, also out
of fold) suggests the same other label, neither label is a catch-all class (`oos`, `other`, ...),
and no suspect goes the other way between the two classes (suspects both ways mean two classes that
overlap, not wrong labels). Confirmation does not wait for cleanlab's per-class noise estimate, which
missed a third of the planted wrong labels on CLINC150. Read on real sets as published (seed 0):
6 of 11 drops right on CLINC150 (three right as labelled, "that is not false" labelled yes; two
arguable), 7 of 7 on SNIPS, none made on CFPB or Bitext; on CLINC150 with 5% planted wrong labels 461 of 476 drops are
planted errors, 86% of them caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import re
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from curate.core.columns import (
    ID,
    LABEL,
    LABEL_CONFIRMED,
    LABEL_FLAGS,
    LABEL_ISSUE,
    LABEL_QUALITY,
    LABEL_SUGGESTED,
    TEXT,
)
from curate.core.extras import require
from curate.core.params import Count, Folds, Share
from curate.core.stage import Check, Filter, RunContext

Action = Literal["drop", "flag"]


def out_of_fold_fits(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], splits: list) -> list[np.ndarray]:
    """`fit_predict(train, test)` for each (train, test) split, side by side on threads (one per core; the fits release
    the GIL in BLAS and liblinear), each on one BLAS thread. The one BLAS thread is the gain: on a busy two-core machine
    a threaded BLAS spun on lbfgs's products (a CLINC150 fold took 30 s of wall time and 10 s of CPU with two BLAS
    threads, 4.3 s and 1.3 s with one); the fits side by side gained nothing measurable there, where the process got
    about half a core (benchmarks/label_check_speed.py)."""
    from joblib import Parallel, cpu_count, delayed
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return Parallel(n_jobs=max(1, min(len(splits), cpu_count())), prefer="threads")(
            delayed(fit_predict)(train, test) for train, test in splits
        )


def out_of_fold_probabilities(vectors: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Class probabilities for every row from a model that never saw it (k-fold, stratified): what scikit-learn's
    `cross_val_predict` gives, with the folds fitted side by side."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(vectors, labels))
    classes = np.unique(labels)

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        model = LogisticRegression(max_iter=2000, C=4.0).fit(vectors[train], labels[train])
        # a class missing from a fold's training rows gets probability 0, as in cross_val_predict
        predicted = model.predict_proba(vectors[test])
        probabilities = np.zeros((len(test), len(classes)), dtype=predicted.dtype)
        probabilities[:, np.searchsorted(classes, model.classes_)] = predicted
        return probabilities

    parts = out_of_fold_fits(fit_predict, splits)
    probabilities = np.zeros((len(labels), len(classes)), dtype=parts[0].dtype)  # float32 from float32 vectors
    for (_, test), part in zip(splits, parts):
        probabilities[test] = part
    return probabilities


def out_of_fold_ngram_predictions(
    texts: list[str], labels: np.ndarray, folds: int, seed: int, needed: np.ndarray | None = None
) -> np.ndarray:
    """The label a model of a different kind (word and character n-grams, linear) predicts for every row, out of fold:
    the second opinion that confirms a suspicion from the embedding model. With `needed` (a mask), only those rows are
    predicted (the others get -1) and a fold that holds none of them is not fitted.

    Texts are cut into n-grams once, not once per fold: each fold keeps the n-grams of its training rows (word n-grams
    in at least one, character n-grams in at least two) weighted by the training rows' document frequencies, which are
    the features a TfidfVectorizer fitted on the fold's training rows gives (the fold's vocabulary, its idf; the same
    values to the last bit or two of rounding)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    needed = np.ones(len(labels), bool) if needed is None else needed
    splits = [
        (train, test[needed[test]])
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, labels)
        if needed[test].any()
    ]
    if not splits:
        return np.full(len(labels), -1)
    # (counts of every text's n-grams, the fewest training rows an n-gram must be in to be a feature)
    counts = [
        (CountVectorizer(ngram_range=(1, 2), dtype=np.float64).fit_transform(texts).tocsr(), 1),
        (CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), dtype=np.float64).fit_transform(texts).tocsr(), 2),
    ]

    def features(train: np.ndarray, test: np.ndarray) -> tuple[csr_matrix, csr_matrix]:
        train_parts, test_parts = [], []
        for counted, min_df in counts:
            kept = np.flatnonzero(np.bincount(counted[train].indices, minlength=counted.shape[1]) >= min_df)
            train_counts, test_counts = (
                counted[train][:, kept].sorted_indices(),
                counted[test][:, kept].sorted_indices(),
            )
            weights = TfidfTransformer(sublinear_tf=True).fit(train_counts)
            train_parts.append(weights.transform(train_counts))
            test_parts.append(weights.transform(test_counts))
        return hstack(train_parts).tocsr(), hstack(test_parts).tocsr()

    def fit_predict(train: np.ndarray, test: np.ndarray) -> np.ndarray:
        train_features, test_features = features(train, test)
        # A linear SVM (liblinear): 20 s over CLINC150's 10,625 queries where a logistic regression on the same
        # features took 190 s. Seeded: liblinear otherwise draws from numpy's global state, and a rerun could confirm
        # another row
        return LinearSVC(C=0.5, random_state=seed).fit(train_features, labels[train]).predict(test_features)

    predictions = np.full(len(labels), -1)
    for (_, test), part in zip(splits, out_of_fold_fits(fit_predict, splits)):
        predictions[test] = part
    return predictions


# Classes that hold whatever fits nowhere else: a model sends any unusual phrasing there, so a suggestion of one of
# these is never evidence enough to drop a row.
CATCH_ALL = re.compile(
    r"(?i)^(oos|out[ _-]?of[ _-]?scope|other|others|misc|miscellaneous|none|unknown|general|no[ _-]?intent)$"
)


@dataclass
class LabelCheck(Filter):
    allowed: list[str] | None = None
    missing: Action = "drop"
    unknown: Action = "drop"
    min_class_size: Count = 10
    small_classes: Action = "flag"
    mislabelled: Literal["drop", "flag", "off"] = (
        "drop"  # drop: only confirmed suspicions (see the docstring); the rest flagged
    )
    catch_all: list[str] | None = None  # classes that take what fits nowhere else (default: names such as oos, other)
    confirm_below: Share = 0.02  # a confirmed suspect's own label gets under this probability out of fold
    folds: Folds = 5
    min_rows_to_judge: Count = 10  # smaller classes are not judged: a classifier cannot know them well enough
    model: str | None = None
    seed: int | None = None  # None: the recipe's seed

    name: ClassVar[str] = "labels"
    flag_column: ClassVar[str] = LABEL_FLAGS
    produces: ClassVar[tuple[str, ...]] = (LABEL_FLAGS, LABEL_ISSUE, LABEL_CONFIRMED, LABEL_SUGGESTED, LABEL_QUALITY)

    def rule_checks(self) -> list[Check]:
        label = pl.col(LABEL)
        size = pl.len().over(LABEL)
        return [
            Check("missing_label", label.is_null() | (label.str.strip_chars() == ""), pl.lit("no label"), self.missing),
            Check(
                "unknown_label",
                (~label.is_in(self.allowed)) if self.allowed else pl.lit(False),
                pl.format("label '{}' is not in the allowed set", label),
                self.unknown,
            ),
            Check(
                "small_class",
                size < self.min_class_size,
                pl.format("class '{}' has {} rows (minimum {})", label, size, pl.lit(self.min_class_size)),
                self.small_classes,
            ),
        ]

    def checks(self) -> list[Check]:
        if self.mislabelled == "off":
            return self.rule_checks()
        why = pl.format(
            "labelled '{}', the model says '{}' (label quality {})",
            pl.col(LABEL),
            pl.col(LABEL_SUGGESTED),
            pl.col(LABEL_QUALITY),
        )
        confirmed = pl.col(LABEL_ISSUE) & pl.col(LABEL_CONFIRMED)
        return self.rule_checks() + [
            Check(
                "likely_mislabelled",
                confirmed,
                pl.concat_str([why, pl.lit("; a second model agrees")]),
                self.mislabelled,
            ),
            Check("possibly_mislabelled", pl.col(LABEL_ISSUE) & ~pl.col(LABEL_CONFIRMED), why, "flag"),
        ]

    def score(self, rows: pl.DataFrame, ctx: RunContext) -> pl.DataFrame:
        """Confident learning on the rows the rule checks keep (others get no label-issue score)."""
        if self.mislabelled == "off":
            return rows
        dropped = pl.any_horizontal(
            [c.fails.fill_null(False) for c in self.rule_checks() if c.action == "drop"] or [pl.lit(False)]
        )
        candidates = rows.with_row_index("_row").filter(~dropped)
        issues = self.find_issues(
            candidates,
            ctx.seed_for(self.seed),
            ctx.embedder(self.model, on_progress=ctx.reporter(self.name, "texts encoded")),
        )
        scored = pl.concat([candidates.select("_row"), issues], how="horizontal")
        return (
            rows.with_row_index("_row")
            .join(scored, on="_row", how="left", maintain_order="left")
            .drop("_row")
            .with_columns(pl.col(LABEL_ISSUE).fill_null(False), pl.col(LABEL_CONFIRMED).fill_null(False))
        )

    def find_issues(self, rows: pl.DataFrame, seed: int, embedder=None) -> pl.DataFrame:
        """Columns label_issue / label_suggested / label_quality for rows the classifier can judge."""
        require(
            "the label check's search for wrong labels (`mislabelled: off` needs no model)",
            "cleanlab",
            "torch",
            "transformers",
            "sentence_transformers",
        )
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        empty = pl.DataFrame(
            {
                LABEL_ISSUE: [False] * rows.height,
                LABEL_CONFIRMED: [False] * rows.height,
                LABEL_SUGGESTED: pl.Series([None] * rows.height, dtype=pl.String),
                LABEL_QUALITY: pl.Series([None] * rows.height, dtype=pl.Float64),
            }
        )
        counts = rows.group_by(LABEL).len()
        enough = counts.filter(pl.col("len") >= max(self.folds, self.min_rows_to_judge))[LABEL]
        judged = rows[LABEL].is_in(enough.implode()) & rows[LABEL].is_not_null()
        index = judged.arg_true().to_numpy()
        classes = sorted(rows[LABEL].filter(judged).unique().to_list())
        if len(classes) < 2:
            return empty
        vectors = (embedder or RunContext().embedder(self.model)).encode(rows[TEXT].gather(index))
        labels = np.searchsorted(classes, rows[LABEL].gather(index).to_numpy())
        probabilities = out_of_fold_probabilities(vectors, labels, self.folds, seed)
        # n_jobs=1: cleanlab's default forks a multiprocessing pool, and a fork of a process that has threads (torch,
        # Ray's driver) can deadlock in the child: the label check then hung the Ray engine's test run.
        issues = find_label_issues(labels, probabilities, n_jobs=1)
        quality = get_label_quality_scores(labels, probabilities)  # self-confidence: the row's own label's probability
        best = probabilities.argmax(axis=1)
        catch_all = np.array(
            [c in self.catch_all if self.catch_all is not None else bool(CATCH_ALL.match(c)) for c in classes]
        )
        # A confirmation candidate need not be one of cleanlab's issues: its per-class noise estimate picks too few rows
        # where classes are small (65% of planted wrong labels on CLINC150), while a row whose own label gets under
        # `confirm_below` out of fold is wrong in 92% of cases there, and the second model lifts that to 97%.
        candidate = (quality < self.confirm_below) & (best != labels) & ~catch_all[best] & ~catch_all[labels]
        # Confirmed: a second model of another kind suggests the same label, the embedding model gives the row's own label
        # under `confirm_below`, neither label is a catch-all class (its rows are odd phrasings by design: "what time does
        # the louvre open" is out of scope in CLINC150, not `time`), and no suspect goes the other way between the two
        # classes (suspects in both directions mean the classes overlap, "find The Flying Ace" in SNIPS: not an error).
        suspects = issues | candidate
        pairs = {(int(g), int(b)) for g, b in zip(labels[suspects], best[suspects])}
        one_way = np.array([(int(b), int(g)) not in pairs for g, b in zip(labels, best)])
        to_confirm = candidate & one_way
        second = np.full(len(index), -1)
        if to_confirm.any():  # the second opinion is asked only for the rows it can confirm
            second = out_of_fold_ngram_predictions(
                rows[TEXT].gather(index).fill_null("").to_list(), labels, self.folds, seed, needed=to_confirm
            )
        confirmed_here = to_confirm & (second == best)
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

    def summarize(self, kept: pl.DataFrame, ctx: RunContext) -> dict:
        if self.mislabelled == "off" or LABEL_ISSUE not in kept.columns:
            return {}
        flagged = kept.filter(
            pl.col(LABEL_ISSUE)
        )  # with `drop`, the confirmed ones are counted by reason like every rejection
        examples = flagged.sort(LABEL_QUALITY).head(5)
        return {
            "likely_mislabelled": flagged.height,
            "findings": [
                f"{flagged.height} rows look mislabelled (confident learning, {self.folds}-fold); flagged with label_issue. Least trustworthy:"
            ]
            + [
                f"`{r[ID]}` “{r[TEXT][:80]}” is labelled '{r[LABEL]}'; the model says '{r[LABEL_SUGGESTED]}' (label quality {r[LABEL_QUALITY]})"
                for r in examples.iter_rows(named=True)
            ],
        }
