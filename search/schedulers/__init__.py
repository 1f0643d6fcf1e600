"""Trial schedulers from a spec: Ray Tune's ASHA, HyperBand, median stopping, FIFO, and PBT/PB2 noting
each exploit as lineage.

``build`` makes the spec's scheduler; ``lineage`` holds what PBT and PB2 share (the exploit notes);
``pb2`` is apart because Ray's PB2 imports scikit-learn and SciPy, which only a PB2 sweep should pay
for. Importing this package imports no Ray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo.search.schedulers.build import LineagePBT, make_scheduler
    from hpo.search.schedulers.lineage import NotesExploits
    from hpo.search.schedulers.pb2 import LineagePB2

__all__ = ["LineagePB2", "LineagePBT", "NotesExploits", "make_scheduler"]

_HOME = {"LineagePBT": "build", "make_scheduler": "build", "NotesExploits": "lineage", "LineagePB2": "pb2"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
