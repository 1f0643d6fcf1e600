"""Metrics from a command trial's output lines: report lines, regexes, and the results they add up to.

Pure code with no Ray, so the rules are unit-tested on their own and the trial runtime
(:mod:`hpo.trainables.command.trial`) only wires them to the script's pipes.

- A **report line** is ``hpo-report: {"val_loss": 0.31, "epoch": 1}`` on stdout: the prefix, then a
  JSON object. It may follow leading whitespace and torchrun's rank prefix (``[default0]:``, which
  ``torchrun --local-ranks-filter`` adds), nothing else: a line that merely *mentions* the prefix
  is not a report. Numbers (not booleans) become floats; NaN, infinities and non-numbers are
  skipped and counted, so one bad value neither kills the trial nor hides the rest of the line.
- A **regex** source applies every pattern to every line (``re.search``); each named group that
  matched a number is a metric.
- The :class:`Accumulator` turns the metrics of lines (and TensorBoard steps) into Tune results: a
  result is complete once every required metric (the objectives, then ``scheduler.metric``) was
  seen since the last result; the other metrics seen since ride along.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OOM_PATTERN",
    "PRINTED_AT",
    "REPORT_PREFIX",
    "TUNE_KEYS",
    "Accumulator",
    "ParseStats",
    "RegexSource",
    "as_metric",
    "is_oom",
    "parse_report_line",
]

REPORT_PREFIX = "hpo-report: "
PRINTED_AT = "hpo_printed_at"  # result key: epoch seconds of the line (or event file poll) that completed it

# Keys Ray Tune sets in every result itself: a script's value for one would corrupt Tune's own
# bookkeeping (``training_iteration`` counts results; ``done`` ends the trial), so they are dropped.
TUNE_KEYS = frozenset({
    "training_iteration", "time_this_iter_s", "time_total_s", "time_since_restore", "iterations_since_restore",
    "timesteps_total", "timesteps_since_restore", "episodes_total", "done", "trial_id", "experiment_id",
    "date", "timestamp", "pid", "hostname", "node_ip", "config", "checkpoint_dir_name", "should_checkpoint",
    "experiment_tag",
})

# CUDA's and PyTorch's out-of-memory texts (torch.cuda.OutOfMemoryError says "CUDA out of memory").
OOM_PATTERN = re.compile(r"CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED")

# Leading whitespace, then torchrun's tee prefix ``[<role><local rank>]:`` (default ``[default0]:``).
_LEAD = re.compile(r"\s*(?:\[[A-Za-z_]*\d+\]:\s*)?")


@dataclass
class ParseStats:
    """What :func:`parse_report_line` saw, so an error can say what the script printed instead of the metric.

    Attributes:
        lines: lines given to the parser.
        reports: report lines whose JSON was an object (each gives a result's metrics, maybe none).
        malformed: report lines whose JSON did not parse or was not an object.
        skipped_values: values in report lines that were not finite numbers (text, booleans, null,
            lists, objects, NaN, infinities).
    """

    lines: int = 0
    reports: int = 0
    malformed: int = 0
    skipped_values: int = 0

    def describe(self) -> str:
        """One phrase for an error text, e.g. ``120 lines, 0 report lines (hpo-report: {...})``."""
        text = f"{self.lines} {_plural(self.lines, 'line')}, {self.reports} report {_plural(self.reports, 'line')}"
        if self.malformed:
            text += f", {self.malformed} malformed (not a JSON object after {REPORT_PREFIX.strip()})"
        if self.skipped_values:
            text += f", {self.skipped_values} {_plural(self.skipped_values, 'value')} skipped (not a finite number)"
        return text


def as_metric(value: Any) -> float | None:
    """``value`` as a metric: a finite int or float (not a bool) as a float, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond a float's range
        return None
    return number if math.isfinite(number) else None


def parse_report_line(line: str, *, stats: ParseStats | None = None) -> dict[str, float] | None:
    """The metrics of a report line (``hpo-report: {json object}``), or None when ``line`` is not one.

    Never raises on what a script prints: a report line whose JSON is malformed (or not an object)
    gives None and counts as ``malformed``; each value that is not a finite number is left out and
    counted as ``skipped_values``. Values keep the order the line gives them.

    Args:
        line: one line of output, with or without its line ending. After a carriage return only
            the last segment counts (what a terminal shows).
        stats: counts what was seen, when given.
    """
    if stats is not None:
        stats.lines += 1
    text = line.rstrip("\r\n").rsplit("\r", 1)[-1]
    start = _LEAD.match(text)
    at = start.end() if start else 0
    if not text.startswith(REPORT_PREFIX, at):
        return None
    try:
        payload = json.loads(text[at + len(REPORT_PREFIX):])
    except ValueError:  # json.JSONDecodeError, and ints too long to parse
        payload = None
    if not isinstance(payload, dict):
        if stats is not None:
            stats.malformed += 1
        return None
    metrics: dict[str, float] = {}
    for key, value in payload.items():
        number = as_metric(value)
        if number is None:
            if stats is not None:
                stats.skipped_values += 1
            continue
        metrics[key] = number
    if stats is not None:
        stats.reports += 1
    return metrics


class RegexSource:
    """Metrics from lines by regular expressions: each named group that matched a number is a metric.

    Every pattern is applied to every line (``re.search``), so one line holding the loss and the
    accuracy, matched by two patterns, gives both at once. A group that matched text which is not a
    finite number (``nan``, ``1.2.3``) is left out.

    Attributes:
        patterns: the compiled patterns, in the spec's order.
        lines: lines given to :meth:`match`.
        matches: lines from which at least one metric was read.
        seen: how many times each metric was read.
        not_numbers: per group, the last text it matched that is not a finite number (``0.05,`` from
            ``(?P<val_loss>\\S+)``): what an error names when the metric never came.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(re.compile(p) for p in patterns)
        self.lines = 0
        self.matches = 0
        self.seen: dict[str, int] = {}
        self.not_numbers: dict[str, str] = {}

    def match(self, line: str) -> dict[str, float]:
        """Every metric the patterns read from ``line`` (empty when none matched); a later pattern's
        value for a name wins."""
        self.lines += 1
        text = line.rstrip("\r\n")
        metrics: dict[str, float] = {}
        for pattern in self.patterns:
            found = pattern.search(text)
            if found is None:
                continue
            for name, raw in found.groupdict().items():
                number = _number(raw)
                if number is not None:
                    metrics[name] = number
                elif raw is not None:
                    self.not_numbers[name] = raw[:40]
        if metrics:
            self.matches += 1
            for name in metrics:
                self.seen[name] = self.seen.get(name, 0) + 1
        return metrics

    def describe(self) -> str:
        """One phrase for an error text, e.g. ``2 patterns matched 0 of 120 lines``."""
        text = (f"{len(self.patterns)} {_plural(len(self.patterns), 'pattern')} matched {self.matches} of "
                f"{self.lines} {_plural(self.lines, 'line')}")
        if self.seen:
            text += " (read: " + ", ".join(f"{name} x{count}" for name, count in self.seen.items()) + ")"
        if self.not_numbers:
            text += "; not a number: " + ", ".join(f"{name}={raw!r}" for name, raw in self.not_numbers.items())
        return text


class Accumulator:
    """Adds the metrics of lines and TensorBoard steps up to Tune results.

    A result is complete once every metric in ``required`` was seen since the last result; it holds
    the latest value of each metric seen since (in the order each was first seen), so metrics printed
    before the required ones ride along with them. Tune's own keys (:data:`TUNE_KEYS`, e.g.
    ``training_iteration``: Tune counts results itself) are dropped and named in ``dropped``.

    Attributes:
        required: the metrics that complete a result.
        results: results completed so far.
        dropped: Tune's keys a source gave, which were left out.
    """

    def __init__(self, required: Sequence[str]) -> None:
        self.required = tuple(dict.fromkeys(required))
        self.results = 0
        self.dropped: set[str] = set()
        self._pending: dict[str, Any] = {}
        self._missing = set(self.required)
        self._last_at = 0.0
        self._unreported = False  # a metric was fed since the last result

    @property
    def pending(self) -> dict[str, Any]:
        """What was seen since the last result (a copy): lost at exit unless it completes one."""
        return dict(self._pending)

    def feed(self, metrics: Mapping[str, float], *, at: float,
             extra: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Add one line's (or step's) metrics; the completed result when they complete one, else None.

        Args:
            metrics: the metrics read.
            at: when they were printed (epoch seconds); a completed result holds it as ``hpo_printed_at``.
            extra: keys that ride along without counting as metrics (``tensorboard_step``); a later
                value wins, as for metrics.
        """
        added = False
        for name, value in metrics.items():
            if name in TUNE_KEYS or name == PRINTED_AT:
                self.dropped.add(name)
                continue
            self._pending[name] = value
            self._missing.discard(name)
            added = True
        if extra:
            self._pending.update(extra)
        self._last_at = at
        self._unreported = self._unreported or added
        if self._missing or not added:
            return None
        return self._complete(at)

    def flush(self) -> dict[str, Any] | None:
        """At exit: the pending result when it has every required metric, else None; what is pending
        is dropped either way (see :attr:`pending`).

        :meth:`feed` completes a result as soon as every required metric is in, so in practice this
        returns None; call it at exit anyway, as the one place the accumulator learns that no more
        metrics will come.
        """
        result = None
        if self._unreported and not self._missing:
            result = self._complete(self._last_at)
        self._pending = {}
        self._missing = set(self.required)
        self._unreported = False
        return result

    def _complete(self, at: float) -> dict[str, Any]:
        result = {**self._pending, PRINTED_AT: at}
        self._pending = {}
        self._missing = set(self.required)
        self._unreported = False
        self.results += 1
        return result


def is_oom(line: str) -> bool:
    """Whether an output line reports a GPU out of memory (CUDA, cuBLAS, or PyTorch's error class)."""
    return OOM_PATTERN.search(line) is not None


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
