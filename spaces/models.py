"""The typed sweep spec: frozen pydantic v2 models, unknown keys rejected everywhere."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from spaces.params import node_to_data

__all__ = [
    "ClusterSpec",
    "FailuresSpec",
    "MlflowSpec",
    "ResourcesSpec",
    "SchedulerSpec",
    "SearchSpec",
    "SweepSpec",
    "TrackingSpec",
    "WandbSpec",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchSpec(_Section):
    """How configs are proposed."""

    algorithm: Literal["hyperopt", "random", "grid"] = Field(
        "hyperopt", description="hyperopt (TPE), random, or grid (every combination)."
    )
    num_samples: int = Field(10, ge=1, description="Trials; for grid, repeats of the whole grid.")
    max_concurrent: int | None = Field(None, ge=1, description="Trials at once; default: as resources allow.")
    seed: int | None = Field(0, description="Seeds the searcher; same seed, same configs.")
    points_to_evaluate: list[Any] = Field(
        default_factory=list, description="Configs to try first (warm start)."
    )


class SchedulerSpec(_Section):
    """When trials are stopped early."""

    type: Literal["asha", "hyperband", "median", "fifo"] = Field("asha", description="Trial scheduler.")
    max_t: int = Field(10, ge=1, description="Most time_attr units a trial may run (epochs, for CIFAR).")
    grace_period: int = Field(1, ge=1, description="Units a trial always gets before it can be stopped.")
    reduction_factor: float = Field(2, ge=2, description="ASHA/Hyperband: keep the top 1/rf at each rung.")
    time_attr: str = Field("training_iteration", description="The result field that measures progress.")


class ResourcesSpec(_Section):
    """What each trial gets; fractional GPUs pack several trials on one device."""

    cpu: float = Field(1, gt=0, description="CPUs per trial.")
    gpu: float = Field(0, ge=0, description="GPUs per trial; 0.5 puts two trials on one GPU.")


class FailuresSpec(_Section):
    """What happens when a trial fails."""

    max_retries: int = Field(0, ge=0, description="Retries of a failed trial, from its last checkpoint.")
    on_oom: Literal["fail", "halve_batch"] = Field(
        "fail", description="On CUDA out-of-memory: fail the trial, or halve the micro-batch and go on."
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


class SweepSpec(_Section):
    """A whole sweep: what to run, what to search, how to schedule it."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Sweep name: key in the store.")
    trainable: str = Field(description='Registry name ("cifar") or import path "pkg.module:function".')
    metric: str = Field(min_length=1, description="The reported metric to optimise.")
    mode: Literal["min", "max"] = Field(description="Minimise or maximise the metric.")
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

    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file or built-in name this spec was read from, if any."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec (defaults filled in) as plain data; parsing it gives this spec back."""
        data = self.model_dump(mode="json", exclude={"params"})
        data["params"] = node_to_data(self.params)
        if data["tracking"] == TrackingSpec().model_dump(mode="json"):
            del data["tracking"]  # no tracker: the resolved spec (and its hash) stays what it was before trackers
        if data.get("storage") is None:
            data.pop("storage", None)  # likewise for a spec that names no storage
        order = list(type(self).model_fields)
        return {key: data[key] for key in order if key in data}

    def to_yaml(self) -> str:
        """The resolved spec as YAML, e.g. for the results store and for ``hpo resume``."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)

    def spec_hash(self) -> str:
        """A stable digest of the resolved spec: same spec, same hash, whatever the key order."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
