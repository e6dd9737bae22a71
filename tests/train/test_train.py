import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from curate.cli.main import app
from curate.train.classify import evaluate_classifier, train_classifier
from curate.train.loop import TrainConfig
from curate.train.compare import compare_datasets

WORDS = {
    "refund": ["refund my money", "I want a refund", "money back please", "refund the charge"],
    "login": ["cannot log in", "password reset fails", "login is broken", "my password does not work"],
}


def toy(n_per_label: int = 12) -> pl.DataFrame:
    rows = [(f"{label}-{i}", WORDS[label][i % 4] + f" {i}", label) for label in WORDS for i in range(n_per_label)]
    return pl.DataFrame(rows, schema=["id", "text", "label"], orient="row")


def test_trains_evaluates_and_writes_everything(tiny_model, tmp_path):
    config = TrainConfig(model=tiny_model, epochs=6, lr=5e-3, batch_size=8, trainable_layers=None, early_stopping=0)
    trained = train_classifier(toy(), toy(4), config, tmp_path)
    assert trained.labels == ["login", "refund"] and [h["epoch"] for h in trained.history] == [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
    ]  # 0: the probe's head
    assert trained.history[-1]["train_loss"] < trained.history[1]["train_loss"]
    metrics = evaluate_classifier(trained, toy(4), tmp_path / "evaluation")
    assert metrics["accuracy"] >= 0.75 and set(metrics["per_class"]) == {"login", "refund"}
    for name in ("metrics.json", "confusion_matrix.json", "confusion_matrix.png", "predictions.parquet"):
        assert (tmp_path / "evaluation" / name).exists()
    predictions = pl.read_parquet(tmp_path / "evaluation/predictions.parquet")
    assert predictions["correct"].to_list() == sorted(predictions["correct"].to_list())  # errors first
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == 8


def test_resumes_from_its_checkpoint(tiny_model, tmp_path):
    config = TrainConfig(model=tiny_model, epochs=2, lr=5e-3, batch_size=8, early_stopping=0)
    first = train_classifier(toy(), None, config, tmp_path)
    again = train_classifier(toy(), None, config, tmp_path)  # finished: nothing left to run
    assert again.history == first.history and again.samples_per_second == 0.0
    more = train_classifier(toy(), None, TrainConfig(**{**config.__dict__, "epochs": 2}), tmp_path)
    assert [h["epoch"] for h in more.history] == [0, 1, 2]  # 0: the probe-initialised start


def test_freezing_lower_layers(tiny_model):
    from curate.train.classify import freeze_lower_layers, load_backbone

    _, network = load_backbone(tiny_model, 2)
    freeze_lower_layers(network, 1)
    trainable = {name.split(".")[3] for name, p in network.named_parameters() if p.requires_grad and ".layer." in name}
    assert trainable == {"1"}
    assert not network.encoder.embeddings.word_embeddings.weight.requires_grad and network.head.weight.requires_grad


def test_compare_uses_one_budget(tiny_model, tmp_path):
    raw = pl.concat([toy(), toy(6).with_columns(pl.col("id") + "-noisy", pl.lit("refund").alias("label"))])
    config = TrainConfig(model=tiny_model, epochs=2, lr=5e-3, batch_size=8)
    summary = compare_datasets(raw, toy(), toy(4), config, tmp_path)
    assert summary["budget"]["optimizer_steps"] == 6
    assert json.loads((tmp_path / "raw/evaluation/metrics.json").read_text())["history"][-1]["step"] == 6
    assert json.loads((tmp_path / "curated/evaluation/metrics.json").read_text())["history"][-1]["step"] == 6
    assert (
        set(summary["metrics"]) >= {"accuracy", "macro_f1"} and "| accuracy |" in (tmp_path / "compare.md").read_text()
    )


