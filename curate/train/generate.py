"""Fine-tune a causal LM on prompt -> response pairs (the `generate` task), loss on the response only.

Default model: the packaged SmolLM2-135M-Instruct (GGUF, de-quantised to fp32). Prompts go through
the tokenizer's chat template when it has one. Evaluation reports perplexity on the evaluation
responses and a few sample generations. GGUF-loaded models cannot be saved as they are, so the
weights are moved into a model rebuilt from the config before saving.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.core.columns import RESPONSE, TEXT
from curate.core.errors import CurateError
from curate.core.extras import require
from curate.core.model_loading import load_causal_lm
from curate.train.loop import OnStep, TrainConfig, TrainedModel, batches, fit, seed_everything


def prompt_text(tokenizer, prompt: str, system: str | None = None) -> str:
    if getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"{prompt}\n"


def encode_pairs(tokenizer, prompts: list[str], responses: list[str], max_length: int):
    """input_ids, attention_mask and labels with the prompt and padding masked out (-100)."""
    import torch

    ids, labels = [], []
    for prompt, response in zip(prompts, responses, strict=True):
        head = tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False)["input_ids"]
        tail = tokenizer(response + (tokenizer.eos_token or ""), add_special_tokens=False)["input_ids"]
        sequence = (head + tail)[:max_length]
        ids.append(sequence)
        labels.append(([-100] * len(head) + tail)[:max_length])
    width = max(len(s) for s in ids)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([s + [pad] * (width - len(s)) for s in ids])
    attention = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in ids])
    label_ids = torch.tensor([s + [-100] * (width - len(s)) for s in labels])
    return input_ids, attention, label_ids


def save_causal_lm(network, tokenizer, folder: Path) -> None:
    """Save, moving GGUF-loaded weights into a model rebuilt from its config (GGUF models refuse to save)."""
    from transformers import AutoModelForCausalLM

    config = network.config
    if getattr(config, "quantization_config", None) is not None:
        del config.quantization_config
    clean = AutoModelForCausalLM.from_config(config)
    clean.load_state_dict(network.state_dict())
    clean.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def response_loss(network, tokenizer, rows: pl.DataFrame, max_length: int, batch_size: int = 8) -> float:
    """Mean negative log-likelihood per response token."""
    import torch

    network.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for index in batches(rows.height, batch_size, None):
            part = rows[index.tolist()]
            input_ids, attention, labels = encode_pairs(
                tokenizer, part[TEXT].to_list(), part[RESPONSE].to_list(), max_length
            )
            logits = network(input_ids=input_ids, attention_mask=attention).logits[:, :-1]
            target = labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=-100, reduction="sum"
            )
            total += loss.item()
            tokens += int((target != -100).sum())
    return total / max(tokens, 1)


def train_generator(
    train: pl.DataFrame, validation: pl.DataFrame | None, config: TrainConfig, out: Path, on_step: OnStep | None = None
) -> TrainedModel:
    """Train on (text, response) pairs; keep the epoch with the lowest validation loss (no checkpoint: 135M parameters)."""
    train = train.filter(pl.col(RESPONSE).is_not_null()) if RESPONSE in train.columns else train.clear()
    if train.is_empty():
        raise CurateError(
            "the generate task needs a `response` column with text",
            "train.task",
            hint="map it in the input (`response: answer`), or use OpenAI chat JSONL",
        )
    require("training a response generator", "torch", "transformers")  # this file's own torch and transformers
    seed_everything(config.seed)
    tokenizer, network = load_causal_lm(config.model, "training a response generator")
    prompts, responses = train[TEXT].to_list(), train[RESPONSE].to_list()
    held_out = (
        validation.filter(pl.col(RESPONSE).is_not_null())
        if validation is not None and RESPONSE in validation.columns
        else None
    )

    def make_batch(index: np.ndarray) -> dict:
        input_ids, attention, labels = encode_pairs(
            tokenizer, [prompts[i] for i in index], [responses[i] for i in index], config.max_length
        )
        return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}

    def score_epoch(train_loss: float) -> tuple[float, dict[str, float]]:
        if held_out is None or not held_out.height:
            return -train_loss, {}
        loss = response_loss(network, tokenizer, held_out, config.max_length)
        return -loss, {"validation_loss": loss}

    history, seconds, speed = fit(
        network,
        train.height,
        make_batch,
        config,
        out,
        score_epoch,
        lambda: save_causal_lm(network, tokenizer, out / "model"),
        None,
        on_step,
    )
    return TrainedModel(out / "model", [], history, seconds, speed)


def evaluate_generator(
    model_dir: Path, rows: pl.DataFrame, out: Path, max_length: int = 128, samples: int = 5, max_new_tokens: int = 64
) -> dict[str, Any]:
    """Perplexity on the evaluation responses and a few greedy sample generations."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    network = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = rows.filter(pl.col(RESPONSE).is_not_null())
    loss = response_loss(network, tokenizer, rows, max_length)
    examples = []
    for row in rows.head(samples).iter_rows(named=True):
        encoded = tokenizer(prompt_text(tokenizer, row[TEXT]), return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            generated = network.generate(
                **encoded, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        examples.append(
            {
                "prompt": row[TEXT],
                "reference": row[RESPONSE][:500],
                "generated": tokenizer.decode(generated[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True),
            }
        )
    metrics = {
        "rows": rows.height,
        "eval_loss": round(loss, 4),
        "perplexity": round(math.exp(min(loss, 50)), 3),
        "samples": examples,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics
