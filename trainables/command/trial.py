"""A command trial on Ray Tune: run the script, turn its output into results, end it when Tune stops the trial.

:func:`command_trainable` gives a Tune *function* trainable: a result is handed over at the line that
completes it, with the checkpoint the script wrote by then (``tune.report(..., checkpoint=...)``), and
``tune.get_checkpoint()`` holds the checkpoint to start from on a retry, a resume or a PBT exploit.

The function runs in a thread of the trial's actor. Tune ends a stopped trial's actor without waiting
for that thread, so the script is ended by :func:`stop_running`, which the engine runs as the actor
stops (``hpo.search.ray_compat.function_stop``): SIGTERM to the script's process group, ``stop_grace``,
SIGKILL. A guard process (:mod:`._guard`) does the same should the actor die first.

What runs, step by step: the trial's folders and env (:mod:`.env`, :mod:`.argv`), the config written to
``HPO_CONFIG_JSON``, ``HPO_CHECKPOINT_DIR`` emptied then filled from Tune's checkpoint; the script started
in a session of its own (:mod:`.process`) with its guard; its stdout and stderr read line by line (also
kept in ``stdout.log`` and ``stderr.log`` in the trial's folder), event files polled; every completed
result reported; at the end, the exit judged (:mod:`.errors`).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from hpo.trainables.command import checkpoint as ckpt
from hpo.trainables.command.errors import (
    CommandFailedError,
    CommandMetricError,
    CommandOutOfMemoryError,
    quoted_tail,
)
from hpo.trainables.command.parsing import Accumulator, ParseStats, RegexSource, is_oom, parse_report_line
from hpo.trainables.command.process import (
    become_subreaper,
    end_group,
    launch,
    process_start_time,
)
from hpo.trainables.command.settings import CommandSettings, TrialPaths

__all__ = ["COMMAND_RECORD", "TAIL_LINES", "command_name", "command_trainable", "stop_running"]

logger = logging.getLogger(__name__)

COMMAND_RECORD = ".hpo-command.json"  # in the trial's folder: the script's and its guard's pids, for reaping
TAIL_LINES = 20  # lines of output an error text quotes
_LINE_MAX = 64 * 1024  # a longer line is read in pieces
_LEFTOVER_GRACE = 2.0  # seconds a finished script's leftover processes get after SIGTERM
_TB_POLL_S = 0.5
_TB_IDLE_S = 1.0  # a TensorBoard step still pending after this long without new events is reported


class _Running:
    """One script this process runs: what :func:`stop_running` ends."""

    def __init__(self, grace: float, record: Path) -> None:
        self.grace = grace
        self.record = record  # .hpo-command.json: gone once the group is
        self.lock = threading.Lock()
        self.proc: Any = None
        self.stopping = False

    def started(self, proc: Any) -> bool:
        """Record the script; False when a stop came first (the caller then ends it at once)."""
        with self.lock:
            self.proc = proc
            return not self.stopping

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            proc = self.proc
        if proc is not None:
            end_group(proc.pid, self.grace, proc=proc)
            self.record.unlink(missing_ok=True)
        # Copies made for results Tune will now never take.
        for left in self.record.parent.glob(f"{ckpt.SNAPSHOT_PREFIX}*"):
            shutil.rmtree(left, ignore_errors=True)


_RUNNING: list[_Running] = []
_RUNNING_LOCK = threading.Lock()


def stop_running() -> None:
    """End every script this process runs (SIGTERM, ``stop_grace``, SIGKILL of its whole group); blocks until
    they are gone. The engine runs it as Tune stops a command trial's actor."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for run in running:
        run.stop()


def command_name(settings: CommandSettings) -> str:
    """How errors name the script, the same for every trial: ``python train.py``, ``python -m pkg.train``,
    ``./run.sh``, without its arguments (which hold the trial's values)."""
    tokens = list(settings.tokens)
    if not tokens:
        return "the command"
    head = [Path(tokens[0]).name]
    if head[0].startswith("python"):
        for i, token in enumerate(tokens[1:], start=1):
            if token in ("-m", "-c") and i + 1 < len(tokens):
                return " ".join([*head, token, tokens[i + 1] if token == "-m" else "..."])
            if token.startswith("-m") and len(token) > 2:
                return " ".join([*head, token])
            if not token.startswith("-"):
                return " ".join([*head, Path(token).name])
    return head[0]


