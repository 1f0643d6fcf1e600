"""``hpo trials NAME --errors``: each errored trial as a person reads it, in a few lines.

The one-line error (``KeyError: 'l2'``), the config it ran with, the last lines of its error text and
where the whole error file is: what a Ray traceback per trial on the console buried. The text comes
from a store and a trainable: secrets are masked, terminal control sequences dropped, and nothing is
read as rich markup (the lines are printed as plain text).

Private to ``hpo.search.cli``; ``store`` (the ``trials`` command) prints it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from hpo.results import SweepRecord, TrialRecord, error_summary, flatten_config, mask_secrets, mask_url

__all__ = ["MESSAGE_LINES", "TAIL_LINES", "error_dirs", "error_file_of", "errors_view"]

TAIL_LINES = 10  # the last lines of each error text shown: the exception and the frames that raised it
# An exception whose message spans lines (a command trial's: its summary, what was read, the script's last
# output lines) is shown from its first line on, up to this many lines, instead of the frames above it.
MESSAGE_LINES = 30

# ANSI escape sequences (colours in a trainable's output), then any other control character but tab.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    """Untrusted text made safe for a terminal: secrets masked, escape sequences and control characters dropped."""
    return _CONTROL.sub("", _ANSI.sub("", mask_secrets(text)))


def _value(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def error_dirs(experiment_path: str | None) -> list[Path]:
    """The trial folders in Ray's experiment folder that hold an ``error.txt``, when that folder is on
    this machine (read once for the whole view)."""
    if not experiment_path or "://" in experiment_path:
        return []
    folder = Path(experiment_path)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "error.txt").is_file())


def error_file_of(trial: TrialRecord, dirs: Sequence[Path]) -> Path | None:
    """The trial's ``error.txt`` among ``dirs`` (:func:`error_dirs`).

    Ray names a trial's folder ``<trainable>_<trial id>`` (hpo's names) or ``<trainable>_<trial id>_<n>_<config>``
    (Ray's own); the store records the experiment folder, not the trial's.
    """
    name = re.compile(rf"(^|_){re.escape(trial.trial_id)}($|_)")
    return next((d / "error.txt" for d in dirs if name.search(d.name)), None)


def _trial_lines(sweep: SweepRecord, trial: TrialRecord, dirs: Sequence[Path]) -> list[str]:
    # Python's `^^^^`/`~~~~` marker lines say where in a line it failed; in a 10-line tail they would crowd
    # out the frames themselves.
    lines = [line for line in _clean(trial.error or "").rstrip().splitlines() if line.strip(" ^~")]
    head = f"{trial.trial_id}  {_clean(error_summary(trial.error) or '(no error text recorded)')}"
    out = [head, "  config: " + (", ".join(f"{k}={_clean(_value(v))}" for k, v in flatten_config(trial.config).items())
                                 or "(empty)")]
    if trial.replaced_by:
        out.append(f"  replaced by trial {_clean(trial.replaced_by)}: its config ran again (resume --restart-errored)")
    summary = error_summary(trial.error)
    at = next((i for i in range(len(lines) - 1, -1, -1) if summary and error_summary(lines[i]) == summary), None)
    if at is not None and len(lines) - at > 1:
        message = lines[at:at + MESSAGE_LINES]
        out.append(f"  its error, its message ({len(message)} of {len(lines) - at} lines):"
                   if len(lines) - at > len(message) else "  its error, its message:")
        out += [f"    {line}" for line in message]
    elif lines:
        tail = lines[-TAIL_LINES:]
        out.append(f"  its error, the last {len(tail)} lines:" if len(lines) > len(tail) else "  its error:")
        out += [f"    {line}" for line in tail]
    where = error_file_of(trial, dirs)
    experiment = sweep.experiment_path
    if where is not None:
        out.append(f"  error file: {_clean(str(where))}")
    elif experiment and "://" in experiment:  # remote storage: not looked for, said where it is
        out.append(f"  error file: in Ray's storage, {_clean(mask_url(experiment.rstrip('/')))}/"
                   f"<trainable>_{_clean(trial.trial_id)}/error.txt")
    elif experiment:
        out.append(f"  error file: none found under {_clean(mask_url(sweep.experiment_path))}; "
                   f"`hpo trials {sweep.name} --errors --format json` has the text")
    else:
        out.append(f"  error file: not known; `hpo trials {sweep.name} --errors --format json` has the text")
    return out


def errors_view(sweep: SweepRecord, errored: Sequence[TrialRecord]) -> list[str]:
    """The lines of the view: a heading, then a paragraph per errored trial in the order they started;
    one line when no trial errored."""
    total = sweep.num_trials
    if not errored:
        return [f"sweep {sweep.name}: no trial errored ({total} trial{'s' if total != 1 else ''})"]
    replaced = sum(1 for t in errored if t.replaced_by)
    heading = f"sweep {sweep.name}: {len(errored)} errored trial{'s' if len(errored) != 1 else ''}"
    heading += f" ({replaced} of them ran again as new trials)" if replaced else ""
    out = [heading]
    ordered = sorted(errored, key=lambda t: (t.started is None, t.started or 0, t.trial_id))
    dirs = error_dirs(sweep.experiment_path)
    for trial in ordered:
        out += ["", *_trial_lines(sweep, trial, dirs)]
    return out
