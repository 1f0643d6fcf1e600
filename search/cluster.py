"""Where runs live, and the Ray instance a sweep runs on: start or join it, size it, check fit.

Everything here that answers "can this sweep run at all" works before Ray starts, so a bad
request fails in a second with one line instead of after the cluster is up.
"""

from __future__ import annotations

import glob
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.errors import ResourceError, SweepInputError

__all__ = [
    "Capacity",
    "check_planned_resources",
    "check_resources",
    "concurrency_slots",
    "ensure_ray",
    "joined_capacity",
    "planned_capacity",
    "planned_slots",
    "resolve_home",
]

logger = logging.getLogger(__name__)

_EPS = 1e-9


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The run home by the store's rule (``home`` > ``$HPO_HOME`` > ``./runs``), made absolute.

    One rule for both, so Ray's files (``<home>/ray``) and the store always share a home.
    """
    import results

    return results.resolve_home(home).expanduser().resolve()


@dataclass(frozen=True)
class Capacity:
    """What the Ray instance a sweep will use offers, per node.

    Attributes:
        nodes: ``(cpus, gpus)`` for each alive node.
        where: Words for the error messages ("this machine", "the Ray cluster", ...).
    """

    nodes: tuple[tuple[float, float], ...]
    where: str

    @property
    def max_cpus(self) -> float:
        return max((c for c, _ in self.nodes), default=0.0)

    @property
    def max_gpus(self) -> float:
        return max((g for _, g in self.nodes), default=0.0)


def _local_gpu_count() -> int:
    """GPUs a local Ray would see, without importing torch (CUDA_VISIBLE_DEVICES, then /dev)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    return len(glob.glob("/dev/nvidia[0-9]*"))


def _alive_nodes() -> tuple[tuple[float, float], ...]:
    import ray

    nodes = []
    for node in ray.nodes():
        if not node.get("Alive", node.get("alive", False)):
            continue
        res = node.get("Resources", {})
        nodes.append((float(res.get("CPU", 0.0)), float(res.get("GPU", 0.0))))
    return tuple(nodes)


def planned_capacity(spec: Any) -> Capacity | None:
    """The capacity the sweep will get, known without starting Ray where possible.

    Returns ``None`` when only a running cluster can tell (``cluster.address`` set and Ray
    not yet connected); :func:`check_resources` is then called again after joining.
    """
    import ray

    if ray.is_initialized():
        return Capacity(_alive_nodes(), "the running Ray instance")
    if spec.cluster.address:
        return None
    cpus = spec.cluster.num_cpus if spec.cluster.num_cpus is not None else (os.cpu_count() or 1)
    gpus = spec.cluster.num_gpus if spec.cluster.num_gpus is not None else _local_gpu_count()
    return Capacity(((float(cpus), float(gpus)),), "this machine")


def planned_slots(spec: Any) -> int | None:
    """Trials of the spec's size the capacity holds at once, when known before Ray starts."""
    capacity = planned_capacity(spec)
    return None if capacity is None else concurrency_slots(spec, capacity)


def check_planned_resources(spec: Any) -> None:
    """:func:`check_resources` against the capacity known before Ray starts (a local instance's);
    a cluster's is checked once joined."""
    capacity = planned_capacity(spec)
    if capacity is not None:
        check_resources(spec, capacity)


def _fmt(x: float) -> str:
    return f"{x:g}"


def check_resources(spec: Any, capacity: Capacity) -> None:
    """Refuse a per-trial request that no node could ever satisfy.

    Raises:
        ResourceError: One line naming the field, the request and what the largest node has.
    """
    cpu, gpu = float(spec.resources.cpu), float(spec.resources.gpu)
    if gpu > 1 and not math.isclose(gpu, round(gpu)):
        raise ResourceError(
            f"resources.gpu: a trial can use a fraction of one GPU or whole GPUs, got {_fmt(gpu)}"
        )
    fits = [(c, g) for c, g in capacity.nodes if c + _EPS >= cpu and g + _EPS >= gpu]
    if fits:
        return
    if gpu > capacity.max_gpus + _EPS:
        hint = "set cluster.num_gpus" if capacity.where == "this machine" else "add a GPU node"
        raise ResourceError(
            f"resources.gpu: each trial asks for {_fmt(gpu)} GPU(s) but {capacity.where} has "
            f"{_fmt(capacity.max_gpus)} on its largest node; lower resources.gpu or {hint}"
        )
    if cpu > capacity.max_cpus + _EPS:
        raise ResourceError(
            f"resources.cpu: each trial asks for {_fmt(cpu)} CPU(s) but {capacity.where} has "
            f"{_fmt(capacity.max_cpus)} on its largest node; lower resources.cpu"
        )
    raise ResourceError(
        f"resources: no node of {capacity.where} has {_fmt(cpu)} CPU(s) and {_fmt(gpu)} GPU(s) together"
    )


def concurrency_slots(spec: Any, capacity: Capacity) -> int:
    """How many trials of the spec's size fit at once, summed over nodes (at least 1)."""
    cpu, gpu = float(spec.resources.cpu), float(spec.resources.gpu)
    total = 0
    for c, g in capacity.nodes:
        per_node = []
        if cpu > 0:
            per_node.append(math.floor(c / cpu + _EPS))
        if gpu > 0:
            per_node.append(math.floor(g / gpu + _EPS))
        total += min(per_node) if per_node else 1
    return max(1, total)


def ensure_ray(spec: Any, *, verbose: bool = False) -> bool:
    """Join the Ray instance that is already up, or start/connect one per ``spec.cluster``.

    Returns:
        True when this call started (or connected) Ray, so the caller shuts it down after.
    """
    import ray

    if ray.is_initialized():
        logger.debug("joining the Ray instance already initialised in this process")
        return False
    common: dict[str, Any] = {"log_to_driver": verbose, "configure_logging": verbose}
    if spec.cluster.address:
        logger.info("connecting to Ray at %s", spec.cluster.address)
        try:
            ray.init(address=spec.cluster.address, **common)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = spec.cluster.address
            raise SweepInputError(f"cluster.address: cannot connect to Ray at {where!r}: {first}") from exc
    else:
        cap = planned_capacity(spec)
        cpus, gpus = cap.nodes[0] if cap else (None, None)
        ray.init(
            num_cpus=int(cpus) if cpus else None,
            num_gpus=int(gpus) if gpus is not None else None,
            include_dashboard=False,
            **common,
        )
    return True


def joined_capacity() -> Capacity:
    """Capacity of the Ray instance this process is connected to."""
    return Capacity(_alive_nodes(), "the Ray cluster")
