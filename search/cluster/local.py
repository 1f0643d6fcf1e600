"""Where runs live, and the Ray instance a sweep runs on: start or join it, size it, check fit.

Everything here that answers "can this sweep run at all" works before Ray starts, so a bad
request fails in a second with one line instead of after the cluster is up.
"""

from __future__ import annotations

import glob
import logging
import math
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.search.cluster.orphans import reap_orphans, record_local_ray
from hpo.search.cluster.ray_token import ensure_local_token
from hpo.search.errors import ResourceError, SweepInputError
from hpo.search.ray_compat.cluster import QuietAuthBanner, ray_address_file

__all__ = [
    "Capacity",
    "RayStart",
    "check_planned_resources",
    "check_resources",
    "concurrency_slots",
    "cuda_gpu_count",
    "ensure_ray",
    "gpu_kind",
    "joined_capacity",
    "local_gpu_count",
    "planned_capacity",
    "planned_slots",
    "prepare_home",
    "ray_address_file",
    "reap_orphans",
    "record_local_ray",
    "resolve_home",
]

logger = logging.getLogger(__name__)

_EPS = 1e-9
_PROBE_TIMEOUT_S = 5.0  # a reachable GCS accepts at once; a firewalled one would hang Ray


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The run home by the store's rule (``home`` > ``$HPO_HOME`` > ``./runs``), made absolute.

    One rule for both, so Ray's files (``<home>/ray``) and the store always share a home.
    """
    from hpo import results

    return results.resolve_home(home).expanduser().resolve()


def prepare_home(home: str | os.PathLike[str] | None = None) -> Path:
    """:func:`resolve_home`, created if missing and checked writable (for a sweep or a resume).

    Raises:
        results.StoreError: the home cannot be created or written (one line).
    """
    from hpo import results

    return results.ensure_home(resolve_home(home))


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


def local_gpu_count() -> int:
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

    Returns ``None`` when only a running cluster can tell (``cluster.address`` or ``RAY_ADDRESS``
    set and Ray not yet connected); :func:`check_resources` is then called again after joining.
    """
    import ray

    if ray.is_initialized():
        return Capacity(_alive_nodes(), "the running Ray instance")
    if spec.cluster.address or os.environ.get("RAY_ADDRESS", "").strip():
        return None
    cpus = spec.cluster.num_cpus if spec.cluster.num_cpus is not None else (os.cpu_count() or 1)
    gpus = spec.cluster.num_gpus if spec.cluster.num_gpus is not None else local_gpu_count()
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


def _per_node(cpu: float, gpu: float, node: tuple[float, float]) -> int:
    """How many (cpu, gpu) bundles one node holds at once."""
    c, g = node
    counts = []
    if cpu > 0:
        counts.append(math.floor(c / cpu + _EPS))
    if gpu > 0:
        counts.append(math.floor(g / gpu + _EPS))
    return min(counts) if counts else 1


def _workers(spec: Any) -> int:
    return int(getattr(spec.resources, "workers", 1))


def check_resources(spec: Any, capacity: Capacity) -> None:
    """Refuse a per-trial request that no placement could ever satisfy.

    A trial of ``workers`` > 1 is one placement group of that many (cpu, gpu) bundles, which
    Ray may spread over nodes: it fits when each bundle fits some node and the nodes together
    hold ``workers`` bundles at once.

    Raises:
        ResourceError: One line naming the field, the request and what the largest node has.
    """
    cpu, gpu, workers = float(spec.resources.cpu), float(spec.resources.gpu), _workers(spec)
    per = " per worker" if workers > 1 else ""
    if gpu > 1 and not math.isclose(gpu, round(gpu)):
        raise ResourceError(
            f"resources.gpu: a trial can use a fraction of one GPU or whole GPUs, got {_fmt(gpu)}"
        )
    fits = [(c, g) for c, g in capacity.nodes if c + _EPS >= cpu and g + _EPS >= gpu]
    if fits:
        held = sum(_per_node(cpu, gpu, node) for node in capacity.nodes)
        if held >= workers:
            return
        raise ResourceError(
            f"resources.workers: each trial needs {workers} workers of {_fmt(cpu)} CPU(s) and {_fmt(gpu)} GPU(s) "
            f"({_fmt(cpu * workers)} CPU(s), {_fmt(gpu * workers)} GPU(s) in all) but {capacity.where} holds "
            f"{held} such worker(s) at once; lower resources.workers, resources.cpu or resources.gpu"
        )
    if gpu > capacity.max_gpus + _EPS:
        hint = "set cluster.num_gpus" if capacity.where == "this machine" else "add a GPU node"
        raise ResourceError(
            f"resources.gpu: each trial asks for {_fmt(gpu)} GPU(s){per} but {capacity.where} has "
            f"{_fmt(capacity.max_gpus)} on its largest node; lower resources.gpu or {hint}"
        )
    if cpu > capacity.max_cpus + _EPS:
        raise ResourceError(
            f"resources.cpu: each trial asks for {_fmt(cpu)} CPU(s){per} but {capacity.where} has "
            f"{_fmt(capacity.max_cpus)} on its largest node; lower resources.cpu"
        )
    raise ResourceError(
        f"resources: no node of {capacity.where} has {_fmt(cpu)} CPU(s) and {_fmt(gpu)} GPU(s) together"
    )


