"""The spec language: YAML -> a typed, checked ``SweepSpec`` -> Ray Tune and HyperOpt spaces."""

from __future__ import annotations

from hpo.spaces.command import CommandSpec, MetricSourcesSpec, TensorboardSourceSpec
from hpo.spaces.dry_run import dry_run_report as dry_run_report  # the spec part; hpo.dry_run_report adds commands
from hpo.spaces.errors import SpecError
from hpo.spaces.models import (
    ClusterSpec,
    ConfirmSpec,
    FailuresSpec,
    MlflowSpec,
    ObjectiveSpec,
    ResourcesSpec,
    SchedulerSpec,
    SearchSpec,
    SweepSpec,
    TrackingSpec,
    WandbSpec,
    WarmStartSpec,
)
from hpo.spaces.mutations import ConfigClip, mutable_paths, to_pb2_bounds, to_pbt_mutations
from hpo.spaces.params import ChoiceParam, FloatParam, GridParam, IntParam, Param, Pow2Param, iter_params
from hpo.spaces.plan import ParamAxis, PlanResources, SweepPlan, build_plan
from hpo.spaces.sampling import grid_size, sample_configs
from hpo.spaces.translate import (
    OptunaSpace,
    constant_config,
    to_hyperopt_point,
    to_hyperopt_points,
    to_hyperopt_space,
    to_optuna_point,
    to_optuna_points,
    to_tune_space,
)
from hpo.spaces.validate import load_spec, parse_spec
from hpo.spaces.yaml_io import apply_overrides, builtin_names

__all__ = [
    "ChoiceParam",
    "ClusterSpec",
    "CommandSpec",
    "ConfigClip",
    "ConfirmSpec",
    "FailuresSpec",
    "FloatParam",
    "GridParam",
    "IntParam",
    "MetricSourcesSpec",
    "MlflowSpec",
    "ObjectiveSpec",
    "OptunaSpace",
    "Param",
    "ParamAxis",
    "PlanResources",
    "Pow2Param",
    "ResourcesSpec",
    "SchedulerSpec",
    "SearchSpec",
    "SpecError",
    "SweepPlan",
    "SweepSpec",
    "TensorboardSourceSpec",
    "TrackingSpec",
    "WandbSpec",
    "WarmStartSpec",
    "apply_overrides",
    "build_plan",
    "builtin_names",
    "constant_config",
    "grid_size",
    "iter_params",
    "load_spec",
    "mutable_paths",
    "parse_spec",
    "sample_configs",
    "to_hyperopt_point",
    "to_hyperopt_points",
    "to_hyperopt_space",
    "to_optuna_point",
    "to_optuna_points",
    "to_pb2_bounds",
    "to_pbt_mutations",
    "to_tune_space",
]
