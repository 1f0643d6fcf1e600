"""The environment of a command trial's process: the actor's own, then hpo's keys, then the spec's ``env``.

hpo's keys tell the script where it stands (``HPO_TRIAL_DIR``, ``HPO_CHECKPOINT_DIR``...) without it
importing anything. ``CUDA_VISIBLE_DEVICES`` is always set, to the GPUs Ray gave the trial (``""``
for none): Ray 2.60 leaves it unset for a trial with no GPU, which would then see every GPU. The
thread variables follow the trial's CPUs, as Ray sets only ``OMP_NUM_THREADS`` and only when unset;
``PYTHONUNBUFFERED`` makes ``print`` reach the pipe when printed, not when a buffer fills; the spec's
folder leads ``PYTHONPATH``, so ``python -m pkg.train`` and the project's own imports work from the
trial's folder as they do from the project's.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from hpo.trainables.command.argv import fill
from hpo.trainables.command.settings import BUILTIN_PLACEHOLDERS, CommandSettings, TrialPaths

__all__ = ["THREAD_VARS", "trial_env"]

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")


def trial_env(
    settings: CommandSettings,
    *,
    paths: TrialPaths,
    gpu_ids: Sequence[str],
    base: Mapping[str, str],
    config: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The environment for one trial's process.

    Args:
        settings: The sweep's command (its ``env`` wins over everything but ``HPO_*`` and
            ``CUDA_VISIBLE_DEVICES``, which the spec may not set).
        paths: The trial's folders.
        gpu_ids: The GPU ids Ray assigned the trial (empty for none).
        base: The actor's own environment (``os.environ``).
        config: The trial's config, for ``{placeholders}`` in ``env`` values (built-ins only when None).

    Raises:
        KeyError: an ``env`` value's placeholder names nothing known (``hpo validate`` says which first).
        ValueError: an ``env`` value with a stray brace.
    """
    env = dict(base)
    env.update({
        "HPO_TRIAL_ID": paths.trial_id,
        "HPO_TRIAL_DIR": paths.trial_dir,
        "HPO_SPEC_DIR": paths.spec_dir,
        "HPO_CONFIG_JSON": paths.config_json,
        "HPO_CHECKPOINT_DIR": paths.checkpoint_dir,
        "HPO_SWEEP": paths.sweep or settings.sweep,
        "CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in gpu_ids),
    })
    threads = str(max(1, math.floor(settings.cpu)))
    env.update({name: threads for name in THREAD_VARS if name not in settings.env})
    if "PYTHONUNBUFFERED" not in settings.env:
        env["PYTHONUNBUFFERED"] = "1"
    if "PYTHONPATH" not in settings.env:  # `python -m pkg.train` and the project's imports, as from its folder
        env["PYTHONPATH"] = os.pathsep.join([paths.spec_dir, *filter(None, [base.get("PYTHONPATH")])])
    values = {**(config or {}), **{name: getattr(paths, name) for name in BUILTIN_PLACEHOLDERS}}
    env.update({key: fill(value, values) for key, value in settings.env.items()})
    return env
