"""What a trainable may declare: the config keys it accepts (with types) and the metrics it reports.

A declared contract lets a sweep be checked before Ray starts: the spec's metric is one the
trainable reports, every ``fixed`` and ``params`` key is one it accepts, and values and
sampled ranges fit. A trainable that declares nothing is checked at run time instead (its
first result without the metric ends the sweep). Torch-free: the CLI reads contracts.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AUTO_METRICS", "ConfigKey", "Contract", "declare", "key_problem"]

# Ray Tune adds these to every result, so any trainable "reports" them.
AUTO_METRICS = ("training_iteration", "time_total_s", "time_this_iter_s", "iterations_since_restore",
                "time_since_restore")

_TYPES = ("float", "int", "bool", "str", "choice", "any")


@dataclass(frozen=True)
class ConfigKey:
    """One config key a trainable accepts.

    Attributes:
        type: ``float``, ``int``, ``bool``, ``str``, ``choice`` (one of ``choices``) or ``any``.
        low: Smallest value allowed (numbers).
        high: Largest value allowed (numbers).
        choices: The values a ``choice`` key allows.
        nullable: ``None`` is allowed (the trainable then uses its default).
        groups: For a key that also takes a group ``{name: N, ...}`` (a choice of groups in a
            spec): the keys each ``name`` allows, besides ``name``.
        doc: What the key means (shown in error messages' hints and the README).
        mutable: The trainable applies a new value when it continues from another trial's
            checkpoint (PBT's exploit); False for keys fixed by the checkpoint (model shape,
            data set, optimiser type), which PBT must not mutate.
    """

    type: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    groups: Mapping[str, Mapping[str, ConfigKey]] | None = None
    doc: str = ""
    mutable: bool = True

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"ConfigKey type must be one of {', '.join(_TYPES)}, got {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError("ConfigKey type 'choice' needs choices")

    def describe(self) -> str:
        """``float in [0, 1]``, ``one of sgd, adamw``: the rule a value must meet."""
        if self.type == "choice":
            text = f"one of {', '.join(map(str, self.choices or ()))}"
        elif self.type in ("float", "int"):
            bounds = [f">= {self.low:g}" if self.low is not None else "", f"<= {self.high:g}" if self.high is not None
                      else ""]
            text = " and ".join(b for b in bounds if b)
            text = f"{'a number' if self.type == 'float' else 'an integer'}" + (f" {text}" if text else "")
        elif self.type == "bool":
            text = "true or false"
        elif self.type == "str":
            text = "a string"
        else:
            text = "any value"
        if self.groups:
            text += f", or a group with name: {', '.join(self.groups)}"
        return text


@dataclass(frozen=True)
class Contract:
    """What a trainable declares; ``None`` fields were not declared.

    Attributes:
        config: Every config key it accepts; ``None`` accepts anything.
        metrics: The metrics it reports each iteration; ``None`` is checked at run time.
        multi_worker: It can train one trial across several worker processes (``resources.workers``);
            a single-process trainable uses at most one GPU.
    """

    config: Mapping[str, ConfigKey] | None = None
    metrics: tuple[str, ...] | None = None
    multi_worker: bool = False
    checkpoints: bool = False

    @property
    def declared(self) -> bool:
        return self.config is not None or self.metrics is not None

    def reports(self, metric: str) -> bool | None:
        """Whether ``metric`` is reported: True/False when declared, None when unknown."""
        if metric in AUTO_METRICS:
            return True
        return None if self.metrics is None else metric in self.metrics

    @classmethod
    def of(cls, *, config: Mapping[str, Any] | None = None, metrics: Any = None, multi_worker: bool = False,
           checkpoints: bool = False) -> Contract:
        """A contract from plain declarations: ``config`` values may be a ``ConfigKey``, a Python type
        (``float``, ``int``, ``bool``, ``str``) or a tuple of allowed values."""
        keys = None if config is None else {name: _as_key(name, spec) for name, spec in config.items()}
        return cls(config=keys, metrics=None if metrics is None else tuple(metrics), multi_worker=multi_worker,
                   checkpoints=checkpoints)


def _as_key(name: str, spec: Any) -> ConfigKey:
    if isinstance(spec, ConfigKey):
        return spec
    if isinstance(spec, tuple):
        return ConfigKey("choice", choices=spec)
    named = {float: "float", int: "int", bool: "bool", str: "str", object: "any"}
    if spec in named:
        return ConfigKey(named[spec])
    raise TypeError(f"config key {name!r}: declare a ConfigKey, a type (float, int, bool, str) or a tuple of "
                    f"values, got {spec!r}")


def declare(*, config: Mapping[str, Any] | None = None, metrics: Any = None, multi_worker: bool = False,
            checkpoints: bool = False) -> Any:
    """Decorator: attach a contract to a trainable named by import path (``trainable: pkg.mod:fn``).

    ``@register(...)`` takes the same keywords for registered names.
    """
    contract = Contract.of(config=config, metrics=metrics, multi_worker=multi_worker, checkpoints=checkpoints)

    def attach(fn: Any) -> Any:
        fn.__hpo_contract__ = contract
        return fn

    return attach


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def key_problem(key: ConfigKey, value: Any) -> str | None:
    """Why ``value`` does not fit ``key`` (one phrase), or None when it fits."""
    if value is None:
        return None if key.nullable else f"must be {key.describe()}, got null"
    if isinstance(value, Mapping) and key.groups:
        return None  # groups are checked key by key by the caller
    if key.type == "any":
        return None
    if key.type == "choice":
        return None if value in (key.choices or ()) else f"must be {key.describe()}, got {_show(value)}"
    if key.type == "bool":
        return None if isinstance(value, bool) else f"must be true or false, got {_show(value)}"
    if key.type == "str":
        return None if isinstance(value, str) else f"must be a string, got {_show(value)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"must be {key.describe()}, got {_show(value)}"
    if key.type == "int" and float(value) != int(value):
        return f"must be {key.describe()}, got {_show(value)}"
    if (key.low is not None and value < key.low) or (key.high is not None and value > key.high):
        return f"must be {key.describe()}, got {_show(value)}"
    return None