def command_trainable(settings: CommandSettings, *, folders: Callable[[], tuple[str, str]] | None = None,
                      origin: Callable[[], str] | None = None) -> Callable[[dict[str, Any]], None]:
    """A Ray Tune function trainable that runs ``settings``' command once per trial.

    Args:
        settings: The sweep's command, resolved (``CommandSettings.from_spec``).
        folders: Gives the running trial's ``(trial folder, checkpoint folder)``; default: the actor's
            working folder (Tune's per-trial folder) and ``hpo_checkpoint`` in it. The engine passes
            ``hpo.search.ray_compat.function_stop.trial_folders`` (Tune's own trial folder).
        origin: Gives the folder the actor started in, the spec's folder under ``hpo submit`` (which ships
            it as the job's working_dir and sets ``HPO_SPEC_DIR_SHIPPED=1``); default: ``settings.spec_dir``.

    The function carries ``__hpo_command__ = settings``; the engine attaches :func:`stop_running` as its
    stop hook and gives every trial a fresh actor.
    """

    def command(config: dict[str, Any]) -> None:
        run_command_trial(settings, config, folders=folders, origin=origin)

    command.__hpo_command__ = settings  # type: ignore[attr-defined]
    return command


def _default_folders() -> tuple[str, str]:
    here = os.getcwd()
    return here, os.path.join(here, "hpo_checkpoint")


def _write_json(path: Path, data: Any) -> None:
    """Write, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def _reader(stream: IO[bytes], kind: str, log: Path, out: queue.Queue[tuple[str, str, float]]) -> None:
    """Put each line of ``stream`` on ``out`` as ``(kind, text, time read)``, appending it to ``log``; then EOF."""
    try:
        with open(log, "ab") as saved:
            for raw in iter(lambda: stream.readline(_LINE_MAX), b""):
                saved.write(raw)
                saved.flush()
                out.put((kind, raw.decode("utf-8", errors="replace").rstrip("\r\n"), time.time()))
    except (OSError, ValueError):
        logger.debug("reading the script's %s stopped", kind, exc_info=True)
    finally:
        out.put(("eof", kind, time.time()))


class _Trial:
    """One start of the script: its process, its output's readers, what it printed, the results it gave."""

    def __init__(self, settings: CommandSettings, config: dict[str, Any], paths: TrialPaths, cwd: Path) -> None:
        self.settings = settings
        self.config = config
        self.paths = paths
        self.cwd = cwd
        self.stats = ParseStats()
        self.regex = RegexSource(settings.regex) if settings.regex else None
        self.accumulator = Accumulator(settings.required)
        self.tailer: Any = None
        if settings.tensorboard_dir is not None and settings.tensorboard_tags:
            from hpo.trainables.command.tensorboard import EventTailer

            # A restarted script's earlier events (a retry, a resume) were reported already.
            self.tailer = EventTailer(cwd / settings.tensorboard_dir, settings.tensorboard_tags, skip_existing=True)
        self.stderr_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.output_tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.seen: set[str] = set()  # every metric name any source gave
        self.oom = False
        self.results = 0
        self.last_signature: ckpt.Signature = ckpt.signature(paths.checkpoint_dir)
        # ("result", result, snapshot folder or None) per result, then ("end", exit code, None)
        self.out: queue.Queue[tuple[str, Any, Path | None]] = queue.Queue()

    # -------------------------------------------------------------- results
    def complete(self, result: dict[str, Any]) -> None:
        """Hand a completed result over, with a copy of ``HPO_CHECKPOINT_DIR`` as it is now (as the line is
        read, not when Tune takes the result: the script writes on meanwhile) when it changed or PBT runs."""
        folder = Path(self.paths.checkpoint_dir)
        current = ckpt.signature(folder)
        snap = None
        if current and (self.settings.exploits or current != self.last_signature):
            snap = ckpt.snapshot(folder, into=folder.parent)
            self.last_signature = current
        self.results += 1
        self.out.put(("result", result, snap))

    def _feed(self, metrics: dict[str, float], at: float, extra: dict[str, Any] | None = None) -> None:
        if not metrics:
            return
        self.seen.update(metrics)
        result = self.accumulator.feed(metrics, at=at, extra=extra)
        if result is not None:
            self.complete(result)

    def line(self, kind: str, text: str, at: float) -> None:
        self.output_tail.append(text)
        if kind == "err":
            self.stderr_tail.append(text)
        if is_oom(text):
            self.oom = True
        metrics: dict[str, float] = {}
        if kind == "out" and self.settings.lines:
            metrics.update(parse_report_line(text, stats=self.stats) or {})
        if self.regex is not None:
            metrics.update(self.regex.match(text))
        self._feed(metrics, at)

    def steps(self, steps: Iterable[tuple[int, dict[str, float]]], at: float) -> bool:
        any_step = False
        for step, metrics in steps:
            any_step = True
            self._feed(metrics, at, extra={"tensorboard_step": step})
        return any_step

    # -------------------------------------------------------------- the end
    def outcome(self, returncode: int) -> None:
        """Raise what the exit means: a failure, a missing metric; return for a script that did its job."""
        name = command_name(self.settings)
        if returncode != 0:
            how = f"exited with code {returncode}" if returncode > 0 else f"was killed by signal {-returncode}"
            if self.oom:
                summary = f"{name} ran out of GPU memory ({how}; its output says CUDA out of memory)"
                raise CommandOutOfMemoryError(summary + "\n" + quoted_tail(
                    f"its output, last {TAIL_LINES} lines:", self.output_tail))
            raise CommandFailedError(f"{name} {how}\n" + quoted_tail(
                f"its stderr, last {TAIL_LINES} lines:", self.stderr_tail))
        if self.results:
            return
        required = list(self.settings.required)
        missing = [m for m in required if m not in self.seen] or required
        sources, details = [], []
        if self.settings.lines:
            sources.append("report lines")
            details.append(f"report lines: {self.stats.describe()}")
        if self.regex is not None:
            sources.append("regex")
            details.append(f"regex: {self.regex.describe()}")
        if self.tailer is not None:
            sources.append(f"tensorboard {self.settings.tensorboard_dir}")
            details.append(f"tensorboard: {self.tailer.describe()}")
        summary = (f"{name} exited with code 0 without reporting {' and '.join(missing)} "
                   f"(sources read: {', '.join(sources)})")
        raise CommandMetricError("\n".join([summary, *details, quoted_tail(
            f"its output, last {TAIL_LINES} lines:", self.output_tail)]))


