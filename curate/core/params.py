"""Parameter types with their valid ranges, and the one check that every parameter passes before anything runs: a
stage's recipe parameters, the recipe's seed and engine, its input mapping and the CLI's options. A recipe or command
line that asks for nonsense (a NaN threshold, a negative fraction, zero permutations, `seed: true`) is refused with
its key. Validation is pydantic's, reading these annotations."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le

from curate.core.errors import RecipeError

Share = Annotated[float, Ge(0), Le(1)]  # a fraction or probability; NaN fails every comparison and is refused
Similarity = Annotated[float, Gt(0), Le(1)]
Rate = Annotated[float, Gt(0)]  # a positive amount (learning rate); NaN refused
AtLeastOne = Annotated[float, Ge(1)]  # a ratio such as largest/smallest class
Count = Annotated[int, Ge(0)]
Positive = Annotated[int, Ge(1)]
Folds = Annotated[int, Ge(2)]
Seed = Annotated[int, Ge(0), Le(2**32 - 1)]  # what numpy and torch accept
NgramSize = Annotated[int, Ge(1), Le(32)]  # shingles longer than a sentence find nothing, and cost time in proportion


def suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


TYPE_NAMES = {int: "an integer", float: "a number", str: "text"}


def _flatten(annotation: Any) -> list[Any]:
    """The plain types (and Literal values) an annotation admits: Annotated and unions taken apart."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _flatten(arg)]
    if origin is Literal:
        return [("literal", value) for value in typing.get_args(annotation)]
    return [annotation]


def _as_declared(value: Any, annotation: Any) -> Any:
    """A YAML 1.1 boolean where a word is expected: `off`/`no` (False) is "off" where the parameter's words include it,
    `on`/`yes` (True) "on"; anywhere else a boolean given for a parameter that is no boolean is refused (pydantic would
    read `true` as 1). The values of a mapping and the items of a list are read by their declared type."""
    admitted = _flatten(annotation)
    if isinstance(value, (dict, list)):
        container = next((t for t in admitted if typing.get_origin(t) in (dict, list, tuple)), None)
        if container is None:
            return value
        args = typing.get_args(container)
        if isinstance(value, dict) and typing.get_origin(container) is dict and len(args) == 2:
            return {k: _as_declared(v, args[1]) for k, v in value.items()}
        if isinstance(value, list) and args and typing.get_origin(container) is not dict:
            return [_as_declared(v, args[0]) for v in value]
        return value
    if not isinstance(value, bool):
        return value
    if bool in admitted or Any in admitted or ("literal", value) in admitted:
        return value
    word = "on" if value else "off"
    if ("literal", word) in admitted:
        return word
    words = [repr(v) for kind, v in (a for a in admitted if isinstance(a, tuple))]
    names = [TYPE_NAMES.get(t, getattr(t, "__name__", str(t))) for t in admitted if t is not type(None)]
    expected = f"one of {', '.join(words)}" if words else " or ".join(names)
    hint = "YAML reads yes/no/on/off/true/false as booleans: quote the word if you meant it ('yes')" if words else None
    raise ValueError(f"expected {expected}, not the boolean {str(value).lower()}", hint)


def check_params(cls: type, params: dict[str, Any], where: Callable[[str], str], what: str) -> Any:
    """`cls(**params)` validated: unknown names, booleans given for numbers or words, types and ranges are refused with
    the place `where(name)` names (a recipe key and line, or a CLI option)."""
    import pydantic

    known = [f.name for f in dataclasses.fields(cls) if f.init]
    for key in params:
        if not isinstance(key, str) or key not in known:
            raise RecipeError(
                f"unknown parameter '{key}' for {what}",
                where(str(key)),
                hint=f"{suggest(str(key), known)}parameters: {', '.join(known) or '(none)'}",
            )
    hints = typing.get_type_hints(cls, include_extras=True)
    params = dict(params)
    for key, value in params.items():
        try:
            params[key] = _as_declared(value, hints.get(key, Any))
        except ValueError as error:
            message, hint = error.args
            raise RecipeError(message, where(key), hint=hint) from None
    try:
        return pydantic.TypeAdapter(cls).validate_python(params)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise RecipeError(f"{first['msg']} (got {first.get('input')!r})", where(key)) from None


def check_value(value: Any, annotation: Any, where: str) -> Any:
    """One value (the recipe's seed) checked as a parameter is."""
    import pydantic

    try:
        return pydantic.TypeAdapter(annotation).validate_python(_as_declared(value, annotation))
    except ValueError as error:
        if isinstance(error, pydantic.ValidationError):
            first = error.errors()[0]
            raise RecipeError(f"{first['msg']} (got {first.get('input')!r})", where) from None
        message, hint = error.args
        raise RecipeError(message, where, hint=hint) from None
