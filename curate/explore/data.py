"""What the explorer shows, computed here so the app only draws and the tests can check the figures."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.pii import PLACEHOLDER
from curate.core.text import english_stop_words
from curate.core.columns import AUGMENTED_FROM, AUGMENT_SIMILARITY, LABEL, REASON, SPLIT, STAGE, TEXT, TEXT_BEFORE_CLEAN
from curate.io.rundir import RunDir


def stop_words() -> frozenset[str]:
    return english_stop_words() | {"i", "im", "dont", "ive", "cant", "pls", "please"}


def list_runs(root: Path) -> list[Path]:
    """Run directories under `root`, newest first."""
    if not root.exists():
        return []
    runs = [p.parent for p in root.glob("*/report.json")] + ([root] if (root / "report.json").exists() else [])
    return sorted(set(runs), key=lambda p: (p / "report.json").stat().st_mtime, reverse=True)


def funnel(report: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "stage": s["stage"],
                "rows in": s["rows_in"],
                "kept": s["kept"],
                "rejected": s["rejected"],
                "added": s["added"],
            }
            for s in report["stages"]
        ]
    )


def rejections(rejected: pl.DataFrame) -> pl.DataFrame:
    if rejected.is_empty():
        return pl.DataFrame(schema={STAGE: pl.String, REASON: pl.String, "rows": pl.UInt32})
    return rejected.group_by(STAGE, REASON).len("rows").sort(["rows", STAGE, REASON], descending=[True, False, False])


def tokens(texts: pl.Series) -> pl.Series:
    """Lower-case word tokens without stop words and placeholders, one list per text."""
    words = (
        texts.fill_null("")
        .str.replace_all(PLACEHOLDER.pattern, " ")
        .str.to_lowercase()
        .str.extract_all(r"[a-z][a-z']+")
    )
    stops = list(stop_words())
    return words.list.eval(pl.element().str.replace_all("'", "")).list.eval(
        pl.element().filter(~pl.element().is_in(stops))
    )


def ngrams(texts: pl.Series, n: int = 1, top: int = 30) -> pl.DataFrame:
    """The most frequent word n-grams (stop words removed), as (ngram, count)."""
    lists = tokens(texts)
    if n > 1:
        lists = lists.list.eval(pl.concat_str([pl.element().shift(-k) for k in range(n)], separator=" ").drop_nulls())
    counts = lists.explode().drop_nulls().value_counts(sort=True, name="count").head(top)
    return counts.rename({counts.columns[0]: "ngram"})


def compare_ngrams(before: pl.Series, after: pl.Series, n: int = 1, top: int = 30) -> pl.DataFrame:
    """n-gram counts before and after curation, side by side, with the change (signed: a count can fall)."""
    a = ngrams(before, n, top * 3).rename({"count": "before"})
    b = ngrams(after, n, top * 3).rename({"count": "after"})
    joined = (
        a.join(b, on="ngram", how="full", coalesce=True)
        .fill_null(0)
        .with_columns(pl.col("before", "after").cast(pl.Int64))
    )
    return (
        joined.with_columns((pl.col("after") - pl.col("before")).alias("change"))
        .sort("before", descending=True)
        .head(top)
    )


def rows_containing(rows: pl.DataFrame, ngram: str) -> pl.DataFrame:
    """The rows whose words (as `tokens` sees them) contain `ngram` in order: a word's rows, one click from its count."""
    wanted = ngram.split()
    lists = tokens(rows[TEXT])
    if len(wanted) > 1:
        lists = lists.list.eval(
            pl.concat_str([pl.element().shift(-k) for k in range(len(wanted))], separator=" ").drop_nulls()
        )
    return rows.filter(lists.list.contains(ngram))


