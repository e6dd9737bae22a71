"""`labels`: missing and unknown labels, classes too small to train on, and likely wrong labels.

Likely wrong labels come from confident learning (cleanlab): out-of-fold class probabilities of a
logistic regression on sentence embeddings, then `cleanlab.filter.find_label_issues`. The
recipe chooses per check whether a row is dropped or flagged; flagged rows stay approved with
`label_issue`, the suggested label and cleanlab's label-quality score as columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from curate.core.columns import ID, LABEL, LABEL_FLAGS, LABEL_ISSUE, LABEL_QUALITY, LABEL_SUGGESTED, TEXT
from curate.core.params import Count, Folds
from curate.core.stage import Check, Filter, RunContext

Action = Literal["drop", "flag"]


def out_of_fold_probabilities(vectors: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Class probabilities for every row from a model that never saw it (k-fold, stratified)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(max_iter=2000, C=4.0)
    return cross_val_predict(model, vectors, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba")


@dataclass
class LabelCheck(Filter):
    allowed: list[str] | None = None
    missing: Action = "drop"
    unknown: Action = "drop"
    min_class_size: Count = 10
    small_classes: Action = "flag"
    mislabelled: Literal["drop", "flag", "off"] = "flag"
    folds: Folds = 5
    min_rows_to_judge: Count = 30  # smaller classes are not judged: a classifier cannot know them well enough
    model: str | None = None
    seed: int | None = None  # None: the recipe's seed

    name: ClassVar[str] = "labels"
    flag_column: ClassVar[str] = LABEL_FLAGS
    produces: ClassVar[tuple[str, ...]] = (LABEL_FLAGS, LABEL_ISSUE, LABEL_SUGGESTED, LABEL_QUALITY)

    def rule_checks(self) -> list[Check]:
        label = pl.col(LABEL)
        size = pl.len().over(LABEL)
        return [
            Check("missing_label", label.is_null() | (label.str.strip_chars() == ""), pl.lit("no label"), self.missing),
            Check("unknown_label", (~label.is_in(self.allowed)) if self.allowed else pl.lit(False),
                  pl.format("label '{}' is not in the allowed set", label), self.unknown),
            Check("small_class", size < self.min_class_size,
                  pl.format("class '{}' has {} rows (minimum {})", label, size, pl.lit(self.min_class_size)), self.small_classes),
        ]

    def checks(self) -> list[Check]:
        if self.mislabelled == "off":
            return self.rule_checks()
        return self.rule_checks() + [Check(
            "likely_mislabelled", pl.col(LABEL_ISSUE),
            pl.format("labelled '{}', the model says '{}' (label quality {})", pl.col(LABEL), pl.col(LABEL_SUGGESTED), pl.col(LABEL_QUALITY)),
            self.mislabelled)]

    def score(self, rows: pl.DataFrame, ctx: RunContext) -> pl.DataFrame:
        """Confident learning on the rows the rule checks keep (others get no label-issue score)."""
        if self.mislabelled == "off":
            return rows
        dropped = pl.any_horizontal([c.fails.fill_null(False) for c in self.rule_checks() if c.action == "drop"] or [pl.lit(False)])
        candidates = rows.with_row_index("_row").filter(~dropped)
        issues = self.find_issues(candidates, ctx.seed_for(self.seed), ctx.embedder(self.model, on_progress=ctx.reporter(self.name, "texts encoded")))
        scored = pl.concat([candidates.select("_row"), issues], how="horizontal")
        return rows.with_row_index("_row").join(scored, on="_row", how="left", maintain_order="left").drop("_row").with_columns(
            pl.col(LABEL_ISSUE).fill_null(False))

    def find_issues(self, rows: pl.DataFrame, seed: int, embedder=None) -> pl.DataFrame:
        """Columns label_issue / label_suggested / label_quality for rows the classifier can judge."""
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        empty = rows.select(pl.lit(False).alias(LABEL_ISSUE), pl.lit(None, pl.String).alias(LABEL_SUGGESTED),
                            pl.lit(None, pl.Float64).alias(LABEL_QUALITY))
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
        quality = get_label_quality_scores(labels, probabilities)
        issue, suggested, score = np.zeros(rows.height, bool), [None] * rows.height, np.full(rows.height, np.nan)
        issue[index] = issues
        score[index] = quality
        for position, best in zip(index, probabilities.argmax(axis=1)):
            suggested[position] = classes[best]
        return pl.DataFrame({LABEL_ISSUE: issue, LABEL_SUGGESTED: pl.Series(suggested, dtype=pl.String),
                             LABEL_QUALITY: pl.Series(score).fill_nan(None).round(4)})

    def summarize(self, kept: pl.DataFrame, ctx: RunContext) -> dict:
        if self.mislabelled != "flag":
            return {}  # dropped rows are counted by reason, like every rejection
        flagged = kept.filter(pl.col(LABEL_ISSUE))
        examples = flagged.sort(LABEL_QUALITY).head(5)
        return {"likely_mislabelled": flagged.height, "findings": [
            f"{flagged.height} rows look mislabelled (confident learning, {self.folds}-fold); flagged with label_issue. Least trustworthy:"] + [
            f"`{r[ID]}` “{r[TEXT][:80]}” is labelled '{r[LABEL]}'; the model says '{r[LABEL_SUGGESTED]}' (label quality {r[LABEL_QUALITY]})"
            for r in examples.iter_rows(named=True)]}
