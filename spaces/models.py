"""The typed sweep spec: frozen pydantic v2 models, unknown keys rejected everywhere."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError

from hpo.spaces.command import CommandSpec
from hpo.spaces.durations import DURATION_RULE, duration_seconds, duration_text
from hpo.spaces.params import node_to_data

__all__ = [
    "ClusterSpec",
    "ConfirmSpec",
    "FailuresSpec",
    "MlflowSpec",
    "ObjectiveSpec",
    "ResourcesSpec",
    "SchedulerSpec",
    "SearchSpec",
    "SweepSpec",
    "TrackingSpec",
    "WandbSpec",
    "WarmStartSpec",
]

# Scheduler knobs only PBT/PB2 read: left out of the resolved spec of other schedulers, so their
# specs (and hashes) stay what they were before PBT.
PBT_KNOBS = ("perturbation_interval", "quantile_fraction", "resample_probability", "mutate", "synch")
_EXPLOITING = ("pbt", "pb2")  # read through SchedulerSpec.exploits (and the plan's copy of it), never spelled again


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarmStartSpec(_Section):
    """Seed the searcher with an earlier sweep's trials (configs and results) from the store."""

    sweep: str = Field(min_length=1, description="The earlier sweep's name in the same store.")
    top_k: int | None = Field(None, ge=1, description="Its best k trials only; null: every trial with a result.")


class SearchSpec(_Section):
    """How configs are proposed."""

    algorithm: Literal["optuna", "hyperopt", "random", "grid"] = Field(
        "optuna", description="optuna (its sampler below; the default: bench/search_quality.py), hyperopt (TPE), "
                              "random, or grid (every combination)."
    )
    sampler: Literal["tpe", "cmaes", "nsga2", "gp", "random"] | None = Field(
        None, description="optuna only: tpe (default), cmaes, nsga2, gp or random."
    )
    num_samples: int = Field(10, ge=1, description="Trials; for grid, repeats of the whole grid.")
    max_concurrent: int | None = Field(None, ge=1, description="Trials at once; default: as resources allow.")
    seed: int | None = Field(0, description="Seeds the searcher; same seed, same configs.")
    points_to_evaluate: list[Any] = Field(
        default_factory=list, description="Configs to try first (warm start)."
    )
    warm_start: WarmStartSpec | None = Field(
        None, description="Seed the searcher with an earlier sweep's evaluated trials (same trainable, metric)."
    )


class ObjectiveSpec(_Section):
    """One of several objectives (``metrics:``): a reported metric and its direction."""

    name: str = Field(min_length=1, description="A metric the trainable reports.")
    mode: Literal["min", "max"] = Field(description="Minimise or maximise it.")


class SchedulerSpec(_Section):
    """When trials are stopped early."""

    type: Literal["asha", "hyperband", "median", "fifo", "pbt", "pb2"] = Field("asha", description="Trial scheduler.")
    metric: str | None = Field(
        None, min_length=1, description="The metric the scheduler ranks trials by, when not the sweep's (with "
                                        "mode); the searcher, the store and the best trial keep the sweep's metric.")
    mode: Literal["min", "max"] | None = Field(
        None, description="With scheduler.metric: min keeps the trials with its lowest values, max the highest.")
    max_t: int = Field(10, ge=1, description="Most time_attr units a trial may run (epochs, for CIFAR).")
    grace_period: int = Field(1, ge=1, description="Units a trial always gets before it can be stopped.")
    reduction_factor: float = Field(2, ge=2, description="ASHA/Hyperband: keep the top 1/rf at each rung.")
    time_attr: str = Field("training_iteration", description="The result field that measures progress.")
    perturbation_interval: int | None = Field(
        None, ge=1, description="PBT/PB2: time_attr units between exploits; null: max_t // 4 (at least 1)."
    )
    quantile_fraction: float = Field(
        0.25, ge=0, le=0.5, description="PBT/PB2: the bottom fraction copies the top fraction's checkpoints."
    )
    resample_probability: float = Field(
        0.25, ge=0, le=1, description="PBT: chance a mutated param is resampled instead of perturbed."
    )
    mutate: list[str] | None = Field(
        None, description="PBT/PB2: the params (dotted) it may change; null: every searched param it can."
    )
    synch: bool = Field(
        False, description="PBT/PB2: trials wait for each other at each interval (fair when trials start late)."
    )

    @property
    def exploits(self) -> bool:
        """PBT/PB2: trials continue from other trials' checkpoints with mutated params.

        The one place this rule is written: the spec's own checks and serialisation read it here,
        everything after the plan reads ``SweepPlan.exploits``, which is this value.
        """
        return self.type in _EXPLOITING


