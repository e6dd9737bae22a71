"""A screen of weight-space mixing (WiSE-FT, Wortsman et al. 2022) for the runner on CLINC150: the fine-tuned network's
weights mixed with its start's, (1 - a) * start + a * tuned, scored on validation and test for a grid of a.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python benchmarks/weight_mixing.py [--seed 0]

Two starts: the LP-FT start the runner trains from (frozen encoder, the probe fitted on the training rows: a is chosen
on validation), and the probe the runner compares with (refitted on training + validation rows: validation is then
not held out, so only test is read). The runner's defaults; the fine-tuned weights are its best epoch, saved whether or
not the kept rule keeps them. Asks whether mixing lifts the runner to the issue's probe + 1 point on CLINC150's test
split. Writes `benchmarks/results/weight_mixing/seed-N.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from unittest import mock

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results" / "weight_mixing"
MIXES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def main() -> None:
    from runner_speed import clinc

    from curate.core.embed import Embedder
    from curate.train import classify
    from curate.train.loop import TrainConfig
    from curate.train.metrics import classification_metrics

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train, validation, test = clinc(None)
    config = TrainConfig(seed=args.seed, retrain_on_all=False)  # the epoch validation chose, as it was trained
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        saved = classify.save_classifier
        tuned_folder, trained_network = out / "tuned", []

        def keep_tuned(network, tokenizer, labels, where, max_length=256):  # the best epoch, before any probe swap
            saved(network, tokenizer, labels, where, max_length)
            if not trained_network:  # the first network saved is the one training moves
                trained_network.append(id(network))
            if id(network) == trained_network[0]:
                shutil.copytree(where, tuned_folder, dirs_exist_ok=True)

        with mock.patch.object(classify, "save_classifier", keep_tuned):
            trained = classify.train_classifier(train, validation, config, out)
        labels = trained.labels
        tokenizer, tuned, _ = classify.load_classifier(tuned_folder)
        texts, targets, _ = classify.labelled_rows(train, labels, "none")
        # The runner's own start, fitted again (same rows, seed and C grid): `train_classifier` returns only the refit.
        lp_ft_probe, _ = classify.fit_probe(Embedder(config.model), texts, targets, validation, labels, config.seed)
        known = validation.filter(pl.col("label").is_in(labels))
        frames = {"validation": known, "test": test}
        rows = []
        for start_name, probe in (("LP-FT start", lp_ft_probe), ("refitted probe", trained.probe["model"])):
            _, start = classify.load_backbone(config.model, len(labels))
            classify.set_head_from_probe(start, probe, len(labels))
            frozen = classify.frozen_below(start, config.trainable_layers)
            states = {
                k: classify.lower_states(start, tokenizer, f["text"].to_list(), 64, frozen) for k, f in frames.items()
            }
            begin, end = start.state_dict(), tuned.state_dict()
            for a in MIXES:
                start.load_state_dict(
                    {k: (1 - a) * begin[k] + a * end[k] if begin[k].is_floating_point() else end[k] for k in begin}
                )
                top = classify._top_class()(start, frozen)
                scores = {}
                for k, f in frames.items():
                    predicted = classify.predict_cached(top, states[k]).argmax(axis=1)
                    scores[k] = classification_metrics(f["label"].to_list(), [labels[i] for i in predicted], labels)[
                        "macro_f1"
                    ]
                rows.append({"start": start_name, "a": a, **scores})
                print(f"{start_name:15s} a={a:.1f}  validation {scores['validation']:.4f}  test {scores['test']:.4f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"seed": args.seed, "kept": classify.kept_model(trained.history)["kept"], "mixes": rows}
    (RESULTS / f"seed-{args.seed}.json").write_text(json.dumps(result, indent=1) + "\n")
    lp = [r for r in rows if r["start"] == "LP-FT start"]
    chosen = max(lp, key=lambda r: (r["validation"], -r["a"]))
    probe = next(r["test"] for r in rows if r["start"] == "refitted probe" and r["a"] == 0.0)
    print(
        f"chosen on validation (LP-FT start): a={chosen['a']:.1f}, test {chosen['test']:.4f} against the probe's "
        f"{probe:.4f} ({100 * (chosen['test'] - probe):+.2f} points); fine-tune alone {lp[-1]['test']:.4f}\n"
        f"command: OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python benchmarks/weight_mixing.py --seed {args.seed}"
    )


if __name__ == "__main__":
    main()
