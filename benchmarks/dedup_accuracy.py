"""Duplicate detection against the bundled ground truth: precision, recall and F1 per setting.

Input: the bundled sample after `clean`, `redact` and `quality`, i.e. what the dedup stages see in
the default recipe. Predicted: two tickets in one cluster (for the recipe's chain of dedup stages,
one cluster across the chain). `recipes/tickets.yaml` runs exact, then MinHash (keep longest); the chain with
semantic dedup after them is what it ran until 2026-11-28.

Truth, pair by pair:
- duplicate: both come from the same Bitext utterance (a planted resend, verbatim or retyped with
  ~4% keyboard typos per letter, with or without greetings, signatures and contact details; or an
  utterance Bitext itself repeats word for word), or both are the same junk text;
- template variant: different Bitext utterances of the same intent that differ by at most one word
  once contractions are expanded ("I'm waiting for a rebate of $1" / "I am waiting for a rebate
  of $1", "... customer support" / "... customer service"). Whether such a pair is a duplicate is a
  matter of taste, so it counts neither for nor against `precision`; `strict P` counts it as wrong;
- everything else: distinct.

"resends" is the recall of planted resend pairs, "retyped" of the typo'd ones alone; "wrong" counts
distinct pairs, and "intent" those of them whose true intents differ (the rest are paraphrases).

    .venv/bin/python benchmarks/dedup_accuracy.py [--semantic]
"""

from __future__ import annotations

import argparse
import itertools
import re
from pathlib import Path

import numpy as np
import polars as pl
from rapidfuzz.distance import Levenshtein

from curate.stages.clean.clean import Clean
from curate.stages.clean.redact import Redact
from curate.stages.dedup.clusters import components
from curate.core.text import normalized_text
from curate.io.readers import read_input
from curate.stages.quality.quality import Quality
from curate.io.spec import InputSpec
from curate.core.stage import Stage

ROOT = Path(__file__).resolve().parents[1]
BITEXT = ROOT.parent / "shared/data/bitext/Bitext_Sample_Customer_Support_Training_Dataset.csv"
CONTRACTIONS = [
    (r"\bdon t\b|\bdont\b", "do not"),
    (r"\bi m\b", "i am"),
    (r"\bcan t\b|\bcant\b", "cannot"),
    (r"\bwon t\b", "will not"),
    (r"\bi ve\b", "i have"),
    (r"\bi d\b", "i would"),
    (r"\bit s\b", "it is"),
    (r"\bdoesn t\b|\bdoesnt\b", "does not"),
    (r"\bdidn t\b|\bdidnt\b", "did not"),
    (r"\bisn t\b", "is not"),
]


def expanded(text: str) -> list[str]:
    for pattern, replacement in CONTRACTIONS:
        text = re.sub(pattern, replacement, text)
    return text.split()


class Truth:
    """Which pairs of the rows are duplicates, template variants, or distinct."""

    def __init__(self, rows: pl.DataFrame) -> None:
        truth = pl.read_csv(ROOT / "data/sample/truth.csv").join(
            rows.select("id", normalized_text("text").alias("norm")), left_on="ticket_id", right_on="id"
        )
        bitext = pl.read_csv(BITEXT, infer_schema=False).with_row_index("source_row")
        self.source_words = dict(
            zip(
                bitext["source_row"].to_list(), map(expanded, bitext.select(normalized_text("instruction")).to_series())
            )
        )
        self.source_intent = dict(zip(bitext["source_row"].to_list(), bitext["intent"].to_list()))
        self.source_row = dict(zip(truth["ticket_id"], truth["source_row"]))
        self.intent = dict(zip(truth["ticket_id"], truth["true_intent"]))
        group = truth.select(
            "ticket_id", pl.coalesce(pl.col("source_group").cast(pl.String), "junk: " + pl.col("norm")).alias("group")
        )
        self.duplicates = {
            tuple(sorted(p))
            for members in group.group_by("group").agg("ticket_id")["ticket_id"]
            for p in itertools.combinations(members, 2)
        }
        present = set(truth["ticket_id"])
        resent = truth.filter(pl.col("kind").is_in(["exact_dup", "near_dup"]) & pl.col("duplicate_of").is_in(present))
        self.resends = {tuple(sorted(p)) for p in resent.select("ticket_id", "duplicate_of").iter_rows()}
        self.retyped = {
            tuple(sorted(p))
            for p in resent.filter(pl.col("kind") == "near_dup").select("ticket_id", "duplicate_of").iter_rows()
        }

    def template_variant(self, a: str, b: str) -> bool:
        ra, rb = self.source_row.get(a), self.source_row.get(b)
        if ra is None or rb is None or self.source_intent[ra] != self.source_intent[rb]:
            return False
        return Levenshtein.distance(self.source_words[ra], self.source_words[rb]) <= 1

    def score(self, predicted: set[tuple[str, str]]) -> dict[str, float]:
        hits = predicted & self.duplicates
        variants = {p for p in predicted - hits if self.template_variant(*p)}
        wrong = len(predicted) - len(hits) - len(variants)
        other_intent = sum(self.intent[a] != self.intent[b] for a, b in predicted - hits - variants)
        precision = len(hits) / (len(hits) + wrong) if hits or wrong else 1.0
        recall = len(hits) / len(self.duplicates)
        return {
            "precision": precision,
            "strict_precision": len(hits) / len(predicted) if predicted else 1.0,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if hits else 0.0,
            "resends": len(self.resends & predicted) / len(self.resends),
            "retyped": len(self.retyped & predicted) / len(self.retyped),
            "variants": len(variants),
            "wrong": wrong,
            "other_intent": other_intent,
            "pairs": len(predicted),
        }


