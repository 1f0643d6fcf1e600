"""The ``trainable: {command: ...}`` form of a spec: an existing script run as each trial.

Only the shape is checked here (``spaces`` imports neither ``trainables`` nor Ray). What needs the
files on disk or the rule that turns a config into argv (does the program exist, does every
``{placeholder}`` name a param, can ``args: flags`` say every value) is checked by
``hpo.trainables.command.checks`` through the engine's ``check_spec``.
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator
from pydantic_core import PydanticCustomError

from hpo.spaces.durations import DURATION_RULE, duration_seconds, duration_text

__all__ = [
    "MAX_STOP_GRACE_S",
    "RESERVED_ENV",
    "CommandSpec",
    "MetricSourcesSpec",
    "TensorboardSourceSpec",
    "command_shape_problems",
    "command_tokens",
    "metric_source_problems",
]

# Ray Tune force-ends a stopping trial's actor after TUNE_FORCE_TRIAL_CLEANUP_S (600 s by default):
# a longer grace would be cut there, so the spec cannot ask for it.
MAX_STOP_GRACE_S = 600.0
RESERVED_ENV = "CUDA_VISIBLE_DEVICES"  # set by hpo to the GPUs Ray gave the trial; HPO_* likewise


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorboardSourceSpec(_Section):
    """Read scalars from the TensorBoard event files the script writes."""

    dir: str = Field(".", min_length=1, description="Where the event files are, relative to where the script runs "
                                                     "(any depth below it).")
    tags: dict[str, str] = Field(description="Tag -> metric name, e.g. {Loss/test: val_loss}.")


class MetricSourcesSpec(_Section):
    """Where a command trial's metrics come from; any combination."""

    lines: bool = Field(True, description='stdout lines `hpo-report: {"val_loss": 0.31}` (JSON after the prefix).')
    regex: list[str] = Field(default_factory=list,
                             description="Regular expressions applied to each stdout and stderr line; "
                                         "each named group (?P<val_loss>...) is a metric.")
    tensorboard: TensorboardSourceSpec | None = Field(
        None, description="TensorBoard event files: each step of a mapped tag is a result.")


class CommandSpec(_Section):
    """Run an existing script as each trial: its params as arguments, its metrics from its output."""

    command: str | list[str] = Field(
        description="The program and its arguments: a string (split as a shell would, no shell runs it) or a list; "
                    "{name} is any param or fixed value, or spec_dir, trial_dir, trial_id, checkpoint_dir.")
    args: Literal["flags", "hydra", "none"] = Field(
        "flags", description="How the rest of the config reaches the script: flags (--lr=0.01 "
                             "--optimizer.momentum=0.9; true booleans as bare --flag, false ones left out), hydra "
                             "(lr=0.01 optimizer.momentum=0.9), or none (only {placeholders}).")
    cwd: str = Field("trial", min_length=1, description="Where the process runs: trial (its own folder) or a folder "
                                                        "relative to the spec's.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables for the process.")
    metrics: MetricSourcesSpec = Field(default_factory=MetricSourcesSpec,
                                       description="Where its metrics come from: lines, regex, tensorboard.")
    stop_grace: float = Field(10.0, description="A duration: a stopped trial's processes get SIGTERM, then SIGKILL "
                                                "after this.")

    @field_validator("env", mode="before")
    @classmethod
    def _env_text(cls, value: Any) -> Any:
        # YAML reads 1 and true as numbers and booleans; the environment holds text.
        if isinstance(value, dict):
            return {k: ("true" if v is True else "false" if v is False else str(v))
                    if isinstance(v, int | float) else v for k, v in value.items()}
        return value

    @field_validator("stop_grace", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        try:
            return duration_seconds(value)
        except ValueError:
            raise PydanticCustomError("duration", DURATION_RULE) from None

    @field_serializer("stop_grace", when_used="json")
    def _duration_text(self, seconds: float) -> str:
        return duration_text(seconds)

    def tokens(self) -> list[str]:
        """The command as argv tokens, {placeholders} unfilled (see :func:`command_tokens`)."""
        return command_tokens(self.command)

    def label(self) -> str:
        """One line naming it, for the dry run, ``hpo ls`` and reports: ``command: python train.py ...``."""
        text = self.command if isinstance(self.command, str) else shlex.join(self.command)
        return f"command: {text}"


def command_tokens(command: str | list[str]) -> list[str]:
    """The command as argv tokens (placeholders not yet filled): a list as given, a string split as a shell would.

    Raises:
        ValueError: the string cannot be split (an unclosed quote); the message says why.
    """
    if isinstance(command, list):
        return list(command)
    return shlex.split(command)


def command_shape_problems(spec: CommandSpec) -> list[tuple[str, str]]:
    """What is wrong with a command trainable's shape alone (no files, no params), by dotted path."""
    problems: list[tuple[str, str]] = []
    try:
        tokens = command_tokens(spec.command)
    except ValueError as exc:
        problems.append(("trainable.command", f"cannot be split as a shell would ({exc}); quote it, or give a list"))
        tokens = None
    if tokens is not None and (not tokens or not tokens[0].strip()):
        problems.append(("trainable.command", "must not be empty: the program and its arguments, "
                                              "e.g. python train.py --epochs {epochs}"))
    if spec.stop_grace > MAX_STOP_GRACE_S:
        problems.append(("trainable.stop_grace", f"must be at most 10m (Ray Tune force-ends a stopping trial after "
                                                 f"600 s), got {duration_text(spec.stop_grace)}"))
    for key in spec.env:
        if key == RESERVED_ENV:
            problems.append((f"trainable.env.{key}", "set by hpo to the GPUs Ray gave the trial; use resources.gpu"))
        elif key.startswith("HPO_"):
            problems.append((f"trainable.env.{key}", "set by hpo for each trial"))
    sources = spec.metrics
    if not sources.lines and not sources.regex and sources.tensorboard is None:
        problems.append(("trainable.metrics", "reads nothing (lines: false, no regex, no tensorboard); turn one on"))
    for i, pattern in enumerate(sources.regex):
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            problems.append((f"trainable.metrics.regex[{i}]", f"does not compile: {exc}"))
            continue
        if not compiled.groupindex:
            problems.append((f"trainable.metrics.regex[{i}]", "names no metric; give a named group, "
                                                              "e.g. Average loss: (?P<val_loss>[0-9.]+)"))
    if sources.tensorboard is not None and not sources.tensorboard.tags:
        problems.append(("trainable.metrics.tensorboard.tags", "must map at least one tag to a metric, "
                                                               "e.g. {Loss/test: val_loss}"))
    return problems


def metric_source_problems(spec: CommandSpec, needed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each needed metric (``(path, name)``: the objectives, ``scheduler.metric``) that no source can give.

    Report lines can carry any metric, so with ``lines: true`` nothing is missing.
    """
    sources = spec.metrics
    if sources.lines:
        return []
    groups: list[str] = []
    for pattern in sources.regex:
        try:
            groups += [g for g in re.compile(pattern).groupindex if g not in groups]
        except re.error:
            return []  # already reported; guessing what it would give helps nobody
    tags = list(sources.tensorboard.tags.values()) if sources.tensorboard is not None else []
    problems = []
    for path, name in needed:
        if name in groups or name in tags:
            continue
        problems.append((path, f"no source in trainable.metrics gives {name!r} (regex groups: "
                               f"{', '.join(groups) or 'none'}; tags give: {', '.join(tags) or 'none'}); name a "
                               f"group (?P<{name}>...), map a tag to it, or turn lines: on"))
    return problems
