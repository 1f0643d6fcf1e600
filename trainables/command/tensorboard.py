"""Metrics from the TensorBoard event files a script writes, read while it runs.

An event file (``events.out.tfevents.*``) is a TFRecord file: per record, its length (uint64
little-endian), the length's masked CRC-32C, the record (a serialized ``Event``), and the record's
masked CRC-32C. Writers append whole records, so a reader polling the file sees complete records
and, at worst, the start of one still being written: that one waits for the next poll.

:class:`EventTailer` polls every event file under a folder (new ones appear in subfolders as the
script starts writers), maps tags to metrics (``{Loss/test: val_loss}``) and groups values by step.
A step is complete once a later step of any mapped tag appears; the rest come with :meth:`flush`
(at exit, or after the script has been quiet a while). Scalars are read both as ``simple_value``
(tensorboardX, ``torch.utils.tensorboard``, Lightning) and as one-element tensors (``new_style``
writers, TensorFlow 2 / Keras).

The proto comes from tensorboardX, imported with torch hidden (:mod:`hpo.trainables.tbx_import`):
the trial's actor reads event files without paying for torch.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.trainables.tbx_import import import_tensorboardx

__all__ = ["EVENT_FILE_PREFIX", "EventTailer", "Step"]

EVENT_FILE_PREFIX = "events.out.tfevents."

Step = tuple[int, dict[str, float]]  # (step, {metric: value}) in the order the tags were read

_HEADER = 12  # uint64 length + uint32 masked CRC of it
_FOOTER = 4  # uint32 masked CRC of the record
# Records above this size (images, histograms, graphs) are CRC-checked and parsed only when they
# might hold a mapped tag: tensorboardX's CRC-32C is pure Python (~0.2 s per MB).
_BIG = 64 * 1024
# TensorProto dtypes a scalar may come as, with their struct format for ``tensor_content``.
_DTYPES = {1: "<f", 2: "<d", 3: "<i", 9: "<q", 19: "<e"}  # DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_HALF
_MAX_UNMAPPED = 20  # unmapped tags kept for an error text


@dataclass
class _File:
    """Where reading one event file stands."""

    offset: int = 0  # bytes read: every record before it was handled
    inode: int = -1
    suspect: int = -1  # offset of a record whose CRC failed once: skipped if it fails again
    broken: bool = False  # its framing is lost (a length's CRC failed twice): read no further


class EventTailer:
    """Reads the scalars of mapped tags from every event file under ``root``, as they are written.

    Args:
        root: the folder searched (with its subfolders) at every poll; it may not exist yet.
        tags: TensorBoard tag -> metric name. A key may also be ``<folder>/<tag>``, where ``<folder>``
            is the end of the event file's folder (below ``root``): writers that log one tag in
            separate runs (``SummaryWriter("runs/test")``, ``add_scalars("Loss", {"test": ...})``)
            are told apart that way. The longest such key wins over the bare tag.
        skip_existing: start at the end of the files already there, so a restarted script's old
            events are not reported again. Make the tailer before the script starts, then.

    Attributes:
        scalars_seen: values of mapped tags read (finite numbers).
        skipped_values: values of mapped tags that were NaN, infinite, or not a scalar.
        bad_records: records skipped because their CRC did not match (twice) or they hold no ``Event``.
    """

    def __init__(self, root: Path | str, tags: Mapping[str, str], *, skip_existing: bool = False) -> None:
        self.root = Path(root)
        self.tags = dict(tags)
        self.scalars_seen = 0
        self.skipped_values = 0
        self.bad_records = 0
        self._files: dict[Path, _File] = {}
        self._pending: dict[int, dict[str, float]] = {}
        self._max_step: int | None = None
        self._unmapped: list[str] = []
        self._needles = {key.rsplit("/", 1)[-1].encode() for key in self.tags}
        import_tensorboardx()
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.record_writer import masked_crc32c

        self._event = Event
        self._crc = masked_crc32c
        if skip_existing:
            for path in self._event_files():
                try:
                    stat = path.stat()
                except OSError:
                    continue
                self._files[path] = _File(offset=stat.st_size, inode=stat.st_ino)

    @property
    def files_seen(self) -> int:
        """Event files found under ``root`` so far."""
        return len(self._files)

    @property
    def has_pending(self) -> bool:
        """Whether values wait for a later step (or :meth:`flush`)."""
        return bool(self._pending)

    @property
    def unmapped_tags(self) -> list[str]:
        """Scalar tags read that no key of ``tags`` maps (the first few), for an error text."""
        return list(self._unmapped)

    def poll(self) -> list[Step]:
        """Read what was appended since the last poll; the steps now complete, in step order."""
        self._read()
        if self._max_step is None:
            return []
        done = sorted(step for step in self._pending if step < self._max_step)
        return [(step, self._pending.pop(step)) for step in done]

    def flush(self) -> list[Step]:
        """Read what was appended, then give every step still pending, in step order (at exit, or
        once the script has been quiet a while). A later value for a flushed step comes again."""
        self._read()
        steps = sorted(self._pending.items())
        self._pending = {}
        return steps

    def describe(self) -> str:
        """One phrase for an error text, e.g. ``2 event files under logs, 0 values of Loss/test``."""
        files = f"{self.files_seen} event {'file' if self.files_seen == 1 else 'files'} under {self.root}"
        text = f"{files}, {self.scalars_seen} {'value' if self.scalars_seen == 1 else 'values'} of " + ", ".join(
            self.tags)
        if self._unmapped:
            text += " (other tags: " + ", ".join(self._unmapped) + ")"
        return text

    def _event_files(self) -> list[Path]:
        """Every event file under ``root``, sorted; symlinked folders are not followed (a linked
        data set is no place for logs, and a link loop would never end)."""
        found = []
        for folder, _, names in os.walk(self.root):
            found.extend(Path(folder) / name for name in names if name.startswith(EVENT_FILE_PREFIX))
        return sorted(found)

    def _read(self) -> None:
        for path in self._event_files():
            state = self._files.setdefault(path, _File())
            if not state.broken:
                self._read_file(path, state)

    def _read_file(self, path: Path, state: _File) -> None:
        try:
            handle = open(path, "rb")  # noqa: SIM115  # closed below; the file may vanish meanwhile
        except OSError:
            return
        with handle:
            stat = os.fstat(handle.fileno())
            if stat.st_ino != state.inode or stat.st_size < state.offset:  # a new file by the same name
                state.offset, state.inode, state.suspect = 0, stat.st_ino, -1
            scopes = _scopes(path.parent.relative_to(self.root))
            handle.seek(state.offset)
            while state.offset + _HEADER <= stat.st_size:
                header = handle.read(_HEADER)
                if len(header) < _HEADER:  # cut short since fstat (the file was rewritten)
                    return
                (length,) = struct.unpack("<Q", header[:8])
                if struct.unpack("<I", header[8:])[0] != self._crc(header[:8]):
                    if state.suspect == state.offset:
                        state.broken = True
                        self.bad_records += 1
                    state.suspect = state.offset
                    return
                end = state.offset + _HEADER + length + _FOOTER
                if end > stat.st_size:  # the record is still being written
                    return
                data = handle.read(length)
                footer = handle.read(_FOOTER)
                if len(footer) < _FOOTER:
                    return
                if length > _BIG and not any(needle in data for needle in self._needles):
                    state.offset = end  # an image or histogram of no mapped tag
                    continue
                if struct.unpack("<I", footer)[0] != self._crc(data):
                    if state.suspect != state.offset:
                        state.suspect = state.offset  # maybe not all of it is visible yet: look again
                        return
                    self.bad_records += 1
                else:
                    self._take_record(data, scopes)
                state.offset = end

    def _take_record(self, data: bytes, scopes: list[str]) -> None:
        try:
            event = self._event.FromString(data)
        except Exception:  # google.protobuf's DecodeError: a TFRecord that holds no Event
            self.bad_records += 1
            return
        self._take(event, scopes)

    def _take(self, event: Any, scopes: list[str]) -> None:
        if not event.HasField("summary"):
            return
        for value in event.summary.value:
            metric = next((self.tags[key] for key in (scope + value.tag for scope in scopes) if key in self.tags),
                          None)
            number = _scalar(value)
            if metric is None:
                if number is not None and value.tag not in self._unmapped and len(self._unmapped) < _MAX_UNMAPPED:
                    self._unmapped.append(value.tag)
                continue
            if number is None or not math.isfinite(number):
                self.skipped_values += 1
                continue
            self.scalars_seen += 1
            self._pending.setdefault(event.step, {})[metric] = number
            if self._max_step is None or event.step > self._max_step:
                self._max_step = event.step


def _scopes(folder: Path) -> list[str]:
    """The prefixes a tag's key may carry for an event file in ``folder`` (relative to the root): each
    trailing run of its folder names, longest first, then none (``a/Loss/test`` gives ``a/Loss/test/``,
    ``Loss/test/``, ``test/``, ``""``)."""
    parts = [part for part in folder.parts if part != "."]
    return ["/".join(parts[i:]) + "/" for i in range(len(parts))] + [""]


def _scalar(value: Any) -> float | None:
    """A summary value's scalar: ``simple_value`` or a one-element numeric tensor, else None."""
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return _float32(value.simple_value)
    if kind != "tensor":
        return None
    tensor = value.tensor
    for field, exact in ((tensor.float_val, False), (tensor.double_val, True), (tensor.int_val, True),
                         (tensor.int64_val, True)):
        if len(field) == 1:
            return float(field[0]) if exact else _float32(field[0])
    if len(tensor.half_val) == 1:
        return float(struct.unpack("<e", struct.pack("<H", tensor.half_val[0]))[0])
    fmt = _DTYPES.get(tensor.dtype)
    if fmt is not None and len(tensor.tensor_content) == struct.calcsize(fmt):
        number = float(struct.unpack(fmt, tensor.tensor_content)[0])
        return _float32(number) if fmt == "<f" else number
    return None


def _float32(number: float) -> float:
    """The shortest decimal that is the same float32 as ``number``: ``0.31``, not ``0.3100000023841858``,
    since TensorBoard stores scalars as float32 and the script logged 0.31."""
    if not math.isfinite(number):
        return number
    bits = struct.pack("<f", number)
    for digits in range(6, 10):
        short = float(f"{number:.{digits}g}")
        if struct.pack("<f", short) == bits:
            return short
    return number
