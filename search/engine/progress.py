"""Our console output for a running sweep, replacing Ray Tune's tables and tracebacks.

``live``: a rich view redrawn in place (stdout a TTY). ``plain``: one line per trial end
plus a status line every few seconds (logs, CI). ``none``: nothing (``-q``). A failed trial's
traceback is in its ``error.txt`` and the store (``hpo trials NAME --errors``), so Ray's copy of it
never reaches the console unless ``-v``; a failure Ray retries is one line (:func:`retry_line`).
"""

from __future__ import annotations

import logging
import math
import pickle
import sys
import time
from typing import Any, Literal, TextIO

from ray.tune import Callback

from hpo.results import better, error_summary, iterations_reached, trial_outcome
from hpo.results.store.callback import read_trial_error
from hpo.search.ray_compat.logs import UNHANDLED_ERROR_LOGGER, quiet_worker_deaths
from hpo.spaces import SweepPlan

__all__ = ["RAY_REPEATS", "ProgressMode", "ProgressView", "quiet_ray_logging", "resolve_mode", "retry_line"]

ProgressMode = Literal["auto", "live", "plain", "none"]

_PLAIN_EVERY_S = 10.0
# How this view words the store's outcomes (``trial_outcome``'s vocabulary).
_SHOWN = {"completed": "completed", "stopped_early": "stopped early", "error": "errored"}


def resolve_mode(mode: str | None, stream: TextIO | None = None) -> str:
    """``None``/``auto`` -> ``live`` on a TTY, else ``plain``; other values checked and kept."""
    if mode in (None, "auto"):
        out = stream or sys.stdout
        return "live" if getattr(out, "isatty", lambda: False)() else "plain"
    if mode not in ("live", "plain", "none"):
        raise ValueError(f"progress: expected auto, live, plain or none, got {mode!r}")
    return mode


# Ray's error lines that repeat what the trial's error.txt, the store and hpo's end line already say,
# by the logger that prints them and how they start: each failed trial's whole traceback (a retried
# one too), the list of trials that did not complete, and the error of a trial still running when the
# sweep was ended, which Ray prints as "unhandled" once nothing waits for it. (Checked on Ray 2.60; a
# test asserts a failing sweep's whole console output, so a reworded line shows there.)
RAY_REPEATS: dict[str, tuple[str, ...]] = {
    "ray.tune.execution.tune_controller": ("Trial task failed for trial ",),
    "ray.tune.tune": ("Trials did not complete",),
    UNHANDLED_ERROR_LOGGER: ("Unhandled error (suppress with ",),
}


class _DropRayRepeats(logging.Filter):
    """Drops one Ray logger's records whose message starts with one of ``prefixes``."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(self.prefixes))


def quiet_ray_logging(*, verbose: bool = False) -> None:
    """Keep Ray's own log lines off the console unless ``verbose`` (our view replaces them).

    Ray's errors still show, except the :data:`RAY_REPEATS` (trial tracebacks) and the raylet's notice
    of each dead worker (``hpo.search.ray_compat.logs``), which ``verbose`` keeps. The filters sit on the
    loggers that print them, not on a handler: ``ray.init`` replaces the ``ray`` logger's handlers (or,
    with ``configure_logging=False``, removes them).
    """
    level = logging.INFO if verbose else logging.ERROR
    for name in ("ray", "ray.tune", "ray.train", "ray.air"):
        logging.getLogger(name).setLevel(level)
    for name, prefixes in RAY_REPEATS.items():
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, _DropRayRepeats)]:
            logger.removeFilter(old)
        if not verbose:
            logger.addFilter(_DropRayRepeats(prefixes))
    quiet_worker_deaths(verbose=verbose)


def _last_error(trial: Any) -> BaseException | None:
    """The exception Ray pickled for the trial's latest failure (written on the driver as it failed)."""
    try:
        with open(trial.pickled_error_file, "rb") as handle:
            error = pickle.load(handle)  # cloudpickle's output is plain pickle to load
    except Exception:  # no file (an error Ray did not pickle), or a class the driver cannot import
        return None
    return error if isinstance(error, BaseException) else None


