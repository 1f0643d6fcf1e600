"""The dry run with each sample's command line: ``spaces``' report plus the argv rule of ``trainables.command``.

``spaces`` cannot import ``trainables``, so the rule that turns a config into argv reaches the report
as a hook: under each sample config of a command trainable, ``$ `` and the exact command line
(quoted as a shell would need it), built by the same :func:`~hpo.trainables.command.argv.build_argv`
the trial runs. A trial's own paths show as ``<trial_dir>`` and so on; a ``cwd`` other than the
trial's folder follows as ``(in /abs/dir)``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpo.spaces import SweepPlan, SweepSpec
from hpo.spaces import dry_run_report as spec_report
from hpo.spaces.spec_input import as_spec

__all__ = ["command_line", "dry_run_report"]


def command_line(
    spec: SweepSpec, *, spec_dir: str | os.PathLike[str] | None = None
) -> Callable[[dict[str, Any]], str] | None:
    """For a command trainable, a function from a config to its shown command line; None for any other.

    Args:
        spec: The spec.
        spec_dir: Where the program and ``cwd`` resolve (default: the spec file's folder, else the
            working directory).
    """
    if spec.command is None:
        return None
    from hpo.trainables.command.argv import build_argv
    from hpo.trainables.command.checks import spec_dir_of
    from hpo.trainables.command.settings import CommandSettings

    settings = CommandSettings.from_spec(spec, spec_dir=spec_dir_of(spec, given=spec_dir))
    where = "" if settings.cwd == "trial" else f"  (in {(Path(settings.spec_dir) / settings.cwd).resolve()})"

    def shown(config: dict[str, Any]) -> str:
        try:
            return shlex.join(build_argv(settings, config, paths=None)) + where
        except (KeyError, ValueError) as exc:  # a spec not checked first (the Python API): say why, not crash
            reason = f"{{{exc.args[0]}}} names no config value" if isinstance(exc, KeyError) else str(exc)
            return f"(no command line: {reason})"

    return shown


def dry_run_report(
    spec: SweepSpec | dict[str, Any] | str,
    *,
    samples: int = 5,
    plan: SweepPlan | None = None,
    spec_dir: str | os.PathLike[str] | None = None,
) -> str:
    """The ``hpo sweep --dry-run`` text (``spaces.dry_run_report``), with a command trainable's command line
    under each sample config. Starts no Ray.

    Args:
        spec: The spec; or a dict / YAML file's path, validated first.
        samples: How many sample configs to draw.
        plan: The spec's plan (default: built from the spec alone, capacity unknown).
        spec_dir: Where a command's program resolves (default: the spec file's folder, else the working
            directory).
    """
    spec = as_spec(spec)
    return spec_report(spec, samples=samples, plan=plan, command_of=command_line(spec, spec_dir=spec_dir))
