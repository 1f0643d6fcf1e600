"""tensorboardX without torch in the driver.

Ray Tune's ``TBXLoggerCallback`` (each trial's TensorBoard events) imports tensorboardX in the driver,
and tensorboardX imports torch when it is installed, only so that ``torch.Tensor`` passes its
"numpy-compatible" checks. The driver logs Python scalars, never tensors, yet that import alone cost
the driver ~600 MB of RSS and seconds of CPU (``bench/scale.py``). So the driver imports tensorboardX
first with torch and boto3 hidden (``hpo.trainables.tbx_import``, which command trials share); both
stay importable for everything after.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

__all__ = ["SyncEventWriter", "tensorboard_callback", "trial_files_on"]


class SyncEventWriter:
    """The part of tensorboardX's ``SummaryWriter`` that Ray's ``TBXLoggerCallback`` uses, writing each
    trial's events file in the driver's own thread, without an fsync per flush.

    ``SummaryWriter`` starts a writer thread per trial and fsyncs its file on every flush (Ray flushes
    after every result): with many short trials that was most of the driver's logging time
    (``bench/scale.py``). Scalars (all that Tune results hold, and the hparams summaries) are written
    here; images, videos and histograms go to a real ``SummaryWriter`` in the same folder, made the
    first time one arrives.
    """

    def __init__(self, logdir: str, flush_secs: int = 30) -> None:
        from tensorboardX.proto import event_pb2
        from tensorboardX.record_writer import RecordWriter
        from tensorboardX.summary import scalar

        self._event_cls = event_pb2.Event
        self._scalar = scalar
        self._logdir = logdir
        self._flush_secs = flush_secs
        self._rich: Any = None
        name = f"{logdir}/events.out.tfevents.{str(time.time())[:10]}.{socket.gethostname()}"
        self._records = RecordWriter(name)
        self._write(self._event_cls(wall_time=time.time(), file_version="brain.Event:2"))

    @property
    def file_writer(self) -> SyncEventWriter:
        return self

    def _write(self, event: Any) -> None:
        self._records.write(event.SerializeToString())

    def add_summary(self, summary: Any, global_step: int | None = None) -> None:
        event = self._event_cls(wall_time=time.time(), summary=summary)
        if global_step is not None:
            event.step = int(global_step)
        self._write(event)

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None) -> None:
        self.add_summary(self._scalar(tag, float(scalar_value)), global_step)

    def _real(self) -> Any:
        if self._rich is None:
            from tensorboardX import SummaryWriter

            self._rich = SummaryWriter(self._logdir, flush_secs=self._flush_secs, filename_suffix=".media")
        return self._rich

    def add_image(self, *args: Any, **kwargs: Any) -> None:
        self._real().add_image(*args, **kwargs)

    def add_images(self, *args: Any, **kwargs: Any) -> None:
        self._real().add_images(*args, **kwargs)

    def add_video(self, *args: Any, **kwargs: Any) -> None:
        self._real().add_video(*args, **kwargs)

    def add_histogram(self, *args: Any, **kwargs: Any) -> None:
        self._real().add_histogram(*args, **kwargs)

    def flush(self) -> None:
        self._records._writer.flush()  # no fsync (RecordWriter.flush's): TensorBoard reads the file as it grows
        if self._rich is not None:
            self._rich.flush()

    def close(self) -> None:
        self._records._writer.flush()
        self._records._writer.close()
        if self._rich is not None:
            self._rich.close()


def trial_files_on() -> bool:
    """Whether Tune writes each trial's files (``result.json``, ``progress.csv``, ``params.json`` and our
    TensorBoard events): yes unless Ray Tune's own switch, ``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``, is
    set. The store holds every result either way."""
    return os.environ.get("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "0") != "1"


def tensorboard_callback() -> Any:
    """Ray Tune's ``TBXLoggerCallback`` (so Tune adds no second one) writing through ``SyncEventWriter``:
    the same events, tags (``ray/tune/<metric>``), steps and hparams, without a thread and an fsync per
    trial and result (``hpo.search.ray_compat.tbx``)."""
    from hpo.search.ray_compat.tbx import tbx_callback
    from hpo.trainables.tbx_import import import_tensorboardx

    import_tensorboardx()  # the driver needs no torch for scalars
    return tbx_callback(SyncEventWriter)
