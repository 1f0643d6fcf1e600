"""PBT and PB2 noting each exploit as lineage: which trial took whose checkpoint, and at which steps.

The note goes under a key; :class:`hpo.search.engine.callbacks.LiveCallbacks` adds it to the trial's next
result, so the store keeps the lineage in the results it already has. Shared by ``LineagePBT``
(``hpo.search.schedulers.build``) and ``LineagePB2`` (``hpo.search.schedulers.pb2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo.search.engine.callbacks import note_exploit
from hpo.search.ray_compat.pbt import ExploitHook

__all__ = ["NotesExploits"]


class NotesExploits(ExploitHook):
    """Mixed into PBT/PB2: each exploit noted under ``lineage_key`` (module level: Ray pickles schedulers)."""

    lineage_key: str | None = None

    def on_exploit(self, trial: Any, source: Any, *, at_step: Any, from_step: Any,
                   result: Mapping[str, Any]) -> None:
        if self.lineage_key is not None:
            note_exploit(self.lineage_key, trial.trial_id, {
                "from_trial": source.trial_id, "from_step": from_step, "at_step": at_step}, during=result)