def concurrency_slots(spec: Any, capacity: Capacity) -> int:
    """How many trials of the spec's size fit at once, summed over nodes (at least 1).

    A multi-worker trial's bundles may sit on different nodes, so its workers are counted
    over the whole capacity: ``workers`` bundles per trial.
    """
    cpu, gpu = float(spec.resources.cpu), float(spec.resources.gpu)
    bundles = sum(_per_node(cpu, gpu, node) for node in capacity.nodes)
    return max(1, bundles // _workers(spec))


def _target(address: str | None) -> tuple[str | None, str]:
    """The address to connect to (None: start a private local instance) and what named it.

    ``null`` never joins a cluster recorded on the machine (live or stale): only ``RAY_ADDRESS``,
    the variable Ray Jobs set for their drivers, turns it into a join. ``auto`` is RAY_ADDRESS or
    the cluster ``ray start`` recorded, never some other process's private instance.
    """
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if address is None:
        return (env, "RAY_ADDRESS") if env else (None, "local")
    if address != "auto":
        return address, "cluster.address"
    if env:
        return env, "RAY_ADDRESS"
    record = ray_address_file()
    recorded = record.read_text().strip() if record.is_file() else ""
    if not recorded:
        raise SweepInputError(
            f"cluster.address: auto found no running Ray cluster (RAY_ADDRESS is unset and `ray start` "
            f"recorded none in {record}); start one with `ray start --head`, or set cluster.address: null "
            f"to run on a local Ray instance"
        )
    return recorded, f"cluster.address: auto ({record})"


def _probe(address: str) -> None:
    """Fail fast when nothing listens at ``address``: Ray itself retries a dead GCS for minutes.

    Raises:
        OSError: the TCP connection was refused or timed out.
    """
    hostport = address.split("://", 1)[-1].split("/", 1)[0]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return  # not host:port; let Ray judge the format
    with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=_PROBE_TIMEOUT_S):
        pass


@dataclass(frozen=True)
class RayStart:
    """What :func:`ensure_ray` did; true when it started or joined Ray (the caller then shuts it down).

    Attributes:
        started: This call started a local instance or connected to a cluster.
        gpu_kind: ``"logical"`` when the local instance it started declares GPUs CUDA does not see
            (``cluster.num_gpus``: trials asking for one run on the CPU), ``"cuda"`` when the GPUs it
            declared or found are real, None when the trials ask for no GPU or hpo cannot know (a
            cluster joined, a Ray already running in this process).
    """

    started: bool
    gpu_kind: str | None = None

    def __bool__(self) -> bool:
        return self.started


def _nvml_gpu_count() -> int | None:
    """GPUs the NVIDIA driver reports through NVML (as Ray counts them), or None where its library is absent.

    ctypes, not torch: a driver that only runs Ray need not load torch (some 300 MB) to ask.
    """
    import ctypes

    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
        if nvml.nvmlInit_v2() != 0:  # a library without a working driver or device
            return 0
    except (OSError, AttributeError):  # no library, or one too old to have the call
        return None
    try:
        count = ctypes.c_uint(0)
        return int(count.value) if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 else 0
    finally:
        nvml.nvmlShutdown()