def _failure(error: BaseException | None, trial: Any) -> str:
    """What a retried failure was: ``worker lost (ActorDiedError)`` or ``failed with KeyError: 'l2'``."""
    from ray import exceptions as rx

    from hpo.search.engine.trial_limits import timeout_reason

    if (reason := timeout_reason(trial)) is not None:  # hpo ended it (failures.report_timeout...): Ray's
        return reason  # error only says that its actor died
    lost = (rx.RayActorError, rx.NodeDiedError, rx.WorkerCrashedError, rx.LocalRayletDiedError, rx.OutOfMemoryError)
    name = type(error).__name__
    if isinstance(error, rx.RayTaskError) and name.startswith("RayTaskError(") and name.endswith(")"):
        name = name[len("RayTaskError("):-1]  # a task's error, re-raised as an instance of its cause too
    if isinstance(error, lost):
        return f"worker lost ({name})"
    if error is None:
        text = read_trial_error(trial)
    elif isinstance(error, rx.RayTaskError):  # its str() is the task's traceback, ending in the cause
        text = str(error)
    else:
        text = f"{name}: {error}"
    return f"failed with {error_summary(text) or 'an error Ray left no text for'}"


def retry_line(trial: Any) -> str:
    """One line for a failure Ray retries, in place of its traceback.

    ``trial e4790_00001: worker lost (ActorDiedError); retrying from its checkpoint (retry 1 of 2)``,
    or ``trial e4790_00001: failed with ValueError: boom; retrying from the start (retry 1 of 1)``.
    """
    error = _last_error(trial)
    where = "from its checkpoint" if getattr(trial, "checkpoint", None) is not None else "from the start"
    if getattr(error, "preempted", False):
        count = "a preempted node: not counted against failures.max_retries"
    else:
        most = getattr(trial, "max_failures", None)
        count = f"retry {trial.num_failures}" + (f" of {most}" if isinstance(most, int) and most >= 0 else "")
    return f"trial {trial.trial_id}: {_failure(error, trial)}; retrying {where} ({count})"


def _fmt_elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt_value(x)}" for k, x in v.items()) + "}"
    return str(v)


