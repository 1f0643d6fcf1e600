"""How a trial ended, decided once: ``completed``, ``stopped_early`` or ``error``.

The store, the experiment trackers and the live progress view all classify an ended trial with
``trial_outcome``, from one count (``iterations_reached``: how far its last result says it got, in
``time_attr`` units) and in one vocabulary, the store's. A view that shows other words maps these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["OUTCOMES", "Outcome", "ended_early", "iterations_reached", "trial_outcome"]

Outcome = Literal["completed", "stopped_early", "error"]
OUTCOMES: tuple[Outcome, ...] = ("completed", "stopped_early", "error")


def iterations_reached(result: Mapping[str, Any] | None, *, time_attr: str = "training_iteration",
                       counted: int | None = None) -> float | None:
    """How far a trial got, in ``time_attr`` units: the ``time_attr`` of its last result.

    Args:
        result: The trial's last result (None or {} when it reported nothing).
        time_attr: The result key that measures progress (the scheduler's).
        counted: The results counted so far, where the caller counted them: they stand in for a last
            result that lacks ``training_iteration`` (the key Ray counts results in); never for other keys.

    Returns:
        The value, or None when the result has no number there (and nothing stands in for it).
    """
    value = (result or {}).get(time_attr)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if counted is not None and time_attr == "training_iteration":
        return float(counted)
    return None


def ended_early(trial: Any, reached: float | None, *, max_t: float | None,
                stop: Mapping[str, float] | None = None, stopped: bool | None = None) -> bool:
    """Whether a trial that ended without error was cut short by its scheduler (ASHA, median...).

    Not when ``max_t`` is None (a scheduler that stops no trial, FIFO, or PBT), when it reached
    ``max_t`` (``reached``, from ``iterations_reached``), when it met one of the ``stop`` criteria
    (a trial stops once ``result[key] >= value``, read from the trial's ``last_result``; default: the
    trial's own ``stopping_criterion``), or when it ended on its own (``stopped`` False).

    ``stopped`` is whether Tune stopped it on its last result: the last result a callback saw had
    ``done`` set (Tune sets it when it decides to stop; a function trainable that returns, such as a
    command trial whose script exits 0 after 3 of max_t 10 epochs, ends with no result sent to
    callbacks). None when the caller did not watch its results: then only ``max_t`` and ``stop`` decide.
    """
    if max_t is None or stopped is False:
        return False
    if reached is not None and float(reached) >= max_t:
        return False
    stop = stop if stop is not None else (getattr(trial, "stopping_criterion", None) or {})
    last = getattr(trial, "last_result", None) or {}
    met = any(isinstance(last.get(key), (int, float)) and isinstance(value, (int, float)) and last[key] >= value
              for key, value in stop.items())
    return not met


def trial_outcome(trial: Any, *, failed: bool, reached: float | None, max_t: float | None,
                  stop: Mapping[str, float] | None = None, stopped: bool | None = None) -> Outcome:
    """How an ended trial ended: ``error`` when it failed, else ``stopped_early`` when its scheduler cut it
    short (``ended_early``), else ``completed``.

    Args:
        trial: The Tune trial (its ``last_result`` and ``stopping_criterion`` are read).
        failed: It ended in an error.
        reached: ``iterations_reached`` of its last result.
        max_t: The per-trial cap when the scheduler may stop trials early (the plan's stop cap), else None.
        stop: The sweep's stop criteria; default the trial's own.
        stopped: Whether Tune stopped it on its last result (see ``ended_early``); None: not known.
    """
    if failed:
        return "error"
    return "stopped_early" if ended_early(trial, reached, max_t=max_t, stop=stop, stopped=stopped) else "completed"
