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


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each curate module and the curate modules it imports, at the top or inside a function (an import moved into a
    function to dodge a cycle is still the cycle)."""
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's package, one level up per extra dot
                    anchor = package.rsplit(".", node.level - 1)[0]
                    base = f"{anchor}.{base}" if base else anchor
                # `from package import module` imports that module; `from module import name`, the module
                targets.update(
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base for alias in node.names
                )
        graph[name] = {target for target in targets if target in paths and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as the modules that close it (the first repeated at the end), or None: a depth-first search."""
    finished: set[str] = set()
    for start in sorted(graph):
        if start in finished:
            continue
        path, still_to_visit = [start], [sorted(graph[start])]
        while path:
            if not still_to_visit[-1]:
                finished.add(path.pop())
                still_to_visit.pop()
                continue
            following = still_to_visit[-1].pop(0)
            if following in path:
                return path[path.index(following) :] + [following]
            if following not in finished:
                path.append(following)
                still_to_visit.append(sorted(graph[following]))
    return None


def test_no_import_cycle_among_curate_modules():
    """A cycle hidden by an import inside a function still ties two concerns together; a shared concern gets a module
    of its own (the conservation checks, `pipeline/conservation.py`). Heavy optional libraries imported inside a
    function are not curate modules, so they are not edges here."""
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_reports_the_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def prints_outside_a_script_entry(path: Path) -> list[int]:
    """Lines that call `print` other than in a module's `main()` or its `if __name__ == "__main__":` block."""

    def is_entry(node: ast.stmt) -> bool:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            return True
        return isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)

    return [
        call.lineno
        for statement in ast.parse(path.read_text()).body
        if not is_entry(statement)
        for call in ast.walk(statement)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"
    ]


def test_library_code_logs_instead_of_printing():
    """The library tells through the `curate` logger (silent by default, a `NullHandler`); only the CLI and a
    module's own script entry print."""
    import logging

    import curate

    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in PACKAGE.rglob("*.py")
        if "cli" not in path.relative_to(PACKAGE).parts
        for line in prints_outside_a_script_entry(path)
    ]
    assert offenders == []
    assert any(isinstance(handler, logging.NullHandler) for handler in logging.getLogger(curate.__name__).handlers)
