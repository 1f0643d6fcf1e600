"""``hpo sweep``, ``hpo resume`` and ``hpo extend``: parse, call run_sweep / resume_sweep / extend_sweep, print, exit.

Exit codes: 0 finished, 1 failed (every trial errored), 2 bad input (one line on stderr,
before Ray starts; ``--debug`` adds the traceback), 130 interrupted.
"""

from __future__ import annotations

import click

from hpo.search.cli._shared import finish, home_option, load_cli_spec, progress_options, setup_logging, store_option
from hpo.spaces import SpecError

__all__ = ["COMMANDS", "extend", "resume", "sweep"]


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
    # Bad input (SpecError, unknown trainable, impossible resources, name clash) propagates to the
    # `hpo` group, which prints its one line (a traceback with --debug) and exits 2. A spec's problems
    # come with its name's clash, if the store holds that name too: one run shows everything.
    try:
        spec = load_cli_spec(spec_ref, overrides, name=name, storage=storage)
    except SpecError as exc:
        if dry_run:
            raise
        from hpo.search.engine.checks import with_stored_name_clash

        raise with_stored_name_clash(exc, home=home, store=store_url) from None
    if dry_run:
        from hpo.search.engine.checks import check_spec
        from hpo.search.engine.planning import plan_sweep
        from hpo.search.engine.preview import dry_run_report

        check_spec(spec)
        click.echo(dry_run_report(spec, samples=samples, plan=plan_sweep(spec)))
        return
    progress = setup_logging(verbose=verbose, quiet=quiet)
    from hpo.search.engine.sweep import run_sweep

    outcome = run_sweep(spec, home=home, store=store_url, progress=progress, verbose=verbose)
    finish(outcome, metric=spec.metric)


@click.command("resume")
@click.argument("name")
@click.option("--restart-errored", is_flag=True,
              help="Run errored trials again from scratch, not from their checkpoint; each new run replaces "
                   "its errored trial (kept in the store, not counted).")
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
    """Continue the interrupted (or killed) sweep NAME from its saved Ray Tune state, with the spec stored with it."""
    progress = setup_logging(verbose=verbose, quiet=quiet)
    from hpo.search.engine.sweep import resume_sweep

    outcome = resume_sweep(
        name, home=home, store=store_url, restart_errored=restart_errored, progress=progress, verbose=verbose
    )
    finish(outcome, metric=outcome.metric)


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
    progress = setup_logging(verbose=verbose, quiet=quiet)
    from hpo.search.engine.sweep import extend_sweep

    outcome = extend_sweep(name, samples=samples, home=home, store=store_url, progress=progress, verbose=verbose)
    finish(outcome, metric=outcome.metric)


COMMANDS: list[click.Command] = [sweep, resume, extend]
