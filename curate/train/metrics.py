"""Evaluation figures with scikit-learn, written to an output folder a person and the explorer can read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.core.extras import require


def classification_metrics(true: list[str], predicted: list[str], labels: list[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    metrics: dict[str, Any] = {"accuracy": float(accuracy_score(true, predicted)), "rows": len(true)}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(true, predicted, labels=labels, average=average, zero_division=0)
        metrics[f"{average}_precision"], metrics[f"{average}_recall"], metrics[f"{average}_f1"] = (
            float(p),
            float(r),
            float(f),
        )
    p, r, f, support = precision_recall_fscore_support(true, predicted, labels=labels, average=None, zero_division=0)
    metrics["per_class"] = {
        label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
        for i, label in enumerate(labels)
    }
    metrics["confusion_matrix"] = {
        "labels": labels,
        "matrix": confusion_matrix(true, predicted, labels=labels).tolist(),
    }
    return metrics


def plot_confusion(matrix: dict[str, Any], path: Path) -> None:
    require("plotting training results", "matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = matrix["labels"], np.array(matrix["matrix"])
    size = max(6, len(labels) * 0.35)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, j in zip(*np.nonzero(values)):
        ax.text(
            j,
            i,
            int(values[i, j]),
            ha="center",
            va="center",
            fontsize=6,
            color="white" if values[i, j] > values.max() / 2 else "black",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_history(history: list[dict[str, float]], path: Path) -> None:
    require("plotting training results", "matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = [h["epoch"] for h in history]
    ax.plot(
        epochs,
        [float("nan") if h["train_loss"] is None else h["train_loss"] for h in history],
        marker="o",
        label="train loss",
    )
    if any("validation_macro_f1" in h for h in history):
        ax2 = ax.twinx()
        ax2.plot(
            epochs,
            [h.get("validation_macro_f1") for h in history],
            marker="s",
            color="tab:orange",
            label="validation macro-F1",
        )
        ax2.set_ylabel("macro-F1")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    fig.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_evaluation(out: Path, metrics: dict[str, Any], predictions: pl.DataFrame) -> None:
    """metrics.json, confusion_matrix.json/png and predictions.parquet (errors first)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "confusion_matrix.json").write_text(json.dumps(metrics["confusion_matrix"], indent=2))
    plot_confusion(metrics["confusion_matrix"], out / "confusion_matrix.png")
    predictions.sort(["correct", "confidence"], descending=[False, True]).write_parquet(out / "predictions.parquet")
