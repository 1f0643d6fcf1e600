"""``hpo sweep`` and ``hpo resume``: parse, call search.run_sweep / resume_sweep, print, exit.

Exit codes: 0 finished, 1 failed (every trial errored), 2 bad input (one line on stderr,
before Ray starts; ``--debug`` adds the traceback), 130 interrupted.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import click
from hpo.results import flatten_config, mask_secrets, mask_url
from hpo.search.cli.options import home_option, progress_options, store_option
from hpo.search.engine.tbx import trial_files_on

__all__ = ["COMMANDS", "extend", "resume", "sweep"]


def _setup_logging(*, verbose: bool, quiet: bool) -> str:
    from hpo.search.engine.progress import quiet_ray_logging

    quiet_ray_logging(verbose=verbose)
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return "none" if quiet else "auto"


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


def _finish(outcome: Any, *, metric: str | None, show_best: bool = True) -> NoReturn:
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


@click.command("sweep")
@click.argument("spec_ref", metavar="SPEC|NAME")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a spec value (dotted path).")
@click.option("--name", default=None, help="Sweep name (default: the spec's name).")
@click.option("--samples", type=click.IntRange(min=1), default=5, show_default=True,
              help="With --dry-run: how many sample configs to print.")
@click.option("--dry-run", is_flag=True, help="Print the trial budget and sample configs; start nothing.")
@click.option("--storage", default=None, metavar="URI",
              help="Ray's storage for trial dirs and checkpoints (s3://bucket/prefix, a shared path). "
                   "Default: the spec's storage, $HPO_STORAGE, else <home>/ray.")
@home_option
@store_option
@progress_options
def sweep(
    spec_ref: str,
    overrides: tuple[str, ...],
    name: str | None,
    samples: int,
    dry_run: bool,
    storage: str | None,
    home: str | None,
    store_url: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Run the sweep described by SPEC (a YAML file, or a built-in spec NAME)."""
    from hpo import spaces

    extra = list(overrides)
    if name is not None:
        extra.append(f"name={name}")
    if storage is not None:
        extra.append(f"storage={storage}")
    # Bad input (SpecError, unknown trainable, impossible resources, name clash) propagates to the
    # `hpo` group, which prints its one line (a traceback with --debug) and exits 2.
    spec = spaces.load_spec(spec_ref, overrides=extra)
    if dry_run:
        from hpo.search.cluster.local import planned_slots
        from hpo.search.engine.checks import check_spec

        check_spec(spec)
        plan = spaces.build_plan(spec, slots=planned_slots(spec))
        click.echo(spaces.dry_run_report(spec, samples=samples, plan=plan))
        return
    progress = _setup_logging(verbose=verbose, quiet=quiet)
    from hpo.search.engine.sweep import run_sweep

    outcome = run_sweep(spec, home=home, store=store_url, progress=progress, verbose=verbose)
    _finish(outcome, metric=spec.metric)


@click.command("resume")
@click.argument("name")
@click.option("--restart-errored", is_flag=True, help="Restart errored trials from scratch, not their checkpoint.")
@home_option
@store_option
@progress_options
def resume(
    name: str,
    restart_errored: bool,
    home: str | None,
    store_url: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Continue the interrupted (or killed) sweep NAME from its saved Ray Tune state."""
    progress = _setup_logging(verbose=verbose, quiet=quiet)
    from hpo.search.engine.sweep import resume_sweep

    outcome = resume_sweep(
        name, home=home, store=store_url, restart_errored=restart_errored, progress=progress, verbose=verbose
    )
    metric = getattr(outcome.best, "metric", None)
    _finish(outcome, metric=metric)


@click.command("extend")
@click.argument("name")
@click.option("--samples", type=int, required=True, metavar="N", help="Trials to add to the sweep.")
@home_option
@store_option
@progress_options
def extend(
    name: str,
    samples: int,
    home: str | None,
    store_url: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Add N trials to the finished sweep NAME, the searcher seeded with every earlier result."""
    progress = _setup_logging(verbose=verbose, quiet=quiet)
    from hpo.search.engine.sweep import extend_sweep

    outcome = extend_sweep(name, samples=samples, home=home, store=store_url, progress=progress, verbose=verbose)
    metric = getattr(outcome.best, "metric", None) or (outcome.plan.metric if outcome.plan else None)
    _finish(outcome, metric=metric)


COMMANDS: list[click.Command] = [sweep, resume, extend]
