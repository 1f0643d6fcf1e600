"""``hpo submit``, ``hpo status``, ``hpo logs``, ``hpo stop``: sweeps as Ray Jobs on a cluster.

No logic here: each command calls ``hpo.search.cluster.jobs`` and prints. Bad input (an unreachable job server,
a store the cluster cannot reach, a name taken) is one line on stderr and exit 2, from the ``hpo`` group.
"""

from __future__ import annotations

import click

from hpo.results import mask_secrets
from hpo.search.cli._shared import home_option, load_cli_spec, open_jobs_store, store_option

__all__ = ["COMMANDS"]


@click.command("submit")
@click.argument("spec_ref", metavar="SPEC|NAME")
@click.option("--address", required=True, envvar="RAY_API_SERVER_ADDRESS", metavar="URL",
              help="The cluster's job server, http://HEAD:8265 (or $RAY_API_SERVER_ADDRESS).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a spec value (dotted path).")
@click.option("--name", default=None, help="Sweep name (default: the spec's name).")
@click.option("--storage", default=None, metavar="URI",
              help="Ray's storage every node reaches (s3://bucket/prefix, a shared path). Default: the spec's, "
                   "$HPO_STORAGE, else <home>/ray.")
@click.option("--resume", "resume", is_flag=True,
              help="Continue the interrupted sweep NAME on the cluster (SPEC|NAME is the sweep's name).")
@home_option
@store_option
def submit_command(spec_ref: str, address: str, overrides: tuple[str, ...], name: str | None, storage: str | None,
                   resume: bool, home: str | None, store_url: str | None) -> None:
    """Run a sweep on a Ray cluster as a Ray Job; print the job id once its driver has started, and return."""
    from hpo.search.cluster.jobs import submit_sweep
    from hpo.search.cluster.local import prepare_home
    from hpo.search.engine.store import spec_of

    home_path = prepare_home(home)
    with open_jobs_store(str(home_path), store_url, create=True) as store:
        if resume:
            spec = spec_of(store.get_sweep(spec_ref))
        else:
            spec = load_cli_spec(spec_ref, overrides, name=name, storage=storage)
        job_id = submit_sweep(spec, address=address, store=store, home=home_path, resume=resume)
    click.echo(job_id)
    click.echo(f"follow it: hpo status {spec.name} | hpo logs {spec.name} -f | hpo stop {spec.name}", err=True)


@click.command("status")
@click.argument("name")
@home_option
@store_option
def status_command(name: str, home: str | None, store_url: str | None) -> None:
    """Show a submitted sweep's job state and its trials by status."""
    from hpo.search.cluster.jobs import job_status

    with open_jobs_store(home, store_url) as store:
        view = job_status(name, store=store)
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in view.sweep.counts.items() if v) or "no trials yet"
    click.echo(f"sweep {name}: {view.sweep.shown_status}; job {view.job_id}: {view.state}")
    click.echo(f"trials: {view.sweep.num_trials} ({counts})")
    if view.sweep.reason:
        click.echo(f"reason: {mask_secrets(view.sweep.reason)}")


@click.command("logs")
@click.argument("name")
@click.option("-f", "--follow", is_flag=True, help="Keep printing the driver's output until the job ends.")
@home_option
@store_option
def logs_command(name: str, follow: bool, home: str | None, store_url: str | None) -> None:
    """Print the driver's output of a submitted sweep."""
    from hpo.search.cluster.jobs import job_logs

    with open_jobs_store(home, store_url) as store:
        for chunk in job_logs(name, store=store, follow=follow):
            click.echo(mask_secrets(chunk), nl=False)


@click.command("stop")
@click.argument("name")
@home_option
@store_option
def stop_command(name: str, home: str | None, store_url: str | None) -> None:
    """Stop a running sweep gracefully; it ends interrupted and `hpo resume` (or `hpo submit --resume`) continues it."""
    from hpo.search.cluster.jobs import stop_sweep

    with open_jobs_store(home, store_url) as store:
        record = stop_sweep(name, store=store)
    click.echo(f"sweep {name}: {record.shown_status}")
    if record.status != "finished":
        click.echo(f"continue it with `hpo submit {name} --resume --address ...` or `hpo resume {name}`", err=True)


COMMANDS: list[click.Command] = [submit_command, status_command, logs_command, stop_command]
