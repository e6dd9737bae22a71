"""How the runner's probe should choose its C: on the 10% validation split (what it does), or by 3-fold
cross-validation on training + validation rows (the cached embeddings make that cheap to try).

    .venv/bin/python benchmarks/probe_c_choice.py clinc150 snips-cut bitext-cut cfpb

For each set (as `lift.py` loads it, seed 0) and C in {1, 10, 100}: validation macro-F1 of a probe on the 90%,
3-fold cross-validated macro-F1 on all rows, and the test macro-F1 of the probe refitted on all rows at that C (what
the runner keeps when no fine-tuned epoch wins). One JSON line per set.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    import lift
    from curate.core.embed import Embedder
    from curate.stages.train import split_for_training

    embedder = Embedder()
    for name in sys.argv[1:] or ["clinc150", "snips-cut", "bitext-cut", "cfpb"]:
        train, test, _, _ = lift.load_set(name, 0)
        test = test.with_columns(pl.format("t{}", pl.int_range(pl.len())).alias("id"))
        fit_rows, validation, _ = split_for_training(train, test)
        x_fit, y_fit = embedder.encode(fit_rows["text"].to_list()), np.array(fit_rows["label"].to_list())
        x_val, y_val = embedder.encode(validation["text"].to_list()), np.array(validation["label"].to_list())
        x_test, y_test = embedder.encode(test["text"].to_list()), np.array(test["label"].to_list())
        x_all, y_all = np.vstack([x_fit, x_val]), np.concatenate([y_fit, y_val])
        result = {}
        for c in (1.0, 10.0, 100.0):
            started = time.perf_counter()
            on_val = f1_score(
                y_val, LogisticRegression(C=c, max_iter=2000).fit(x_fit, y_fit).predict(x_val), average="macro"
            )
            refit = LogisticRegression(C=c, max_iter=2000).fit(x_all, y_all)
            predicted = np.empty(len(y_all), dtype=object)
            for a, b in StratifiedKFold(3, shuffle=True, random_state=0).split(x_all, y_all):
                predicted[b] = LogisticRegression(C=c, max_iter=2000).fit(x_all[a], y_all[a]).predict(x_all[b])
            result[c] = {
                "validation": round(on_val, 4),
                "cv3": round(f1_score(y_all, predicted.astype(str), average="macro"), 4),
                "test_refit": round(f1_score(y_test, refit.predict(x_test), average="macro"), 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
        chosen_val = max(result, key=lambda c: result[c]["validation"])
        chosen_cv = max(result, key=lambda c: result[c]["cv3"])
        print(
            json.dumps({"set": name, "by_C": result, "validation_picks": chosen_val, "cv_picks": chosen_cv}),
            flush=True,
        )


if __name__ == "__main__":
    main()
