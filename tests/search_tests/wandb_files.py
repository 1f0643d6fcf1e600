"""Reads W&B offline run files (``run-<id>.wandb``) back: the records wandb wrote, as protobufs.

The file is wandb's transaction log: a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then
32 KiB blocks of chunks, each ``crc32 (uint32) | length (uint16) | type (uint8) | data``, where
type 1 is a whole record and 2/3/4 the first/middle/last part of one (LevelDB's log format;
the checksum covers the type byte and the data).
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

_BLOCK = 32 * 1024
_CHUNK = struct.Struct("<IHB")


def records(path: Path) -> list[Any]:
    """Every record in the file, in order (``wandb.proto.wandb_internal_pb2.Record``)."""
    from wandb.proto import wandb_internal_pb2 as pb

    raw = path.read_bytes()
    ident, magic, version = struct.unpack("<4sHB", raw[:7])
    if (ident, magic, version) != (b":W&B", 0xBEE1, 0):
        raise ValueError(f"{path}: not a W&B run file (header {raw[:7]!r})")
    out: list[Any] = []
    parts: list[bytes] = []
    pos = 7
    while pos + _CHUNK.size <= len(raw):
        left = _BLOCK - pos % _BLOCK
        if left < _CHUNK.size:
            pos += left  # block trailer: padding
            continue
        crc, length, kind = _CHUNK.unpack_from(raw, pos)
        if kind == 0 and length == 0:
            pos += left
            continue
        data = raw[pos + _CHUNK.size: pos + _CHUNK.size + length]
        if zlib.crc32(data, zlib.crc32(bytes([kind]))) != crc:
            raise ValueError(f"{path}: bad checksum at byte {pos}")
        pos += _CHUNK.size + length
        parts.append(data)
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(b"".join(parts))
            out.append(record)
            parts = []
    return out


def _items(items: Any) -> dict[str, Any]:
    return {(item.key or "/".join(item.nested_key)): json.loads(item.value_json) for item in items}


def read_run(path: Path) -> dict[str, Any]:
    """``{"run": RunRecord, "config": {...}, "history": [rows], "summary": {...}}`` of one run file."""
    run, config, history, summary = None, {}, [], {}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            config.update(_items(record.run.config.update))
        elif kind == "config":
            config.update(_items(record.config.update))
        elif kind == "history":
            history.append(_items(record.history.item))
        elif kind == "summary":
            summary.update(_items(record.summary.update))
    return {"run": run, "config": config, "history": history, "summary": summary}
