"""Reads TensorBoard event files (``events.out.tfevents.*``) back: the Event protos written, checksums checked.

A TFRecord file: per record, its length (uint64), the length's masked CRC-32C, the record, the record's
masked CRC-32C.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any


def events(path: Path) -> list[Any]:
    """Every ``Event`` in the file, in order (``tensorboardX.proto.event_pb2.Event``)."""
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


def scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    """``(step, value)`` of every ``tag`` scalar in ``folder``'s event files, in the order written."""
    return [(e.step, v.simple_value) for path in sorted(folder.glob("events.out.tfevents.*"))
            for e in events(path) for v in e.summary.value if v.tag == tag]
