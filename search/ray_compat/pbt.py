"""PBT's and PB2's exploit step, with a public hook after it.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ExploitHook"]


class ExploitHook:
    """Mixed into Ray's ``PopulationBasedTraining`` or ``PB2`` (before it in the bases): after each
    exploit, :meth:`on_exploit` is called with who took whose checkpoint, and at which steps.

    Touches ``PopulationBasedTraining._exploit`` (the step where a trial takes a better trial's
    checkpoint and a mutated config; Ray has no callback for it), ``_trial_state`` (each trial's last
    result as PBT saw it) and ``_time_attr`` (the key its steps count in). hpo records the exploits as
    lineage (``hpo.search.schedulers.lineage``). Checked on Ray 2.60.0.

    A module-level class: Ray pickles schedulers into the experiment's state.
    """

    def on_exploit(self, trial: Any, source: Any, *, at_step: Any, from_step: Any,
                   result: Mapping[str, Any]) -> None:
        """Called after ``trial`` took ``source``'s checkpoint.

        Args:
            trial: The trial that exploited.
            source: The trial whose checkpoint it took.
            at_step: ``trial``'s step (PBT's ``time_attr``) when it exploited.
            from_step: ``source``'s step at its checkpoint.
            result: ``trial``'s last result before the exploit.
        """

    def _exploit(self, tune_controller: Any, trial: Any, trial_to_clone: Any) -> None:
        time_attr = self._time_attr  # type: ignore[attr-defined]
        states = self._trial_state  # type: ignore[attr-defined]
        at = states[trial].last_result or {}
        source = states[trial_to_clone].last_result or {}
        super()._exploit(tune_controller, trial, trial_to_clone)  # type: ignore[misc]
        self.on_exploit(trial, trial_to_clone, at_step=at.get(time_attr), from_step=source.get(time_attr),
                        result=at)
