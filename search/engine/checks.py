"""Checks of a spec against its trainable's contract, run before Ray starts.

``hpo validate``, ``hpo sweep --dry-run`` and ``run_sweep`` all call :func:`check_spec`: the
metric (and the scheduler's own, ``scheduler.metric``) is one the trainable reports, every
``fixed`` and ``params`` key (nested groups and conditional branches included) is one it accepts,
values and sampled ranges fit the declared types, a single-process trainable is given one worker
and at most one GPU, and a multi-worker one at most one GPU per worker. Problems are reported
together, by dotted path, as one ``SpecError``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hpo import trainables
from hpo.results import Store, resolve_home
from hpo.search.engine.store import check_name_free
from hpo.search.errors import SweepExistsError
from hpo.spaces import ChoiceParam, FloatParam, GridParam, IntParam, Pow2Param, SpecError, SweepSpec, build_plan
from hpo.spaces.params import did_you_mean
from hpo.trainables import ConfigKey, Contract, key_problem

__all__ = ["COMMAND_CONTRACT", "check_spec", "contract_problems", "exploit_problems", "import_paths", "with_name_clash",
           "with_stored_name_clash"]

logger = logging.getLogger(__name__)

_DISTRIBUTIONS = (FloatParam, IntParam, Pow2Param, ChoiceParam, GridParam)


@contextlib.contextmanager
def import_paths(spec: SweepSpec) -> Iterator[None]:
    """Let ``trainable: pkg.mod:fn`` import from the working directory and the spec file's folder."""
    extra = [os.getcwd()]
    if spec.source and Path(spec.source).is_file():
        extra.append(str(Path(spec.source).resolve().parent))
    added = [p for p in dict.fromkeys(extra) if p not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for path in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)


def _name(spec: SweepSpec) -> str:
    label = spec.trainable_label
    return f"the {label} trainable" if isinstance(spec.trainable, str) and ":" not in label else f"trainable {label}"


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def _range_problem(key: ConfigKey, node: Any) -> str | None:
    """Why a numeric distribution's range does not fit ``key``, or None."""
    if key.type == "any":
        return None
    if key.type not in ("float", "int"):
        return f"must be {key.describe()}, got a {node.type} range; use type: choice"
    if key.type == "int" and isinstance(node, FloatParam):
        return f"must be {key.describe()}, got a float range; use type: int"
    low, high = (node.values()[0], node.values()[-1]) if isinstance(node, Pow2Param) else (node.low, node.high)
    if (key.low is not None and low < key.low) or (key.high is not None and high > key.high):
        return f"must be {key.describe()}, got the range {_show(low)}..{_show(high)}"
    return None


class _Checker:
    def __init__(self, spec: SweepSpec, config: Mapping[str, ConfigKey]) -> None:
        self.spec, self.config = spec, config
        self.problems: list[tuple[str, str]] = []

    def unknown(self, path: str, key: str, allowed: Mapping[str, Any], where: str) -> None:
        self.problems.append((path, f"{where} has no config key {key!r}{did_you_mean(key, list(allowed))}; "
                                    f"it accepts: {', '.join(sorted(allowed))}"))

    def section(self, section: str, space: Mapping[str, Any], keys: Mapping[str, ConfigKey], where: str) -> None:
        for key, node in space.items():
            path = f"{section}.{key}"
            if key not in keys:
                self.unknown(path, key, keys, where)
            else:
                self.node(path, keys[key], node)

    def node(self, path: str, key: ConfigKey, node: Any) -> None:
        if isinstance(node, (FloatParam, IntParam, Pow2Param)):
            problem = _range_problem(key, node)
            if problem:
                self.problems.append((path, problem))
        elif isinstance(node, (ChoiceParam, GridParam)):
            for i, value in enumerate(node.values):
                self.node(f"{path}.values[{i}]", key, value)
        elif isinstance(node, dict):
            self.group(path, key, node)
        else:
            problem = key_problem(key, node)
            if problem:
                self.problems.append((path, problem))

    def group(self, path: str, key: ConfigKey, group: Mapping[str, Any]) -> None:
        if not key.groups:
            self.problems.append((path, f"must be {key.describe()}, got a group"))
            return
        name = group.get("name")
        if isinstance(name, _DISTRIBUTIONS) or name not in key.groups:
            got = "a distribution" if isinstance(name, _DISTRIBUTIONS) else _show(name)
            self.problems.append((f"{path}.name", f"a group needs name: one of {', '.join(key.groups)}, got {got}"))
            return
        allowed = key.groups[name]
        self.section(path, {k: v for k, v in group.items() if k != "name"}, allowed, f"group {name}")