def test_train_refuses_a_run_whose_gate_failed(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text("{}")
    (run / "gate.json").write_text(
        json.dumps(
            {
                "success": False,
                "outcomes": [{"expectation": "expect_column_values_to_be_in_set", "column": "label", "success": False}],
            }
        )
    )
    from curate.io.rundir import seal

    seal(run)  # a complete run, whose gate failed
    result = CliRunner().invoke(app, ["train", str(run)])
    assert (
        result.exit_code == 3
        and "expect_column_values_to_be_in_set(label)" in result.output
        and "--force" in result.output
    )


def test_train_warns_about_ungated_files(tiny_model, tmp_path):
    data = tmp_path / "toy.csv"
    toy().write_csv(data)
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(data),
            "--eval",
            str(data),
            "--model",
            tiny_model,
            "--epochs",
            "1",
            "--trainable-layers",
            "-1",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "never gated" in result.output and (tmp_path / "out/evaluation/metrics.json").exists()


def test_train_can_leave_a_kept_fine_tune_as_validation_chose_it(tmp_path, monkeypatch):
    """`curate train --no-retrain-on-all` reaches the runner's settings (on by default)."""
    from curate.train import classify

    data, seen = tmp_path / "toy.csv", []
    toy().write_csv(data)

    def stop(train, validation, config, out, on_step=None):
        seen.append(config.retrain_on_all)
        raise classify.CurateError("stopped by the test", "train")

    monkeypatch.setattr(classify, "train_classifier", stop)
    for flag in ([], ["--no-retrain-on-all"]):
        result = CliRunner().invoke(app, ["train", str(data), "--out", str(tmp_path / "out"), *flag])
        assert "stopped by the test" in result.output
    assert seen == [True, False]


@pytest.mark.slow
def test_minilm_backbone_learns_the_sample(tmp_path):
    """The real backbone on the bundled sample: well above chance (1/27) after a short run."""
    from curate.io.writers import load_dataset

    rows = load_dataset("data/sample/tickets.csv", text="body", label="intent").head(600)
    evaluation = load_dataset("data/sample/eval.csv", text="body", label="intent")
    trained = train_classifier(rows, None, TrainConfig(epochs=2, early_stopping=0), tmp_path)
    assert evaluate_classifier(trained, evaluation, tmp_path / "evaluation")["accuracy"] > 0.3


def test_search_picks_the_best_setting_on_validation(tiny_model, tmp_path):
    from curate.train.search import search, trials_of

    assert trials_of({"lr": [1e-3, 1e-2], "epochs": [1, 2]}, None, "grid", 0) == [
        {"lr": 1e-3, "epochs": 1},
        {"lr": 1e-3, "epochs": 2},
        {"lr": 1e-2, "epochs": 1},
        {"lr": 1e-2, "epochs": 2},
    ]
    assert len(trials_of({"lr": [1, 2, 3], "epochs": [1, 2]}, 2, "random", 0)) == 2
    base = TrainConfig(model=tiny_model, batch_size=8, early_stopping=0, trainable_layers=None)
    best, trials = search(toy(), toy(4), base, {"lr": [1e-6, 5e-3], "epochs": [3]}, tmp_path)
    assert len(trials) == 2 and trials[1]["validation_macro_f1"] >= trials[0]["validation_macro_f1"]
    assert (
        best.model_dir
        == tmp_path
        / ("trial-1" if trials[1]["validation_macro_f1"] > trials[0]["validation_macro_f1"] else "trial-0")
        / "model"
    )
    from curate.core.errors import CurateError

    with pytest.raises(CurateError, match="cannot search 'learning_rate'"):
        search(toy(), toy(4), base, {"learning_rate": [1]}, tmp_path)


def test_a_search_trains_only_the_chosen_setting_again_on_every_row(tiny_model, tmp_path, monkeypatch):
    from curate.train import classify
    from curate.train.search import search

    monkeypatch.setattr(classify, "kept_model", lambda *_, **__: {"kept": "fine-tuned", "kept_why": "test"})
    monkeypatch.setattr(classify, "best_scored", lambda history: {"epoch": 1, "validation_macro_f1": 1.0})
    runs = []  # (history, samples per second) of every call of the loop
    real_fit = classify.fit

    def fit(*args, **kwargs):
        result = real_fit(*args, **kwargs)
        runs.append((result[0], result[2]))
        return result

    monkeypatch.setattr(classify, "fit", fit)
    base = TrainConfig(model=tiny_model, batch_size=8, early_stopping=1, trainable_layers=1)
    best, trials = search(toy(), toy(4), base, {"lr": [1e-6, 5e-3], "epochs": [3]}, tmp_path)
    chosen = best.model_dir.parent
    assert best.retrained["rows"] == toy().height + toy(4).height
    assert sorted(p.parent.name for p in tmp_path.glob("trial-*/all-rows")) == [chosen.name]
    # Two trials, then the chosen one's first run resumed from its finished checkpoint (no step: it stopped early and
    # stays stopped), then its training again; what is reported is the first run's speed.
    (*trials_run, resumed, again) = runs
    assert [speed > 0 for _, speed in trials_run] == [True, True] and resumed[1] == 0.0 and again[1] > 0
    first_run = trials_run[int(chosen.name.removeprefix("trial-"))][0]
    assert resumed[0] == first_run == best.history  # resumed as it ended (stopped early or not), no epoch added
    assert best.samples_per_second > 0


def test_cross_validation_reports_each_fold(tiny_model, tmp_path):
    from curate.train.search import cross_validate

    result = cross_validate(toy(), TrainConfig(model=tiny_model, epochs=1, batch_size=8, lr=5e-3), 3, tmp_path)
    assert result["folds"] == 3 and len(result["macro_f1_per_fold"]) == 3 and 0 <= result["macro_f1_mean"] <= 1


def test_compare_over_seeds_reports_spread_and_the_paired_difference(tiny_model, tmp_path):
    from dataclasses import replace

    from curate.train.compare import summarize_seeds

    raw = pl.concat([toy(), toy(6).with_columns(pl.col("id") + "-noisy", pl.lit("refund").alias("label"))])
    config = TrainConfig(model=tiny_model, epochs=1, lr=5e-3, batch_size=8)
    runs = [
        compare_datasets(raw, toy(), toy(4), replace(config, seed=seed), tmp_path / f"seed-{seed}") for seed in (0, 1)
    ]
    summary = summarize_seeds(runs, tmp_path)
    f1 = summary["metrics"]["macro_f1"]
    raw_scores = [r["metrics"]["macro_f1"]["raw"] for r in runs]
    differences = [r["metrics"]["macro_f1"]["difference"] for r in runs]
    assert summary["seeds"] == [0, 1] and f1["raw"]["mean"] == round(sum(raw_scores) / 2, 4)
    assert f1["difference"]["mean"] == round(sum(differences) / 2, 4)
    assert f1["difference"]["std"] == round(abs(differences[0] - differences[1]) / 2**0.5, 4)
    assert "paired difference" in (tmp_path / "compare.md").read_text() and summary["probe"]["raw"]["mean"] > 0


def test_run_shows_training_steps_with_an_eta_in_a_log(tiny_model, tmp_path):
    """Not a terminal (as in CI): plain progress lines, the last one at the final step."""
    data = tmp_path / "toy.csv"
    toy().write_csv(data)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"input: {data}\nstages:\n  - train: {{model: {tiny_model}, epochs: 2, batch_size: 8}}\noutput: {tmp_path / 'run'}\n"
    )
    result = CliRunner().invoke(app, ["run", str(recipe)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("train: training steps")]
    assert lines and "6/6," in lines[-1]  # 24 rows, batch 8, 2 epochs
    assert all("ETA" in line and "/s" in line for line in lines) and "ETA …" not in lines[-1]


def test_compare_shows_training_steps_of_both_sides_in_a_log(tiny_model, tmp_path):
    data, recipe = tmp_path / "toy.csv", tmp_path / "r.yaml"
    toy().write_csv(data)
    recipe.write_text(f"input: {data}\nstages:\n  - clean\noutput: {tmp_path / 'run'}\n")
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(recipe),
            "--eval",
            str(data),
            "--model",
            str(tiny_model),
            "--max-steps",
            "4",
            "--batch-size",
            "8",
            "--out",
            str(tmp_path / "compare"),
        ],
    )
    assert result.exit_code == 0, result.output
    for side in ("raw", "curated"):
        lines = [
            line for line in result.output.splitlines() if line.startswith(f"compare: training on {side} rows, seed 0")
        ]
        assert lines and " 4/4," in lines[-1] and "loss" in lines[-1], result.output


