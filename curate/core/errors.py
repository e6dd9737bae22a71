"""User-facing errors: one paragraph that names the file, line or key, never a bare traceback."""

from __future__ import annotations


class CurateError(Exception):
    """A problem with the user's input, recipe or data that they can fix.

    `where` names the place (a file, `file:line`, or a recipe key); the CLI prints
    `where: message` and exits with `exit_code`.
    """

    exit_code = 2

    def __init__(self, message: str, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\nHint: {self.hint}" if self.hint else text


class RecipeError(CurateError):
    """The recipe YAML is malformed or names an unknown stage or parameter."""


class InputError(CurateError):
    """The input file is missing, empty, malformed, wrongly encoded or lacks a column."""


class ConservationError(CurateError):
    """A stage lost or invented rows: approved + rejected no longer accounts for every input row."""

    exit_code = 4


class GateFailed(CurateError):
    """A data-quality gate failed: the recipe stopped, or training on the run is refused."""

    exit_code = 3
