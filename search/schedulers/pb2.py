"""PB2 noting its exploits, in a module of its own: Ray's PB2 imports scikit-learn and SciPy, which only a
``scheduler: {type: pb2}`` sweep should pay for."""

from __future__ import annotations

from ray.tune.schedulers.pb2 import PB2

from hpo.search.schedulers.lineage import NotesExploits

__all__ = ["LineagePB2"]


class LineagePB2(NotesExploits, PB2):
    """Ray's PB2, noting its exploits."""