def cuda_gpu_count() -> int:
    """GPUs CUDA sees on this machine: torch's count where this process has loaded torch; else the NVIDIA driver's
    (NVML) within ``CUDA_VISIBLE_DEVICES``; else :func:`local_gpu_count` (no driver library: no NVIDIA GPU)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.cuda.device_count())
    found = _nvml_gpu_count()
    if found is None:
        return local_gpu_count()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return found if visible is None else min(found, local_gpu_count())


def gpu_kind(spec: Any) -> tuple[str | None, str | None]:
    """Whether the GPUs of the local instance a spec starts are real, and the warning to give when they are not.

    Returns:
        ``(kind, warning)``: kind as :attr:`RayStart.gpu_kind`; the one warning line, or None.
    """
    if float(spec.resources.gpu) <= 0:
        return None, None
    declared = spec.cluster.num_gpus
    if declared is None:  # Ray counts the GPUs it finds: real ones
        return "cuda", None
    seen = cuda_gpu_count()
    if declared <= seen:
        return "cuda", None
    return "logical", (
        f"cluster.num_gpus: {_fmt(declared)} GPU(s) declared but CUDA sees {seen} on this machine: trials asking for a "
        f"GPU run on the CPU; their GPU-hours are Ray's bookkeeping (recorded as logical)")


def _cannot_connect(exc: Exception, address: str, source: str) -> SweepInputError:
    text = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    field = "RAY_ADDRESS" if source == "RAY_ADDRESS" else "cluster.address"
    hint = "; unset RAY_ADDRESS to run on a local Ray instance" if source == "RAY_ADDRESS" else ""
    return SweepInputError(f"{field}: cannot connect to Ray at {address!r}: {first}{hint}")


def ensure_ray(spec: Any, *, verbose: bool = False, home: str | os.PathLike[str] | None = None) -> RayStart:
    """Join the Ray instance that is already up, or start/connect one per ``spec.cluster``.

    ``cluster.address: null`` starts a private local instance (``address="local"``), unless
    ``RAY_ADDRESS`` is set, which joins that cluster (logged as a warning). ``auto`` joins
    ``RAY_ADDRESS`` or the cluster ``ray start`` recorded; any other address is joined as given.

    Before joining, a cluster that wants Ray's token gets the one at hand (``RAY_AUTH_TOKEN``,
    ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``) without ``RAY_AUTH_MODE=token`` being set
    (``hpo.search.cluster.ray_token.present_token``). A local instance whose ``cluster.num_gpus``
    declares more GPUs than CUDA sees is said in one warning line (its GPUs are logical). Once Ray is
    up, the watch in ``hpo.search.cluster.watch`` ends the driver in one line should it be lost.

    Args:
        spec: The sweep spec (its ``cluster`` section, and ``resources.gpu``).
        verbose: Let Ray's own notices and worker output through.
        home: Run home; when given, the local instance's processes are recorded under it, and
            those a killed driver left behind are ended first (see :func:`reap_orphans`).

    Returns:
        The :class:`RayStart`: true when this call started (or connected) Ray, so the caller shuts
        it down after; whether the GPUs it declared are real.

    Raises:
        SweepInputError: the cluster to join is not running or cannot be reached, or wants Ray's
            token and has none or refuses the one at hand; ``$HPO_CLUSTER_TIMEOUT_S`` is not a number
            of seconds (one line).
    """
    import ray

    from hpo.search.cluster.ray_token import present_token
    from hpo.search.cluster.watch import lost_after, start_watch

    if ray.is_initialized():
        logger.debug("joining the Ray instance already initialised in this process")
        return RayStart(started=False)
    watch_s = lost_after()  # a bad $HPO_CLUSTER_TIMEOUT_S is one line before Ray starts
    common: dict[str, Any] = {"log_to_driver": verbose, "configure_logging": verbose}
    address, source = _target(spec.cluster.address)
    if address is not None:
        logger.info("connecting to Ray at %s (%s)", address, source)
        try:
            _probe(address)
        except OSError as exc:
            raise _cannot_connect(exc, address, source) from exc
        present_token(address, field="RAY_ADDRESS" if source == "RAY_ADDRESS" else "cluster.address")
        try:
            with QuietAuthBanner(verbose=verbose):
                ray.init(address=address, **common)
        except (OSError, RuntimeError, ValueError) as exc:
            raise _cannot_connect(exc, address, source) from exc
        if source == "RAY_ADDRESS" and spec.cluster.address is None:
            logger.warning("cluster.address is null but RAY_ADDRESS is set: joined the Ray cluster at %s", address)
        start_watch(joined=address, lost_after_s=watch_s)
        return RayStart(started=True)
    if home is not None:
        reap_orphans(home)
    cap = planned_capacity(spec)
    cpus, gpus = cap.nodes[0] if cap else (None, None)
    kind, warning = gpu_kind(spec)
    if warning is not None:
        logger.warning("%s", warning)
    ensure_local_token()  # Ray's own first token write races with any other Ray starting now
    with QuietAuthBanner(verbose=verbose):  # Ray's token notice: not the sweep's news
        ray.init(
            address="local",
            num_cpus=int(cpus) if cpus else None,
            num_gpus=int(gpus) if gpus is not None else None,
            include_dashboard=False,
            **common,
        )
    if home is not None:
        record_local_ray(home)
    start_watch(joined=None, lost_after_s=watch_s)
    return RayStart(started=True, gpu_kind=kind)


def joined_capacity() -> Capacity:
    """Capacity of the Ray instance this process is connected to."""
    return Capacity(_alive_nodes(), "the Ray cluster")