class ResourcesSpec(_Section):
    """What each trial gets; fractional GPUs pack several trials on one device."""

    cpu: float = Field(1, gt=0, description="CPUs per trial (per worker when workers > 1).")
    gpu: float = Field(0, ge=0, description="GPUs per trial (per worker); 0.5 puts two trials on one GPU.")
    workers: int = Field(
        1, ge=1, description="Processes per trial: > 1 trains each trial data-parallel (Ray Train, DDP)."
    )


class FailuresSpec(_Section):
    """What happens when a trial fails."""

    max_retries: int = Field(0, ge=0, description="Retries of a failed trial, from its last checkpoint.")
    on_oom: Literal["fail", "halve_batch"] = Field(
        "fail", description="On CUDA out-of-memory: fail the trial, or halve the micro-batch and go on."
    )
    trial_timeout: float | None = Field(
        None, description="A duration (30s, 10m, 2h): a trial running longer since it (re)started is ended and "
                          "counts as failed; null: no limit. Written back as a duration.")
    report_timeout: float | None = Field(
        None, description="A duration (30s, 10m, 2h): a trial with no result for that long (since its last "
                          "result or its start) is ended and counts as failed; null: no limit.")

    @field_validator("trial_timeout", "report_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        if value is None:
            return None
        try:
            return duration_seconds(value)
        except ValueError:
            raise PydanticCustomError("duration", DURATION_RULE) from None

    @field_serializer("trial_timeout", "report_timeout", when_used="json")
    def _duration_text(self, seconds: float | None) -> str | None:
        return None if seconds is None else duration_text(seconds)
    fail_fast: bool = Field(
        True, description="End the sweep, failed, when its first 3 trials (all, if fewer are planned) fail in a row "
                          "with the same error before any trial reports a result; false runs every trial anyway."
    )


class ClusterSpec(_Section):
    """Where Ray runs: a local instance (address null) or an existing cluster."""

    address: str | None = Field(None, description='null = local Ray; "auto" or "ray://host:10001".')
    num_cpus: int | None = Field(None, ge=1, description="Local instance only: CPUs (default: the machine's).")
    num_gpus: float | None = Field(None, ge=0, description="Local instance only: GPUs (default: detected).")


class WandbSpec(_Section):
    """Weights & Biases: the sweep is one group, each trial one run. The API key never goes here."""

    project: str = Field("hpo", min_length=1, description="W&B project the runs go to.")
    entity: str | None = Field(None, description="W&B user or team; null: the login's default entity.")
    group: str | None = Field(None, description="W&B group of the sweep's runs; null: the sweep's name.")
    mode: Literal["online", "offline", "disabled"] = Field(
        "online", description="online needs WANDB_API_KEY or `wandb login`; offline writes run files to sync later."
    )


class MlflowSpec(_Section):
    """MLflow: the sweep is one experiment, each trial one run."""

    tracking_uri: str | None = Field(
        None, description="sqlite:///runs/mlflow.db, http://host:5000...; null: MLflow's default (MLFLOW_TRACKING_URI)."
    )
    experiment: str | None = Field(None, description="MLflow experiment; null: the sweep's name.")


class TrackingSpec(_Section):
    """Experiment trackers fed with every trial's config, per-epoch metrics and final status."""

    wandb: WandbSpec | None = Field(None, description="Weights & Biases (extra: hpo-service[wandb]).")
    mlflow: MlflowSpec | None = Field(None, description="MLflow (extra: hpo-service[mlflow]).")


class ConfirmSpec(_Section):
    """This sweep confirms an earlier one: it re-runs that sweep's top configs, each with fresh seeds,
    to the full budget (``hpo confirm`` writes it; the configs are its ``search.points_to_evaluate``)."""

    sweep: str = Field(min_length=1, description="The sweep whose top configs this one re-runs (its parent).")
    top: int = Field(ge=1, description="How many of the parent's best configs are re-run.")
    seeds: list[int] = Field(min_length=2, description="The training seeds each config is re-run with.")


class SweepSpec(_Section):
    """A whole sweep: what to run, what to search, how to schedule it."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Sweep name: key in the store.")
    trainable: str | CommandSpec = Field(
        description='Registry name ("cifar"), import path "pkg.module:function", or a mapping with command: '
                    '(an existing script run as each trial).')
    metric: str = Field(min_length=1, description="The reported metric to optimise.")
    mode: Literal["min", "max"] = Field(description="Minimise or maximise the metric.")
    metrics: list[ObjectiveSpec] | None = Field(
        None, min_length=1, description="Several objectives instead of metric/mode; metric/mode are the first."
    )
    search: SearchSpec = Field(default_factory=SearchSpec)
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    stop: dict[str, float] = Field(default_factory=dict, description="Stop a trial when a result field reaches this.")
    failures: FailuresSpec = Field(default_factory=FailuresSpec)
    params: dict[str, Any] = Field(default_factory=dict, description="The searched space.")
    fixed: dict[str, Any] = Field(default_factory=dict, description="Constants merged into every config.")
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    storage: str | None = Field(
        None, min_length=1,
        description="Ray's storage for trial dirs and checkpoints: s3://bucket/prefix or a shared path; "
                    "null: $HPO_STORAGE, else <home>/ray.")
    confirm: ConfirmSpec | None = Field(
        None, description="Set by `hpo confirm`: the parent sweep, its top configs and the seeds they re-run with.")

    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _first_objective(cls, data: Any) -> Any:
        # With `metrics:`, metric/mode are the first objective, so every single-metric reader
        # (scheduler, store, progress view) keeps working; validate.py checks only one form is written.
        if isinstance(data, dict) and "metric" not in data and "mode" not in data:
            metrics = data.get("metrics")
            first = metrics[0] if isinstance(metrics, list) and metrics else None
            if isinstance(first, dict):
                data = {**data, "metric": first.get("name"), "mode": first.get("mode")}
            elif isinstance(first, ObjectiveSpec):
                data = {**data, "metric": first.name, "mode": first.mode}
        return data

    @property
    def objectives(self) -> tuple[tuple[str, str], ...]:
        """Every objective as ``(metric, mode)``: the ``metrics`` list, else ``(metric, mode)``."""
        if self.metrics:
            return tuple((m.name, m.mode) for m in self.metrics)
        return ((self.metric, self.mode),)

    @property
    def command(self) -> CommandSpec | None:
        """The command trainable (an existing script run as each trial), or None for a Python trainable."""
        return self.trainable if isinstance(self.trainable, CommandSpec) else None

    @property
    def trainable_label(self) -> str:
        """The trainable in one line: ``cifar``, ``pkg.mod:fn`` or ``command: python train.py ...``."""
        return self.trainable.label() if isinstance(self.trainable, CommandSpec) else self.trainable

    @property
    def source(self) -> str | None:
        """The file or built-in name this spec was read from, if any."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec (defaults filled in) as plain data; parsing it gives this spec back."""
        data = self.model_dump(mode="json", exclude={"params"})
        if not self.scheduler.exploits:
            for knob in PBT_KNOBS:
                del data["scheduler"][knob]
        for key in ("metric", "mode"):
            if data["scheduler"][key] is None:
                del data["scheduler"][key]  # the sweep's metric: the resolved spec (and its hash) stays what it was
        if data["search"]["warm_start"] is None:
            del data["search"]["warm_start"]
        data["params"] = node_to_data(self.params)
        if data["metrics"] is None:
            del data["metrics"]  # single metric: the resolved spec (and its hash) stays what it was
        else:
            del data["metric"], data["mode"]  # the first objective; written once, in metrics
        if data["search"]["sampler"] is None:
            del data["search"]["sampler"]
        if data["tracking"] == TrackingSpec().model_dump(mode="json"):
            del data["tracking"]  # no tracker: the resolved spec (and its hash) stays what it was before trackers
        if data["failures"].get("fail_fast") is True:
            del data["failures"]["fail_fast"]  # the default: the resolved spec (and its hash) stays what it was
        if data["resources"].get("workers") == 1:
            del data["resources"]["workers"]  # the same for single-process trials, the default
        for limit in ("trial_timeout", "report_timeout"):
            if data["failures"].get(limit) is None:
                data["failures"].pop(limit, None)  # no time limit: the resolved spec (and its hash) stays as it was
        if data.get("storage") is None:
            data.pop("storage", None)  # likewise for a spec that names no storage
        if data.get("confirm") is None:
            data.pop("confirm", None)  # and for every sweep that is not a confirmation
        order = list(type(self).model_fields)
        return {key: data[key] for key in order if key in data}

    def to_yaml(self) -> str:
        """The resolved spec as YAML, e.g. for the results store and for ``hpo resume``."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)

    def spec_hash(self) -> str:
        """A stable digest of the resolved spec: same spec, same hash, whatever the key order."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
