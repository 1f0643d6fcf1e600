"""The driver's TensorBoard writer: the events Ray's TBXLoggerCallback writes, in a file TensorBoard reads."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from hpo.search.engine.tbx import _SyncEventWriter, tensorboard_callback


def _events(path: Path) -> list[Any]:
    """Decode a TFRecord file of Event protos (length, its crc, the record, its crc)."""
    from tensorboardX.proto.event_pb2 import Event
    from tensorboardX.record_writer import masked_crc32c

    data, out, at = path.read_bytes(), [], 0
    while at < len(data):
        header = data[at:at + 8]
        (length,) = struct.unpack("Q", header)
        assert struct.unpack("I", data[at + 8:at + 12])[0] == masked_crc32c(header)
        record = data[at + 12:at + 12 + length]
        assert struct.unpack("I", data[at + 12 + length:at + 16 + length])[0] == masked_crc32c(record)
        out.append(Event.FromString(record))
        at += 16 + length
    return out


def test_scalars_and_hparams_land_in_one_readable_events_file(tmp_path: Path) -> None:
    from tensorboardX.summary import hparams

    writer = _SyncEventWriter(str(tmp_path))
    writer.add_scalar("ray/tune/loss", 0.5, global_step=1)
    writer.add_scalar("ray/tune/loss", 0.25, global_step=2)
    writer.flush()  # readable before close: TensorBoard tails the file while the trial runs
    (path,) = tmp_path.glob("events.out.tfevents.*")
    assert len(_events(path)) == 3
    for summary in hparams({"lr": 0.1, "opt": "sgd"}, {"ray/tune/loss": 0.25}):
        writer.file_writer.add_summary(summary)
    writer.close()
    events = _events(path)
    assert events[0].file_version == "brain.Event:2"
    scalars = [(e.step, v.tag, v.simple_value) for e in events[1:3] for v in e.summary.value]
    assert scalars == [(1, "ray/tune/loss", 0.5), (2, "ray/tune/loss", 0.25)]
    assert [v.tag for e in events[3:] for v in e.summary.value] == [
        "_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"]
    assert not list(tmp_path.glob("*.media"))  # no second writer unless an image or histogram comes


def test_the_callback_is_tunes_own_so_tune_adds_no_second_one() -> None:
    from ray.tune.logger import TBXLoggerCallback

    callback = tensorboard_callback()
    assert isinstance(callback, TBXLoggerCallback)
    assert callback._summary_writer_cls is _SyncEventWriter