def without_curate(model_dir, texts: list[str], body: str, cwd) -> list:
    """What `body` prints (JSON, its last line) in a fresh Python that loads `model_dir` with sentence-transformers
    alone (`model`, `texts` given) and never imports curate."""
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from sentence_transformers import SentenceTransformer\n"
        "model = SentenceTransformer(sys.argv[1], device='cpu')\n"
        "texts = json.loads(sys.argv[2])\n" + body + "assert 'curate' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(model_dir), json.dumps(texts)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_curates_predictions_without_curate(model_dir, tmp_path) -> None:
    """The model folder, loaded in a fresh Python that never imports curate, predicts what curate's evaluation wrote."""
    ours = pl.read_parquet(tmp_path / "evaluation/predictions.parquet").sort("id")
    predicted = without_curate(
        model_dir,
        ours["text"].to_list(),
        "id2label = model[0].auto_model.config.id2label\n"
        "print(json.dumps([id2label[int(i)] for i in model.encode(texts).argmax(1)]))\n",
        tmp_path,
    )
    assert predicted == ours["predicted"].to_list()


def test_the_saved_model_loads_and_predicts_without_curate(tiny_model, tmp_path):
    """The model folder is a sentence-transformers model whose output is the classifier's logits, with id2label in its
    config: loaded in a fresh Python that never imports curate, it gives curate's predictions on the evaluation rows."""

    config = TrainConfig(model=tiny_model, epochs=3, lr=5e-3, batch_size=8, early_stopping=0)
    trained = train_classifier(toy(), toy(4), config, tmp_path)
    evaluate_classifier(trained, toy(4), tmp_path / "evaluation")
    assert_curates_predictions_without_curate(trained.model_dir, tmp_path)


def test_the_weighting_used_is_reported(tiny_model, tmp_path):
    """A `sample_weight` column (rebalance {fill: weight}) is picked up, else `class_weights: balanced`; metrics.json
    and the trained model say which (that weights move the loss: `test_a_zero_weight_row_does_not_move_the_loss`)."""
    rows = toy().with_columns(pl.when(pl.col("label") == "login").then(3.0).otherwise(1.0).alias("sample_weight"))
    trained = train_classifier(rows, toy(4), TrainConfig(model=tiny_model, epochs=1, lr=5e-3, batch_size=8), tmp_path)
    metrics = evaluate_classifier(trained, toy(4), tmp_path / "evaluation")
    assert metrics["weighting"] == "sample_weight column"
    unweighted = train_classifier(
        toy(),
        toy(4),
        TrainConfig(model=tiny_model, epochs=1, lr=5e-3, batch_size=8, class_weights="balanced"),
        tmp_path / "b",
    )
    assert unweighted.probe["weighting"] == "balanced class weights"


