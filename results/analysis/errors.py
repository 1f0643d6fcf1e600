"""A sweep's errors, grouped: each distinct error once, with how many trials it ended and which.

A sweep whose trials fail alike fails for one reason a hundred times: the report and the dashboard show the
reason once with its count, not a hundred identical tracebacks. Errors are told apart by their one-line form
(``hpo.results.error_summary``: ``KeyError: 'l2'``), the same line the CLI and fail-fast print.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hpo.results.formatting import error_summary
from hpo.results.store.records import TrialRecord

__all__ = ["NO_ERROR_TEXT", "ErrorGroup", "error_groups"]

NO_ERROR_TEXT = "(no error text recorded)"  # an errored trial whose error text is missing or empty


@dataclass(frozen=True)
class ErrorGroup:
    """One distinct error and the errored trials it ended.

    Attributes:
        error: The error's one-line form (``KeyError: 'l2'``), secrets masked.
        trials: The ids of the trials it ended, sorted.
        text: One of those trials' whole error text (the first id's), secrets not yet masked: whoever shows it
            masks it, as it masks any error text.
    """

    error: str
    trials: tuple[str, ...]
    text: str | None = None

    @property
    def count(self) -> int:
        """How many trials this error ended."""
        return len(self.trials)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"error", "count", "trials"}`` (the report's documented ``errors`` items)."""
        return {"error": self.error, "count": self.count, "trials": list(self.trials)}


def error_groups(trials: Iterable[TrialRecord]) -> list[ErrorGroup]:
    """The distinct errors of ``trials`` whose status is ``error``, most frequent first (ties: the error of
    the smallest trial id first), each with the sorted ids of the trials it ended.

    Pass the trials that count: a trial replaced by a later run (``replaced_by``) is the caller's to leave out.
    """
    ids: dict[str, list[str]] = {}
    texts: dict[str, str | None] = {}
    for trial in sorted((t for t in trials if t.status == "error"), key=lambda t: t.trial_id):
        key = error_summary(trial.error) or NO_ERROR_TEXT
        ids.setdefault(key, []).append(trial.trial_id)
        texts.setdefault(key, trial.error)
    ordered = sorted(ids, key=lambda key: -len(ids[key]))  # stable: ties keep the first-seen order
    return [ErrorGroup(error=key, trials=tuple(ids[key]), text=texts[key]) for key in ordered]
