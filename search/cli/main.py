"""The ``hpo`` command line. It parses, calls the Python API, prints, and picks the exit code.

Exit codes: 0 done, 1 the sweep failed, 2 bad input (one line, no traceback unless ``--debug``
appears anywhere on the command line), 130 interrupted.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from hpo.errors import InputError
from hpo.results import mask_secrets
from hpo.spaces import SpecError, load_spec

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERRUPTED", "cli", "main"]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _HpoGroup(click.Group):
    """Maps our error types to exit codes once, for every command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `--debug` is accepted anywhere, so `hpo validate x.yaml --debug` works like `hpo --debug ...`.
        if "--debug" in args:
            ctx.meta["hpo.debug"] = True
            args = [a for a in args if a != "--debug"]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            if not isinstance(exc, InputError):
                raise
            if ctx.meta.get("hpo.debug"):
                _print_traceback()
            # A SpecError names its file first; anything else is prefixed with the command. Whatever
            # URL the message quotes (a store, a storage) is shown with its secrets masked.
            prefix = "" if isinstance(exc, SpecError) else f"hpo {ctx.invoked_subcommand}: "
            click.echo(mask_secrets(f"{prefix}{exc}"), err=True)
            ctx.exit(EXIT_BAD_INPUT)


def _print_traceback() -> None:
    """``--debug``'s traceback of the exception being handled, on stderr, secrets in URLs masked."""
    click.echo(mask_secrets(traceback.format_exc()), err=True, nl=False)


@click.group(cls=_HpoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hpo-service", prog_name="hpo")
def cli() -> None:
    """hpo: declarative hyperparameter sweeps on Ray Tune.

    Write a sweep spec in YAML, check it with `hpo validate`, preview it with
    `hpo sweep SPEC --dry-run`, run it with `hpo sweep SPEC`, then query the results store
    (`hpo ls`, `hpo trials`, `hpo best`) and export a report (`hpo report`). Add --debug
    anywhere to see tracebacks.
    """


@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a spec value by dotted path, e.g. search.num_samples=8 (repeatable).")
@click.pass_context
def validate(ctx: click.Context, specs: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Parse and check sweep specs (files or built-in names) without starting Ray.

    Prints one OK line per good spec; every problem of a bad one, by dotted path. Exit 0 when
    all are good, 2 otherwise.
    """
    from hpo.search.engine.checks import check_spec
    from hpo.search.engine.planning import plan_sweep

    failed = 0
    for ref in specs:
        try:
            spec = load_spec(ref, overrides=overrides)
            check_spec(spec)
        except InputError as exc:
            if ctx.meta.get("hpo.debug"):
                _print_traceback()
            click.echo(mask_secrets(str(exc) if isinstance(exc, SpecError) else f"{ref}: {exc}"), err=True)
            failed += 1
            continue
        plan = plan_sweep(spec)  # the plan `hpo sweep --dry-run` prints and the engine runs
        click.echo(f"OK  {spec.source}: sweep {spec.name}, {spec.search.algorithm}, {plan.trials} trials, "
                   f"{spec.scheduler.type} max_t {plan.trial_cap}"
                   + (f" by {plan.scheduler_metric} ({plan.scheduler_mode})" if plan.scheduler_metric else ""))
    if failed:
        ctx.exit(EXIT_BAD_INPUT)


def _register_commands() -> None:
    from hpo.search.cli.derive import COMMANDS as DERIVE_COMMANDS
    from hpo.search.cli.jobs import COMMANDS as JOB_COMMANDS
    from hpo.search.cli.remove import COMMANDS as REMOVE_COMMANDS
    from hpo.search.cli.serve import COMMANDS as SERVE_COMMANDS
    from hpo.search.cli.store import COMMANDS as STORE_COMMANDS
    from hpo.search.cli.sweep import COMMANDS as SWEEP_COMMANDS

    for command in (*SWEEP_COMMANDS, *STORE_COMMANDS, *REMOVE_COMMANDS, *DERIVE_COMMANDS, *SERVE_COMMANDS,
                    *JOB_COMMANDS):
        cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``hpo``)."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="hpo")
