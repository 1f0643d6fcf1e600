"""The results store's exceptions: one base class, specific subclasses."""

from __future__ import annotations

from hpo.errors import InputError

__all__ = ["StoreError", "SweepExistsError", "SweepNotFoundError", "TrialNotFoundError"]


class StoreError(InputError, RuntimeError):
    """Any problem opening, reading or writing the results store (message is one line)."""


class SweepNotFoundError(StoreError, LookupError):
    """No sweep of that name in the store; the message lists the close names.

    Attributes:
        name: The name that was asked for.
        close: Names in the store that look like it (best match first).
    """

    def __init__(self, message: str, *, name: str, close: list[str]) -> None:
        super().__init__(message)
        self.name = name
        self.close = close


class SweepExistsError(StoreError):
    """``start_sweep`` for a name that the store already holds, without ``resumed=True``."""

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


class TrialNotFoundError(StoreError, LookupError):
    """No trial of that id in the store (or in the sweep named)."""