def contract_problems(spec: SweepSpec, contract: Contract) -> list[tuple[str, str]]:
    """Every way ``spec`` breaks ``contract``, as ``(dotted path, message)`` pairs."""
    problems: list[tuple[str, str]] = []
    where = _name(spec)
    reported = list(contract.metrics or ())
    ranked = [(f"metrics[{i}].name" if spec.metrics else "metric", metric)
              for i, (metric, _) in enumerate(spec.objectives)]
    if spec.scheduler.metric is not None:
        ranked.append(("scheduler.metric", spec.scheduler.metric))
    for path, metric in ranked:
        if contract.reports(metric) is False:
            problems.append((path, f"{where} does not report {metric!r}{did_you_mean(metric, reported)}; "
                                   f"it reports: {', '.join(reported)}"))
    if contract.config is not None:
        checker = _Checker(spec, contract.config)
        checker.section("fixed", spec.fixed, contract.config, where)
        checker.section("params", spec.params, contract.config, where)
        problems += checker.problems
    gpu, workers = float(spec.resources.gpu), spec.resources.workers
    if workers > 1 and not contract.multi_worker:
        problems.append(("resources.workers", f"{where} trains each trial in one process, got workers={workers}; "
                                              "use workers: 1, or a trainable declared with multi_worker=True"))
    if gpu > 1 and (contract.declared or contract.multi_worker):
        one = "each worker of " if contract.multi_worker else ""
        problems.append(("resources.gpu", f"{one}{where} trains on one GPU, got gpu={gpu:g}; use gpu: 1 or less "
                                          f"(a fraction packs trials onto one GPU), and resources.workers: "
                                          f"{round(gpu) * workers} with gpu: 1 for {round(gpu) * workers} GPUs "
                                          "per trial" + ("" if contract.multi_worker else
                                                         " (a trainable declared with multi_worker=True)")))
    return problems


def _checkpoints(contract: Contract, trainable: Any) -> bool:
    if contract.checkpoints:
        return True
    from hpo.search.engine.trainable_glue import checkpoint_frequency_for

    # A Trainable class that overrides save_checkpoint checkpoints without declaring it.
    return isinstance(trainable, type) and checkpoint_frequency_for(trainable) == 1


def exploit_problems(spec: SweepSpec, contract: Contract, *, trainable: Any = None) -> list[tuple[str, str]]:
    """PBT/PB2 against the trainable: it must checkpoint, and take new values of what is mutated."""
    plan = build_plan(spec)  # its exploits and mutations, which no capacity changes
    if not plan.exploits:
        return []
    kind = plan.scheduler
    problems: list[tuple[str, str]] = []
    where = _name(spec)
    if not _checkpoints(contract, trainable):
        problems.append(("scheduler.type", f"{kind} continues trials from other trials' checkpoints, and {where} "
                                           "declares none; checkpoint with tune.report(..., checkpoint=) and "
                                           "declare it (register(..., checkpoints=True) or "
                                           "trainables.declare(checkpoints=True)), or use another scheduler"))
    mutations = plan.mutations
    for name in mutations:
        key = (contract.config or {}).get(name.split(".")[0])
        if key is not None and not key.mutable:
            keep = [m for m in mutations if m != name]
            fix = f"set scheduler.mutate: [{', '.join(keep)}]" if keep else "move it to fixed"
            problems.append((f"params.{name}", f"{where} cannot change {name!r} in a running trial (the checkpoint "
                                               f"fixes it), and {kind} would mutate it; {fix}"))
    if kind == "pb2":
        import importlib.util

        if importlib.util.find_spec("sklearn") is None:
            problems.append(("scheduler.type", "pb2 needs scikit-learn: pip install 'hpo-service[pb2]'"))
    return problems


