"""Tune's callback usage tag, recorded without importing the tracker integrations (hpo.search.ray_compat.usage_tag)."""

from __future__ import annotations

import json
from typing import Any

from ray.air._internal import usage
from ray.tune import Callback
from ray.tune.logger import JsonLoggerCallback, LoggerCallback

from hpo.search.engine.callbacks import LiveCallbacks, TrialTracker
from hpo.search.engine.retention import CheckpointRetention
from hpo.search.engine.tbx import tensorboard_callback
from hpo.search.ray_compat.usage_tag import callback_kinds, light_callback_tag


class _MyLogger(LoggerCallback):
    pass


class _MyCallback(Callback):
    pass


def _callbacks() -> list[Any]:
    from ray.air.integrations.mlflow import MLflowLoggerCallback
    from ray.air.integrations.wandb import WandbLoggerCallback

    return [LiveCallbacks("k"), CheckpointRetention(keep=2), TrialTracker(), tensorboard_callback(),
            JsonLoggerCallback(), _MyLogger(), _MyCallback(), MLflowLoggerCallback(),
            WandbLoggerCallback(project="p"), "not a callback"]


def test_the_kinds_are_the_ones_rays_own_count_gives() -> None:
    callbacks = _callbacks()
    assert callback_kinds(callbacks) == dict(usage._count_callbacks(callbacks))
    assert callback_kinds(callbacks) == {
        "CustomCallback": 4, "TBXLoggerCallback": 1, "JsonLoggerCallback": 1, "CustomLoggerCallback": 1,
        "MLflowLoggerCallback": 1, "WandbLoggerCallback": 1,
    }
    assert callback_kinds(None) == {} == callback_kinds([])


def test_inside_the_block_tune_records_the_same_tag_and_ray_gets_its_function_back_after() -> None:
    from ray._common.usage import usage_lib

    original = usage.tag_callbacks
    with light_callback_tag():
        assert usage.tag_callbacks is not original
        assert usage.tag_callbacks([]) is False
        assert usage.tag_callbacks([LiveCallbacks("k"), JsonLoggerCallback()]) is True
        recorded = usage_lib._recorded_extra_usage_tags["air_callbacks"]
    assert usage.tag_callbacks is original
    assert json.loads(recorded) == {"CustomCallback": 1, "JsonLoggerCallback": 1}
    # Two fits of one process whose blocks overlap (the first ends first): Ray's function is back after both.
    first, second = light_callback_tag(), light_callback_tag()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    second.__exit__(None, None, None)
    assert usage.tag_callbacks is original
