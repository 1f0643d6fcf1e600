"""Environment variables, and attributes of other modules, set for the duration of a block, then put
back as they were."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["set_env", "swapped"]


@contextlib.contextmanager
def set_env(**values: str) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` inside the block; restore (or remove) them after it."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def swapped(owner: Any, name: str, replacement: Any) -> Iterator[None]:
    """``owner.name`` is ``replacement`` inside the block, and what it was after it.

    Where ``owner`` has no such attribute, nothing changes. Blocks of the same swap that overlap (two
    fits of one process) leave it to the block that opened first to put the original back, so the
    swap never outlives them all.
    """
    original = getattr(owner, name, None)
    if original is None or original is replacement:
        yield
        return
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)
