"""hpo: declarative hyperparameter sweeps on Ray Tune.

The public API in one place::

    from hpo import load_spec, run_sweep, Store, register

``hpo.spaces`` (the spec language), ``hpo.search`` (the sweep engine and the CLI),
``hpo.trainables`` (the trainable registry and the built-in CIFAR trainable) and ``hpo.results``
(the results store and reports) lie beneath it. Importing ``hpo`` imports none of them: each name
is loaded on first use, so Ray workers and ``hpo --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.results import *  # noqa: F403
    from hpo.search import *  # noqa: F403
    from hpo.spaces import *  # noqa: F403
    from hpo.trainables import *  # noqa: F403

# Where each public name lives; a name two packages share (SweepExistsError) is one class.
_HOMES = {
    "hpo.spaces": (
        "ChoiceParam", "ClusterSpec", "CommandSpec", "ConfigClip", "ConfirmSpec", "FailuresSpec", "FloatParam",
        "GridParam", "IntParam", "MetricSourcesSpec", "MlflowSpec", "ObjectiveSpec", "OptunaSpace", "Param",
        "ParamAxis", "PlanResources", "Pow2Param", "ResourcesSpec", "SchedulerSpec", "SearchSpec", "SpecError",
        "SweepPlan", "SweepSpec", "TensorboardSourceSpec", "TrackingSpec", "WandbSpec", "WarmStartSpec",
        "apply_overrides", "build_plan", "builtin_names", "constant_config", "grid_size", "iter_params",
        "load_spec", "mutable_paths", "parse_spec", "sample_configs", "to_hyperopt_point", "to_hyperopt_points",
        "to_hyperopt_space", "to_optuna_point", "to_optuna_points", "to_pb2_bounds", "to_pbt_mutations",
        "to_tune_space",
    ),
    "hpo.search": (
        "ConfirmOutcome", "Refinement", "ResourceError", "SweepInputError", "SweepOutcome", "confirm_sweep",
        "dry_run_report", "extend_sweep", "refine_spec", "resume_sweep", "run_sweep",
    ),
    "hpo.results": (
        "Confirmation", "ConfirmedConfig", "Cost", "ExploitRecord", "HEARTBEAT_EVERY_S", "HEARTBEAT_STALE_S",
        "Importance", "LINEAGE_KEY", "Store", "StoreCallback", "StoreError", "SweepExistsError",
        "SweepNotFoundError", "SweepRecord", "TrialNotFoundError", "TrialRecord", "confirmation", "ended_early",
        "ensure_home", "export_report", "flatten_config", "format_duration", "local_checkpoint", "mask_secrets",
        "mask_url", "objective_values", "objectives_of", "param_importance", "pareto_front", "resolve_home",
        "sweep_cost", "trial_cost", "trials_to_csv", "trials_to_json",
    ),
    "hpo.trainables": (
        "AUTO_METRICS", "CheckpointError", "ConfigError", "ConfigKey", "Contract", "DataSet", "DataUnavailableError",
        "RunContext", "TrainableNotFoundError", "Trainer", "TrialOutOfMemoryError", "build_trainable", "contract_of",
        "declare", "evaluate_checkpoint", "key_problem", "load_dataset", "load_model", "prepare_cifar", "register",
        "registered_names", "resolve", "select_device", "train_cifar", "train_epochs",
    ),
    "hpo.errors": ("InputError",),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'hpo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