def _paths(settings: CommandSettings, folders: Callable[[], tuple[str, str]] | None) -> TrialPaths:
    from ray import tune

    trial_dir, checkpoint_dir = (folders or _default_folders)()
    return TrialPaths(trial_id=tune.get_context().get_trial_id(), trial_dir=trial_dir, checkpoint_dir=checkpoint_dir,
                      spec_dir=settings.spec_dir, config_json=os.path.join(trial_dir, "hpo_config.json"),
                      sweep=settings.sweep)


def _restore_checkpoint(folder: str) -> None:
    """``HPO_CHECKPOINT_DIR`` empty, or holding what Tune hands back (a retry, a resume, a PBT exploit)."""
    from ray import tune

    given = tune.get_checkpoint()
    if given is None:
        ckpt.empty(folder)
        return
    with given.as_directory() as source:
        ckpt.restore(source, folder)


def _gpu_ids() -> list[str]:
    import ray

    return [str(g) for g in ray.get_runtime_context().get_accelerator_ids().get("GPU", [])]


def _start_guard(pgid: int, grace: float) -> int | None:
    from hpo.trainables.command._guard import start_guard

    try:
        return start_guard(pgid=pgid, grace=grace)
    except Exception:  # the script runs unguarded: a stop still ends it, only a dead actor would not
        logger.warning("could not start the guard of a command trial's process group %d", pgid, exc_info=True)
        return None


def run_command_trial(settings: CommandSettings, config: dict[str, Any], *,
                      folders: Callable[[], tuple[str, str]] | None = None,
                      origin: Callable[[], str] | None = None) -> None:
    """Run the script for one trial to its end, reporting each result to Tune (the body of the trainable).

    Raises:
        CommandFailedError: it exited non-zero or was killed (``CommandOutOfMemoryError`` after a CUDA
            out-of-memory in its output).
        CommandMetricError: it exited 0 without reporting the sweep's metric.
        SystemExit: (0) the trial was stopped: Tune ends it.
    """
    from hpo.trainables.command.argv import build_argv
    from hpo.trainables.command.env import trial_env

    if os.environ.get("HPO_SPEC_DIR_SHIPPED") == "1" and origin is not None:  # hpo submit: the job's working_dir
        settings = replace(settings, spec_dir=origin())
    paths = _paths(settings, folders)
    trial_dir = Path(paths.trial_dir)
    trial_dir.mkdir(parents=True, exist_ok=True)
    _write_json(Path(paths.config_json), config)
    _restore_checkpoint(paths.checkpoint_dir)
    cwd = trial_dir if settings.cwd == "trial" else Path(settings.spec_dir) / settings.cwd
    argv = build_argv(settings, config, paths=paths)
    env = trial_env(settings, paths=paths, gpu_ids=_gpu_ids(), base=os.environ, config=config)

    running = _Running(settings.stop_grace, trial_dir / COMMAND_RECORD)
    with _RUNNING_LOCK:
        _RUNNING.append(running)
    try:
        _run(settings, config, paths, cwd, argv, env, running)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.remove(running)


