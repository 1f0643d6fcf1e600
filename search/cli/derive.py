"""``hpo confirm`` and ``hpo refine``: sweeps derived from a finished one.

No logic here: each command calls ``hpo.search.derive.confirm`` / ``hpo.search.derive.refine`` and prints. Bad input (an
unknown or unfinished sweep, ``--top`` beyond its completed trials, ``--seeds`` < 2, too few trials
to refine, several objectives) is one line on stderr and exit 2, from the ``hpo`` group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hpo.results import mask_secrets
from hpo.search.cli._shared import (
    finish,
    home_option,
    open_jobs_store,
    open_store,
    print_confirmation,
    progress_options,
    setup_logging,
    store_option,
)

__all__ = ["COMMANDS", "confirm", "refine"]


@click.command("confirm")
@click.argument("name")
@click.option("--top", type=int, default=3, show_default=True, help="Re-run the best K distinct completed configs.")
@click.option("--seeds", type=int, default=5, show_default=True, help="Fresh seeds per config (at least 2).")
@click.option("--name", "child", default=None, help="The confirmation sweep's name (default NAME-confirm).")
@click.option("--address", default=None, metavar="URL",
              help="Run it on a Ray cluster as a Ray Job (http://HEAD:8265), like `hpo submit`.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@home_option
@store_option
@progress_options
def confirm(name: str, top: int, seeds: int, child: str | None, address: str | None, fmt: str, home: str | None,
            store_url: str | None, quiet: bool, verbose: bool) -> None:
    """Re-run the finished sweep NAME's top configs with fresh seeds, to the full budget, against the winner's curse.

    A child sweep (NAME-confirm) in the same store runs each of the --top configs with the same --seeds
    fresh seeds, FIFO. Prints each config's mean and 95% interval beside its original score, the winner
    after confirmation, and whether the original ranking held. `hpo best NAME --confirmed` shows it again.
    """
    if address is not None:
        _submit(name, top=top, seeds=seeds, child=child, address=address, home=home, store_url=store_url)
        return
    progress = setup_logging(verbose=verbose, quiet=quiet or fmt == "json")
    from hpo.search.derive.confirm import confirm_sweep

    done = confirm_sweep(name, top=top, seeds=seeds, child=child, home=home, store=store_url, progress=progress,
                         verbose=verbose)
    if fmt == "json":
        click.echo(json.dumps(done.confirmation.to_dict() if done.confirmation else None, indent=2, default=str))
        click.get_current_context().exit(done.exit_code)
    if done.confirmation is not None:
        print_confirmation(done.confirmation)
    # The child's own best trial is one seed's score, the number confirm exists to distrust: not shown.
    finish(done.outcome, metric=None, show_best=False)


def _submit(name: str, *, top: int, seeds: int, child: str | None, address: str, home: str | None,
            store_url: str | None) -> None:
    from hpo.search.cluster.local import prepare_home
    from hpo.search.derive.confirm import submit_confirmation

    home_path = prepare_home(home)
    with open_jobs_store(str(home_path), store_url) as store:
        spec, job_id = submit_confirmation(name, store=store, home=home_path, address=address, top=top, seeds=seeds,
                                           child=child)
    click.echo(job_id)
    click.echo(f"follow it: hpo status {spec.name} | hpo logs {spec.name} -f; once it ends: "
               f"hpo best {name} --confirmed", err=True)


@click.command("refine")
@click.argument("name")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the spec here (default: print it).")
@click.option("--name", "child", default=None, help="The new sweep's name (default NAME-refined).")
@click.option("--quantile", type=float, default=0.25, show_default=True,
              help="The share of finished trials, best first, taken as the good region (at least 3 trials).")
@click.option("--freeze-below", type=float, default=0.05, show_default=True,
              help="Freeze params whose importance (PED-ANOVA share) is below this at the best trial's value.")
@click.option("--samples", type=click.IntRange(min=1), default=None, help="The new sweep's trials (default NAME's).")
@home_option
@store_option
def refine(name: str, output: Path | None, child: str | None, quantile: float, freeze_below: float,
           samples: int | None, home: str | None, store_url: str | None) -> None:
    """Write the next sweep's spec from the finished sweep NAME: ranges narrowed to its top trials,
    choices that never got there dropped, unimportant params frozen, and a warm start from NAME.

    Each change carries a YAML comment with its reason and numbers; run it with `hpo sweep FILE`.
    """
    from hpo.search.derive.refine import refine_spec

    with open_store(home, store_url) as store:
        done = refine_spec(name, store=store, quantile=quantile, freeze_below=freeze_below, child=child,
                           samples=samples)
    if output is None:
        # Printed, a spec's storage URI shows its secrets masked; -o writes the file whole (it is to be run).
        click.echo(mask_secrets(done.text), nl=False)
        return
    from hpo.results.report.export import write_atomic

    write_atomic(output, done.text)
    summary = ", ".join(f"{n} {kind}" for kind, n in done.counts.items())
    click.echo(f"wrote {output}: sweep {done.spec.name} from {name}'s top {done.top} of {done.finished} trials "
               f"(params: {summary}); run it with `hpo sweep {output}`")


COMMANDS: list[Any] = [confirm, refine]
