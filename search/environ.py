"""Environment variables set for the duration of a block, then put back as they were."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["set_env"]


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
