"""Recipes: YAML read with `safe_load` semantics, validated with errors that name the key and line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from curate.core.errors import RecipeError
from curate.core.params import Positive, Seed, check_params, check_value
from curate.core.stage import Stage
from curate.io.paths import check_writable
from curate.io.spec import InputSpec, shared_column
from curate.recipe.registry import build_stage

INPUT_KEYS = {"path", "format", "text", "label", "id", "response", "encoding", "on_bad_rows"}
SAFE_TAGS = {"str", "int", "float", "bool", "null", "map", "seq", "timestamp"}
MAX_VALUES = 20_000  # a real recipe has a few hundred
TOP_KEYS = {"input", "stages", "output", "seed", "name", "description", "rejected_text", "engine"}


@dataclass
class Recipe:
    input: InputSpec
    stages: list[Stage]
    output: Path | None  # the run directory; None (Python API only): nothing is written
    seed: int = 0
    source: str = ""  # the YAML text, for the report and its hash
    path: Path | None = None
    # rejected.parquet and artifacts hold text with PII redacted ("redacted"), or as it came in ("raw"), asked for.
    rejected_text: str = "redacted"
    engine: str = "local"  # local | ray: where the stages run (the CLI's --engine overrides it)
    engine_address: str | None = None  # ray: an existing cluster ("auto", "ray://host:10001"); None starts a local one
    engine_block_rows: int | None = (
        None  # rows per block: ray 250,000; local 1,000,000 (a larger input streams through blocks on disk)
    )
    # where blocks live while a streamed run lasts (None: TMPDIR); on a Ray cluster of several machines, storage every node reads
    engine_blocks_dir: str | None = None

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()[:16]


@dataclass
class EngineSettings:
    """A recipe's `engine:` mapping, validated as a stage's parameters are."""

    name: Literal["local", "ray"] = "local"
    address: str | None = None
    block_rows: Positive | None = None
    blocks_dir: str | None = None


def _scalar(node: yaml.Node, origin: str) -> Any:
    try:
        return yaml.safe_load(yaml.serialize(node))
    except yaml.YAMLError as exc:
        raise RecipeError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}", f"{origin}:{node.start_mark.line + 1}"
        ) from None


def _to_python(
    node: yaml.Node, lines: dict[str, int], path: str, origin: str, within: frozenset[int] = frozenset()
) -> Any:
    """Build plain Python from a composed node, recording the line of every key path. `within`: the nodes this one is
    inside, so an alias of one of them (a structure that holds itself) is refused, not followed forever."""
    where = f"{origin}:{node.start_mark.line + 1}"
    if len(lines) > MAX_VALUES:  # nested aliases expand exponentially ("billion laughs"): refuse, do not wait
        raise RecipeError(f"the recipe expands to more than {MAX_VALUES:,} values (nested YAML aliases?)", origin)
    if id(node) in within:
        raise RecipeError("a YAML alias refers to the structure that holds it (a recursive alias)", f"{where} ({path})")
    lines[path] = node.start_mark.line + 1
    if node.tag.rpartition(":")[2] not in SAFE_TAGS:
        raise RecipeError(f"not valid YAML: tag '{node.tag}' is not allowed in a recipe", where)
    within = within | {id(node)}
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_where = f"{origin}:{key_node.start_mark.line + 1}"
            if key_node.tag.endswith(":merge"):
                raise RecipeError(
                    "the YAML merge key `<<` is not supported in a recipe",
                    f"{key_where} ({path or 'top level'})",
                    hint="write the keys out (an alias `*name` of a whole value works)",
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise RecipeError(
                    "a key must be a name, not a list or a mapping", f"{key_where} ({path or 'top level'})"
                )
            key = _scalar(key_node, origin)
            child = f"{path}.{key}" if path else str(key)
            if key in out:
                raise RecipeError(f"key '{key}' appears twice", f"{key_where} ({child})")
            out[key] = _to_python(value_node, lines, child, origin, within)
            lines[child] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, lines, f"{path}[{i}]", origin, within) for i, item in enumerate(node.value)]
    return _scalar(node, origin)


def _read_yaml(text: str, origin: str) -> tuple[Any, dict[str, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise RecipeError("not valid YAML: lists or mappings nested too deep", origin) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"not valid YAML: {problem}", where) from None
    if node is None:
        raise RecipeError("the recipe is empty", origin, hint="a recipe needs at least `input:` and `stages:`")
    lines: dict[str, int] = {}
    try:
        return _to_python(node, lines, "", origin), lines
    except RecursionError:
        raise RecipeError("lists or mappings nested too deep for a recipe", origin) from None


def parse_recipe(
    text: str,
    origin: str = "<recipe>",
    input_path: str | Path | None = None,
    output: str | Path | None = None,
    require_output: bool = True,
) -> Recipe:
    """Validate recipe YAML; `input_path` and `output` override the recipe (the CLI's flags).

    Without `require_output` (the Python API) a recipe may have no output: nothing is written."""
    data, lines = _read_yaml(text, origin)

    def where(key: str) -> str:
        line = lines.get(key)
        return f"{origin}:{line} ({key})" if line else f"{origin} ({key})"

    if not isinstance(data, dict):
        raise RecipeError("the recipe must be a mapping with `input`, `stages` and `output`", origin)
    for key in data:
        if key not in TOP_KEYS:
            raise RecipeError(f"unknown key '{key}'", where(key), hint=f"top-level keys: {', '.join(sorted(TOP_KEYS))}")

    raw_input = data.get("input")
    if isinstance(raw_input, str):
        raw_input = {"path": raw_input}
    if raw_input is None and input_path is None:
        raise RecipeError("missing `input`", origin, hint="add `input: {path: tickets.csv, text: body, label: queue}`")
    if raw_input is not None and not isinstance(raw_input, dict):
        raise RecipeError("`input` must be a path or a mapping", where("input"))
    raw_input = dict(raw_input or {})
    for key in raw_input:
        if key not in INPUT_KEYS:
            raise RecipeError(
                f"unknown input key '{key}'", where(f"input.{key}"), hint=f"input keys: {', '.join(sorted(INPUT_KEYS))}"
            )
    if input_path is not None:
        raw_input["path"] = str(input_path)
    if "path" not in raw_input:
        raise RecipeError("`input` has no `path`", where("input"))
    spec = check_params(InputSpec, raw_input, lambda key: where(f"input.{key}"), "the input")
    if problem := shared_column(spec):
        raise RecipeError(problem, where("input"), hint="map each role to a column of its own")

    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise RecipeError(
            "`stages` must be a non-empty list",
            where("stages"),
            hint="for example:\nstages:\n  - clean\n  - dedup: {method: exact}",
        )
    stages: list[Stage] = []
    for i, entry in enumerate(raw_stages):
        key = f"stages[{i}]"
        if isinstance(entry, str):
            name, params = entry, {}
        elif isinstance(entry, dict) and len(entry) == 1:
            name, params = next(iter(entry.items()))
            params = params or {}
            if not isinstance(params, dict):
                raise RecipeError(f"parameters of '{name}' must be a mapping", where(f"{key}.{name}"))
            key = f"{key}.{name}"
        else:
            raise RecipeError("each stage is a name or a one-key mapping `name: {params}`", where(key))
        stages.append(build_stage(str(name), params, where(key)))

    out = output if output is not None else data.get("output")
    out_where = "--out" if output is not None else where("output")
    if out is None and "output" in data and require_output:
        raise RecipeError(
            "`output` is empty (null)", out_where, hint="name the run directory, e.g. `output: runs/tickets`"
        )
    if out is None and require_output:
        raise RecipeError(
            "missing `output` (the run directory)", origin, hint="add `output: runs/tickets` or pass --out"
        )
    if out is not None and not isinstance(out, (str, Path)):
        raise RecipeError(
            f"`output` must be a folder path, not {type(out).__name__} {out!r}",
            out_where,
            hint="e.g. `output: runs/tickets`",
        )
    if out is not None:
        check_writable(out, out_where)
    seed = check_value(data.get("seed", 0), Seed, where("seed"))
    rejected_text = data.get("rejected_text", "redacted")
    if rejected_text not in ("redacted", "raw"):
        raise RecipeError(f"rejected_text must be 'redacted' or 'raw', not {rejected_text!r}", where("rejected_text"))
    engine = data.get("engine", "local")
    if not isinstance(engine, dict):
        engine = {"name": engine}
        engine_where = lambda key: where("engine")  # noqa: E731 - `engine: ray` names the key itself
    else:
        engine_where = lambda key: where(f"engine.{key}")  # noqa: E731
    settings = check_params(EngineSettings, engine, engine_where, "the engine")
    return Recipe(
        input=spec,
        stages=stages,
        output=Path(out) if out is not None else None,
        seed=seed,
        source=text,
        rejected_text=rejected_text,
        engine=settings.name,
        engine_address=settings.address,
        engine_block_rows=settings.block_rows,
        engine_blocks_dir=settings.blocks_dir,
    )


def load_recipe(path: str | Path, input_path: str | Path | None = None, output: str | Path | None = None) -> Recipe:
    path = Path(path)
    if path.is_dir():
        raise RecipeError(
            "the recipe is a folder, not a YAML file", str(path), hint="name a recipe file, e.g. recipes/tickets.yaml"
        )
    if path.exists() and not path.is_file():  # a FIFO or a device: reading it would block or never end
        raise RecipeError(
            "the recipe is not a regular file", str(path), hint="name a recipe file, e.g. recipes/tickets.yaml"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError("recipe file not found", str(path)) from None
    except UnicodeDecodeError as exc:
        raise RecipeError(f"recipe is not UTF-8 text ({exc.reason} at byte {exc.start})", str(path)) from None
    except OSError as exc:  # a symlink loop, a name too long
        raise RecipeError(f"cannot read the recipe ({exc.strerror})", str(path)) from None
    recipe = parse_recipe(text, str(path), input_path=input_path, output=output)
    recipe.path = path
    return recipe
