"""Tune's TensorBoard callback writing through hpo's writer (hpo.search.ray_compat.tbx): the class it makes
each trial's writer from is ``TBXLoggerCallback._summary_writer_cls``."""

from __future__ import annotations

from ray.tune.logger import TBXLoggerCallback

from hpo.search.engine.tbx import SyncEventWriter, tensorboard_callback
from hpo.search.ray_compat.tbx import tbx_callback, tbx_writer_class


def test_the_callback_makes_each_trials_writer_from_the_class_given() -> None:
    assert tbx_writer_class(tensorboard_callback()) is SyncEventWriter  # first: tensorboardX without torch
    callback = tbx_callback(SyncEventWriter)
    assert type(callback) is TBXLoggerCallback
    assert callback._summary_writer_cls is SyncEventWriter is tbx_writer_class(callback)
    assert TBXLoggerCallback()._summary_writer_cls is not SyncEventWriter  # Ray's own default is left alone
