"""Does curation help a responder? Fine-tune the packaged SmolLM2-135M-Instruct with curate's generate runner on raw
vs curated prompt → response pairs of real support sets, the same number of pairs from each, and score the models on
untouched held-out pairs: perplexity of the reference answers, and how many greedy answers leak a template slot or PII.

    python benchmarks/generate_lift.py run --sets bitext twitter --seeds 1
    python benchmarks/generate_lift.py table            # rebuilds the table from the result files

Every (set, configuration, seed) cell is written to its own JSON file under `benchmarks/results/generate_lift/` as
soon as it finishes, and a cell whose file exists is skipped, so the grid fills over several sittings (run it in the
background, commit the files). A configuration's directory carries a hash of the stages it ran (every parameter
resolved) and of the cell's settings, so a changed recipe or a changed size starts its cells afresh.

Sets (the held-out pairs are the same for every configuration and seed, never curated, never trained on):
  bitext    Bitext's 4,514 instruction → response pairs (answers are templates with `{{Order Number}}` slots); held
            out: 30% of the normalised instructions (lift.py's `held_out`, seed 0, stratified by intent)
  twitter   Twitter customer care: train from dev.jsonl (525 conversations), held out from test.jsonl (500); a pair is
            curate's views of a conversation: the user turns joined → the last assistant turn
Configurations:
  base            the packaged model, not fine-tuned (a reference row, one cell per set)
  raw             the training pairs as published (empty prompts or answers left out)
  curated         the repo's recipe for the data (recipes/pairs.yaml for Bitext, recipes/conversations.yaml for
                  Twitter) without its split, review, gate and train stages, run by `curate.run`; trained on approved rows
  curated-strict  Bitext only: pairs.yaml with `responses: {actions: {template_slot: drop, bracket_placeholder: drop}}`,
                  the recipe's setting for a responder that must never emit a slot
Each seed takes the same number of training pairs from each configuration (so the comparison is of quality, not
quantity; the full count is recorded), the first in one seeded order of the raw ids, so raw and curated share the
pairs curation kept, and seeds the runner; curation runs once per set and configuration (its
recipes' seed is fixed), cached under /tmp.
Leakage, on the raw greedy generations: `slot` = quality's TEMPLATE_SLOT (`{{...}}`, `{snake_case}`, `[[...]]`,
`<Agent Name>`, bare HTML tags aside) or a bracketed placeholder as `responses` reads one (`[Customer Support Phone
Number]`; checkboxes, footnotes and markdown links aside) other than curate's own redaction placeholders, which
(`[EMAIL]`, `[PHONE_2]`...) are counted apart as `placeholder`; `pii` = curate's PII finder (`curate.core.pii`) finds
a span in the generation. Result files keep prompts and generations with PII replaced by the finder's placeholders.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "generate_lift"
CACHE = Path(tempfile.gettempdir()) / "curate_generate_lift"
RECIPES = {"bitext": ROOT / "recipes" / "pairs.yaml", "twitter": ROOT / "recipes" / "conversations.yaml"}
NOT_DATA_STAGES = {"review", "split", "gate", "train"}  # the grid trains on approved rows, scores on its held-out pairs
SETS = ["bitext", "twitter"]
CONFIGS = ["base", "raw", "curated", "curated-strict"]
VARIANTS = {"curated-strict": ("responses", {"actions": {"template_slot": "drop", "bracket_placeholder": "drop"}})}
ONLY_ON = {"curated-strict": {"bitext"}}
SETTINGS = {  # what a cell costs and measures; part of the configuration's hash
    "pairs": 64,
    "epochs": 1,
    "batch_size": 8,
    "max_length": 128,
    "lr": 3e-4,  # the runner's default
    "eval_pairs": 48,
    "generations": 30,
    "max_new_tokens": 48,
    "sample": "paired",  # each configuration's first pairs in one seeded order of the raw ids (`paired_sample`)
}


# ---------------------------------------------------------------- data sets: (training pairs, held-out pairs)
def bitext() -> tuple[pl.DataFrame, pl.DataFrame]:
    from lift import held_out

    rows = pl.read_csv(
        SHARED / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv", infer_schema=False
    ).select(pl.col("instruction").alias("text"), "response", pl.col("intent").alias("label"))
    rows = rows.with_columns(pl.format("b{}", pl.int_range(pl.len())).alias("id"))
    return held_out(rows, 0)


def twitter() -> tuple[pl.DataFrame, pl.DataFrame]:
    def pairs(name: str) -> pl.DataFrame:
        from curate.core.messages import views

        records = [json.loads(line) for line in (SHARED / "twitter_customer_care" / name).read_text().splitlines()]
        return pl.DataFrame(
            [(r["id"], *views(r["messages"])[:2], r["company"]) for r in records],
            schema=["id", "text", "response", "label"],
            orient="row",
        )

    return pairs("dev.jsonl"), pairs("test.jsonl")


LOADERS = {"bitext": bitext, "twitter": twitter}
INPUTS = {
    "bitext": lambda path: {"path": str(path), "text": "text", "label": "label", "id": "id", "response": "response"},
    "twitter": lambda path: {"path": str(SHARED / "twitter_customer_care" / "dev.jsonl")},
}


def usable(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.filter(
        pl.col("text").is_not_null()
        & (pl.col("text").str.strip_chars() != "")
        & pl.col("response").is_not_null()
        & (pl.col("response").str.strip_chars() != "")
    )


def held_out_pairs(test: pl.DataFrame, n: int) -> pl.DataFrame:
    """The same `n` held-out pairs for every configuration and seed: a seeded draw from the untouched test rows."""
    return usable(test).sample(n=min(n, usable(test).height), seed=0, shuffle=True)


# ---------------------------------------------------------------- configurations
def recipe_entries(set_name: str, config: str) -> list[tuple[str, dict]] | None:
    """The stages a configuration runs, read from the set's recipe (None: no curation)."""
    import yaml

    if config in ("base", "raw"):
        return None
    entries = []
    for entry in yaml.safe_load(RECIPES[set_name].read_text())["stages"]:
        name, params = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        if name not in NOT_DATA_STAGES:
            entries.append((name, dict(params or {})))
    if config in VARIANTS:
        stage, override = VARIANTS[config]
        entries = [(n, {**p, **override} if n == stage else p) for n, p in entries]
    return entries


