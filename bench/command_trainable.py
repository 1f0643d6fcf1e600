"""What a command trial costs: the same short training as N command trials (this file run as a script,
printing ``hpo-report:`` lines) and as N function trials (``tune.report``), FIFO, random search; and, to
tell the script's own cost from the actor's, as N trials of a ``Trainable`` class that Tune gives a fresh
actor each (no ``reset_config``), as it does a command trial.

The sides run through ``run_sweep`` in this one process on one local Ray (2 CPUs, 1 CPU a trial: 2 at
once), after an untimed warm-up of each, so the ratios compare like with like. Printed: the wall time and
the driver's CPU time (``getrusage(RUSAGE_SELF)``: this process, not Ray's workers nor the scripts) of
each side and the ratios of the command side to the others; and the latency from a report to its row in
the store, p50 and p95. A thread polls the store's ``results`` table every 20 ms on both sides (so both pay for
it); a row's latency is when the poll first saw it minus when it was reported, by the trial's own clock
(a ``reported_at`` metric: a command trial's print time, which is also its row's ``recorded`` time,
``hpo_printed_at``; the bench prints how far apart those two are). The store writes its rows in batches
every 1 s (the StoreCallback's ``flush_every_s``), which dominates the p50 on both sides.

A command trial cannot reuse its actor (the script must end with it), so each one pays an actor start and
an interpreter start that a function trial on a reused actor does not: the fresh-actor side shows how much
of the difference is the actor's.

    .venv/bin/python bench/command_trainable.py [--trials 100] [--reports 3]

As a trial (what the command trials run; stdlib only, so it starts as fast as Python does):
``python bench/command_trainable.py --trial --x=0.3 --reports=3``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.02
WARMUP_TRIALS = 2


def step_loss(x: float, step: int) -> float:
    """One step of the same short training on every side: a few ms of arithmetic."""
    acc = 0.0
    for i in range(20_000):
        acc += (x - 0.5) * (i % 7) * 1e-9
    return (x - 0.5) ** 2 + 1.0 / step + acc * 0.0


def training(x: float, reports: int) -> list[float]:
    """The losses of a whole trial."""
    return [step_loss(x, step) for step in range(1, reports + 1)]


def function_trial(config: dict[str, Any]) -> None:
    """The function side: each loss through ``tune.report``, stamped with the trial's own clock."""
    from ray import tune

    for loss in training(config["x"], config["reports"]):
        tune.report({"loss": loss, "reported_at": time.time()})


def fresh_actor_trainable() -> type:
    """The same training as a ``Trainable`` class without ``reset_config``: Tune starts a fresh actor for
    each trial, as for a command trial (made on call: the trial script imports nothing of Ray).

    Tune saves a class trial at its end, so it saves (a few bytes); hpo then checkpoints it after every
    step (its rule for classes that save), a few ms a trial against the seconds an actor start takes.
    """
    from ray import tune

    class FreshActorTrial(tune.Trainable):
        def setup(self, config: dict[str, Any]) -> None:
            self.x, self.done_steps = config["x"], 0

        def step(self) -> dict[str, Any]:
            self.done_steps += 1
            # The spec's max_t ends it after `reports` steps (a result with "done" would make Tune save it).
            return {"loss": step_loss(self.x, self.done_steps), "reported_at": time.time()}

        def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
            return {"done_steps": self.done_steps}

        def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            self.done_steps = checkpoint["done_steps"]

    return FreshActorTrial


def trial_main(argv: list[str]) -> None:
    """The command side: the same training as a script, each loss a printed report line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--trial", action="store_true")
    parser.add_argument("--x", type=float, required=True)
    parser.add_argument("--reports", type=int, default=3)
    args = parser.parse_args(argv)
    for loss in training(args.x, args.reports):
        print("hpo-report: " + json.dumps({"loss": loss, "reported_at": time.time()}), flush=True)


SIDES = ("function", "fresh", "command")


def spec(name: str, *, trials: int, reports: int, side: str) -> dict[str, Any]:
    """One side's spec: FIFO, random search, 1 CPU a trial."""
    trainable: Any = ({"command": [sys.executable, str(Path(__file__).resolve()), "--trial"]} if side == "command"
                      else f"bench.command_trainable:{'function_trial' if side == 'function' else 'FreshActorTrial'}")
    return {"name": name, "trainable": trainable, "metric": "loss", "mode": "min",
            "search": {"algorithm": "random", "num_samples": trials, "seed": 0},
            "scheduler": {"type": "fifo", "max_t": reports}, "resources": {"cpu": 1, "gpu": 0},
            "params": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "fixed": {"reports": reports}}


