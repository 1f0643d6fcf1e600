"""What a command trial needs to run, as plain picklable data: no pydantic, no Ray, no torch.

The engine builds one :class:`CommandSettings` from the spec on the driver; Ray pickles it to each
trial's actor, where :mod:`hpo.trainables.command.trial` runs the script with it. The argv rule
(:mod:`.argv`), the environment (:mod:`.env`) and the checks before a sweep (:mod:`.checks`) read it
too, so ``hpo validate``, the dry run and the trial agree on what runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BUILTIN_PLACEHOLDERS", "CommandSettings", "TrialPaths"]

# {names} every command may use besides the config's keys; each is a TrialPaths field.
BUILTIN_PLACEHOLDERS = ("spec_dir", "trial_dir", "trial_id", "checkpoint_dir")


@dataclass(frozen=True)
class TrialPaths:
    """Where one trial's process lives: the values of the built-in placeholders and ``HPO_*`` variables."""

    trial_id: str
    trial_dir: str  # its own folder (HPO_TRIAL_DIR), the process's cwd with ``cwd: trial``
    checkpoint_dir: str  # HPO_CHECKPOINT_DIR: what the script writes here before a report is its checkpoint
    spec_dir: str  # HPO_SPEC_DIR: the spec file's folder
    config_json: str  # HPO_CONFIG_JSON: a file holding the whole config
    sweep: str = ""  # HPO_SWEEP


@dataclass(frozen=True)
class CommandSettings:
    """A command trainable resolved against its sweep: the spec's ``trainable:`` plus what the trial needs."""

    tokens: tuple[str, ...]  # the command split as a shell would, {placeholders} not yet filled
    args: str  # flags | hydra | none
    cwd: str  # "trial", or a folder relative to spec_dir
    spec_dir: str  # absolute: the spec file's folder (the working dir for a spec given as a dict)
    env: Mapping[str, str] = field(default_factory=dict)
    lines: bool = True
    regex: tuple[str, ...] = ()
    tensorboard_dir: str | None = None  # relative to where the process runs
    tensorboard_tags: Mapping[str, str] = field(default_factory=dict)  # tag -> metric
    stop_grace: float = 10.0
    required: tuple[str, ...] = ()  # metrics that complete a result: the objectives, then scheduler.metric
    exploits: bool = False  # PBT/PB2: every result carries a checkpoint (an exploit copies the last one)
    cpu: float = 1.0
    gpu: float = 0.0
    workers: int = 1
    sweep: str = ""

    @classmethod
    def from_spec(cls, spec: Any, *, spec_dir: str | Path) -> CommandSettings:
        """The settings of ``spec``'s command trainable (a ``hpo.spaces.SweepSpec``: ``trainables`` does not
        import ``spaces``, so it is read by its attributes), its paths resolved against ``spec_dir``.

        Raises:
            ValueError: ``spec`` has no command trainable.
        """
        command = spec.command
        if command is None:
            raise ValueError(f"sweep {spec.name!r} runs {spec.trainable_label}, not a command")
        required = [name for name, _ in spec.objectives]
        if spec.scheduler.metric is not None and spec.scheduler.metric not in required:
            required.append(spec.scheduler.metric)
        board = command.metrics.tensorboard
        return cls(
            tokens=tuple(command.tokens()),
            args=command.args,
            cwd=command.cwd,
            spec_dir=str(Path(spec_dir).resolve()),
            env=dict(command.env),
            lines=command.metrics.lines,
            regex=tuple(command.metrics.regex),
            tensorboard_dir=board.dir if board is not None else None,
            tensorboard_tags=dict(board.tags) if board is not None else {},
            stop_grace=command.stop_grace,
            required=tuple(required),
            exploits=spec.scheduler.exploits,
            cpu=spec.resources.cpu,
            gpu=spec.resources.gpu,
            workers=spec.resources.workers,
            sweep=spec.name,
        )
