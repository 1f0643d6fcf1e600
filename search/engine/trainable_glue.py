"""From the spec's ``trainable`` (or the caller's own) to what the Tuner runs.

The engine looks the name up before Ray starts (an unknown name fails in a second);
:func:`prepare_trainable` then runs the registry's prepare hook (which may put a data set in
the object store), makes the user's own modules travel to the workers, and attaches the
per-trial resources. :func:`reuse_actors_for` and :func:`checkpoint_frequency_for` tell Tune
how to treat a Trainable class.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
import sysconfig
import tempfile
import types
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "checkpoint_frequency_for",
    "command_runnable",
    "own_copy",
    "prepare_trainable",
    "resolve_command",
    "reuse_actors_for",
    "ship_module_by_value",
]

logger = logging.getLogger(__name__)

# Our own packages are installed (editable) and importable on every worker.
_OWN_PACKAGES = frozenset({"hpo"})


def reuse_actors_for(trainable: Any) -> bool:
    """Whether Tune may hand a finished trial's actor to the next trial (``reuse_actors``).

    Safe for function trainables (Tune's wrapper resets itself) and for ``Trainable`` classes
    that override ``reset_config``. A class without it fails every reuse ("Trainable runner
    reuse requires reset_config()") and, with more trials than slots, left Tune waiting on a
    cached actor forever; such classes get a fresh actor per trial instead.
    """
    from ray.tune import Trainable

    if getattr(trainable, "__hpo_command__", None) is not None:
        # A command trial's script must end with its trial: a cached actor would keep it running.
        return False
    if not inspect.isclass(trainable):
        return callable(trainable)
    if not issubclass(trainable, Trainable):
        return False
    return trainable.reset_config is not Trainable.reset_config


def checkpoint_frequency_for(trainable: Any) -> int:
    """Tune's ``checkpoint_frequency``: 1 for a ``Trainable`` class that overrides ``save_checkpoint``.

    A function trainable checkpoints itself through ``tune.report`` (Tune refuses a frequency
    for it); a class is only checkpointed when Tune asks, so without this a killed sweep's
    trials would restart from scratch instead of from their last epoch.
    """
    from ray.tune import Trainable

    if inspect.isclass(trainable) and issubclass(trainable, Trainable):
        return int(trainable.save_checkpoint is not Trainable.save_checkpoint)
    return 0


def _installed_roots() -> list[Path]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return [Path(r).resolve() for r in roots]


def _module_of(obj: Any) -> ModuleType | None:
    while isinstance(obj, functools.partial):
        obj = obj.func
    obj = inspect.unwrap(obj) if callable(obj) else obj
    name = getattr(obj, "__module__", None)
    return sys.modules.get(name) if name else None


def ship_module_by_value(obj: Any) -> str | None:
    """Make the module defining ``obj`` reach Ray workers even if they cannot import it.

    A trainable from the user's own script or a module found only on the driver's
    ``sys.path`` (a working directory, a temp dir) cannot be imported by worker processes.
    Such a module's top-level package is registered with cloudpickle to be pickled by value,
    which also works on a remote cluster. Installed packages and ``__main__`` (already by
    value) are left alone.

    Returns:
        The top-level module name registered, or None.
    """
    module = _module_of(obj)
    if module is None or module.__name__ == "__main__":
        return None
    top_name = module.__name__.partition(".")[0]
    if top_name in _OWN_PACKAGES or top_name in sys.builtin_module_names:
        return None
    top = sys.modules.get(top_name)
    # A folder without __init__.py (`mylab/train.py`) is a namespace package, which has no file of
    # its own: then the module that defines the trainable is shipped.
    target = top if getattr(top, "__file__", None) else module
    file = getattr(target, "__file__", None)
    if target is None or file is None:
        return None
    path = Path(file).resolve()
    if any(path.is_relative_to(root) for root in _installed_roots()):
        return None
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(target)
    logger.debug("module %s (%s) will be shipped to workers by value", target.__name__, path)
    return target.__name__


def own_copy(fn: Any) -> Any:
    """A copy of a plain function, so ``tune.with_resources`` (which sets ``fn._resources``)
    leaves the caller's function as it was (a later plain ``tune.run(fn, resources_per_trial=...)``
    would otherwise be refused)."""
    if not isinstance(fn, types.FunctionType):
        return fn
    new = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__dict__.update({k: v for k, v in fn.__dict__.items() if k != "_resources"})
    new.__qualname__, new.__module__, new.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    return new


def resolve_command(spec: Any, *, spec_dir: str | os.PathLike[str]) -> Any:
    """The function trainable of ``spec``'s command (``trainable: {command: ...}``), its paths resolved
    against ``spec_dir`` (the spec file's folder); its trials live in Tune's own trial folders."""
    from hpo.search.ray_compat.function_stop import original_working_dir, trial_folders
    from hpo.trainables.command import CommandSettings, command_trainable

    return command_trainable(CommandSettings.from_spec(spec, spec_dir=spec_dir), folders=trial_folders,
                             origin=original_working_dir)


def command_runnable(fn: Any, *, cpu: float, gpu: float) -> Any:
    """A command trainable as the Tuner runs it: its script ended (SIGTERM, the grace, SIGKILL) before
    Tune lets its actor go, and one trial's resources (the script's one process holds them all)."""
    from ray import tune

    from hpo.search.ray_compat.function_stop import with_stop_hook
    from hpo.trainables.command import stop_running

    return tune.with_resources(with_stop_hook(own_copy(fn), stop_running), {"cpu": cpu, "gpu": gpu})


def prepare_trainable(spec: Any, trainable: Any, *, from_spec: bool, storage: str | None = None) -> Any:
    """Build the trainable the Tuner gets; Ray must be initialised.

    Args:
        spec: The sweep spec (resources, fixed values, max_t, on_oom, seed).
        trainable: The resolved trainable (the spec's, or the caller's own).
        from_spec: True when ``trainable`` came from the spec's name; the registry's prepare
            hook then runs (e.g. loading the CIFAR data once into the object store).
        storage: Ray's storage path of the sweep (multi-worker trials keep Ray Train's run
            folders under it while they run).

    With ``resources.workers`` > 1 each trial drives a Ray Train ``TorchTrainer`` running
    ``trainable`` on that many workers (see ``hpo.search.engine.data_parallel``).
    """
    from ray import tune

    if getattr(trainable, "__hpo_command__", None) is not None:
        return command_runnable(trainable, cpu=float(spec.resources.cpu), gpu=float(spec.resources.gpu))
    ship_module_by_value(trainable)
    if from_spec:
        from hpo import trainables

        ctx = trainables.RunContext(
            fixed=dict(spec.fixed),
            max_epochs=spec.scheduler.max_t,
            on_oom=spec.failures.on_oom,
            seed=spec.search.seed,
        )
        built = trainables.build_trainable(spec.trainable, ctx)
    else:
        built = trainable
    workers = int(getattr(spec.resources, "workers", 1))
    if workers > 1:
        from hpo.search.engine.data_parallel import multi_worker_trainable

        return multi_worker_trainable(built, workers=workers, cpu=float(spec.resources.cpu),
                                      gpu=float(spec.resources.gpu), storage=storage or tempfile.gettempdir(),
                                      sweep=spec.name, on_oom=spec.failures.on_oom)
    return tune.with_resources(own_copy(built), {"cpu": float(spec.resources.cpu), "gpu": float(spec.resources.gpu)})