def test_a_zero_weight_row_does_not_move_the_loss(tiny_model):
    import torch

    from curate.train.classify import load_backbone

    tokenizer, network = load_backbone(tiny_model, 2)
    encoded = tokenizer(["refund my money", "cannot log in"], padding=True, return_tensors="pt")
    labels = torch.tensor([0, 1])
    first_only = network(**encoded, labels=labels, weights=torch.tensor([1.0, 0.0])).loss
    alone = network(**tokenizer(["refund my money"], return_tensors="pt"), labels=labels[:1]).loss
    assert torch.isclose(first_only, alone, atol=1e-5)
    assert not torch.isclose(network(**encoded, labels=labels).loss, first_only, atol=1e-5)


def test_top_layers_train_on_cached_lower_states_as_the_whole_network_would(tiny_model, tmp_path):
    """With the lower layers frozen, their output is computed once: the top layers on those states give the whole
    network's probabilities, and training that way saves a model that `predict` reads like any other."""
    import numpy as np

    from curate.train.classify import _top_class, load_backbone, lower_states, predict, predict_cached

    tokenizer, network = load_backbone(tiny_model, 2)
    texts = toy(4)["text"].to_list()
    states = lower_states(network, tokenizer, texts, 32, frozen=1)
    assert (
        np.abs(predict_cached(_top_class()(network, 1), states) - predict(network, tokenizer, texts, 32)).max() < 1e-3
    )
    config = TrainConfig(model=tiny_model, epochs=3, lr=5e-3, batch_size=8, trainable_layers=1, early_stopping=0)
    trained = train_classifier(toy(), toy(4), config, tmp_path)
    assert [h["epoch"] for h in trained.history] == [0, 1, 2, 3]
    assert evaluate_classifier(trained, toy(4), tmp_path / "evaluation")["accuracy"] >= 0.75


def test_a_kept_probe_is_refitted_on_training_and_validation_rows(tiny_model, tmp_path):
    """When no fine-tuned epoch beats the probe, the saved head (and the baseline reported beside the fine-tune) is the
    logistic regression at the C validation chose, refitted on the training and validation rows together."""
    import numpy as np

    from curate.core.embed import Embedder
    from curate.train.classify import converged_logistic_regression, load_classifier

    train, validation = toy(), toy(4).with_columns(pl.col("text") + " again")
    trained = train_classifier(
        train,
        validation,
        TrainConfig(model=tiny_model, epochs=1, lr=1e-9, batch_size=8, early_stopping=0, refit_head=True),
        tmp_path,
    )
    assert trained.probe["refit_rows"] == train.height + validation.height
    assert trained.head_refit_rows is None  # `refit_head` acts on a kept fine-tune only
    assert trained.retrained is None and not (tmp_path / "all-rows").exists()  # and so does `retrain_on_all`
    _, network, labels = load_classifier(trained.model_dir)
    embedder, targets = Embedder(tiny_model), lambda rows: [labels.index(x) for x in rows["label"]]
    everything = pl.concat([train, validation])
    on_all = converged_logistic_regression(trained.probe["C"], 0).fit(
        embedder.encode(everything["text"].to_list()), targets(everything)
    )
    on_train = converged_logistic_regression(trained.probe["C"], 0).fit(
        embedder.encode(train["text"].to_list()), targets(train)
    )
    saved = network.head.weight.detach().numpy()
    binary = lambda coef: np.vstack([-coef / 2, coef / 2])  # sklearn's one-row binary model as two logits
    assert np.allclose(saved, binary(on_all.coef_), atol=1e-4)
    assert not np.allclose(saved, binary(on_train.coef_), atol=1e-4)
    # The kept model is the probe, also on texts longer than the training texts: it reads them as far as the probe did
    # (saved at the training texts' length, a long text scored 0.1 points under its own probe on 2,000 CLINC150 rows).
    from curate.train.classify import predict

    long_texts = [" ".join([text] * 12) for text in validation["text"].to_list()]
    tokenizer, _, _ = load_classifier(trained.model_dir)
    saved_length = json.loads((trained.model_dir / "classifier.json").read_text())["max_length"]
    assert len(tokenizer(long_texts[0])["input_ids"]) > trained_length(train, tokenizer)
    assert np.allclose(
        predict(network, tokenizer, long_texts, saved_length),
        trained.probe["model"].predict_proba(embedder.encode(long_texts)),
        atol=1e-4,
    )


def trained_length(rows: pl.DataFrame, tokenizer) -> int:
    from curate.train.classify import sequence_length

    return sequence_length(tokenizer, rows["text"].to_list(), 256)


