"""The label check's out-of-fold models against scikit-learn's plain `cross_val_predict` with the same settings, on a
real slice of CLINC150: the folds fitted side by side and the n-grams counted once must not move a decision."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate.core.columns import LABEL_CONFIRMED, LABEL_ISSUE, LABEL_SUGGESTED
from curate.stages.quality import labels
from curate.stages.quality.labels import LabelCheck

CLINC150 = Path(__file__).resolve().parents[3] / "shared" / "data" / "clinc150" / "data_imbalanced.json"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CLINC150.exists(), reason="the shared real data sets are not on this machine"),
]


def reference_probabilities(vectors: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return cross_val_predict(LogisticRegression(max_iter=2000, C=4.0), vectors, y, cv=cv, method="predict_proba")


def reference_ngram_predictions(texts: list[str], y: np.ndarray, folds: int, seed: int, needed=None) -> np.ndarray:
    """Every row predicted by a TF-IDF vectorizer and a LinearSVC fitted per fold (`needed` is ignored)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True),
    )
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return cross_val_predict(make_pipeline(features, LinearSVC(C=0.5, random_state=seed)), texts, y, cv=cv)


@pytest.fixture(scope="module")
def clinc_slice() -> pl.DataFrame:
    """2,000 CLINC150 training queries (seeded), 60 of them given another label seen in the slice."""
    data = json.loads(CLINC150.read_text())
    pairs = random.Random(0).sample(data["train"] + data["oos_train"], 2000)
    texts, names = [t for t, _ in pairs], [label for _, label in pairs]
    rng = random.Random(1)
    choices = sorted(set(names))
    for i in rng.sample(range(len(names)), 60):
        names[i] = rng.choice([c for c in choices if c != names[i]])
    return pl.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts, "label": names})


def test_out_of_fold_models_match_cross_val_predict(clinc_slice):
    from cleanlab.filter import find_label_issues

    from curate.core.embed import Embedder

    y = np.searchsorted(sorted(clinc_slice["label"].unique()), clinc_slice["label"].to_numpy())
    vectors = Embedder().encode(clinc_slice["text"])
    fast, plain = labels.out_of_fold_probabilities(vectors, y, 5, 0), reference_probabilities(vectors, y, 5, 0)
    assert fast.dtype == plain.dtype and np.abs(fast - plain).max() < 1e-4
    assert (fast.argmax(axis=1) == plain.argmax(axis=1)).all()
    own_fast, own_plain = fast[np.arange(len(y)), y], plain[np.arange(len(y)), y]
    assert ((own_fast < 0.02) == (own_plain < 0.02)).all()
    assert (find_label_issues(y, fast, n_jobs=1) == find_label_issues(y, plain, n_jobs=1)).all()

    texts = clinc_slice["text"].to_list()
    needed = np.zeros(len(y), bool)
    needed[::7] = True
    second = labels.out_of_fold_ngram_predictions(texts, y, 5, 0, needed=needed)
    plain_second = reference_ngram_predictions(texts, y, 5, 0)
    np.random.seed(1)  # numpy's global state does not reach the second opinion: a rerun confirms the same rows
    assert (labels.out_of_fold_ngram_predictions(texts, y, 5, 0, needed=needed) == second).all()
    assert (second[needed] == plain_second[needed]).all() and (second[~needed] == -1).all()


def test_find_issues_decides_as_with_plain_cross_val_predict(clinc_slice, monkeypatch):
    check = LabelCheck(mislabelled="drop")
    np.random.seed(0)
    fast = check.find_issues(clinc_slice, 0)
    monkeypatch.setattr(labels, "out_of_fold_probabilities", reference_probabilities)
    monkeypatch.setattr(labels, "out_of_fold_ngram_predictions", reference_ngram_predictions)
    np.random.seed(0)
    plain = check.find_issues(clinc_slice, 0)
    assert plain[LABEL_CONFIRMED].sum() > 0  # the slice exercises the second opinion
    for column in (LABEL_ISSUE, LABEL_CONFIRMED, LABEL_SUGGESTED):
        assert fast[column].eq_missing(plain[column]).all(), column
