"""What the ``hpo`` commands share: their options, opening the store, logging, and the lines they print.

Private to ``hpo.search.cli`` (nothing outside the CLI imports it); the command modules import these
public names from here rather than from each other, so no command module depends on another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from hpo.results import Confirmation, Store, flatten_config, format_number, mask_secrets, mask_url
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
        where = f" at iteration {best.best_iteration}" if best.best_iteration is not None else ""
        shown = f"{metric}={_fmt(best.best_metric)}" if metric else _fmt(best.best_metric)
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
    if outcome.status == "failed" and outcome.reason:
        click.echo(f"hpo: sweep {outcome.name} stalled: {mask_secrets(outcome.reason)}", err=True)
    elif outcome.status == "failed":
        first = mask_secrets(outcome.first_error or "no error text recorded").strip().splitlines()
        click.echo(f"hpo: every trial errored; first error: {first[-1] if first else '?'}", err=True)
        click.echo(f"  (full traceback: `hpo trials {outcome.name}` or the trial's error.txt)", err=True)
    elif outcome.status == "interrupted":
        click.echo(f"interrupted; continue it with `hpo resume {outcome.name}`", err=True)
    elif outcome.counts.get("error") and outcome.first_error:
        last = mask_secrets(outcome.first_error).strip().splitlines()[-1]
        click.echo(f"note: {outcome.counts['error']} trial(s) errored; first error: {last}", err=True)
    click.get_current_context().exit(outcome.exit_code)


def print_confirmation(found: Confirmation) -> None:
    """The confirmation as a table (best confirmed mean first), then its verdict, one finding per line."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    seeds = ", ".join(str(s) for s in found.seeds)
    click.echo(f"{found.sweep}: the top {found.top} of {found.parent} re-run with seeds {seeds} "
               f"({found.metric}, {found.mode}; 95% intervals)")
    table = Table()
    for header in ("#", "trial", "original #", f"in {found.parent}", "mean", "95% interval", "seeds"):
        table.add_column(escape(header), justify="right" if header in ("#", "original #", "seeds") else "left",
                         no_wrap=True)
    for rank, item in enumerate(found.configs, start=1):
        interval = item.interval
        table.add_row(str(rank) if item.n else "—", escape(item.trial_id), str(item.original_rank),
                      format_number(item.original), format_number(item.mean),
                      f"[{format_number(interval[0])}, {format_number(interval[1])}]" if interval else "—",
                      str(item.n) + (f" (+{item.unfinished} unfinished)" if item.unfinished else ""))
    console = Console(soft_wrap=False, highlight=False)
    if not console.is_terminal:  # piped: whole trial ids and intervals rather than 80 columns
        console = Console(soft_wrap=False, highlight=False, width=160)
    console.print(table)
    for line in found.verdict():
        click.echo(line)
