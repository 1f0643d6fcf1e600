"""pytest plugin of the GPU check: the test session's Ray gets the GPUs this machine really has.

``tests/conftest.py``'s ``ray_session`` starts Ray with 2 *logical* GPUs, so that packing is
tested on CPU machines; on a machine with real GPUs that would hand trials GPU ids that do not
exist. This plugin starts the same Ray first, with ``num_gpus`` = the CUDA devices here, and the
fixture then joins it (it starts Ray only when none is up). Use: ``pytest -p bench.gpu.pytest_plugin``.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["gpu_count", "ray_init_kwargs"]


def gpu_count() -> int:
    """CUDA devices torch sees (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def ray_init_kwargs(gpus: int) -> dict[str, Any]:
    """``tests/conftest.py``'s ``ray.init`` arguments, ``num_gpus`` replaced by the real count."""
    return {"address": "local", "num_cpus": 2, "num_gpus": gpus, "include_dashboard": False,
            "log_to_driver": False, "configure_logging": False, "object_store_memory": 300 * 1024 * 1024}


def pytest_report_header(config: pytest.Config) -> str:
    return f"bench.gpu.pytest_plugin: ray_session's Ray gets num_gpus={gpu_count()} (the CUDA devices here)"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before the first test that asks for ``ray_session`` sets up its fixtures, start its Ray."""
    if "ray_session" not in getattr(item, "fixturenames", ()):
        return
    import ray

    if not ray.is_initialized():
        ray.init(**ray_init_kwargs(gpu_count()))
