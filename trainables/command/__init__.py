"""Command trainables: tune a script you already have, run once per trial as a process of its own.

The spec's ``trainable: {command: ...}`` becomes :class:`CommandSettings` on the driver; each trial runs
it through :func:`command_trainable` (a Ray Tune function trainable). Importing this package imports
neither Ray nor torch: a trial's guard process (:mod:`._guard`) and a script using the report helper
(:mod:`.report`) import it too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hpo.trainables.command.errors import (
    CommandError,
    CommandFailedError,
    CommandMetricError,
    CommandOutOfMemoryError,
)
from hpo.trainables.command.settings import BUILTIN_PLACEHOLDERS, CommandSettings, TrialPaths

if TYPE_CHECKING:
    from hpo.trainables.command.trial import command_trainable, stop_running

__all__ = [
    "BUILTIN_PLACEHOLDERS",
    "CommandError",
    "CommandFailedError",
    "CommandMetricError",
    "CommandOutOfMemoryError",
    "CommandSettings",
    "TrialPaths",
    "command_trainable",
    "stop_running",
]

_LAZY = {"command_trainable": "hpo.trainables.command.trial", "stop_running": "hpo.trainables.command.trial"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