def predicted_pairs(rows: pl.DataFrame, stages: list[Stage]) -> set[tuple[str, str]]:
    """Pairs of ids that end in one cluster when the stages run one after another (as in a recipe)."""
    ids = rows["id"].to_list()
    index = {row_id: k for k, row_id in enumerate(ids)}
    links = []
    for stage in stages:
        result = stage.apply(rows)
        clusters = result.artifacts["clusters"]
        links += [(index[a], index[b]) for a, b in clusters.select("id", "duplicate_of").iter_rows()]
        rows = result.kept
    labels = components(len(ids), np.array(links, dtype=np.int64).reshape(-1, 2))
    pairs = set()
    for label in np.unique(labels[labels >= 0]):
        members = sorted(ids[k] for k in np.flatnonzero(labels == label))
        pairs.update(itertools.combinations(members, 2))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="also score semantic dedup and a chain exact > minhash > semantic (loads MiniLM)",
    )
    args = parser.parse_args()
    from curate.stages.dedup.exact import ExactDedup
    from curate.stages.dedup.minhash import MinHashDedup

    spec = InputSpec(path=ROOT / "data/sample/tickets.csv", text="body", label="intent", id="ticket_id")
    rows = read_input(spec).result.kept
    for stage in (Clean(), Redact(), Quality()):
        rows = stage.apply(rows).kept
    truth = Truth(rows)

    settings: list[tuple[str, list[Stage]]] = [("exact", [ExactDedup()])]
    for unit, ngram in [("char", 3), ("char", 5), ("word", 1), ("word", 2)]:
        for threshold in (0.7, 0.8):
            settings.append(
                (
                    f"jaccard {unit}-{ngram} t={threshold}",
                    [MinHashDedup(similarity="jaccard", threshold=threshold, unit=unit, ngram=ngram)],
                )
            )
    for candidates in (0.4, 0.5, 0.6):
        for threshold in (0.85, 0.9, 0.92):
            settings.append(
                (
                    f"edit c={candidates} t={threshold}",
                    [MinHashDedup(threshold=threshold, candidate_threshold=candidates)],
                )
            )
    settings.append(("edit t=0.9, pii clauses kept", [MinHashDedup(ignore_pii_clauses=False)]))
    settings.append(("minhash default (edit c=0.5 t=0.9)", [MinHashDedup()]))
    settings.append(("recipe chain exact>minhash longest", [ExactDedup(), MinHashDedup(keep="longest")]))
    if args.semantic:
        from curate.stages.dedup.semantic import SemanticDedup

        for threshold in (0.9, 0.93, 0.95):
            settings.append((f"semantic cos>={threshold}", [SemanticDedup(threshold=threshold)]))
        settings.append(  # the tickets recipe's chain until 2026-11-28; it has no semantic stage now
            (
                "chain exact>minhash>semantic 0.95",
                [ExactDedup(), MinHashDedup(keep="longest"), SemanticDedup(threshold=0.95)],
            )
        )
    print(
        f"{len(rows)} rows; {len(truth.duplicates)} duplicate pairs, {len(truth.resends)} planted resends ({len(truth.retyped)} retyped)"
    )
    print(
        f"{'setting':<38} {'precision':>9} {'strict P':>8} {'recall':>7} {'F1':>6} {'resends':>8} {'retyped':>8} {'variants':>8} {'wrong':>6} {'intent':>6} {'pairs':>6}"
    )
    for name, stages in settings:
        s = truth.score(predicted_pairs(rows, stages))
        print(
            f"{name:<38} {s['precision']:>9.3f} {s['strict_precision']:>8.3f} {s['recall']:>7.3f} {s['f1']:>6.3f} {s['resends']:>8.3f} "
            f"{s['retyped']:>8.3f} {s['variants']:>8} {s['wrong']:>6} {s['other_intent']:>6} {s['pairs']:>6}"
        )


if __name__ == "__main__":
    main()
