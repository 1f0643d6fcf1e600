"""Durations in a spec: ``30s``, ``10m``, ``2h``, ``1h30m``, or a number of seconds.

A time limit reads best in the unit a person thinks in (``trial_timeout: 2h``), while the engine wants
seconds. :func:`duration_seconds` reads either; :func:`duration_text` writes seconds back in the
largest unit that is exact, so a resolved spec (``hpo resume`` reads it) says ``2h``, not ``7200.0``,
and parses back to the same value.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["DURATION_RULE", "duration_seconds", "duration_text"]

DURATION_RULE = "must be a duration > 0 such as 30s, 10m, 2h or 1h30m (a bare number is seconds)"

_UNITS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_PART = r"(\d+(?:\.\d*)?|\.\d+)\s*([dhms])"
_WHOLE = re.compile(rf"^(?:\s*{_PART})+\s*$")


def duration_seconds(value: Any) -> float:
    """Seconds in ``value``: a number (seconds) or a string of number-unit parts (``d``, ``h``, ``m``, ``s``).

    Raises:
        ValueError: ``value`` is not such a duration, or not > 0; the message is :data:`DURATION_RULE`.
    """
    if isinstance(value, bool):  # YAML's yes/no are ints to Python: never a duration
        raise ValueError(DURATION_RULE)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _WHOLE.match(value.lower()):
        seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(_PART, value.lower()))
    else:
        try:
            seconds = float(value) if isinstance(value, str) else math.nan  # "90" from --set
        except ValueError:
            seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(DURATION_RULE)
    return seconds


def duration_text(seconds: float) -> str:
    """``seconds`` in the largest unit that holds it whole (``7200`` -> ``2h``, ``90`` -> ``90s``)."""
    for unit in ("d", "h", "m"):
        count = seconds / _UNITS[unit]
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"
