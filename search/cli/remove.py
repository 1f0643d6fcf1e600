"""``hpo rm``: remove a sweep (or some of its trials) from the store, after asking; Ray's files on request.

Exit codes: 0 removed, 1 the question was answered no (nothing removed), 2 bad input (an unknown sweep
or trial, a running sweep, no terminal to ask on without ``--yes``: one line on stderr).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from hpo.errors import InputError
from hpo.results import mask_url
from hpo.search.cli._shared import home_option, open_store, store_option

if TYPE_CHECKING:
    from hpo.search.engine.removal import RemovalPlan

__all__ = ["COMMANDS", "rm_command"]

EXIT_DECLINED = 1


def _what(plan: RemovalPlan, store_url: str) -> str:
    """The question's subject: what goes, and from where."""
    name = plan.sweep.name
    if not plan.whole:
        ids = ", ".join(plan.trial_ids)
        return f"remove {len(plan.trial_ids)} trial(s) of sweep {name} ({ids}) and their results from {store_url}"
    trials = plan.sweep.num_trials
    what = f"remove sweep {name} ({plan.sweep.shown_status}, {trials} trial(s)) and its results from {store_url}"
    if plan.files and plan.folders:
        what += f", and Ray's files in {', '.join(mask_url(f) for f in plan.folders)}"
    return what


@click.command("rm")
@click.argument("name")
@click.argument("trial_ids", nargs=-1, metavar="[ID]...")
@click.option("--trials", "trials_flag", is_flag=True,
              help="Remove the trials ID... of the sweep (their rows and results), not the sweep.")
@click.option("--files", is_flag=True,
              help="Also delete Ray's files of the sweep (its experiment folders: checkpoints, trial dirs).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask (for scripts); without it, a terminal is needed to ask on.")
@home_option
@store_option
def rm_command(
    name: str,
    trial_ids: tuple[str, ...],
    trials_flag: bool,
    files: bool,
    yes: bool,
    home: str | None,
    store_url: str | None,
) -> None:
    """Remove the sweep NAME from the store, or with --trials ID... some of its trials.

    Asks first (--yes does not). A running sweep is refused; a lost one (its driver died) may go.
    Ray's files stay unless --files: while they do, a new sweep cannot take the name.
    """
    if trial_ids and not trials_flag:
        raise InputError(f"{' '.join(trial_ids)}: name one sweep; to remove trials: hpo rm {name} --trials ID...")
    if trials_flag and not trial_ids:
        raise InputError(f"--trials needs the ids of the trials to remove: hpo rm {name} --trials ID...")
    from hpo.results import resolve_home
    from hpo.search.engine.removal import plan_removal, remove

    store = open_store(home, store_url)
    plan = plan_removal(store, name, home=resolve_home(home), trial_ids=trial_ids, files=files)
    what = _what(plan, store.url_masked)
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(f"not removing {'trials of ' if trial_ids else ''}sweep {name}: no terminal to ask on; "
                             "add --yes to remove without asking")
        if not click.confirm(f"{what}?", default=False):
            click.echo("nothing removed", err=True)
            click.get_current_context().exit(EXIT_DECLINED)
    removed = remove(store, plan)
    if not removed.whole:
        click.echo(f"removed {removed.trials} trial(s) of sweep {name} ({removed.results} result(s))")
        return
    click.echo(f"removed sweep {name}: {removed.trials} trial(s), {removed.results} result(s)")
    if plan.folders and not plan.files:
        click.echo(f"Ray's files stay in {', '.join(mask_url(f) for f in plan.folders)} "
                   f"(delete them to reuse the name {name} there)")
    elif plan.folders:
        click.echo(f"deleted Ray's files in {', '.join(mask_url(f) for f in plan.folders)}")


COMMANDS: list[click.Command] = [rm_command]
