"""``StoreCallback``: a Ray Tune callback (driver side) that streams a sweep into the store.

Hooks used (Ray 2.60 ``ray.tune.Callback``): ``setup``, ``on_trial_start``, ``on_trial_restore``,
``on_trial_result``, ``on_checkpoint``, ``on_trial_complete``, ``on_trial_recover``,
``on_trial_error``, ``on_step_end`` and ``on_experiment_end``. Events are folded into
in-memory trial rows and written in batches: at most every ``flush_every_s`` seconds or
``flush_results`` results, whichever comes first, and at the end of the experiment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from hpo.results.errors import StoreError
from hpo.results.store.outcome import iterations_reached, trial_outcome
from hpo.results.store.ray_keys import PRINTED_AT_KEY
from hpo.results.store.records import dumps, finite
from hpo.results.store.store import Store
from hpo.results.store.writer import BatchWriter, TrialState, clean_result

if TYPE_CHECKING:
    from ray.tune.experiment import Trial

__all__ = ["ErrorOf", "NodeOf", "StoreCallback", "checkpoint_uri", "node_label", "read_trial_error"]

# Where a Tune trial's actor runs: its Ray node id (hex), or None when not known. Ray has no public
# API for it; the engine hands in its lookup (hpo.search.ray_compat), results imports only ray.tune.
NodeOf = Callable[[Any], str | None]
# Why a trial failed in hpo's words, when hpo itself ended it (a time limit), else None: recorded instead
# of what Ray wrote (a killed actor's RayActorError says nothing of the reason).
ErrorOf = Callable[[Any], str | None]

logger = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 20_000


LOST_TRIAL_ERROR = ("lost: the driver was killed before Ray Tune's experiment state recorded this trial, "
                    "so the resume could not continue it")


def read_trial_error(trial: Trial) -> str:
    """The text Ray wrote for a failed trial (its ``error.txt``), or a stand-in when unreadable."""
    text: str | None = None
    try:
        path = trial.error_file  # <trial dir>/error.txt on the driver, Ray 2.x
        if path:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
    except (OSError, AttributeError):
        text = None
    if not text:
        try:
            text = trial.get_error()  # reads it through the storage filesystem instead
        except Exception:  # any storage error leaves us with the stand-in
            text = None
    if not text:
        return f"trial {trial.trial_id} failed (Ray left no error file)"
    return str(text).strip()[-_MAX_ERROR_CHARS:]


def _recorded_at(result: Mapping[str, Any]) -> float:
    """When the result was made: the time its line was printed for a command trial (``hpo_printed_at``,
    so the store's latency is not hidden in the row), else now."""
    printed = finite(result.get(PRINTED_AT_KEY))
    return printed if printed is not None and printed > 0 else time.time()


def checkpoint_uri(checkpoint: Any) -> str | None:
    """Where a Ray checkpoint lives, readable from anywhere: a local path, or ``s3://...`` and the like.

    Ray's ``Checkpoint.path`` drops the scheme of a remote filesystem (``bucket/prefix/...``); the
    store keeps it, so ``hpo best --evaluate`` and reports know where to read from.
    """
    path = getattr(checkpoint, "path", None) if checkpoint is not None else None
    if not path:
        return None
    scheme = getattr(getattr(checkpoint, "filesystem", None), "type_name", "local")
    if scheme in ("local", "mock", None) or "://" in str(path):
        return str(path)
    return f"{'gs' if scheme == 'gcs' else scheme}://{str(path).lstrip('/')}"


def _checkpoint_path(trial: Trial) -> str | None:
    try:
        checkpoint = trial.checkpoint
    except AttributeError:
        return None
    return checkpoint_uri(checkpoint)


def node_label(trial: Any, result: Mapping[str, Any], node_of: NodeOf | None) -> str | None:
    """Where a trial's result came from, as the store records it: ``"IP NODE_ID"``, or ``"IP"`` when the
    node id is unknown; None when the result carries no IP.

    The IP is in every result; two Ray nodes on one machine share it, so the node id comes from
    ``node_of(trial)`` (the engine's lookup), asked once per placement. A lookup that fails keeps the IP.
    """
    ip = result.get("node_ip")
    if not isinstance(ip, str) or not ip:
        return None
    node_id = None
    if node_of is not None:
        try:
            node_id = node_of(trial)
        except Exception:  # a lookup into a Ray that moved must not end the sweep: the IP at least
            logger.debug("no node id for trial %s", getattr(trial, "trial_id", "?"), exc_info=True)
    return f"{ip} {node_id}" if isinstance(node_id, str) and node_id else ip


class StoreCallback(Callback):
    """Writes every trial start, result, checkpoint, completion, early stop and error to a store.

    A trial that ends is classified by `trial_outcome` (the rule the trackers and the live view use):
    ``stopped_early`` when its scheduler cut it short (before ``max_t``, and no ``stop`` criterion met),
    else ``completed``; ``error`` when it failed.

    Args:
        store: The store to write to (reopened by URL after the callback is unpickled).
        sweep: The sweep's name; its row is created if ``start_sweep`` was not called.
        metric: The metric the sweep optimises (its value is indexed per result).
        mode: ``min`` or ``max``.
        max_t: The scheduler's max_t; None records every clean end as ``completed``.
        time_attr: The result key ``max_t`` is measured in.
        stop: The sweep's stop criteria (a trial that met one completed); default each trial's own.
        flush_every_s: Longest time a result waits in memory before being written.
        flush_results: Queued results that force a write.
        node_of: Where a trial runs: ``node_of(trial)`` gives its Ray node id, or None when not known
            (see ``NodeOf``); recorded beside the IP of its results. None: the IP alone. A module-level
            function, so the callback still pickles.
        error_of: Why a failed trial failed when hpo ended it (see ``ErrorOf``): recorded as its error
            instead of Ray's error file when it gives one. A module-level function, as ``node_of``.
    """

    def __init__(
        self,
        store: Store,
        *,
        sweep: str,
        metric: str,
        mode: str,
        max_t: int | None,
        time_attr: str = "training_iteration",
        stop: Mapping[str, float] | None = None,
        flush_every_s: float = 1.0,
        flush_results: int = 5_000,
        node_of: NodeOf | None = None,
        error_of: ErrorOf | None = None,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.store = store
        self.sweep = sweep
        self.metric = metric
        self.mode = mode
        self.max_t = max_t
        self.time_attr = time_attr
        self.stop = dict(stop) if stop is not None else None
        self.flush_every_s = flush_every_s
        self.flush_results = flush_results
        self.node_of = node_of
        self.error_of = error_of
        self._reset()

    def _reset(self) -> None:
        self._writer: BatchWriter | None = None
        self._states: dict[str, TrialState] = {}
        self._dirty: dict[str, TrialState] = {}
        self._stopped: dict[str, bool] = {}  # trial id -> whether Tune stopped it on its last result
        self._queued: list[tuple[TrialState, dict[str, Any]]] = []
        self._last_flush = time.monotonic()
        self._warned = False

    # Ray pickles the RunConfig (and so this callback) into the experiment's tuner.pkl: keep
    # only what rebuilds it, and reopen the store by URL on the other side.
    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.store.url, "home": str(self.store.home), "sweep": self.sweep,
                "metric": self.metric, "mode": self.mode, "max_t": self.max_t, "time_attr": self.time_attr,
                "stop": self.stop, "flush_every_s": self.flush_every_s, "flush_results": self.flush_results,
                **({"node_of": self.node_of} if self.node_of is not None else {}),
                **({"error_of": self.error_of} if self.error_of is not None else {})}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(Store.open(state.pop("url"), home=state.pop("home")), **state)  # type: ignore[misc]

    # ------------------------------------------------------------ bookkeeping
    def _ensure(self) -> BatchWriter:
        if self._writer is None:
            writer = BatchWriter(self.store.engine, sweep=self.sweep, metric=self.metric, mode=self.mode)
            writer.ensure_sweep(max_t=self.max_t)
            self._states = writer.load_states()
            self._writer = writer
        return self._writer

    def _state(self, trial: Trial) -> TrialState:
        self._ensure()
        state = self._states.get(trial.trial_id)
        if state is None:
            state = TrialState.new(self.sweep, trial.trial_id)
            state.update(config=dict(trial.config or {}))
            self._states[trial.trial_id] = state
        self._dirty[trial.trial_id] = state
        return state

    def flush(self) -> None:
        """Write everything queued now, in one transaction.

        A failed write is logged and kept queued for the next flush; the sweep goes on.
        """
        if self._writer is None or (not self._dirty and not self._queued):
            return
        dirty, queued = list(self._dirty.values()), self._queued
        try:
            self._writer.flush(dirty, queued)
        except StoreError as exc:
            if not self._warned:
                logger.warning("results store write failed, will retry: %s", exc)
                self._warned = True
            self._last_flush = time.monotonic()
            return
        self._dirty = {}
        self._queued = []
        self._last_flush = time.monotonic()

    def _maybe_flush(self) -> None:
        if len(self._queued) >= self.flush_results or time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def _end(self, trial: Trial, status: str, error: str | None = None) -> None:
        state = self._state(trial)
        state.update(status=status, ended=time.time(), error=error if error is not None else state.trial.error,
                     checkpoint_path=_checkpoint_path(trial) or state.trial.checkpoint_path)
        self._maybe_flush()

    def _error(self, trial: Trial) -> str:
        """hpo's reason when it ended the trial itself (``error_of``), else what Ray wrote."""
        if self.error_of is not None:
            try:
                reason = self.error_of(trial)
            except Exception:  # the record must be written: Ray's text then
                logger.debug("no hpo reason for trial %s", getattr(trial, "trial_id", "?"), exc_info=True)
                reason = None
            if reason:
                return str(reason)[-_MAX_ERROR_CHARS:]
        return read_trial_error(trial)

    # ------------------------------------------------------------ Ray hooks
    def setup(self, **info: Any) -> None:
        """Register the sweep and load its existing trials (a resume continues from them)."""
        self._ensure()

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        state = self._state(trial)
        state.update(status="running", ended=None, config=dict(trial.config or {}))
        state.placed = False  # a restarted or restored trial may land on another node
        self._maybe_flush()

    def on_trial_restore(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.on_trial_start(iteration, trials, trial, **info)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        state = self._state(trial)
        self._stopped[trial.trial_id] = bool(result.get("done"))  # Tune decided to stop it here (trial_outcome)
        if not state.placed:
            state.update(node=node_label(trial, result, self.node_of) or state.trial.node)
            state.placed = True
        metrics = clean_result(result)
        step = result.get("training_iteration")
        step = int(step) if isinstance(step, int | float) else state.trial.iterations + 1
        value = finite(metrics.get(self.metric))
        state.add_result(step, value, metrics, self.mode)
        self._queued.append((state, {
            "iteration": step, "time_total_s": finite(result.get("time_total_s")), "metric_value": value,
            "metrics": dumps(metrics), "recorded": _recorded_at(result)}))
        self._maybe_flush()

    def on_checkpoint(self, iteration: int, trials: list[Trial], trial: Trial, checkpoint: Any,
                      **info: Any) -> None:
        path = checkpoint_uri(checkpoint)
        if path:
            self._state(trial).update(checkpoint_path=str(path))

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self._ensure()
        if trial.trial_id not in self._states:
            return  # a pending trial cancelled at the end of the experiment: it never ran
        state = self._state(trial)
        reached = iterations_reached(state.trial.last_result, time_attr=self.time_attr,
                                     counted=state.trial.iterations)
        self._end(trial, trial_outcome(trial, failed=False, reached=reached, max_t=self.max_t, stop=self.stop,
                                       stopped=self._stopped.get(trial.trial_id)))

    def on_trial_recover(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        # Ray retries it (failures.max_retries): it stays running, the error is kept for the record.
        state = self._state(trial)
        state.update(error=self._error(trial))
        self._maybe_flush()

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self._end(trial, trial_outcome(trial, failed=True, reached=None, max_t=self.max_t),
                  error=self._error(trial))

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        self._maybe_flush()

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self._ensure()
        known = {t.trial_id for t in trials}
        for trial_id, state in self._states.items():
            if state.trial.status == "running" and trial_id not in known:
                # Started, then the driver was SIGKILLed before Tune's experiment state held it:
                # the resumed Tune cannot run it again (its searcher suggests a replacement).
                state.update(status="error", ended=time.time(), error=LOST_TRIAL_ERROR)
                self._dirty[trial_id] = state
        self.flush()
