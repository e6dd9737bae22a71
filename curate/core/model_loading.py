"""Loading a Hugging Face model or tokenizer without changing anything for the rest of the process.

A folder here loads with `local_files_only` (it never asks the hub) instead of setting `HF_HUB_OFFLINE`, which would
stay set and make a later download in the same notebook fail; transformers' warnings and progress bars are silenced
for the load only, and put back as the caller had them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