def test_long_texts_are_scored_where_the_model_cuts_them_not_at_64_tokens(tiny_model, tmp_path):
    """A text past 64 tokens is evaluated as far as the model was trained to read it (its saved max_length), exactly as
    the sentence-transformers folder reads it: evaluating at a fixed 64 tokens scored CFPB's complaints on their first
    lines while the probe beside them read 256 tokens."""

    filler = " ".join(["please note the following about my account"] * 10)  # ~80 tokens before the words that matter
    train = toy().with_columns((pl.lit(filler + " ") + pl.col("text")).alias("text"))
    evaluation = toy(4).with_columns((pl.lit(filler + " ") + pl.col("text")).alias("text"))
    config = TrainConfig(model=tiny_model, epochs=1, lr=5e-3, batch_size=8, early_stopping=0, max_length=120)
    trained = train_classifier(train, evaluation, config, tmp_path)
    saved = json.loads((trained.model_dir / "classifier.json").read_text())["max_length"]
    assert saved > 64
    evaluate_classifier(trained, evaluation, tmp_path / "evaluation")
    ours = pl.read_parquet(tmp_path / "evaluation/predictions.parquet").sort("id")
    standard = without_curate(
        trained.model_dir,
        ours["text"].to_list(),
        "import numpy as np\n"
        "logits = model.encode(texts)\n"
        "p = np.exp(logits - logits.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)\n"
        "print(json.dumps(p.max(1).tolist()))\n",
        tmp_path,
    )
    assert ours["confidence"].to_list() == pytest.approx(standard, abs=1e-4)


def test_a_fine_tune_is_kept_only_when_it_beats_the_probe_by_more_than_chance():
    """The best fine-tuned epoch must win clearly more validation rows than it loses against the probe-initialised start:
    a one-row win on 200 rows (what kept a fine-tune that scored under its probe on 2,000 Bitext rows) keeps the probe,
    and says so with the rows; a CLINC150-size win keeps the fine-tune."""
    from curate.train.classify import kept_model

    def history(gained: int, lost: int, tuned_f1: float) -> list[dict]:
        return [
            {"epoch": 0, "validation_macro_f1": 0.9961},
            {"epoch": 1, "validation_macro_f1": tuned_f1, "validation_gained": gained, "validation_lost": lost},
            {"epoch": 2, "validation_macro_f1": 0.99, "validation_gained": 1, "validation_lost": 3},
        ]

    by_chance = kept_model(history(gained=1, lost=0, tuned_f1=1.0))
    assert by_chance["kept"] == "probe"
    assert "1 validation rows won and 0 lost" in by_chance["kept_why"] and "frozen encoder" in by_chance["kept_why"]
    assert "50% by chance alone" in by_chance["kept_why"]
    assert kept_model(history(gained=2, lost=0, tuned_f1=1.0))["kept"] == "probe"  # 25%: kept at z 1.28 (normal)
    assert kept_model(history(gained=3, lost=0, tuned_f1=1.0))["kept"] == "probe"  # 12.5%: over the 10% level
    assert kept_model(history(gained=4, lost=0, tuned_f1=1.0))["kept"] == "fine-tuned"  # 6.25%
    assert kept_model(history(gained=9, lost=5, tuned_f1=1.0))["kept"] == "probe"  # 21%: 4 net of 14 disagreements
    # CLINC150-size evidence: 11 won to 7 lost (24%; the former 5,000-row rule kept it) keeps the probe, 16 to 8 (7.6%)
    # the fine-tune.
    assert kept_model(history(gained=11, lost=7, tuned_f1=1.0))["kept"] == "probe"
    assert kept_model(history(gained=16, lost=8, tuned_f1=1.0))["kept"] == "fine-tuned"
    clear = kept_model(history(gained=40, lost=16, tuned_f1=1.0))  # 24 net rows of 1,510, as on CLINC150
    assert clear["kept"] == "fine-tuned" and "40 validation rows won and 16 lost" in clear["kept_why"]
    assert kept_model(history(gained=0, lost=0, tuned_f1=0.99))["kept"] == "probe"  # no epoch beat the start


def test_paired_evidence_counts_rows_and_measures_the_log_loss_gain_on_the_same_rows():
    """The kept decision's evidence, checked against counts by hand and scikit-learn's macro-F1: a tuned model more
    confident in the right class on most rows has a large positive log-loss z; one less confident, a negative one."""
    from sklearn.metrics import f1_score

    from curate.train.classify import _macro_f1, paired_evidence

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, size=300)
    start = rng.dirichlet(np.ones(5), size=300)
    better = start.copy()
    better[np.arange(300), truth] += 0.5
    better /= better.sum(1, keepdims=True)
    evidence = paired_evidence(start, better, truth, seed=0)
    start_right, better_right = start.argmax(1) == truth, better.argmax(1) == truth
    assert evidence["validation_gained"] == int(np.sum(better_right & ~start_right)) > 0
    assert evidence["validation_lost"] == int(np.sum(~better_right & start_right)) == 0
    assert evidence["validation_log_loss_z"] > 10 and evidence["validation_f1_higher_share"] > 0.99
    worse = paired_evidence(better, start, truth, seed=0)
    assert worse["validation_log_loss_z"] < -10 and worse["validation_f1_higher_share"] < 0.01
    for probabilities in (start, better):
        predicted = probabilities.argmax(1)
        assert _macro_f1(truth, predicted, 5) == pytest.approx(f1_score(truth, predicted, average="macro"))


def test_a_start_that_competes_is_saved_but_does_not_stop_training(tmp_path):
    """Early stopping counts epochs against the best trained epoch, not against a probe-initialised start: with the
    start at 0.90 and epochs scoring 0.50, 0.60, 0.70, 0.95 (patience 2), all four epochs run and the last is saved;
    counted against the start, training stopped after two epochs and kept the start."""
    import torch

    from curate.train.loop import fit

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return type("Out", (), {"loss": ((self.weight - x) ** 2).mean()})()

    scores = iter([0.90, 0.50, 0.60, 0.70, 0.95])
    saved: list[int] = []

    def score_epoch(train_loss: float) -> tuple[float, dict]:
        return next(scores), {}

    history, _, _ = fit(
        Tiny(),
        8,
        lambda index: {"x": torch.ones(len(index))},
        TrainConfig(epochs=4, batch_size=4, early_stopping=2),
        tmp_path,
        score_epoch,
        lambda: saved.append(len(saved)),
        score_before=True,
    )
    assert [h["epoch"] for h in history] == [0, 1, 2, 3, 4]
    assert len(saved) == 2  # the start, then the fourth epoch (0.95 > 0.90)
    scores = iter([0.90, 0.50, 0.40, 0.30, 0.95])  # two trained epochs without improving on the best trained one
    history, _, _ = fit(
        Tiny(),
        8,
        lambda index: {"x": torch.ones(len(index))},
        TrainConfig(epochs=4, batch_size=4, early_stopping=2),
        tmp_path / "again",
        score_epoch,
        lambda: None,
        score_before=True,
    )
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]


def test_the_chance_of_winning_is_the_exact_one_sided_binomial_p_value():
    """Checked against scipy's binomial test, another implementation of the same distribution."""
    from scipy.stats import binomtest

    from curate.train.classify import chance_of_winning

    for won, lost in [(2, 0), (12, 6), (16, 6), (9, 5), (0, 3), (40, 16), (1, 1)]:
        expected = binomtest(won, won + lost, 0.5, alternative="greater").pvalue
        assert chance_of_winning(won, lost) == pytest.approx(expected, rel=1e-9)
    assert chance_of_winning(0, 0) == 1.0


def test_the_probe_is_the_same_for_the_same_rows_in_another_order():
    """The probe is fitted to convergence: at scikit-learn's default tolerance, the bundled sample's 2,002 tickets in a
    shuffled order gave one eval prediction and probabilities up to 0.016 apart (C=100), and CLINC150's scores moved
    by 0.13 points with row order, as much as the lift the runner is asked to prove."""
    from curate.core.embed import Embedder
    from curate.io.writers import load_dataset
    from curate.train.classify import converged_logistic_regression

    rows = load_dataset("data/sample/tickets.csv", text="body", label="intent")
    evaluation = load_dataset("data/sample/eval.csv", text="body", label="intent")
    embedder = Embedder()
    vectors, targets = embedder.encode(rows["text"].to_list()), np.array(rows["label"].to_list())
    held_out = embedder.encode(evaluation["text"].to_list())
    order = np.random.default_rng(0).permutation(len(targets))
    in_file_order = converged_logistic_regression(100.0, 0).fit(vectors, targets)
    shuffled = converged_logistic_regression(100.0, 0).fit(vectors[order], targets[order])
    assert (in_file_order.predict(held_out) == shuffled.predict(held_out)).all()
    assert np.abs(in_file_order.predict_proba(held_out) - shuffled.predict_proba(held_out)).max() < 0.005


