"""Errors the sweep engine raises for bad input; all derive from ``hpo_errors.InputError``.

``SweepExistsError`` is the store's own (``results.SweepExistsError``): the engine's check
before Ray starts and the store's lost race for a name raise the same class.
"""

from __future__ import annotations

from hpo.errors import InputError
from hpo.results import SweepExistsError

__all__ = ["InputError", "MetricNotReportedError", "ResourceError", "SweepExistsError", "SweepInputError"]


class SweepInputError(InputError):
    """A sweep cannot start as asked; raised before Ray starts. ``str()`` is one line."""


class ResourceError(SweepInputError):
    """A trial asks for more CPUs or GPUs than any node of the cluster has."""


class MetricNotReportedError(SweepInputError):
    """A trial's result lacks the sweep's metric: the sweep was ended at that first result.

    Attributes:
        trial_id: The trial whose result lacked it.
        metric: The metric the spec names.
        reported: The keys that result did hold.
    """

    def __init__(self, message: str, *, trial_id: str, metric: str, reported: list[str]) -> None:
        super().__init__(message)
        self.trial_id = trial_id
        self.metric = metric
        self.reported = reported
