"""The house's walls: each layer imports only the layers below it, so a stage runs wherever an
executor puts it, and the wheel lists every package."""

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "curate"
# What each layer may not import (by module prefix).
FORBIDDEN = {
    "core": (
        "curate.io",
        "curate.recipe",
        "curate.pipeline",
        "curate.cli",
        "curate.stages",
        "curate.train",
        "curate.explore",
    ),
    "stages": ("curate.io", "curate.recipe", "curate.pipeline", "curate.cli", "curate.explore"),
    "train": ("curate.io", "curate.recipe", "curate.pipeline", "curate.cli", "curate.explore", "curate.stages"),
    "io": ("curate.recipe", "curate.pipeline", "curate.cli", "curate.stages", "curate.train"),
    "recipe": ("curate.pipeline", "curate.cli"),
    "pipeline": ("curate.cli",),
    "explore": ("curate.pipeline", "curate.cli", "curate.recipe"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (PACKAGE / layer).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith(FORBIDDEN[layer])
    ]
    assert offenders == []


def test_the_wheel_lists_every_package_and_ships_the_app_and_suites():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    listed = set(config["packages"])
    assert found == listed - {"curate._apps", "curate._apps.pages", "curate._expectations"}
    assert config["package-dir"] == {"curate._apps": "apps", "curate._expectations": "expectations"}
    assert (ROOT / "apps" / "explorer.py").exists() and list((ROOT / "expectations").glob("*.json"))