def saved_embeddings(folder, texts: list[str]) -> np.ndarray:
    """A saved classifier's encoder read with transformers alone, mean-pooled and normalised by hand (the oracle)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    encoder, tokenizer = AutoModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
    with torch.no_grad():
        encoded = tokenizer(texts, padding=True, return_tensors="pt")
        hidden = encoder(**encoded).last_hidden_state.numpy()
    mask = encoded["attention_mask"].numpy()[..., None]
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_a_kept_fine_tune_can_have_its_head_refitted_on_training_and_validation_rows(tiny_model, tmp_path, monkeypatch):
    """With `refit_head`, a kept fine-tune's head is logistic regression (the probe's C) on the saved encoder's own
    mean-pooled, normalised embeddings of the training and validation rows."""
    from curate.train import classify

    monkeypatch.setattr(classify, "kept_model", lambda *_, **__: {"kept": "fine-tuned", "kept_why": "test"})
    train, validation = toy(), toy(4).with_columns(pl.col("text") + " again")
    config = TrainConfig(model=tiny_model, epochs=2, lr=1e-2, batch_size=8, early_stopping=0, refit_head=True)
    trained = train_classifier(train, validation, config, tmp_path)
    assert trained.head_refit_rows == train.height + validation.height
    assert trained.retrained is None  # asked for, the refit is done instead of training again on every row
    everything = pl.concat([train, validation])
    targets = [trained.labels.index(x) for x in everything["label"]]
    expected = classify.converged_logistic_regression(trained.probe["C"], 0).fit(
        saved_embeddings(trained.model_dir, everything["text"].to_list()), targets
    )
    tokenizer, network, _ = classify.load_classifier(trained.model_dir)
    texts = everything["text"].to_list()
    assert np.allclose(
        classify.predict(network, tokenizer, texts, 64),
        expected.predict_proba(saved_embeddings(trained.model_dir, texts)),
        atol=1e-3,
    )
    metrics = evaluate_classifier(trained, validation, tmp_path / "evaluation")
    assert "head then refitted by logistic regression" in metrics["kept_why"]
    assert f"{train.height + validation.height:,} training and validation rows" in metrics["kept_why"]
    # The refitted folder still loads without curate and predicts as curate does.
    assert_curates_predictions_without_curate(trained.model_dir, tmp_path)


def test_the_refitted_head_reads_the_fine_tuned_encoder_not_the_backbone(tiny_model, tmp_path):
    """`refit_head` fits on the saved (fine-tuned) encoder's embeddings: an encoder whose top layer moved gets the head
    fitted to it, not the one the backbone's embeddings would give."""
    import torch

    from curate.train import classify

    tokenizer, network = classify.load_backbone(tiny_model, 2)
    with torch.no_grad():
        top = network.encoder.encoder.layer[-1].output.dense
        top.weight.add_(torch.randn(top.weight.shape, generator=torch.Generator().manual_seed(0)))
    folder = tmp_path / "model"
    classify.save_classifier(network, tokenizer, ["login", "refund"], folder, 32)
    rows = toy()
    targets = np.array([["login", "refund"].index(x) for x in rows["label"]])
    classify.refit_head(folder, rows["text"].to_list(), targets, 10.0, 0)

    tokenizer, refitted, labels = classify.load_classifier(folder)
    assert labels == ["login", "refund"]
    texts = rows["text"].to_list()
    on_saved = classify.converged_logistic_regression(10.0, 0).fit(saved_embeddings(folder, texts), targets)
    on_backbone = classify.converged_logistic_regression(10.0, 0).fit(saved_embeddings(tiny_model, texts), targets)
    predicted = classify.predict(refitted, tokenizer, texts, 32)
    assert np.allclose(predicted, on_saved.predict_proba(saved_embeddings(folder, texts)), atol=1e-3)
    assert np.abs(predicted - on_backbone.predict_proba(saved_embeddings(folder, texts))).max() > 0.05