@dataclass
class StorePoll:
    """Polls a SQLite store's ``results`` table in a thread: when each row was first seen, by row id."""

    path: Path
    # row id -> (when first seen, its recorded time, its metrics)
    seen: dict[int, tuple[float, float, dict[str, Any]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> StorePoll:
        self._thread = threading.Thread(target=self._run, name="store-poll", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._poll_once()  # the rows of the last flush

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self._poll_once()

    def _poll_once(self) -> None:
        if not self.path.exists():
            return
        last = max(self.seen, default=0)
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=1.0)
            try:
                rows = conn.execute("SELECT id, recorded, metrics FROM results WHERE id > ? ORDER BY id",
                                    (last,)).fetchall()
            finally:
                conn.close()
        except sqlite3.OperationalError:  # not created yet, or busy: the next poll sees it
            return
        now = time.time()
        for row_id, recorded, metrics in rows:
            self.seen[row_id] = (now, recorded, json.loads(metrics))


@dataclass(frozen=True)
class Side:
    wall_s: float
    cpu_s: float
    rows: int
    lag_ms: list[float]  # report (the trial's clock) -> row seen in the store
    recorded_gap_ms: list[float]  # the row's recorded time - the trial's clock


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_side(name: str, *, home: Path, trials: int, reports: int, side: str) -> Side:
    """One side's sweep, timed: wall, driver CPU, and each result row's latency into the store."""
    from hpo.search import run_sweep

    trainable = {"command": None, "function": function_trial, "fresh": fresh_actor_trainable()}[side]
    poll = StorePoll(home / "store.sqlite").start()
    cpu, start = _cpu_s(), time.perf_counter()
    outcome = run_sweep(spec(name, trials=trials, reports=reports, side=side), trainable=trainable,
                        home=str(home), progress="none")
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu
    poll.stop()
    if outcome.counts.get("completed") != trials:
        raise SystemExit(f"{name}: run_sweep ended {outcome.status} with {outcome.counts}, expected {trials} "
                         f"completed trials")
    lag, gap = [], []
    for seen, recorded, metrics in poll.seen.values():
        at = metrics.get("reported_at")
        if isinstance(at, int | float):
            lag.append(1000 * (seen - at))
            gap.append(1000 * (recorded - at))
    return Side(wall, cpu, len(poll.seen), lag, gap)


def compare(tmp: Path, *, trials: int, reports: int, warmup: int = WARMUP_TRIALS) -> dict[str, Side]:
    """Every side on the Ray this process has initialised, each after an untimed warm-up of its own."""
    sides = {}
    for side in SIDES:
        if warmup:
            run_side(f"warm-{side}", home=tmp / f"warm-{side}", trials=warmup, reports=reports, side=side)
        sides[side] = run_side(side, home=tmp / side, trials=trials, reports=reports, side=side)
    return sides


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def figures_text(sides: dict[str, Side], *, trials: int, reports: int) -> list[str]:
    """The printed figures: each side, then the ratios of the command side to the others."""
    fn, fresh, cmd = sides["function"], sides["fresh"], sides["command"]
    lines = [f"{trials} trials x {reports} reports each, FIFO, random search, 1 CPU a trial (2 at once)"]
    labels = (("function trials (tune.report)", fn), ("class trials, a fresh actor each", fresh),
              ("command trials (a script's lines)", cmd))
    for label, side in labels:
        lines.append(f"{label:<34} wall {side.wall_s:7.2f} s ({1000 * side.wall_s / trials:6.0f} ms a trial), "
                     f"driver CPU {side.cpu_s:6.2f} s ({1000 * side.cpu_s / trials:5.1f} ms a trial), "
                     f"report -> row p50 {statistics.median(side.lag_ms):4.0f} ms, "
                     f"p95 {_pct(side.lag_ms, 0.95):4.0f} ms ({side.rows} rows)")
    for label, base in (("function", fn), ("fresh-actor class", fresh)):
        extra_ms = 1000 * (cmd.wall_s - base.wall_s) / trials
        lines.append(f"ratio command / {label}: wall {cmd.wall_s / base.wall_s:.2f}x, "
                     f"driver CPU {cmd.cpu_s / base.cpu_s:.2f}x; {extra_ms:+.0f} ms wall a trial")
    gaps = cmd.recorded_gap_ms
    lines.append(f"a command row's recorded time is when its line was read: after the script's own clock by "
                 f"p50 {statistics.median(gaps):.1f} ms, max {max(gaps):.1f} ms" if gaps
                 else "no command row carried reported_at")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100, help="trials on each side (default 100)")
    parser.add_argument("--reports", type=int, default=3, help="reports per trial (default 3)")
    args = parser.parse_args()
    import ray

    from hpo.search.engine.progress import quiet_ray_logging

    quiet_ray_logging()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    with tempfile.TemporaryDirectory() as tmp:
        sides = compare(Path(tmp), trials=args.trials, reports=args.reports)
    ray.shutdown()
    print()
    py = sys.version.split()[0]
    print(f"machine: {platform.machine()} {os.cpu_count()} CPU(s), Python {py}, ray {ray.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}")
    for line in figures_text(sides, trials=args.trials, reports=args.reports):
        print(line)


if __name__ == "__main__":
    if "--trial" in sys.argv[1:]:
        trial_main(sys.argv[1:])
    else:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        main()