def _run(settings: CommandSettings, config: dict[str, Any], paths: TrialPaths, cwd: Path, argv: list[str],
         env: dict[str, str], running: _Running) -> None:
    """Start the script, collect its results in a thread of their own, report each to Tune from this one."""
    from ray import tune

    trial = _Trial(settings, config, paths, cwd)
    become_subreaper(False)  # the guard must not be ours to adopt (Ray ends a dead worker's children)
    proc = launch(argv, cwd=cwd, env=env)
    guard = _start_guard(proc.pid, settings.stop_grace)
    become_subreaper(True)  # the script's orphans become ours, so ending the group reaps them
    _write_json(running.record, {
        "pid": proc.pid, "pgid": proc.pid, "start": process_start_time(proc.pid), "guard_pid": guard,
        "guard_start": process_start_time(guard) if guard else None, "actor_pid": os.getpid(), "argv": argv})
    if not running.started(proc):  # stopped while starting
        end_group(proc.pid, settings.stop_grace, proc=proc)
    # tune.report blocks until Tune asks for the next result, while the script runs on: reading and
    # parsing in another thread keeps each result's checkpoint the one written before its line.
    collector = threading.Thread(target=_collect, args=(trial, proc, running), daemon=True)
    collector.start()
    while True:
        kind, payload, snap = trial.out.get()
        if kind == "end":
            break
        try:
            tune.report(payload, checkpoint=tune.Checkpoint.from_directory(str(snap)) if snap else None)
        finally:
            if snap is not None:  # Tune copied it to the trial's storage before report returned
                shutil.rmtree(snap, ignore_errors=True)
    collector.join()
    if running.stopping:
        raise SystemExit(0)  # Tune stopped the trial (a scheduler, the sweep's end): not a failure
    trial.outcome(int(payload))


def _collect(trial: _Trial, proc: Any, running: _Running) -> None:
    """Read the script's lines (and event files) to its end; its results, then its exit, go to ``trial.out``."""
    settings, trial_dir = trial.settings, Path(trial.paths.trial_dir)
    lines: queue.Queue[tuple[str, str, float]] = queue.Queue()
    readers = [threading.Thread(target=_reader, args=(stream, kind, trial_dir / log, lines), daemon=True)
               for stream, kind, log in ((proc.stdout, "out", "stdout.log"), (proc.stderr, "err", "stderr.log"))]
    for reader in readers:
        reader.start()
    open_streams = 2
    next_poll = last_event = time.monotonic()
    exited_at: float | None = None
    try:
        while open_streams:
            try:
                kind, text, at = lines.get(timeout=_TB_POLL_S if trial.tailer is not None else 1.0)
            except queue.Empty:
                kind = ""
            if kind == "eof":
                open_streams -= 1
            elif kind:
                trial.line(kind, text, at)
            now = time.monotonic()
            if trial.tailer is not None and now >= next_poll:
                next_poll = now + _TB_POLL_S
                if trial.steps(trial.tailer.poll(), time.time()):
                    last_event = now
                elif trial.tailer.has_pending and now - last_event >= _TB_IDLE_S:
                    trial.steps(trial.tailer.flush(), time.time())
            if exited_at is None and proc.poll() is not None:
                exited_at = now
                # What the script left behind (a daemon holding its pipes open) ends with it.
                end_group(proc.pid, min(settings.stop_grace, _LEFTOVER_GRACE), proc=proc)
            elif exited_at is not None and now - exited_at > _LEFTOVER_GRACE + 2.0:
                break  # a pipe held open by a process outside the group: what was read is what there is
        returncode = proc.wait()
        for reader in readers:
            reader.join(timeout=2.0)
        end_group(proc.pid, min(settings.stop_grace, _LEFTOVER_GRACE), proc=proc)
        running.record.unlink(missing_ok=True)
        if not running.stopping:
            while True:
                try:
                    kind, text, at = lines.get_nowait()
                except queue.Empty:
                    break
                if kind and kind != "eof":
                    trial.line(kind, text, at)
            if trial.tailer is not None:
                trial.steps(trial.tailer.flush(), time.time())
            last = trial.accumulator.flush()
            if last is not None:
                trial.complete(last)
    except BaseException:
        logger.exception("reading a command trial's output failed")
        returncode = proc.poll() if proc.poll() is not None else -1
    trial.out.put(("end", returncode, None))