class ProgressView(Callback):
    """Counts trials by state, follows the best result, and renders it (live or plain).

    Everything it counts against comes from the sweep's plan: the metric and mode, the
    per-trial cap, whether the scheduler stops early, the stop criteria, the planned budget
    (the one ``--dry-run`` printed) and the searched keys shown for the best trial.

    Args:
        plan: The sweep's plan.
        mode_view: ``live`` or ``plain``.
        stream: Where to write (stdout by default).
    """

    def __init__(self, plan: SweepPlan, *, mode_view: str = "plain", stream: TextIO | None = None) -> None:
        self.plan = plan
        self.name, self.metric, self.mode = plan.name, plan.metric, plan.mode
        self.time_attr = plan.time_attr
        self.view = mode_view
        self.config_keys = list(dict.fromkeys(a.name.partition(".")[0] for a in plan.axes))
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self.total: int | None = None
        self.trials: list[Any] = []
        self.done: dict[str, str] = {}  # trial_id -> completed | stopped early | errored
        self.best: tuple[float, str, dict[str, Any]] | None = None
        self.iters: dict[str, int] = {}
        self.stopped: dict[str, bool] = {}  # trial id -> whether Tune stopped it on its last result
        self._last_plain = 0.0
        self._live: Any = None

    # --- Tune hooks -------------------------------------------------------------------
    def setup(
        self, stop: Any = None, num_samples: Any = None, total_num_samples: Any = None, **info: Any
    ) -> None:
        self.total = total_num_samples
        self.started = time.monotonic()
        if self.view == "live" and self._live is None:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self._render(),
                console=Console(file=self.stream),
                refresh_per_second=4,
                get_renderable=self._render,
                transient=False,
            )
            self._live.start()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self.trials = trials
        if self.view == "plain" and time.monotonic() - self._last_plain >= _PLAIN_EVERY_S:
            self._line(self.status_line())

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        self.trials = trials
        tid = trial.trial_id
        self.iters[tid] = int(iterations_reached(result, time_attr=self.time_attr) or 0)
        self.stopped[tid] = bool(result.get("done"))  # Tune decided to stop it on this result (trial_outcome)
        value = result.get(self.metric)
        if isinstance(value, (int, float)) and not math.isnan(value) and better(
                value, self.best[0] if self.best is not None else None, mode=self.mode):
            config = dict(trial.config)
            if self.config_keys is not None:
                config = {k: v for k, v in config.items() if k in self.config_keys}
            self.best = (float(value), tid, config)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.trials = trials
        it = self.iters.get(trial.trial_id, 0)
        state = _SHOWN[trial_outcome(trial, failed=False, reached=it, max_t=self.plan.stop_cap, stop=self.plan.stop,
                                     stopped=self.stopped.get(trial.trial_id))]
        self.done[trial.trial_id] = state
        if self.view == "plain":
            self._line(f"trial {trial.trial_id} {state} after {it} iteration(s){self._metric_of(trial)}")

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.trials = trials
        self.done[trial.trial_id] = _SHOWN["error"]
        if self.view == "plain":
            self._line(f"trial {trial.trial_id} errored (logs: {getattr(trial, 'path', None) or '?'})")

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        if self.view == "plain":
            self._line(retry_line(trial))
        elif self._live is not None:  # above the live table, which rich redraws below it
            self._live.console.print(retry_line(trial), markup=False, highlight=False)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        self.trials = trials
        self.close()

    # --- rendering --------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        states = list(self.done.values())
        running = sum(1 for t in self.trials if t.status == "RUNNING")
        pending = sum(1 for t in self.trials if t.status in ("PENDING", "PAUSED"))
        return {
            "running": running,
            "pending": pending,
            "completed": states.count("completed"),
            "stopped early": states.count("stopped early"),
            "errored": states.count("errored"),
        }

    def budget(self) -> tuple[int, int | None]:
        spent = sum(self.iters.values())
        return spent, self.plan.budget_full

    def status_line(self) -> str:
        c = self.counts()
        spent, budget = self.budget()
        total = f"/{self.total}" if self.total else ""
        parts = [
            f"[{_fmt_elapsed(time.monotonic() - self.started)}] {self.name}:",
            f"trials {len(self.done)}{total} done",
            f"running {c['running']}",
            f"completed {c['completed']}",
            f"stopped early {c['stopped early']}",
            f"errored {c['errored']}",
            f"iterations {spent}/{budget if budget is not None else '?'}",
        ]
        if self.best is not None:
            parts.append(f"best {self.metric}={self.best[0]:.6g} ({self.best[1]})")
        return " | ".join(parts)

    def _metric_of(self, trial: Any) -> str:
        value = (getattr(trial, "last_result", None) or {}).get(self.metric)
        return f", {self.metric}={value:.6g}" if isinstance(value, (int, float)) else ""

    def _line(self, text: str) -> None:
        self._last_plain = time.monotonic()
        print(text, file=self.stream, flush=True)

    def _render(self) -> Any:
        from rich.table import Table

        c = self.counts()
        spent, budget = self.budget()
        table = Table(title=f"hpo sweep {self.name}", show_header=False, expand=False)
        table.add_column(style="bold")
        table.add_column()
        table.add_row("elapsed", _fmt_elapsed(time.monotonic() - self.started))
        table.add_row("trials", f"{len(self.trials)} started" + (f" of {self.total}" if self.total else ""))
        table.add_row("running", f"[cyan]{c['running']}[/] (pending {c['pending']})")
        table.add_row("completed", f"[green]{c['completed']}[/]")
        table.add_row("stopped early", f"[yellow]{c['stopped early']}[/]")
        table.add_row("errored", f"[red]{c['errored']}[/]")
        table.add_row("iterations", f"{spent} / {budget if budget is not None else '?'}")
        if self.best is not None:
            value, tid, config = self.best
            table.add_row(f"best {self.metric}", f"{value:.6g} (trial {tid})")
            table.add_row("best config", ", ".join(f"{k}={_fmt_value(v)}" for k, v in config.items()))
        return table

    def close(self) -> None:
        """Stop the live view (idempotent); plain mode prints a last status line."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif self.view == "plain" and self.trials:
            self._line(self.status_line())
            self.trials = []