def test_a_kept_fine_tune_is_trained_again_on_training_and_validation_rows(tiny_model, tmp_path, monkeypatch):
    """`retrain_on_all`: once validation chose epoch 2 and the fine-tune is kept, the saved model is one trained again
    from its start on the training and validation rows for 2 epochs, each row's cached lower-layer states beside its
    own label; it is not the model validation chose."""
    import torch

    from curate.train import classify

    monkeypatch.setattr(classify, "kept_model", lambda *_, **__: {"kept": "fine-tuned", "kept_why": "test"})
    monkeypatch.setattr(classify, "best_scored", lambda history: {"epoch": 2, "validation_macro_f1": 1.0})
    batches = []
    real_batch_maker = classify.batch_maker
    monkeypatch.setattr(classify, "batch_maker", lambda *args: batches.append(args) or real_batch_maker(*args))
    train, validation = toy(), toy(4).with_columns(pl.col("text") + " again")
    config = TrainConfig(model=tiny_model, epochs=3, lr=5e-3, batch_size=8, trainable_layers=1, early_stopping=0)
    trained = train_classifier(train, validation, config, tmp_path / "again")
    assert trained.retrained["rows"] == train.height + validation.height and trained.retrained["epochs"] == 2
    history = json.loads((tmp_path / "again" / "all-rows" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[-1]["step"] == 2 * -(-(train.height + validation.height) // 8)  # two epochs of every row

    texts, targets, _, states, tokenizer, max_length, _ = batches[-1]  # the second run's batches
    everything = pl.concat([train, validation])
    assert texts == everything["text"].to_list()
    assert [trained.labels[t] for t in targets] == everything["label"].to_list()
    _, backbone = classify.load_backbone(tiny_model, 2)
    for i in (0, train.height - 1, train.height, len(texts) - 1):  # each side of the join: a text's own states
        alone = classify.lower_states(backbone, tokenizer, [texts[i]], max_length, frozen=1)[0]
        assert torch.allclose(states[i].float(), alone.float(), atol=1e-2)

    metrics = evaluate_classifier(trained, validation, tmp_path / "evaluation")
    assert (
        f"trained again from its start on the {everything.height:,} training and validation rows"
        in (metrics["kept_why"])
    )
    # What validation chose (trained on the training rows alone) is not what was saved.
    chosen = train_classifier(
        train, validation, TrainConfig(**{**config.__dict__, "retrain_on_all": False}), tmp_path / "chosen"
    )
    assert chosen.retrained is None
    predictions = []
    for model in (trained.model_dir, chosen.model_dir):
        tokenizer, network, _ = classify.load_classifier(model)
        predictions.append(classify.predict(network, tokenizer, texts, 32))
    assert np.abs(predictions[0] - predictions[1]).max() > 1e-3


def test_a_fixed_step_budget_is_not_trained_again(tiny_model, tmp_path, monkeypatch):
    from curate.train import classify

    monkeypatch.setattr(classify, "kept_model", lambda *_, **__: {"kept": "fine-tuned", "kept_why": "test"})
    monkeypatch.setattr(classify, "best_scored", lambda history: {"epoch": 1, "validation_macro_f1": 1.0})
    config = TrainConfig(model=tiny_model, max_steps=3, lr=5e-3, batch_size=8, early_stopping=0)
    trained = train_classifier(toy(), toy(4), config, tmp_path)
    assert trained.retrained is None and not (tmp_path / "all-rows").exists()


def test_without_validation_the_last_epoch_is_saved_not_the_start(tiny_model, tmp_path):
    """With no validation rows the epochs compete on training loss; the probe-initialised start, which has none, must
    not be the model saved (its score was NaN, which no epoch ever beat)."""
    import torch
    from transformers import AutoModel

    config = TrainConfig(model=tiny_model, epochs=2, lr=5e-2, batch_size=8, trainable_layers=None, early_stopping=0)
    trained = train_classifier(toy(), None, config, tmp_path)
    saved, backbone = AutoModel.from_pretrained(trained.model_dir), AutoModel.from_pretrained(tiny_model)
    moved = [not torch.allclose(a, b) for (_, a), (_, b) in zip(saved.named_parameters(), backbone.named_parameters())]
    assert any(moved)  # the start is the backbone's encoder untouched


def test_a_run_that_stopped_early_stays_stopped_when_resumed(tiny_model, tmp_path):
    config = TrainConfig(model=tiny_model, epochs=6, lr=1e-12, batch_size=8, early_stopping=1, trainable_layers=1)
    first = train_classifier(toy(), toy(4), config, tmp_path)
    assert [h["epoch"] for h in first.history] == [0, 1, 2]  # epoch 2 did not beat epoch 1: stopped
    again = train_classifier(toy(), toy(4), config, tmp_path)
    assert again.history == first.history and again.samples_per_second == 0.0


def test_a_run_resumed_without_training_again_saves_the_epoch_validation_chose(tiny_model, tmp_path, monkeypatch):
    """`model/` is written once the run has decided: resumed in the same folder with `retrain_on_all: false`, a run
    that had trained again saves the best epoch, not the model trained again."""
    from curate.train import classify

    monkeypatch.setattr(classify, "kept_model", lambda *_, **__: {"kept": "fine-tuned", "kept_why": "test"})
    monkeypatch.setattr(classify, "best_scored", lambda history: {"epoch": 1, "validation_macro_f1": 1.0})
    config = TrainConfig(model=tiny_model, epochs=1, lr=5e-3, batch_size=8, early_stopping=0, trainable_layers=1)
    head = lambda: (tmp_path / "model" / "head.safetensors").read_bytes()  # noqa: E731
    assert train_classifier(toy(), toy(4), config, tmp_path).retrained is not None
    retrained_head = head()
    assert retrained_head != (tmp_path / "best-epoch" / "head.safetensors").read_bytes()
    resumed = train_classifier(toy(), toy(4), TrainConfig(**{**config.__dict__, "retrain_on_all": False}), tmp_path)
    assert resumed.retrained is None and resumed.samples_per_second == 0.0
    assert head() == (tmp_path / "best-epoch" / "head.safetensors").read_bytes() != retrained_head


def test_a_checkpoint_of_the_former_layout_starts_afresh(tiny_model, tmp_path):
    """Runs before `best-epoch/` saved the best epoch to `model/` (which a kept probe overwrote): their checkpoint is
    not resumed, so a finished one cannot leave the run without a best epoch to publish."""
    import shutil

    import torch

    config = TrainConfig(model=tiny_model, epochs=1, lr=5e-3, batch_size=8, early_stopping=0, trainable_layers=1)
    train_classifier(toy(), None, config, tmp_path)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    saved["run_key"] = saved["run_key"].removeprefix("best-epoch/")  # the key such a run wrote
    torch.save(saved, tmp_path / "checkpoint.pt")
    shutil.rmtree(tmp_path / "best-epoch")
    again = train_classifier(toy(), None, config, tmp_path)
    assert again.samples_per_second > 0 and (tmp_path / "model" / "head.safetensors").exists()
