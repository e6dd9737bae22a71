"""Duplicate detection against the bundled ground truth: precision, recall and F1 per setting.

Truth: two cleaned tickets are duplicates when they come from the same Bitext utterance (a planted
resend, verbatim or retyped with typos, greetings and signatures, or an utterance Bitext itself
repeats word for word). Bitext's own template variants ("cancel order 123" / "cancel purchase 123")
count as different tickets, so precision here is a lower bound. Predicted: two tickets in one cluster. Pairwise precision/recall/F1 over all such pairs,
plus the recall of planted resends alone.

    .venv/bin/python benchmarks/dedup_accuracy.py [--semantic]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import polars as pl

from curate.clean.normalize import Clean
from curate.io.readers import read_input
from curate.recipe.loader import InputSpec

ROOT = Path(__file__).resolve().parents[1]


def pairs_of(groups: pl.DataFrame, key: str) -> set[tuple[str, str]]:
    out = set()
    for members in groups.group_by(key).agg("id")["id"]:
        out.update(tuple(sorted(p)) for p in itertools.combinations(members, 2))
    return out


def score(rows: pl.DataFrame, clusters: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    kept_ids = rows.select("id")
    same_source = truth.filter(pl.col("source_group").is_not_null()).join(kept_ids, left_on="ticket_id", right_on="id").rename({"ticket_id": "id"})
    true_pairs = pairs_of(same_source, "source_group")
    predicted = pairs_of(clusters, "cluster") if clusters.height else set()
    tp = len(true_pairs & predicted)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(true_pairs) if true_pairs else 1.0
    planted = truth.filter(pl.col("kind").is_in(["exact_dup", "near_dup"])).join(kept_ids, left_on="ticket_id", right_on="id")
    planted = planted.join(kept_ids, left_on="duplicate_of", right_on="id")
    planted_pairs = {tuple(sorted(p)) for p in planted.select("ticket_id", "duplicate_of").iter_rows()}
    near = {tuple(sorted(p)) for p in planted.filter(pl.col("kind") == "near_dup").select("ticket_id", "duplicate_of").iter_rows()}
    return {
        "precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall) if tp else 0.0,
        "resend_recall": len(planted_pairs & predicted) / len(planted_pairs), "retyped_recall": len(near & predicted) / len(near),
        "pairs_predicted": len(predicted),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--semantic", action="store_true", help="also score semantic dedup (loads MiniLM)")
    args = parser.parse_args()
    spec = InputSpec(path=ROOT / "data/sample/tickets.csv", text="body", label="intent", id="ticket_id")
    rows = Clean().apply(read_input(spec).result.kept).kept
    truth = pl.read_csv(ROOT / "data/sample/truth.csv")
    from curate.dedup.exact import ExactDedup
    from curate.dedup.minhash import MinHashDedup

    settings = [("exact", ExactDedup())]
    for unit, ngram in [("char", 3), ("char", 4), ("char", 5), ("word", 1), ("word", 2)]:
        for threshold in (0.5, 0.6, 0.7, 0.8):
            settings.append((f"minhash {unit}-{ngram} t={threshold}", MinHashDedup(threshold=threshold, unit=unit, ngram=ngram)))
    if args.semantic:
        from curate.dedup.semantic import SemanticDedup

        for threshold in (0.85, 0.9, 0.93, 0.95):
            settings.append((f"semantic cos>={threshold}", SemanticDedup(threshold=threshold)))
    print(f"{'setting':<28} {'precision':>9} {'recall':>7} {'F1':>6} {'resends':>8} {'retyped':>8} {'pairs':>7}")
    for name, stage in settings:
        result = stage.apply(rows)
        s = score(rows, result.artifacts["clusters"], truth)
        print(f"{name:<28} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>6.3f} {s['resend_recall']:>8.3f} {s['retyped_recall']:>8.3f} {s['pairs_predicted']:>7}")


if __name__ == "__main__":
    main()
