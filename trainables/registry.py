"""Trainable registry: names -> Ray Tune trainables, resolved in the driver.

Entries may be stored as import paths ("pkg.mod:fn") so that registering the built-in
``cifar`` trainable at ``import trainables`` imports neither torch nor Ray.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpo.errors import InputError
from hpo.trainables.contract import Contract
from hpo.trainables.old_names import old_import_problem, old_path_problem

__all__ = [
    "RunContext",
    "TrainableNotFoundError",
    "build_trainable",
    "contract_of",
    "register",
    "register_path",
    "registered_names",
    "resolve",
]

logger = logging.getLogger(__name__)

Trainable = Any  # a function trainable, a tune.Trainable subclass or a with_parameters wrapper
PrepareHook = Callable[[Callable[..., Any], "RunContext"], Any]


class TrainableNotFoundError(InputError, LookupError):
    """A trainable reference names nothing registered and nothing importable."""


@dataclass(frozen=True)
class RunContext:
    """What the sweep knows about a run that a trainable's prepare hook may need.

    Attributes:
        fixed: Constants merged into every trial's config (the spec's ``fixed``).
        max_epochs: The scheduler's ``max_t``: epochs a trial may run at most.
        on_oom: ``"fail"`` or ``"halve_batch"``: what a trial does on CUDA OOM.
        seed: The search seed, used as the default training seed.
    """

    fixed: Mapping[str, Any] = field(default_factory=dict)
    max_epochs: int | None = None
    on_oom: str = "fail"
    seed: int | None = None


@dataclass(frozen=True)
class _Entry:
    target: Callable[..., Any] | str
    prepare: PrepareHook | str | None
    contract: Contract = field(default_factory=Contract)


_REGISTRY: dict[str, _Entry] = {}


def register(
    name: str,
    *,
    prepare: PrepareHook | str | None = None,
    config: Mapping[str, Any] | None = None,
    metrics: Any = None,
    multi_worker: bool = False,
    checkpoints: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a trainable under ``name`` (use as a decorator), optionally declaring its contract.

    Args:
        name: Registry name, used as ``trainable: <name>`` in a sweep spec.
        prepare: Optional hook ``prepare(fn, ctx) -> trainable`` run once in the driver by
            `build_trainable` (e.g. to load data once and wrap ``fn`` with
            ``tune.with_parameters``). May be an import path ``"pkg.mod:fn"``.
        config: The config keys it accepts: ``{key: float | int | bool | str | (values...) |
            ConfigKey(...)}``. Declared, a spec's unknown key or out-of-range value is refused
            before Ray starts. Default: not declared (anything goes).
        metrics: The metrics it reports each iteration; declared, a spec's ``metric`` must be one.
        multi_worker: It trains one trial across several processes (``resources.workers``).
        checkpoints: It saves and restores checkpoints (needed by PBT and resume).

    Returns:
        A decorator that registers the function and returns it unchanged.
    """
    contract = Contract.of(config=config, metrics=metrics, multi_worker=multi_worker, checkpoints=checkpoints)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        register_path(name, fn, prepare, contract)
        return fn

    return decorator


def register_path(name: str, target: Callable[..., Any] | str, prepare: PrepareHook | str | None = None,
                  contract: Contract | None = None) -> None:
    """Register ``target`` under ``name``: a function, or its import path ``"pkg.mod:fn"`` (imported when resolved).

    ``register`` without the decorator; by import path, registering imports nothing (the built-in
    ``cifar`` registers so at ``import hpo.trainables``, and torch is imported only when it runs).
    """
    if not name or ":" in name:
        raise ValueError(f"trainable name must be non-empty and contain no ':', got {name!r}")
    if name in _REGISTRY:
        logger.debug("trainable %r re-registered", name)
    _REGISTRY[name] = _Entry(target=target, prepare=prepare, contract=contract or Contract())


def contract_of(ref: str | Trainable) -> Contract:
    """The contract a trainable declares (an empty one when it declares nothing).

    A registered name gives what ``register`` declared, without importing the trainable (the
    built-in ``cifar`` imports no torch here); an import path or object gives what
    ``trainables.declare`` attached to it.

    Raises:
        TrainableNotFoundError: A name that is neither registered nor importable.
    """
    if isinstance(ref, str):
        entry = _REGISTRY.get(ref)
        if entry is not None:
            return entry.contract
        ref = _lookup(ref)[0]
    found = getattr(ref, "__hpo_contract__", None)
    return found if isinstance(found, Contract) else Contract()


def registered_names() -> list[str]:
    """Names of the registered trainables, sorted."""
    return sorted(_REGISTRY)


def _import_path(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise TrainableNotFoundError(f"trainable {ref!r}: an import path must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        old = None
        if isinstance(exc, ModuleNotFoundError):
            old = old_import_problem(exc, module_name) or old_path_problem(exc, module_name)
        if old is not None:  # the user's module still imports a name hpo had before it was one package
            raise TrainableNotFoundError(f"trainable {ref!r}: {old}") from exc
        raise TrainableNotFoundError(f"trainable {ref!r}: cannot import module {module_name!r} ({exc})") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TrainableNotFoundError(
                f"trainable {ref!r}: module {module_name!r} has no attribute {attr!r}"
            ) from None
    if not callable(obj):
        raise TrainableNotFoundError(f"trainable {ref!r}: {attr!r} is not callable")
    return obj


def _lookup(ref: str) -> tuple[Callable[..., Any], PrepareHook | None]:
    entry = _REGISTRY.get(ref)
    if entry is not None:
        target = _import_path(entry.target) if isinstance(entry.target, str) else entry.target
        prepare = _import_path(entry.prepare) if isinstance(entry.prepare, str) else entry.prepare
        return target, prepare
    if ":" in ref:
        return _import_path(ref), None
    names = ", ".join(registered_names()) or "none"
    raise TrainableNotFoundError(
        f"unknown trainable {ref!r}: registered names are {names}; or give an import path 'package.module:function'"
    )


def resolve(ref: str) -> Callable[..., Any]:
    """Return the trainable a reference names, without running its prepare hook.

    Args:
        ref: A registry name (``"cifar"``) or an import path (``"pkg.mod:fn"``).

    Raises:
        TrainableNotFoundError: The name is not registered or the import path fails.
    """
    return _lookup(ref)[0]


def build_trainable(ref: str | Trainable, ctx: RunContext | None = None) -> Trainable:
    """Turn a reference into what ``tune.Tuner`` takes, running its prepare hook here.

    Args:
        ref: A registry name or import path, or a callable / ``tune.Trainable`` subclass,
            which is returned unchanged.
        ctx: The run context passed to the prepare hook.

    Returns:
        The trainable to hand to ``tune.Tuner``.
    """
    if not isinstance(ref, str):
        if not (callable(ref) or inspect.isclass(ref)):
            raise TypeError(f"trainable must be a name, an import path or a callable, got {type(ref).__name__}")
        return ref
    fn, prepare = _lookup(ref)
    if prepare is None:
        return fn
    return prepare(fn, ctx if ctx is not None else RunContext())
