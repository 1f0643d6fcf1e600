"""The parts of ``bench/gpu_check.sh``: one prepared run of every GPU check, for a machine with CUDA.

``check`` is the entry point (``python -m bench.gpu.check``); ``plan`` lists the steps and their
time budget; ``run`` runs each in its own process and time box; ``probe``, ``throughput``,
``packing`` and ``oom`` are steps (``sweeps`` runs ``hpo sweep`` and reads the store for the last
two); ``summary`` prints the table at the end; ``pytest_plugin`` gives the test session's Ray the
machine's real GPUs. ``check``, ``plan``, ``run``, ``summary`` and ``probe`` import only the
standard library at import time, so the dry run and the "CUDA is absent" line need no install.
"""

from __future__ import annotations

__all__: list[str] = []
