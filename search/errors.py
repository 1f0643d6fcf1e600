"""Errors the sweep engine raises for bad input (the CLI maps them to exit code 2)."""

from __future__ import annotations

__all__ = ["ResourceError", "SweepExistsError", "SweepInputError"]


class SweepInputError(ValueError):
    """A sweep cannot start as asked; raised before Ray starts. ``str()`` is one line."""


class ResourceError(SweepInputError):
    """A trial asks for more CPUs or GPUs than any node of the cluster has."""


class SweepExistsError(SweepInputError):
    """A sweep of that name is already in the store (finished or not)."""