# Bumped for a set when a stage changes what it does to that set's pairs without a parameter changing (a parameter
# change alters the hash by itself); a set whose curated pairs stayed the same keeps its cells.
# twitter 1: clean removes a thanks only where punctuation or a line break sets it off (13 of 524 prompts differ).
BEHAVIOUR = {"twitter": 1}


def config_id(set_name: str, config: str) -> str:
    """The configuration's name plus a hash of its stages with every parameter resolved, of the cell's settings and,
    where a stage's behaviour changed for the set, of that change. A parameter added to a stage later is left out
    while it has the value that keeps the old behaviour (lift.py's `without_later_additions`), so adding one does not
    make finished cells look stale. Redact's `messages` column is not such an addition here: on pairs and conversations
    it does something."""
    import dataclasses

    from curate.recipe.registry import build_stage

    from lift import without_later_additions

    entries = recipe_entries(set_name, config) or []
    resolved = [
        (
            name,
            without_later_additions(
                name, dataclasses.asdict(build_stage(name, copy.deepcopy(params))), list_items=False
            ),
        )
        for name, params in entries
    ]
    settings = {
        k: v
        for k, v in SETTINGS.items()
        if config != "base" or k in ("eval_pairs", "generations", "max_new_tokens", "max_length")
    }
    hashed = [resolved, settings] + ([BEHAVIOUR[set_name]] if entries and set_name in BEHAVIOUR else [])
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{config}@{digest}"


