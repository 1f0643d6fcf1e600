"""What the ``hpo`` commands share: their options, opening the store, logging, and the lines they print.

Private to ``hpo.search.cli`` (nothing outside the CLI imports it); the command modules import these
public names from here rather than from each other, so no command module depends on another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from hpo.results import Confirmation, Store, error_summary, flatten_config, format_number, mask_secrets, mask_url
from hpo.search.engine.tbx import trial_files_on
from hpo.spaces import SweepSpec

__all__ = [
    "finish",
    "home_option",
    "load_cli_spec",
    "open_jobs_store",
    "open_store",
    "print_confirmation",
    "progress_options",
    "setup_logging",
    "store_option",
]

F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- options
def home_option(fn: F) -> F:
    """``--home DIR``: where runs, the store and reports live (default ``./runs`` or ``HPO_HOME``)."""
    return click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=str),
        envvar="HPO_HOME",
        default=None,
        help="Run home: store, Ray results, reports. Default ./runs (or $HPO_HOME).",
    )(fn)


def store_option(fn: F) -> F:
    """``--store URL``: any SQLAlchemy URL (default the SQLite file in the home, or ``HPO_STORE``)."""
    return click.option(
        "--store",
        "store_url",
        envvar="HPO_STORE",
        default=None,
        metavar="URL",
        help="Results store, any SQLAlchemy URL. Default sqlite:///<home>/store.sqlite (or $HPO_STORE).",
    )(fn)


def progress_options(fn: F) -> F:
    """``-q/--quiet`` (no progress view) and ``-v/--verbose`` (Ray's own log lines too)."""
    fn = click.option("-v", "--verbose", is_flag=True, help="Show Ray's own log lines and trial output.")(fn)
    return click.option("-q", "--quiet", is_flag=True, help="No progress view.")(fn)


def load_cli_spec(spec_ref: str, overrides: tuple[str, ...], *, name: str | None, storage: str | None) -> SweepSpec:
    """The spec SPEC|NAME names, with the ``--set`` overrides, then ``--name`` and ``--storage`` as overrides."""
    from hpo.spaces import load_spec

    extra = [*overrides, *([f"name={name}"] if name is not None else []),
             *([f"storage={storage}"] if storage is not None else [])]
    return load_spec(spec_ref, overrides=extra)


# --------------------------------------------------------------------------- store and logging
def open_store(home: str | None, store_url: str | None) -> Store:
    """Open the store read-only: a missing store is an error, never created by a reader.

    Also ends what a killed ``hpo sweep``'s local Ray left running on this home (by recorded pid).
    """
    from hpo.results import resolve_home
    from hpo.search.cluster.orphans import reap_orphans

    reap_orphans(resolve_home(home))
    return Store.open(store_url, home=home, create=False)


def open_jobs_store(home: str | None, store_url: str | None, *, create: bool = False) -> Store:
    """The store, for the commands that talk to a cluster's job server, with Ray's job SDK kept quiet."""
    # Ray's job SDK logs each upload at INFO on stderr (its modules set that level on import, so
    # import them first); our own lines are the output.
    import ray.job_submission  # noqa: F401

    for name in ("ray", "ray.dashboard.modules.dashboard_sdk", "ray.dashboard.modules.job.sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return Store.open(store_url, home=home, create=create)


def setup_logging(*, verbose: bool, quiet: bool) -> str:
    """Ray's log lines off unless ``--verbose``; returns the progress view to ask for (``none`` when ``--quiet``)."""
    from hpo.search.engine.progress import quiet_ray_logging

    quiet_ray_logging(verbose=verbose)
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return "none" if quiet else "auto"


# --------------------------------------------------------------------------- what is printed
def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _summary(outcome: Any, *, metric: str | None, show_best: bool = True) -> None:
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in outcome.counts.items() if v)
    total = sum(outcome.counts.values())
    click.echo(f"sweep {outcome.name} {outcome.status}: {total} trial(s) ({counts or 'none'})")
    best = outcome.best if show_best else None
    if best is not None:
        # `hpo best`'s scope, `last`: the trial ranked best by its last value shows that value (its best over
        # iterations could differ: 2.29577 then, 2.29579 at the end), at the iteration it was reported.
        where = f" at iteration {best.iterations}" if best.iterations else ""
        shown = f"{metric}={_fmt(best.last_metric)}" if metric else _fmt(best.last_metric)
        click.echo(f"best trial {best.trial_id}: {shown}{where}")
        click.echo("  config:  " + ", ".join(f"{k}={_fmt(v)}" for k, v in flatten_config(best.config or {}).items()))
        metrics = {k: v for k, v in (best.last_result or {}).items() if isinstance(v, (int, float))}
        click.echo("  metrics: " + ", ".join(f"{k}={_fmt(v)}" for k, v in metrics.items()))
        click.echo(f"  checkpoint: {mask_url(best.checkpoint_path) if best.checkpoint_path else '(none saved)'}")
    click.echo(f"logs: {mask_url(outcome.experiment_path)}")
    if trial_files_on():
        click.echo(f"tensorboard --logdir {mask_url(outcome.experiment_path)}")
    click.echo(f"store: {outcome.store_url}")


def finish(outcome: Any, *, metric: str | None, show_best: bool = True) -> NoReturn:
    """Print a sweep's outcome (the summary on stdout, what went wrong on stderr) and exit with its code."""
    _summary(outcome, metric=metric, show_best=show_best)
    ended_by = getattr(outcome, "ended_by", None)  # how a watch ended it: stalled, failed fast
    if outcome.status == "failed" and outcome.reason:
        click.echo(f"hpo: sweep {outcome.name} {ended_by or 'failed'}: {mask_secrets(outcome.reason)}", err=True)
        if ended_by == "failed fast":
            click.echo(f"  tracebacks: `hpo trials {outcome.name} --errors`; fix it, then `hpo resume {outcome.name}`; "
                       "or set failures.fail_fast: false to run every trial anyway", err=True)
    elif outcome.status == "failed":
        first = error_summary(outcome.first_error) or "no error text recorded"
        click.echo(f"hpo: every trial errored; first error: {first}", err=True)
        click.echo(f"  tracebacks: `hpo trials {outcome.name} --errors`", err=True)
    elif outcome.status == "interrupted":
        click.echo(f"interrupted; continue it with `hpo resume {outcome.name}`", err=True)
    elif outcome.counts.get("error") and outcome.first_error:
        last = mask_secrets(outcome.first_error).strip().splitlines()[-1]
        click.echo(f"note: {outcome.counts['error']} trial(s) errored; first error: {last}", err=True)
    click.get_current_context().exit(outcome.exit_code)


def print_confirmation(found: Confirmation) -> None:
    """The confirmation as a table (best confirmed mean first), then its verdict, one finding per line."""
    from rich.console import Console

    from hpo.search.cli._tables import TableColumn, fit_table, left_out_note, print_fitted

    seeds = ", ".join(str(s) for s in found.seeds)
    click.echo(f"{found.sweep}: the top {found.top} of {found.parent} re-run with seeds {seeds} "
               f"({found.metric}, {found.mode}; 95% intervals)")
    items = found.configs
    # Rank, trial, mean and interval always whole; the original rank and score, then the seeds, left out
    # (with a line saying so) on a terminal too narrow for them.
    columns = [
        TableColumn("#", [str(rank) if item.n else "—" for rank, item in enumerate(items, start=1)], keep=True,
                    justify="right"),
        TableColumn("trial", [item.trial_id for item in items], keep=True),
        TableColumn("original #", [str(item.original_rank) for item in items], priority=2, justify="right"),
        TableColumn(f"in {found.parent}", [format_number(item.original) for item in items], priority=1),
        TableColumn("mean", [format_number(item.mean) for item in items], keep=True),
        TableColumn("95% interval", [f"[{format_number(item.interval[0])}, {format_number(item.interval[1])}]"
                                     if item.interval else "—" for item in items], keep=True),
        TableColumn("seeds", [str(item.n) + (f" (+{item.unfinished} unfinished)" if item.unfinished else "")
                              for item in items], priority=3, justify="right"),
    ]
    console = Console(soft_wrap=False, highlight=False)
    if not console.is_terminal:  # piped: whole rows rather than 80 columns
        console = Console(soft_wrap=False, highlight=False, width=160)
    fitted = fit_table(columns, width=console.width)
    print_fitted(console, fitted)
    note = left_out_note(fitted.left_out, width=console.width, wider="a wider terminal shows them")
    if note:
        click.echo(note)
    for line in found.verdict():
        click.echo(line)