# A command declares no keys nor metrics (hpo validate checks its placeholders and sources instead); what it
# writes to HPO_CHECKPOINT_DIR before a report is that result's checkpoint, so PBT can run it.
COMMAND_CONTRACT = Contract(checkpoints=True)


def check_spec(spec: SweepSpec, *, trainable: Any = None, spec_dir: str | os.PathLike[str] | None = None) -> Contract:
    """Check ``spec`` against its trainable's contract (``trainable`` when given, else the spec's).

    A command trainable (``trainable: {command: ...}``) is checked against its files and the argv rule
    instead (``trainables.command.checks``).

    Args:
        spec: The spec.
        trainable: The trainable object, when the sweep runs one rather than the spec's.
        spec_dir: Where a command's program and ``cwd`` resolve, as ``spec_dir_of(spec, given=spec_dir)``
            reads it (default: the spec file's folder or the working directory); resume and confirm pass
            the stored one.

    Returns:
        The contract (empty when the trainable declares nothing).

    Raises:
        SpecError: every problem found, by dotted path.
        trainables.TrainableNotFoundError: the spec's trainable does not resolve.
    """
    if trainable is None and spec.command is not None:
        from hpo.trainables.command.checks import command_problems, spec_dir_of

        problems = (command_problems(spec, spec_dir=spec_dir_of(spec, given=spec_dir))
                    + exploit_problems(spec, COMMAND_CONTRACT))
        if problems:
            raise SpecError(problems, source=spec.source)
        return COMMAND_CONTRACT
    with import_paths(spec):
        contract = trainables.contract_of(trainable if trainable is not None else spec.trainable)
    problems = contract_problems(spec, contract) + exploit_problems(spec, contract, trainable=trainable)
    if problems:
        raise SpecError(problems, source=spec.source)
    return contract



# --------------------------------------------------------------------------- the name, beside the spec's problems
def with_name_clash(error: SpecError, *, store: Store, name: str, experiment_path: str | None) -> SpecError:
    """``error`` with the clash of ``name`` added as its last problem (path ``name``), when the store or
    Ray's storage already holds it; ``error`` itself otherwise.

    A spec is checked before its name, and a name clash found beside its problems is reported in the
    same error: one run shows everything, instead of the name first and the spec after ``--name``.
    """
    try:
        check_name_free(store, name, experiment_path)
    except SweepExistsError as clash:
        return SpecError([*error.problems, ("name", str(clash))], source=error.source, name=error.name)
    return error


def with_stored_name_clash(error: SpecError, *, home: str | os.PathLike[str] | None,
                           store: Store | str | None) -> SpecError:
    """:func:`with_name_clash` for a spec that did not parse (``hpo sweep``, ``run_sweep`` given a dict): its
    name (``SpecError.name``) against ``store`` (a ``Store``, or a URL; default: the home's store), if any.

    Its storage is not known, so only the store is asked; a store that does not exist or cannot be
    opened adds nothing (the spec's problems are the error to show, not the store's).
    """
    if error.name is None:
        return error
    if isinstance(store, Store):
        return with_name_clash(error, store=store, name=error.name, experiment_path=None)
    try:
        with Store.open(store, home=resolve_home(home), create=False) as found:
            return with_name_clash(error, store=found, name=error.name, experiment_path=None)
    except Exception:  # no store yet, or none reachable: the spec's problems are still the answer
        logger.debug("no store to check the name %r against", error.name, exc_info=True)
        return error
