"""A trial's list of checkpoints in Ray's state, pruned of those hpo's retention deleted.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

from typing import Any

__all__ = ["forget_checkpoint"]


def forget_checkpoint(trial: Any, path: str) -> None:
    """Drop ``path`` from Ray's list of ``trial``'s checkpoints, so its saved state stays small and true.

    Touches ``trial.run_metadata.checkpoint_manager`` (a ``_CheckpointManager``), its
    ``_checkpoint_results``, and ``run_metadata.invalidate_cache()``: hpo deletes old checkpoints itself
    (``hpo.search.engine.retention``, as Ray's ``num_to_keep`` could delete one a saved state still
    names), and Ray's list would otherwise keep naming the deleted folders. Where a Ray release spells
    these otherwise, the list just keeps the deleted entries. Checked on Ray 2.60.0.
    """
    metadata = getattr(trial, "run_metadata", None)
    manager = getattr(metadata, "checkpoint_manager", None)
    results = getattr(manager, "_checkpoint_results", None)
    if not isinstance(results, list):
        return
    results[:] = [r for r in results if getattr(getattr(r, "checkpoint", None), "path", None) != path]
    invalidate = getattr(metadata, "invalidate_cache", None)
    if callable(invalidate):
        invalidate()