def original_rows(approved: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """Every row that came in (approved or rejected), without the rows augmentation generated: "before curation"."""
    before = pl.concat([approved, rejected], how="diagonal_relaxed")
    return before.filter(pl.col(AUGMENTED_FROM).is_null()) if AUGMENTED_FROM in before.columns else before


def gate_table(gate: dict[str, Any]) -> pl.DataFrame:
    """One line per expectation: what it expects, what it saw (a metric's value, or the rows that broke it) and examples."""
    lines = []
    for o in gate["outcomes"]:
        expects = {k: v for k, v in (o.get("kwargs") or {}).items() if k != "column"}
        shown = ", ".join(
            f"{k}={v if not isinstance(v, list) or len(v) <= 3 else f'[{len(v)} values]'}" for k, v in expects.items()
        )
        observed = o["observed"] if o["observed"] is not None else f"{o.get('unexpected_count') or 0} rows break it"
        lines.append(
            {
                "ok": o["success"],
                "expectation": o["expectation"],
                "column": o["column"],
                "expects": shown,
                "observed": str(observed),
                "examples": "; ".join(str(e) for e in (o.get("examples") or [])[:3]),
            }
        )
    return pl.DataFrame(
        lines,
        schema={
            "ok": pl.Boolean,
            "expectation": pl.String,
            "column": pl.String,
            "expects": pl.String,
            "observed": pl.String,
            "examples": pl.String,
        },
    )


def flag_counts(rows: pl.DataFrame) -> pl.DataFrame:
    """How many rows carry each flag, split by approved and rejected (the overview's way into the Review page);
    `rows` is `curate.explore.review.all_rows`."""
    from curate.explore.review import APPROVED, FLAGS, REJECTED, STATUS

    if rows.is_empty():
        return pl.DataFrame(schema={"flag": pl.String, APPROVED: pl.UInt32, REJECTED: pl.UInt32})
    exploded = rows.select(STATUS, pl.col(FLAGS).alias("flag")).explode("flag").drop_nulls("flag")
    counts = exploded.group_by("flag").agg(
        (pl.col(STATUS) == APPROVED).sum().alias(APPROVED), (pl.col(STATUS) == REJECTED).sum().alias(REJECTED)
    )
    return counts.sort("flag")


def table_height(rows: int) -> int:
    """A table height that shows every row of a short table (no inner scroll box hiding the last lines)."""
    return 38 + 35 * max(rows, 1)


def word_frequencies(texts: pl.Series, top: int = 200) -> dict[str, int]:
    counts = ngrams(texts, 1, top)
    return dict(zip(counts["ngram"].to_list(), counts["count"].to_list()))


def label_distribution(report: dict[str, Any]) -> pl.DataFrame:
    labels = report.get("labels", {})
    names = list(labels.get("input", {})) + [n for n in labels.get("approved", {}) if n not in labels.get("input", {})]
    return pl.DataFrame(
        {
            "label": names,
            "input": [labels.get("input", {}).get(n, 0) for n in names],
            "approved": [labels.get("approved", {}).get(n, 0) for n in names],
        },
        schema={"label": pl.String, "input": pl.Int64, "approved": pl.Int64},
    )


def classes_by_split(approved: pl.DataFrame, report: dict[str, Any]) -> pl.DataFrame:
    """Per class: approved rows per split (person-written and generated apart) and the rebalance stage's
    before, target and after counts for the training split, from report.json."""
    rows = approved.with_columns(
        pl.col(SPLIT) if SPLIT in approved.columns else pl.lit("train").alias(SPLIT),
        (pl.col(AUGMENTED_FROM).is_not_null() if AUGMENTED_FROM in approved.columns else pl.lit(False)).alias(
            "_generated"
        ),
    )
    table = (
        rows.group_by(LABEL)
        .agg(
            *[
                ((pl.col(SPLIT) == split) & ~pl.col("_generated")).sum().alias(split)
                for split in ("train", "validation", "test")
            ],
            pl.col("_generated").sum().alias("train generated"),
        )
        .sort(LABEL)
    )
    rebalance = stage_stats(report, "rebalance") or {}
    for key in ("before", "targets", "after"):
        if isinstance(rebalance.get(key), dict):
            counts = rebalance[key]
            table = table.with_columns(
                pl.col(LABEL).replace_strict(counts, default=None, return_dtype=pl.Int64).alias(f"rebalance {key}")
            )
    return table


def length_by_label(rows: pl.DataFrame) -> pl.DataFrame:
    return (
        rows.group_by(LABEL)
        .agg(
            pl.len().alias("rows"),
            pl.col(TEXT).str.len_chars().mean().round(1).alias("mean chars"),
            pl.col(TEXT).str.len_chars().median().alias("median chars"),
        )
        .sort("rows", descending=True)
    )


def stage_stats(report: dict[str, Any], stage: str) -> dict[str, Any] | None:
    return next((s["stats"] for s in report["stages"] if s["stage"] == stage), None)


def cluster_overview(clusters: pl.DataFrame | None) -> pl.DataFrame:
    """One line per cluster, largest first: stage, cluster, size, kept text, whether labels disagree."""
    if clusters is None or clusters.is_empty():
        return pl.DataFrame(
            schema={
                STAGE: pl.String,
                "cluster": pl.String,
                "size": pl.UInt32,
                "kept text": pl.String,
                "label_conflict": pl.Boolean,
            }
        )
    return (
        clusters.group_by(STAGE, "cluster")
        .agg(
            pl.len().alias("size"),
            pl.col(TEXT).filter(pl.col("kept")).first().alias("kept text"),
            pl.col("label_conflict").any(),
        )
        .sort(["size", STAGE, "cluster"], descending=[True, False, False])
    )


def cluster_members(clusters: pl.DataFrame, stage: str, cluster: str) -> pl.DataFrame:
    return clusters.filter((pl.col(STAGE) == stage) & (pl.col("cluster") == cluster)).select(
        "id", "kept", "similarity", LABEL, TEXT
    )


def search_rejected(
    rejected: pl.DataFrame, query: str = "", stages: list[str] | None = None, reasons: list[str] | None = None
) -> pl.DataFrame:
    rows = rejected
    if stages:
        rows = rows.filter(pl.col(STAGE).is_in(stages))
    if reasons:
        rows = rows.filter(pl.col(REASON).is_in(reasons))
    if query:
        rows = rows.filter(
            pl.col(TEXT).str.contains(f"(?i){re.escape(query)}") | pl.col("id").str.contains(re.escape(query))
        )
    return rows.select(
        "id", STAGE, REASON, "detail", TEXT, LABEL, *[c for c in (TEXT_BEFORE_CLEAN,) if c in rows.columns]
    )


def highlight_placeholders(text: str) -> str:
    """Markdown with PII placeholders shown as code, so a reviewer sees where redaction happened."""
    return PLACEHOLDER.sub(lambda m: f"`{m.group(0)}`", text)


def shown_text(text: str | None) -> str:
    """A row's text as Markdown a reviewer can see: placeholders marked, and a text that is empty or only whitespace
    said in words (drawn as is, it shows as nothing)."""
    if text is None or text == "":
        return "*(empty)*"
    if not text.strip():
        kinds = {" ": "spaces", "\n": "line breaks", "\t": "tabs"}
        found = ", ".join(f"{text.count(c)} {name}" for c, name in kinds.items() if c in text)
        return f"*(only whitespace: {found or f'{len(text)} characters'})*"
    return highlight_placeholders(text)


def page(frame: pl.DataFrame, number: int, size: int = 50) -> pl.DataFrame:
    """One page of a large table: the app never renders a million rows."""
    return frame.slice(max(number - 1, 0) * size, size)


def augmentation_pairs(approved: pl.DataFrame) -> pl.DataFrame:
    if AUGMENTED_FROM not in approved.columns:
        return pl.DataFrame(
            schema={
                "id": pl.String,
                "source": pl.String,
                "generated": pl.String,
                "method": pl.String,
                "similarity": pl.Float64,
                LABEL: pl.String,
            }
        )
    generated = approved.filter(pl.col(AUGMENTED_FROM).is_not_null())
    sources = approved.select(pl.col("id").alias(AUGMENTED_FROM), pl.col(TEXT).alias("source"))
    return generated.join(sources, on=AUGMENTED_FROM, how="left").select(
        "id",
        "source",
        pl.col(TEXT).alias("generated"),
        pl.col("augment_method").alias("method"),
        pl.col(AUGMENT_SIMILARITY).alias("similarity")
        if AUGMENT_SIMILARITY in generated.columns
        else pl.lit(None, pl.Float64).alias("similarity"),
        LABEL,
    )


def dropped_candidates(run: Path) -> pl.DataFrame | None:
    """The candidates augmentation generated and dropped, with the reason (None for a run that generated nothing)."""
    return RunDir(Path(run)).frame("augment_dropped")


def training(run: Path) -> dict[str, Any] | None:
    """What the recipe's train stage wrote into the run (read once the run is verified against its manifest)."""
    evaluation = RunDir(Path(run)).path / "train" / "evaluation"
    metrics_file = evaluation / "metrics.json"
    if not metrics_file.exists():
        return None
    metrics = json.loads(metrics_file.read_text())
    predictions = pl.read_parquet(evaluation / "predictions.parquet")
    per_class = pl.DataFrame([{"label": k, **v} for k, v in metrics["per_class"].items()]).sort("f1")
    curve = evaluation / "training_curve.png"
    return {
        "metrics": metrics,
        "per_class": per_class,
        "predictions": predictions,
        "errors": predictions.filter(~pl.col("correct")).head(50),
        "confusion_png": evaluation / "confusion_matrix.png",
        "curve_png": curve if curve.exists() else None,
    }


def confusions(predictions: pl.DataFrame) -> pl.DataFrame:
    """The confusion matrix's off-diagonal cells as (label, predicted, rows), most frequent first."""
    errors = predictions.filter(~pl.col("correct"))
    return (
        errors.group_by(LABEL, "predicted")
        .len("rows")
        .sort(["rows", LABEL, "predicted"], descending=[True, False, False])
    )


def confusion_grid(predictions: pl.DataFrame) -> pl.DataFrame:
    """Every (label, predicted) cell of the confusion matrix with its rows and their share of the true label's rows
    (empty cells included, so that a heatmap shows the whole square)."""
    labels = sorted(set(predictions[LABEL].drop_nulls()) | set(predictions["predicted"].drop_nulls()))
    grid = pl.DataFrame({LABEL: labels}).join(pl.DataFrame({"predicted": labels}), how="cross")
    counts = predictions.group_by(LABEL, "predicted").len("rows").with_columns(pl.col("rows").cast(pl.Int64))
    return (
        grid.join(counts, on=[LABEL, "predicted"], how="left")
        .with_columns(pl.col("rows").fill_null(0))
        .with_columns((pl.col("rows") / pl.col("rows").sum().over(LABEL)).fill_nan(0.0).round(3).alias("share"))
    )


def topics(rows: pl.DataFrame, k: int = 8, sample: int = 5000, seed: int = 0, model: str | None = None) -> pl.DataFrame:
    """The approved set clustered on its embeddings (a sample of it), with each cluster's top terms."""
    from sklearn.cluster import KMeans

    from curate.core.embed import Embedder

    rows = rows.sample(min(sample, rows.height), seed=seed) if rows.height > sample else rows
    k = max(1, min(k, rows.height))
    vectors = Embedder(model).encode(rows[TEXT])
    labels = KMeans(n_clusters=k, random_state=seed, n_init=4).fit_predict(vectors)
    clustered = rows.with_columns(pl.Series("topic", labels))
    out = []
    for topic, group in clustered.group_by("topic"):
        top_terms = ngrams(group[TEXT], 1, 6)["ngram"].to_list()
        top_label = group[LABEL].drop_nulls().mode().sort().first() if group[LABEL].drop_nulls().len() else None
        out.append(
            {
                "topic": int(topic[0]),
                "rows": group.height,
                "top terms": ", ".join(top_terms),
                "main label": top_label,
                "example": group[TEXT][0],
                "ids": group["id"].to_list(),
            }
        )
    return pl.DataFrame(out).sort("rows", descending=True)