def curated_rows(set_name: str, config: str, train: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """(approved pairs, what curation did), by `curate.run` on the set's training rows; cached per configuration."""
    import curate

    cached = CACHE / set_name / config_id(set_name, config)
    if (cached / "approved.parquet").exists():
        return pl.read_parquet(cached / "approved.parquet"), json.loads((cached / "curation.json").read_text())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "train.csv"
        train.write_csv(source)
        run = curate.run(
            {
                "input": INPUTS[set_name](source),
                "stages": [name if not params else {name: params} for name, params in recipe_entries(set_name, config)],
                "seed": 0,
            }
        )
    approved = usable(run.approved.select("id", "text", "response"))
    flags = (
        run.approved["response_flags"].explode().drop_nulls().str.replace(r"^message \d+ \(\w+\): ", "").value_counts()
        if "response_flags" in run.approved.columns
        else None
    )
    curation = {
        "input_rows": run.report["totals"]["input_rows"],
        "approved": approved.height,
        "rejected": {
            f"{stage}: {reason}": n
            for stage, reason, n in run.rejected.group_by("stage", "reason")
            .len()
            .sort("len", descending=True)
            .iter_rows()
        },
        "response_flags": {k: n for k, n in flags.iter_rows() if k} if flags is not None else {},
        "pii_rows": int(run.approved["pii"].is_not_null().sum()) if "pii" in run.approved.columns else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    cached.mkdir(parents=True, exist_ok=True)
    approved.write_parquet(cached / "approved.parquet")
    (cached / "curation.json").write_text(json.dumps(curation, indent=1))
    return approved, curation


# ---------------------------------------------------------------- model, scores
def base_model_folder() -> Path:
    """The packaged GGUF model de-quantised once and saved as a plain folder, so each cell loads it in seconds."""
    from curate.train.generate import load_causal_lm, save_causal_lm

    folder = CACHE / "smollm2-base"
    if not (folder / "config.json").exists():
        tokenizer, network = load_causal_lm(None, "training a response generator")
        save_causal_lm(network, tokenizer, folder)
    return folder


def leaks(text: str) -> dict:
    """What a generation leaks: template slots, bracketed placeholders, curate's placeholders and PII kinds."""
    from curate.core.pii import PLACEHOLDER, PiiFinder
    from curate.stages.quality.quality import BARE_HTML_TAG, TEMPLATE_SLOT
    from curate.stages.quality.responses import BRACKETED, CHECKBOX_OR_FOOTNOTE

    slots = re.findall(TEMPLATE_SLOT, re.sub(BARE_HTML_TAG, "", text))
    ours = PLACEHOLDER.findall(text)
    brackets = [b for b in re.findall(BRACKETED, PLACEHOLDER.sub("", text)) if not re.search(CHECKBOX_OR_FOOTNOTE, b)]
    pii = sorted({span.kind for span in PiiFinder().find(text)})
    return {"slots": slots, "brackets": [b.rstrip() for b in brackets], "placeholders": ours, "pii": pii}


def generations(network, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int = 10) -> list[str]:
    """Greedy answers, prompts through the chat template, left-padded in batches."""
    import torch

    from curate.train.generate import prompt_text

    network.eval()
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    answers = []
    try:
        for start in range(0, len(prompts), batch_size):
            encoded = tokenizer(
                [prompt_text(tokenizer, p) for p in prompts[start : start + batch_size]],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            )
            with torch.no_grad():
                out = network.generate(
                    **encoded, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
                )
            answers += tokenizer.batch_decode(out[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
    finally:
        tokenizer.padding_side = side
    return answers


def score(model_dir: Path, held_out: pl.DataFrame) -> dict:
    """Perplexity of the reference answers given their prompts, and leakage in greedy answers to the first prompts."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from curate.core.pii import PiiFinder
    from curate.train.generate import response_loss

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    network = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    started = time.perf_counter()
    loss = response_loss(network, tokenizer, held_out, SETTINGS["max_length"])
    loss_seconds = time.perf_counter() - started
    prompts = held_out.head(SETTINGS["generations"])["text"].to_list()
    started = time.perf_counter()
    answers = generations(network, tokenizer, prompts, SETTINGS["max_new_tokens"])
    found = [leaks(a) for a in answers]
    finder = PiiFinder()
    n = len(answers)
    return {
        "eval_pairs": held_out.height,
        "eval_loss": round(loss, 4),
        "perplexity": round(math.exp(min(loss, 50)), 3),
        "generated": n,
        "slot_share": sum(bool(f["slots"] or f["brackets"]) for f in found) / n,
        "template_slot_share": sum(bool(f["slots"]) for f in found) / n,
        "bracket_share": sum(bool(f["brackets"]) for f in found) / n,
        "pii_share": sum(bool(f["pii"]) for f in found) / n,
        "placeholder_share": sum(bool(f["placeholders"]) for f in found) / n,
        "pii_kinds": {k: sum(k in f["pii"] for f in found) for k in sorted({k for f in found for k in f["pii"]})},
        "score_seconds": {"perplexity": round(loss_seconds, 1), "generation": round(time.perf_counter() - started, 1)},
        "samples": [
            {
                "prompt": finder.redact(p)[0][:300],
                "generated": finder.redact(a)[0],
                "slots": f["slots"] + f["brackets"],
                "placeholders": f["placeholders"],
                "pii": f["pii"],
            }
            for p, a, f in zip(prompts, answers, found)
        ],
    }


def paired_sample(pool: pl.DataFrame, order: pl.Series, n: int) -> pl.DataFrame:
    """The first `n` rows of `pool` in the seed's order of the raw ids: raw and curated train on the same pairs where
    curation kept them (as it rewrote them), so a difference is curation's and not another draw's."""
    rank = pl.DataFrame({"id": order, "_rank": pl.int_range(order.len(), eager=True)})
    return pool.join(rank, on="id").sort("_rank").head(n).drop("_rank")


def fine_tune(rows: pl.DataFrame, seed: int, out: Path) -> tuple[Path, dict]:
    """curate's generate runner on `rows` (text, response): one epoch, no validation split (the held-out pairs are
    scored apart), from the packaged model."""
    from curate.train.generate import train_generator
    from curate.train.loop import TrainConfig

    config = TrainConfig(
        task="generate",
        model=str(base_model_folder()),
        epochs=SETTINGS["epochs"],
        batch_size=SETTINGS["batch_size"],
        max_length=SETTINGS["max_length"],
        lr=SETTINGS["lr"],
        early_stopping=0,
        seed=seed,
    )
    trained = train_generator(rows, None, config, out)
    return trained.model_dir, {
        "training_seconds": round(trained.seconds, 1),
        "train_loss": [round(h["train_loss"], 4) for h in trained.history],
    }


# ---------------------------------------------------------------- the grid
def cell_path(set_name: str, config: str, seed: int) -> Path:
    return RESULTS / set_name / config_id(set_name, config) / f"seed{seed}.json"


def applies(set_name: str, config: str, seed: int) -> bool:
    return set_name in ONLY_ON.get(config, {set_name}) and (config != "base" or seed == 0)


def run_grid(sets: list[str], configs: list[str], seeds: int) -> None:
    for seed in range(seeds):  # seed-major: every configuration of seed 0 first, so a partial grid already compares
        for set_name in sets:
            todo = [c for c in configs if applies(set_name, c, seed) and not cell_path(set_name, c, seed).exists()]
            if not todo:
                continue
            train, test = LOADERS[set_name]()
            held_out = held_out_pairs(test, SETTINGS["eval_pairs"])
            order = usable(train)["id"].sample(fraction=1.0, seed=seed, shuffle=True)
            for config in todo:
                started = time.perf_counter()
                curation = None
                if config == "base":
                    pool, trained, model_dir = None, {}, base_model_folder()
                    scores = score(model_dir, held_out)
                else:
                    pool = usable(train.select("id", "text", "response"))
                    if config != "raw":
                        pool, curation = curated_rows(set_name, config, train)
                    sample = paired_sample(pool, order, SETTINGS["pairs"])
                    with tempfile.TemporaryDirectory() as out:
                        model_dir, trained = fine_tune(sample, seed, Path(out))
                        scores = score(model_dir, held_out)
                cell = {
                    "set": set_name,
                    "config": config,
                    "config_id": config_id(set_name, config),
                    "seed": seed,
                    "settings": SETTINGS,
                    "train_pairs": min(SETTINGS["pairs"], pool.height) if pool is not None else 0,
                    "available_pairs": pool.height if pool is not None else None,
                    "input_rows": train.height,
                    "curation": curation,
                    **trained,
                    "seconds": round(time.perf_counter() - started, 1),
                    **scores,
                }
                path = cell_path(set_name, config, seed)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(cell, indent=1, ensure_ascii=False) + "\n")
                print(
                    f"{set_name} seed {seed} {config}: {cell['train_pairs']} of {cell['available_pairs']} pairs, "
                    f"perplexity {scores['perplexity']}, slot {scores['slot_share']:.2f}, pii {scores['pii_share']:.2f} "
                    f"({cell['seconds']} s)",
                    file=sys.stderr,
                    flush=True,
                )


def table(sets: list[str], configs: list[str]) -> str:
    """Markdown: per set, each configuration's means over the seeds it has, and paired differences with raw."""
    lines = [
        "Mean over seeds (± std where more than one); Δ raw = paired mean difference with raw (same seeds). Perplexity:",
        "per token of the untouched held-out reference answers given their prompts. Leaks: share of greedy answers to",
        "held-out prompts with a template slot or bracketed placeholder (slot), personal data by curate's finder (PII),",
        "curate's own redaction placeholder (`[EMAIL]`...).",
        "",
    ]
    for set_name in sets:
        cells = {}
        for config in configs:
            directory = RESULTS / set_name / config_id(set_name, config)
            found = {
                int(p.stem.removeprefix("seed")): json.loads(p.read_text())
                for p in sorted(directory.glob("seed*.json"))
            }
            if found:
                cells[config] = found
        if not cells:
            continue
        any_cell = next(iter(next(iter(cells.values())).values()))
        lines += [
            f"**{set_name}** ({any_cell['eval_pairs']} held-out pairs for perplexity, {any_cell['generated']} generations)",
            "",
            "| configuration | seeds | trained on (of available) | perplexity | Δ raw | slot | Δ raw | PII | placeholder | s/cell |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for config, found in cells.items():

            def mean(key: str, fmt: str) -> str:
                values = [c[key] for c in found.values()]
                spread = f" ± {statistics.stdev(values):{fmt}}" if len(values) > 1 else ""
                return f"{np.mean(values):{fmt}}{spread}"

            def delta(key: str, fmt: str) -> str:
                other = cells.get("raw", {})
                paired = [found[s][key] - other[s][key] for s in found if s in other]
                if not paired or config in ("raw", "base"):
                    return ""
                spread = f" ± {statistics.stdev(paired):{fmt}}" if len(paired) > 1 else ""
                return f"{np.mean(paired):+{fmt}}{spread}"

            first = next(iter(found.values()))
            trained_on = "—" if config == "base" else f"{first['train_pairs']} ({first['available_pairs']:,})"
            lines.append(
                f"| {config} | {len(found)} | {trained_on} | {mean('perplexity', '.2f')} | {delta('perplexity', '.2f')} | "
                f"{mean('slot_share', '.2f')} | {delta('slot_share', '.2f')} | {mean('pii_share', '.2f')} | "
                f"{mean('placeholder_share', '.2f')} | {np.mean([c['seconds'] for c in found.values()]):.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["run", "table"])
    parser.add_argument("--sets", nargs="+", choices=SETS, default=SETS)
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=CONFIGS)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if args.action == "run":
        import torch

        torch.set_num_threads(1)  # on a shared, busy machine one thread is 3-9x faster than two
        run_grid(args.sets, args.configs, args.seeds)
    print(table(args.sets, args.configs))


if __name__ == "__main__":
    main()
