"""Our console output for a running sweep, replacing Ray Tune's tables.

``live``: a rich view redrawn in place (stdout a TTY). ``plain``: one line per trial end
plus a status line every few seconds (logs, CI). ``none``: nothing (``-q``).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import Any, Literal, TextIO

from ray.tune import Callback

from hpo.results import better, iterations_reached, trial_outcome
from hpo.spaces import SweepPlan

__all__ = ["ProgressMode", "ProgressView", "quiet_ray_logging", "resolve_mode"]

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


def quiet_ray_logging(*, verbose: bool = False) -> None:
    """Keep Ray's own log lines off the console unless ``verbose`` (our view replaces them)."""
    level = logging.INFO if verbose else logging.ERROR
    for name in ("ray", "ray.tune", "ray.train", "ray.air"):
        logging.getLogger(name).setLevel(level)


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
        state = _SHOWN[trial_outcome(trial, failed=False, reached=it, max_t=self.plan.stop_cap, stop=self.plan.stop)]
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
            self._line(f"trial {trial.trial_id} failed; retrying from its last checkpoint")

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
