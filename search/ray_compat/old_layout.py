"""Sweeps started before hpo had one import name resume: the old module paths in their pickles.

Until 2026-12-07 (commit a49b38e) hpo was installed as top-level packages (``search``, ``spaces``,
``trainables``, ``results``, ``configs``, ``hpo_errors``). Ray pickles hpo's searcher, scheduler,
callbacks, stopper and trial-name function by module path into a sweep's experiment checkpoint:
``tuner.pkl``, ``experiment_state-*.json`` and ``search_gen_state-*.json`` (cloudpickled, in hex),
``basic-variant-state-*.json`` and ``searcher-state-*.pkl``. Ray's own restore unpickles them with
plain ``cloudpickle.loads``/``pickle.load``, so no Unpickler of ours sees them.

While :func:`old_module_paths` is active (the engine holds it around a resumed sweep's
``Tuner.restore`` and its fit, in the driver: Tune reads the experiment and searcher state as the fit
starts, and new sweeps never hold it), an import hook at the front of ``sys.meta_path`` answers the
old module names with stand-in modules whose attributes are the new layout's objects. When it ends,
the hook and every stand-in are gone: ``import search`` fails again, and nothing outside that block
can reach an old name. Within it, a name some module already imported (a user's own ``search.py``)
is left as it is. A name that moved between modules since is listed in :data:`MOVED_NAMES`, with why.

Touches no private Ray name, but only Ray's pickled checkpoints need it, so it lives here.
Checked on Ray 2.60.0 with the sweeps in ``tests/search_tests/old_layout/`` (an Optuna+ASHA sweep and
a PBT sweep of a user trainable, SIGKILLed under a49b38e).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["MOVED_NAMES", "OLD_MODULES", "old_module_paths", "resolve_old_name"]

# Every module of the old layout (a49b38e) and where it lives now.
OLD_MODULES: dict[str, str] = {
    "configs": "hpo.configs",
    "hpo_errors": "hpo.errors",
    "results": "hpo.results",
    "results._callback": "hpo.results.store.callback",
    "results._checkpoints": "hpo.results.store.checkpoints",
    "results._confirm": "hpo.results.analysis.confirm",
    "results._cost": "hpo.results.analysis.cost",
    "results._db": "hpo.results.store.db",
    "results._env": "hpo.results.store.env",
    "results._errors": "hpo.results.errors",
    "results._html": "hpo.results.report.html",
    "results._importance": "hpo.results.analysis.importance",
    "results._markdown": "hpo.results.report.markdown",
    "results._markup": "hpo.results.report.markup",
    "results._parallel": "hpo.results.report.parallel",
    "results._pareto": "hpo.results.analysis.pareto",
    "results._plan": "hpo.results.analysis.plan",
    "results._plots": "hpo.results.report.plots",
    "results._records": "hpo.results.store.records",
    "results._report": "hpo.results.report.export",
    "results._report_data": "hpo.results.report.data",
    "results._sample": "hpo.results.analysis.sample",
    "results._schema": "hpo.results.store.schema",
    "results._secrets": "hpo.results.secrets",
    "results._sections": "hpo.results.report.sections",
    "results._store": "hpo.results.store.store",
    "results._tabular": "hpo.results.report.tabular",
    "results._ticks": "hpo.results.report.ticks",
    "results._writer": "hpo.results.store.writer",
    "results.dashboard": "hpo.results.dashboard",
    "results.dashboard._app": "hpo.results.dashboard._app",
    "results.dashboard._assets": "hpo.results.dashboard._assets",
    "results.dashboard._bind": "hpo.results.dashboard._bind",
    "results.dashboard._compare": "hpo.results.dashboard._compare",
    "results.dashboard._guard": "hpo.results.dashboard._guard",
    "results.dashboard._lazy": "hpo.results.dashboard._lazy",
    "results.dashboard._model": "hpo.results.dashboard._model",
    "results.dashboard._pages": "hpo.results.dashboard._pages",
    "results.dashboard._parts": "hpo.results.dashboard._parts",
    "results.dashboard._server": "hpo.results.dashboard._server",
    "results.dashboard._snapshot": "hpo.results.dashboard._snapshot",
    "results.dashboard._trial": "hpo.results.dashboard._trial",
    "search": "hpo.search",
    "search._tracking_mlflow": "hpo.search.tracking.mlflow_tracker",
    "search._tracking_wandb": "hpo.search.tracking.wandb_tracker",
    "search.callbacks": "hpo.search.engine.callbacks",
    "search.checks": "hpo.search.engine.checks",
    "search.cli": "hpo.search.cli.main",
    "search.cli_derive": "hpo.search.cli.derive",
    "search.cli_jobs": "hpo.search.cli.jobs",
    "search.cli_options": "hpo.search.cli._shared",
    "search.cli_serve": "hpo.search.cli.serve",
    "search.cli_store": "hpo.search.cli.store",
    "search.cli_sweep": "hpo.search.cli.sweep",
    "search.cluster": "hpo.search.cluster.local",
    "search.confirm": "hpo.search.derive.confirm",
    "search.data_parallel": "hpo.search.engine.data_parallel",
    "search.driver": "hpo.search.engine.driver",
    "search.environ": "hpo.search.engine.environ",
    "search.errors": "hpo.search.errors",
    "search.hyperopt_points": "hpo.search.searchers.hyperopt_points",
    "search.jobs": "hpo.search.cluster.jobs",
    "search.optuna_search": "hpo.search.searchers.optuna_search",
    "search.optuna_state": "hpo.search.searchers.optuna_state",
    "search.orphans": "hpo.search.cluster.orphans",
    "search.progress": "hpo.search.engine.progress",
    "search.ray_token": "hpo.search.cluster.ray_token",
    "search.refine": "hpo.search.derive.refine",
    "search.restored_state": "hpo.search.searchers.restored_state",
    "search.result_grid": "hpo.search.engine.result_grid",
    "search.retention": "hpo.search.engine.retention",
    "search.schedulers": "hpo.search.schedulers.build",
    "search.schedulers_pb2": "hpo.search.schedulers.pb2",
    "search.searchers": "hpo.search.searchers.build",
    "search.stall": "hpo.search.engine.stall",
    "search.storage": "hpo.search.cluster.storage",
    "search.sweep": "hpo.search.engine.sweep",
    "search.tbx": "hpo.search.engine.tbx",
    "search.tracking": "hpo.search.tracking.trackers",
    "search.trainable_glue": "hpo.search.engine.trainable_glue",
    "search.usage_tag": "hpo.search.ray_compat.usage_tag",
    "search.warm_start": "hpo.search.engine.warm_start",
    "spaces": "hpo.spaces",
    "spaces.dry_run": "hpo.spaces.dry_run",
    "spaces.errors": "hpo.spaces.errors",
    "spaces.models": "hpo.spaces.models",
    "spaces.mutations": "hpo.spaces.mutations",
    "spaces.objectives": "hpo.spaces.objectives",
    "spaces.params": "hpo.spaces.params",
    "spaces.plan": "hpo.spaces.plan",
    "spaces.points": "hpo.spaces.points",
    "spaces.sampling": "hpo.spaces.sampling",
    "spaces.translate": "hpo.spaces.translate",
    "spaces.validate": "hpo.spaces.validate",
    "spaces.yaml_io": "hpo.spaces.yaml_io",
    "trainables": "hpo.trainables",
    "trainables.batches": "hpo.trainables.batches",
    "trainables.cifar": "hpo.trainables.cifar",
    "trainables.config": "hpo.trainables.config",
    "trainables.contract": "hpo.trainables.contract",
    "trainables.data": "hpo.trainables.data",
    "trainables.device": "hpo.trainables.device",
    "trainables.distributed": "hpo.trainables.distributed",
    "trainables.models": "hpo.trainables.models",
    "trainables.registry": "hpo.trainables.registry",
    "trainables.shared": "hpo.trainables.shared",
    "trainables.training": "hpo.trainables.training",
}

# Old "module.name" -> new "module:name", for names that are no longer in the module OLD_MODULES maps to.
MOVED_NAMES: dict[str, str] = {
    # Ray's TensorBoard callback, pickled in tuner.pkl, holds its writer class; the class is public now.
    "search.tbx._SyncEventWriter": "hpo.search.engine.tbx:SyncEventWriter",
    # Tune's trial_dirname_creator, pickled in tuner.pkl's TuneConfig; it moved with the Tuner's construction.
    "search.sweep._trial_dirname": "hpo.search.engine.tuner:trial_dirname",
}

_OLD_PACKAGES = frozenset({"search", "spaces", "trainables", "results", "configs", "results.dashboard"})
_lock = threading.Lock()


def resolve_old_name(module: str, name: str) -> Any:
    """The object an old pickle names as ``module.name`` (``module`` an old-layout module path).

    Raises:
        AttributeError: Neither the new module nor :data:`MOVED_NAMES` has it.
    """
    moved = MOVED_NAMES.get(f"{module}.{name}")
    if moved is not None:
        new_module, _, new_name = moved.partition(":")
        return getattr(importlib.import_module(new_module), new_name)
    target = importlib.import_module(OLD_MODULES[module])
    try:
        return getattr(target, name)
    except AttributeError:
        raise AttributeError(f"old module path {module}.{name}: not in {OLD_MODULES[module]} "
                             "(add it to hpo.search.ray_compat.old_layout.MOVED_NAMES)") from None


class _StandIn(types.ModuleType):
    """An old module path, answering attribute reads with the new layout's objects."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return resolve_old_name(self.__name__, name)


class _OldLayoutFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in OLD_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname in _OLD_PACKAGES)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandIn(spec.name)
        if spec.name in _OLD_PACKAGES:
            module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


@contextmanager
def old_module_paths() -> Iterator[None]:
    """Within the block, an old pickle's module paths (``search.callbacks``, ...) resolve to hpo's.

    A name already in ``sys.modules`` (a user's own ``search.py``, say) is left alone, and whatever
    the block imported under an old name is removed from ``sys.modules`` when it ends.
    """
    finder = _OldLayoutFinder()
    with _lock:
        before = {name: sys.modules[name] for name in OLD_MODULES if name in sys.modules}
        sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with _lock:
            if finder in sys.meta_path:
                sys.meta_path.remove(finder)
            for name in OLD_MODULES:
                if isinstance(sys.modules.get(name), _StandIn) and name not in before:
                    del sys.modules[name]
