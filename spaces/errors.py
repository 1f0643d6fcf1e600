"""The one error type of the spec language: every problem in a spec, reported at once."""

from __future__ import annotations

from collections.abc import Iterable

from hpo.errors import InputError

__all__ = ["SpecError"]


class SpecError(InputError):
    """A sweep spec that cannot be used, with every problem found in it.

    Attributes:
        problems: ``(dotted path, message)`` pairs; the path is ``""`` for a problem with the
            file as a whole (missing, unreadable YAML).
        source: the file (or built-in name) the spec came from, when known.
        name: the sweep's name when the spec gives a well-formed one despite its problems, so that a
            caller holding the results store can add a clash of that name to the same error (one run
            of ``hpo sweep`` shows everything); None otherwise.
    """

    def __init__(self, problems: Iterable[tuple[str, str]], *, source: str | None = None,
                 name: str | None = None) -> None:
        self.problems: list[tuple[str, str]] = list(problems)
        self.source = source
        self.name = name
        super().__init__(self.render())

    def render(self) -> str:
        """All problems as text: a header line, then one indented line per problem."""
        where = self.source or "spec"
        if len(self.problems) == 1 and not self.problems[0][0]:
            return f"{where}: {self.problems[0][1]}"
        n = len(self.problems)
        lines = [f"{where}: {n} problem{'s' if n != 1 else ''}"]
        lines += [f"  {path}: {msg}" if path else f"  {msg}" for path, msg in self.problems]
        return "\n".join(lines)
