"""The recipe vocabulary: an explicit map from stage names (and methods) to stage classes.

Entries are import paths, so building the registry imports nothing heavy; a stage's module (and
torch, sentence-transformers, Great Expectations...) is imported only when a recipe uses it.
"""

from __future__ import annotations

import importlib
from typing import Any

from curate.core.errors import RecipeError
from curate.core.params import check_params, suggest
from curate.core.stage import Stage

STAGES: dict[str, str | dict[str, str]] = {
    "clean": "curate.stages.clean.clean:Clean",
    "redact": "curate.stages.clean.redact:Redact",
    "quality": "curate.stages.quality.quality:Quality",
    "responses": "curate.stages.quality.responses:ResponseChecks",
    "labels": "curate.stages.quality.labels:LabelCheck",
    "bias": "curate.stages.quality.bias:Bias",
    "dedup": {
        "exact": "curate.stages.dedup.exact:ExactDedup",
        "minhash": "curate.stages.dedup.minhash:MinHashDedup",
        "semantic": "curate.stages.dedup.semantic:SemanticDedup",
        "pairs": "curate.stages.dedup.pairs:PairDedup",
    },
    "split": "curate.stages.balance.split:Split",
    "rebalance": "curate.stages.balance.rebalance:Rebalance",
    "augment": "curate.stages.augment.augment:Augment",
    "gate": "curate.stages.gates.gate:Gate",
    "tokens": "curate.stages.tokens:Tokens",
    "train": "curate.stages.train:Train",
    "review": "curate.stages.review:Review",
}
DEFAULT_METHOD = {"dedup": "exact"}


def _import(path: str) -> type[Stage]:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def stage_class(name: str, params: dict[str, Any], where: str) -> tuple[type[Stage], dict[str, Any]]:
    """Resolve a recipe entry to its class; returns the class and the parameters left for it."""
    if name not in STAGES:
        known = sorted(STAGES)
        raise RecipeError(
            f"unknown stage '{name}'", where, hint=f"{suggest(name, known)}known stages: {', '.join(known)}"
        )
    entry = STAGES[name]
    if isinstance(entry, str):
        return _import(entry), params
    params = dict(params)
    method = params.pop("method", DEFAULT_METHOD.get(name))
    if not isinstance(method, str):
        raise RecipeError(
            f"method must be a name, not {method!r}", f"{where}.method", hint=f"methods: {', '.join(sorted(entry))}"
        )
    if method not in entry:
        known = sorted(entry)
        raise RecipeError(
            f"unknown method '{method}' for stage '{name}'",
            f"{where}.method",
            hint=f"{suggest(str(method), known)}methods: {', '.join(known)}",
        )
    return _import(entry[method]), params


def build_stage(name: str, params: dict[str, Any] | None = None, where: str = "stage") -> Stage:
    """Build and validate a stage from its recipe name and parameters; errors name the key."""
    cls, params = stage_class(name, params or {}, where)
    return check_params(cls, params, lambda key: f"{where}.{key}", f"stage '{name}'")
