"""Device selection from Ray's assignment and CPU thread counts for a trial."""

from __future__ import annotations

import logging

import torch

__all__ = ["describe_device", "select_device", "set_cpu_threads", "trial_cpus"]

logger = logging.getLogger(__name__)


def select_device() -> torch.device:
    """The GPU Ray assigned to this trial, else the CPU.

    Ray sets ``CUDA_VISIBLE_DEVICES`` to the trial's GPU(s), so the assigned device is
    ``cuda:0`` in the worker (fractional trials share it). Logical GPUs declared on a
    machine without CUDA, and trials with ``gpu: 0``, run on the CPU.
    """
    if not torch.cuda.is_available():
        return torch.device("cpu")
    try:
        import ray

        # Only inside a trial (a Ray actor) does Ray's assignment apply; a driver process
        # that happens to have Ray initialised keeps its own view of the GPUs.
        in_trial = ray.is_initialized() and ray.get_runtime_context().get_actor_id() is not None
        if in_trial and not ray.get_gpu_ids():
            return torch.device("cpu")
    except ImportError:  # Ray is optional for the training loop
        pass
    return torch.device("cuda", 0)


def trial_cpus() -> int | None:
    """CPUs Ray reserved for the current trial, or None outside a Tune trial."""
    try:
        from ray import tune

        resources = tune.get_context().get_trial_resources()
        cpus = resources.required_resources.get("CPU")
    except Exception:  # not in a Tune session, or an older context API
        return None
    return max(1, int(cpus)) if cpus else None


def set_cpu_threads(n: int | None) -> None:
    """Limit torch's intra-op threads to ``n`` (the trial's CPUs) so trials do not oversubscribe."""
    if n is not None and n > 0 and torch.get_num_threads() != n:
        torch.set_num_threads(n)
        logger.debug("torch threads set to %d", n)


def describe_device(device: torch.device) -> str:
    """``"GPU 0"`` (the physical id Ray gave when known) or ``"cpu"``, for messages."""
    if device.type != "cuda":
        return device.type
    index = device.index or 0
    try:
        import ray

        if ray.is_initialized():
            ids = ray.get_gpu_ids()
            if ids:
                return f"GPU {ids[index] if index < len(ids) else ids[0]}"
    except ImportError:
        pass
    return f"GPU {index}"
