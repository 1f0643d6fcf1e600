"""Ray Tune's callback usage tag, without importing every tracker integration in the driver.

When a run is given callbacks, ``tune.run`` records which kinds they are (a usage-stats tag). To
tell Ray's own tracker callbacks from user ones it imports Ray's W&B, MLflow, Comet and Aim
integrations, which import ``wandb`` and ``mlflow`` themselves when they are installed: about 1.4 s
of the driver's start and 50 MB of its RSS on this machine (``bench/scale.py``), paid by every sweep
and never by a run without callbacks. :func:`light_callback_tag` records the same tag from class
names, which is all Ray compares, so nothing is imported for it.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import AbstractContextManager
from typing import Any

from hpo.search.engine.environ import swapped

__all__ = ["callback_kinds", "light_callback_tag"]

# The tracker callbacks Ray's tag counts by name; their modules are what we do not import.
_TRACKERS = ("WandbLoggerCallback", "MLflowLoggerCallback", "CometLoggerCallback", "AimLoggerCallback")


def callback_kinds(callbacks: list[Any] | None) -> dict[str, int]:
    """How many of ``callbacks`` are of each kind, as Ray's usage tag names them.

    A callback of one of Ray's tracker or default logger classes counts under its class name; any other
    logger callback under ``CustomLoggerCallback``; any other Tune callback under ``CustomCallback``.
    Objects that are not Tune callbacks are left out (Tune rejects them later). The same count as Ray's own
    ``ray.air._internal.usage._count_callbacks``, which imports the integrations to tell them apart
    (the compat tests compare the two). Checked on Ray 2.60.0.
    """
    from ray.tune import Callback
    from ray.tune.logger import LoggerCallback
    from ray.tune.utils.callback import DEFAULT_CALLBACK_CLASSES

    named = {*_TRACKERS, *(cls.__name__ for cls in DEFAULT_CALLBACK_CLASSES)}
    kinds: Counter[str] = Counter()
    for callback in callbacks or ():
        if not isinstance(callback, Callback):
            continue
        name = type(callback).__name__
        if name in named:
            kinds[name] += 1
        else:
            kinds["CustomLoggerCallback" if isinstance(callback, LoggerCallback) else "CustomCallback"] += 1
    return dict(kinds)


def _tag(callbacks: list[Any] | None) -> bool:
    from ray._common.usage.usage_lib import TagKey, record_extra_usage_tag

    kinds = callback_kinds(callbacks)
    if kinds:
        record_extra_usage_tag(TagKey.AIR_CALLBACKS, json.dumps(kinds))
    return bool(kinds)


def light_callback_tag() -> AbstractContextManager[None]:
    """Inside the block, Tune tags its callbacks through :func:`callback_kinds` (no integration imports).

    Touches ``ray.air._internal.usage.tag_callbacks``, swapped for :func:`callback_kinds` feeding
    ``ray._common.usage.usage_lib.record_extra_usage_tag`` under ``TagKey.AIR_CALLBACKS``, as Ray's own
    does. Outside the block Ray's own function is back (``hpo.search.engine.environ.swapped``, overlapping
    blocks included). Checked on Ray 2.60.0.
    """
    from ray.air._internal import usage

    return swapped(usage, "tag_callbacks", _tag)
