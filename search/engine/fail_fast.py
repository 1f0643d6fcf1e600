"""Ending a sweep whose first trials all fail alike, with one line saying why and what to fix.

A typo between the spec and the trainable (``config["l2"]`` read, ``l_2`` searched) fails every
trial the same way, and Ray Tune would run each one, a traceback apiece. The rule: when
:data:`FAIL_FAST_AFTER` trials in a row (every planned trial, when fewer are planned) have ended
errored with the same error (its one-line form, ``hpo.results.error_summary``) and no trial has
reported a result yet, :class:`FailFast` ends the sweep ``failed``: no further trial is started.
A trial Ray retries (``failures.max_retries``) counts once it has finally errored; a trial that
reports, or ends without an error, breaks the run. ``failures.fail_fast: false`` opts out.

For a ``KeyError`` naming a key the trial's config lacks, the line says which keys it has
(:func:`did_you_mean`), each with where in the spec it comes from (``params.l_2``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from ray.tune import Callback

from hpo.results import error_summary, flatten_config
from hpo.results.store.callback import read_trial_error
from hpo.search.engine.callbacks import SweepEnded
from hpo.search.engine.trial_limits import timeout_reason

__all__ = ["FAIL_FAST_AFTER", "FailFast", "FailedFast", "config_sections", "did_you_mean", "missing_key"]

FAIL_FAST_AFTER = 3  # trials in a row, failing alike before any result, that end a sweep

_KEY_ERROR = re.compile(r"KeyError: (?P<key>'[^']*'|\"[^\"]*\")")
_MAX_LISTED = 12  # keys listed when none is close to the missing one
_NO_TEXT = "an error Ray left no text for"


class FailedFast(SweepEnded):
    """Raised inside Tune's loop when the first trials failed alike; ``str()`` is one line."""

    verb = "failed fast"


def missing_key(summary: str | None) -> str | None:
    """The key a one-line ``KeyError: 'l2'`` names (``l2``), else None (another error, or a non-string key)."""
    found = _KEY_ERROR.fullmatch(summary.strip()) if summary else None
    return found.group("key")[1:-1] if found else None


def config_sections(spec: Any) -> dict[str, str]:
    """Which section of ``spec`` (a ``SweepSpec``) each top-level key of a trial's config comes from."""
    return {**{key: "fixed" for key in spec.fixed}, **{key: "params" for key in spec.params}}


def _shown(key: str, sections: Mapping[str, str]) -> str:
    section = sections.get(key.split(".", 1)[0])
    return f"'{key}' ({section}.{key})" if section else f"'{key}'"


def did_you_mean(missing: str, config: Mapping[str, Any], *, sections: Mapping[str, str]) -> str | None:
    """What the config has instead of ``missing``: ``config has no 'l2'; it has 'l_2' (params.l_2)``.

    Keys are the trial's own, flattened (a nested group's as ``optimizer.momentum``); a key that
    matches ``missing`` by its last part, or is close to it (``difflib``), is named; with none close,
    every key is listed. None when the config does have ``missing`` (the ``KeyError`` came from
    somewhere else).

    Args:
        missing: The key the trainable asked for.
        config: The trial's config as Tune gave it to the trainable.
        sections: Which section of the spec each top-level key comes from (``{"l_2": "params"}``).
    """
    keys = list(flatten_config(dict(config)))
    if missing in config or missing in keys:
        return None
    head = f"config has no '{missing}'"
    if not keys:
        return f"{head}; it has no keys at all"
    leaves = [k for k in keys if k.rsplit(".", 1)[-1] == missing]
    close = leaves or difflib.get_close_matches(missing, keys, n=3, cutoff=0.6)
    if not close:  # a close match on a nested key's last part (optimizer.momentum for 'momentun')
        by_leaf = {k.rsplit(".", 1)[-1]: k for k in keys if "." in k}
        close = [by_leaf[m] for m in difflib.get_close_matches(missing, list(by_leaf), n=3, cutoff=0.6)]
    if close:
        return f"{head}; it has " + " or ".join(_shown(k, sections) for k in close)
    listed = ", ".join(_shown(k, sections) for k in keys[:_MAX_LISTED])
    more = f" and {len(keys) - _MAX_LISTED} more" if len(keys) > _MAX_LISTED else ""
    return f"{head}; its keys: {listed}{more}"


class FailFast(Callback):
    """Raises :class:`FailedFast` once the first trials have failed alike (the rule in this module's doc).

    Runs in the driver, bound through ``hpo.search.engine.callbacks.LiveCallbacks`` like the store's
    callback, and raises from ``on_step_end`` (after every callback saw the step), so the errored
    trials are in the store before the sweep ends.

    Args:
        planned: Trials the sweep plans; the run needed is ``min(after, planned)``.
        sections: Which section of the spec each top-level config key comes from, for the did-you-mean.
        after: Trials in a row that end the sweep (:data:`FAIL_FAST_AFTER`).
    """

    def __init__(self, *, planned: int | None, sections: Mapping[str, str], after: int = FAIL_FAST_AFTER) -> None:
        self.needed = max(1, min(after, planned) if planned else after)
        self.planned = planned
        self.sections = dict(sections)
        self._run: list[str] = []  # ids of the trials in the current run of alike errors
        self._summary: str | None = None
        self._reported = False
        self._ended: FailedFast | None = None

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any],
                        **info: Any) -> None:
        self._reported = True  # from here on, a failing trial is not a broken sweep

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._run.clear()

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        # Tune calls this once a trial has finally errored (a retried failure calls on_trial_recover).
        if self._reported or self._ended is not None:
            return
        # The text the store keeps: hpo's reason when a time limit ended the trial, else Ray's.
        summary = error_summary(timeout_reason(trial) or read_trial_error(trial)) or _NO_TEXT
        if summary != self._summary:
            self._run, self._summary = [], summary
        self._run.append(trial.trial_id)
        if len(self._run) >= self.needed:
            self._ended = FailedFast(self.reason(summary, getattr(trial, "config", None) or {}))

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self._ended is not None:
            raise self._ended

    def reason(self, summary: str, config: Mapping[str, Any]) -> str:
        """The one line: how many trials failed with what, and the did-you-mean of a missing key."""
        n = len(self._run)
        if self.planned is not None and n >= self.planned:
            who = "its only trial" if n == 1 else f"all {n} trials"
        else:
            who = f"{n} trials in a row"
        line = f"{who} failed with {summary} before reporting anything"
        key = missing_key(summary)
        hint = did_you_mean(key, config, sections=self.sections) if key is not None else None
        return f"{line}; {hint}" if hint else line
