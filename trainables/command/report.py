"""The optional helper a script prints its metrics with: one ``hpo-report:`` line per call.

A command trial reads metrics from lines like ``hpo-report: {"val_loss": 0.31, "epoch": 1}`` on the
script's stdout (:func:`hpo.trainables.command.parsing.parse_report_line`). A script needs nothing
of hpo to print one; these two lines do what :func:`report` does::

    import json
    print("hpo-report: " + json.dumps({"val_loss": val_loss, "epoch": epoch}), flush=True)

This module imports only the standard library, so ``from hpo.trainables.command.report import
report`` costs a script little: no Ray, no torch.
"""

from __future__ import annotations

import json
import sys

__all__ = ["report"]


def report(**metrics: float) -> None:
    """Print one report line holding ``metrics`` and flush stdout, so the trial sees it at once.

    Values are numbers. numpy and torch scalars (anything ``float()`` takes) are printed as floats;
    anything else is printed as text, and the reader skips it (and NaN) and counts it: a bad value
    never raises in the training loop.

    Example:
        >>> report(val_loss=0.31, epoch=1)
        hpo-report: {"val_loss": 0.31, "epoch": 1}
    """
    print("hpo-report: " + json.dumps(metrics, default=_plain), file=sys.stdout, flush=True)


def _plain(value: object) -> float | str:
    """What JSON cannot hold as is: a float when ``float()`` takes it (numpy, torch), else its repr."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(value)
