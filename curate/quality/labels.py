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

from curate.columns import LABEL, TEXT
from curate.stage import REJECT_DETAIL, REJECT_REASON, Stage, StageResult

Action = Literal["drop", "flag"]


def out_of_fold_probabilities(vectors: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Class probabilities for every row from a model that never saw it (k-fold, stratified)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(max_iter=2000, C=4.0)
    return cross_val_predict(model, vectors, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba")


@dataclass
class LabelCheck(Stage):
    allowed: list[str] | None = None
    missing: Action = "drop"
    unknown: Action = "drop"
    min_class_size: int = 10
    small_classes: Action = "flag"
    mislabelled: Literal["drop", "flag", "off"] = "flag"
    folds: int = 5
    model: str | None = None
    seed: int = 0

    name: ClassVar[str] = "labels"

    def find_issues(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Columns label_issue / label_suggested / label_quality for rows the classifier can judge."""
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        from curate.embed import Embedder

        empty = rows.select(pl.lit(False).alias("label_issue"), pl.lit(None, pl.String).alias("label_suggested"),
                            pl.lit(None, pl.Float64).alias("label_quality"))
        counts = rows.group_by(LABEL).len()
        judged = rows[LABEL].is_in(counts.filter(pl.col("len") >= self.folds)[LABEL].implode()) & rows[LABEL].is_not_null()
        index = judged.arg_true().to_numpy()
        classes = sorted(rows[LABEL].filter(judged).unique().to_list())
        if len(classes) < 2:
            return empty
        vectors = Embedder(self.model).encode(rows[TEXT].gather(index))
        labels = np.searchsorted(classes, rows[LABEL].gather(index).to_numpy())
        probabilities = out_of_fold_probabilities(vectors, labels, self.folds, self.seed)
        issues = find_label_issues(labels, probabilities)
        quality = get_label_quality_scores(labels, probabilities)
        issue, suggested, score = np.zeros(rows.height, bool), [None] * rows.height, np.full(rows.height, np.nan)
        issue[index] = issues
        score[index] = quality
        for position, best in zip(index, probabilities.argmax(axis=1)):
            suggested[position] = classes[best]
        return pl.DataFrame({"label_issue": issue, "label_suggested": pl.Series(suggested, dtype=pl.String),
                             "label_quality": pl.Series(score).fill_nan(None).round(4)})

    def apply(self, rows: pl.DataFrame) -> StageResult:
        label = pl.col(LABEL)
        size = pl.len().over(LABEL)
        checks = [
            ("missing_label", label.is_null() | (label.str.strip_chars() == ""), self.missing, pl.lit("no label")),
            ("unknown_label", (~label.is_in(self.allowed)) if self.allowed else pl.lit(False), self.unknown,
             pl.format("label '{}' is not in the allowed set", label)),
            ("small_class", size < self.min_class_size, self.small_classes,
             pl.format("class '{}' has {} rows (minimum {})", label, size, pl.lit(self.min_class_size))),
        ]
        marked = rows.with_columns(pl.lit(None, pl.String).alias(REJECT_REASON), pl.lit(None, pl.String).alias(REJECT_DETAIL),
                                   pl.lit([], pl.List(pl.String)).alias("label_flags"))
        for reason, fails, action, why in checks:
            fails = fails.fill_null(False) & pl.col(REJECT_REASON).is_null()
            if action == "drop":
                marked = marked.with_columns(pl.when(fails).then(pl.lit(reason)).otherwise(pl.col(REJECT_REASON)).alias(REJECT_REASON),
                                             pl.when(fails).then(why).otherwise(pl.col(REJECT_DETAIL)).alias(REJECT_DETAIL))
            else:
                marked = marked.with_columns(pl.when(fails).then(pl.col("label_flags").list.concat(pl.lit([reason])))
                                             .otherwise(pl.col("label_flags")).alias("label_flags"))
        stats: dict = {}
        if self.mislabelled != "off":
            candidates = marked.filter(pl.col(REJECT_REASON).is_null())
            issues = self.find_issues(candidates)
            scored = pl.concat([candidates, issues], how="horizontal")
            if self.mislabelled == "drop":
                scored = scored.with_columns(
                    pl.when(pl.col("label_issue")).then(pl.lit("likely_mislabelled")).otherwise(pl.col(REJECT_REASON)).alias(REJECT_REASON),
                    pl.when(pl.col("label_issue")).then(pl.format("labelled '{}', the model says '{}' (label quality {})",
                                                                  pl.col(LABEL), pl.col("label_suggested"), pl.col("label_quality")))
                    .otherwise(pl.col(REJECT_DETAIL)).alias(REJECT_DETAIL))
            else:
                scored = scored.with_columns(pl.when(pl.col("label_issue")).then(pl.col("label_flags").list.concat(pl.lit(["likely_mislabelled"])))
                                             .otherwise(pl.col("label_flags")).alias("label_flags"))
            marked = pl.concat([scored, marked.filter(pl.col(REJECT_REASON).is_not_null())], how="diagonal_relaxed")
            marked = rows.select("id").join(marked, on="id", how="left", maintain_order="left")
            stats["likely_mislabelled"] = int(scored["label_issue"].sum())
            examples = scored.filter(pl.col("label_issue")).sort("label_quality").head(5)
            stats["findings"] = [f"{stats['likely_mislabelled']} rows look mislabelled (confident learning, {self.folds}-fold); "
                                 f"{'dropped' if self.mislabelled == 'drop' else 'flagged with label_issue'}. Least trustworthy:"] + [
                f"`{r['id']}` “{r[TEXT][:80]}” is labelled '{r[LABEL]}'; the model says '{r['label_suggested']}' (label quality {r['label_quality']})"
                for r in examples.iter_rows(named=True)]
        flags = marked.filter(pl.col(REJECT_REASON).is_null())["label_flags"].explode().drop_nulls().value_counts()
        stats["flagged"] = dict(zip(flags["label_flags"].to_list(), flags["count"].to_list())) if flags.height else {}
        return self.split_marked(marked, stats)
