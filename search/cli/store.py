"""``hpo ls``, ``hpo trials``, ``hpo best``, ``hpo report``: read the results store, print, pick the exit code.

No logic lives here: each command opens the store, calls the ``results`` API and prints. A
missing sweep or an unusable store is bad input: the ``hpo`` group prints it as one line on
stderr (``hpo best: no sweep named ...``) and exits 2.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import click
import yaml

from hpo.results import (
    TrialRecord,
    export_report,
    flatten_config,
    format_duration,
    format_hours,
    format_number,
    mask_url,
    objective_values,
    objectives_of,
    sweep_cost,
    trials_to_csv,
    trials_to_json,
)
from hpo.search.cli._errors_view import errors_view
from hpo.search.cli._shared import home_option, open_store, print_confirmation, store_option
from hpo.search.cli._tables import TableColumn, fit_table, left_out_note, print_fitted

__all__ = ["COMMANDS", "best_command", "ls_command", "report_command", "trials_command"]

_STATUS_STYLE = {"running": "blue", "finished": "green", "failed": "red", "interrupted": "yellow", "lost": "magenta",
                 "completed": "green", "stopped_early": "dim", "error": "red"}
_STATUS_SHORT = {"running": "run", "completed": "done", "stopped_early": "early", "error": "err"}


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False, highlight=False)


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")


def _status(status: str) -> Any:
    """The status as a styled ``rich.text.Text`` (a status read from a store is text, never markup)."""
    from rich.text import Text

    return Text(status, style=_STATUS_STYLE.get(status, ""))


@click.command("ls")
@home_option
@store_option
def ls_command(home: str | None, store_url: str | None) -> None:
    """List the sweeps in the store: status, trials by status, best metric, start, duration."""
    with open_store(home, store_url) as store:
        sweeps = store.sweeps()
        if not sweeps:
            click.echo(f"no sweeps in {store.url_masked}")
            return
        # The heading as a line of its own: as a table title it folded into the table's width, which a
        # long store URL passes.
        click.echo(f"sweeps in {store.url_masked}")
        rows = []
        for sweep in sweeps:
            best = store.best(sweep.name)
            parts = [f"{n} {_STATUS_SHORT[s]}" for s, n in sweep.counts.items() if n]
            trials = f"{sweep.num_trials}" + (f": {', '.join(parts)}" if parts else "")
            best_text = "—" if best is None else f"{sweep.metric} {format_number(best.last_metric)} ({sweep.mode})"
            # Every trial that ran cost, a replaced one too (as the report and the dashboard count it).
            ran = store.trials(sweep.name, replaced=True)
            cost = sweep_cost(sweep, ran, yaml.safe_load(sweep.spec_yaml or "") or {})
            rows.append((sweep.name, _status(sweep.shown_status), trials, best_text, _when(sweep.started),
                         format_duration(sweep.duration_s), format_hours(cost.cpu_hours),
                         format_hours(cost.gpu_hours) + cost.gpu_note))
    cells = list(zip(*rows, strict=True))
    # Name, status, trials and best are always whole (a long name folds, counts and best wrap at spaces);
    # the start wraps between date and time; duration and cost are left out, last first, if they do not fit.
    columns = [TableColumn("name", cells[0], keep=True, wrap="fold", min_width=20),
               TableColumn("status", cells[1], keep=True),
               TableColumn("trials", cells[2], keep=True, wrap="words"),
               TableColumn("best", cells[3], keep=True, wrap="words"),
               TableColumn("started", cells[4], keep=True, wrap="words"),
               TableColumn("duration", cells[5], priority=1),
               TableColumn("CPU-h", cells[6], priority=2, justify="right"),
               TableColumn("GPU-h", cells[7], priority=3, justify="right")]
    _print_table(columns, wider="a wider terminal shows them")


def _print_table(columns: list[TableColumn], *, wider: str = "", show_header: bool = True) -> None:
    """The columns fitted to the terminal, then the one line naming what was left out, if anything was."""
    console = _console()
    fitted = fit_table(columns, width=console.width, show_header=show_header)
    print_fitted(console, fitted)
    note = left_out_note(fitted.left_out, width=console.width, wider=wider)
    if note:
        click.echo(note)


def _trials_columns(metric: str, trials: list[TrialRecord]) -> list[TableColumn]:
    """Rank, trial, status and the metric always whole; then best@iter, iterations, the config values
    that vary between trials, and the node, each left out (in reverse) when it does not fit."""
    columns = [
        TableColumn("#", [str(rank) for rank in range(1, len(trials) + 1)], keep=True, justify="right"),
        TableColumn("trial", [t.trial_id for t in trials], keep=True),
        TableColumn("status", [_status(t.status) for t in trials], keep=True),
        TableColumn(metric, [format_number(t.last_metric) for t in trials], keep=True),
        TableColumn("best@iter", [f"{format_number(t.best_metric)}@{t.best_iteration}"
                                  if t.best_metric is not None else "—" for t in trials], priority=1),
        TableColumn("iters", [str(t.iterations) for t in trials], priority=2, justify="right"),
    ]
    if any(t.node for t in trials):
        columns.append(TableColumn("node", [_plain(_node_short(t)) for t in trials], priority=4))
    configs = [flatten_config(t.config) for t in trials]
    for key in dict.fromkeys(k for c in configs for k in c):
        cells = [_plain(c.get(key)) for c in configs]
        if len(set(cells)) > 1:  # a value every trial shares says nothing about the ranking
            columns.append(TableColumn(key, cells, priority=3))
    return columns


def _node_short(trial: TrialRecord) -> str | None:
    """``IP/abcd1234``: the IP and enough of Ray's node id to tell two nodes on one machine apart."""
    info = trial.node_info
    if info is None:
        return None
    return f"{info['ip']}/{info['id'][:8]}" if info["id"] else info["ip"]


def _plain(value: Any) -> str:
    """A value as a table shows it: floats to 4 significant digits, ``—`` for none. The tables take it
    as plain text (never as rich markup), so a config value such as ``[bold]`` prints as it is."""
    if value is None:
        return "—"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@click.command("trials")
@click.argument("name")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the best K trials.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--scope", type=click.Choice(["last", "all"]), default="last", show_default=True,
              help="Order by the last reported value or the best over all iterations.")
@click.option("--errors", is_flag=True,
              help="Only the errored trials: each one's error, config, last lines of its error text and error file.")
@home_option
@store_option
def trials_command(name: str, top: int | None, fmt: str, scope: str, errors: bool, home: str | None,
                   store_url: str | None) -> None:
    """List a sweep's trials, best first by its metric."""
    with open_store(home, store_url) as store:
        sweep = store.get_sweep(name)
        # --errors: the errored trials, those run again as new trials (replaced_by) too, marked so.
        trials = store.trials(name, top=top, scope=scope,  # type: ignore[arg-type]
                              **({"status": "error", "replaced": True} if errors else {}))
    if fmt == "json":
        click.echo(trials_to_json(trials))
    elif fmt == "csv":
        click.echo(trials_to_csv(trials), nl=False)
    elif errors:
        for line in errors_view(sweep, trials):
            click.echo(line)
    else:
        # The heading as its own line: as the table's title it wrapped at the table's width.
        click.echo(f"{sweep.name}: {len(trials)} trials by {sweep.metric} ({sweep.mode}, scope {scope})")
        _print_table(_trials_columns(sweep.metric, trials), wider="--format json has them")


@click.command("best")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "yaml"]), default="table", show_default=True)
@click.option("--scope", type=click.Choice(["last", "all"]), default="last", show_default=True,
              help="Best by the last reported value or the best over all iterations.")
@click.option("--evaluate", is_flag=True,
              help="Also score the best trial's checkpoint on the held-out test split (cifar trainable).")
@click.option("--confirmed", is_flag=True,
              help="The best after `hpo confirm`: the config with the best mean over fresh seeds, with its interval.")
@home_option
@store_option
def best_command(name: str, fmt: str, scope: str, evaluate: bool, confirmed: bool, home: str | None,
                 store_url: str | None) -> None:
    """Show a sweep's best trial: metric, iteration, config, checkpoint (the Pareto set for several objectives)."""
    if confirmed:
        _confirmed_out(name, fmt, home, store_url)
        return
    with open_store(home, store_url) as store:
        sweep = store.get_sweep(name)
        objectives = objectives_of(sweep)
        if len(objectives) > 1:
            _pareto_out(sweep.name, objectives, store.pareto(name), fmt)
            return
        best = store.best(name, scope=scope)  # type: ignore[arg-type]
    data = best.to_dict() if best else None
    test = None
    if evaluate and best is not None:
        from hpo.search.derive.evaluate import evaluate_trial

        test = evaluate_trial(best, split="test")
    if data is not None and test is not None:
        data["test"] = test
    if _emit(data, fmt):
        return
    if best is None:
        click.echo(f"sweep {sweep.name} has no trial that reported {sweep.metric} yet")
        return
    # The heading as its own line (a table title wraps at the table's width); keys whole, values fold.
    click.echo(f"best trial of {sweep.name} ({sweep.metric}, {sweep.mode}, scope {scope})")
    rows = [("trial", best.trial_id), ("status", _status(best.status)),
            (f"{sweep.metric} (last)", format_number(best.last_metric)),
            (f"{sweep.metric} (best)", f"{format_number(best.best_metric)} at iteration {best.best_iteration}"),
            ("iterations", str(best.iterations)),
            ("checkpoint", _plain(mask_url(best.checkpoint_path) if best.checkpoint_path else None))]
    if test is not None:
        rows.append(("test (held out)", f"acc {format_number(test['acc'])}, loss {format_number(test['loss'])}, "
                     f"n {test['n']}, epoch {test['epoch']}"))
    rows += [(f"config.{k}", _plain(v)) for k, v in flatten_config(best.config).items()]
    rows += [(f"result.{k}", _plain(v)) for k, v in best.last_result.items()]
    keys, values = zip(*rows, strict=True)
    _print_table([TableColumn("key", keys, keep=True, style="bold"),
                  TableColumn("value", values, keep=True, wrap="fold")], show_header=False)


def _emit(data: Any, fmt: str) -> bool:
    """Print ``data`` as JSON or YAML when ``fmt`` asks for one; False for ``table`` (the caller prints it)."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, default=str))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)
    return fmt in ("json", "yaml")


def _confirmed_out(name: str, fmt: str, home: str | None, store_url: str | None) -> None:
    """The winner after confirmation: its config, mean and 95% interval over seeds, its original score."""
    from hpo.search.derive.confirm import confirmed

    with open_store(home, store_url) as store:
        found = confirmed(store, name)
    winner = found.winner
    data = {**found.to_dict(), "best": winner.to_dict() if winner else None}
    if _emit(data, fmt):
        return
    if winner is not None:
        interval = winner.interval
        shown = f", 95% interval [{format_number(interval[0])}, {format_number(interval[1])}]" if interval else ""
        click.echo(f"confirmed best of {found.parent}: trial {winner.trial_id}, {found.metric} "
                   f"{format_number(winner.mean)} over {winner.n} seeds{shown} "
                   f"(original #{winner.original_rank}, {format_number(winner.original)})")
        click.echo("  config:  " + ", ".join(f"{k}={_plain(v)}" for k, v in flatten_config(winner.config).items()))
    print_confirmation(found)


def _pareto_out(name: str, objectives: list[tuple[str, str]], front: list[TrialRecord], fmt: str) -> None:
    """The Pareto set: every trial no other beats on all objectives, by its last result."""
    data = {
        "sweep": name,
        "objectives": [{"name": m, "mode": d} for m, d in objectives],
        "pareto": [{**t.to_dict(), "objectives": dict(zip([m for m, _ in objectives],
                                                          objective_values(t, objectives) or (), strict=False))}
                   for t in front],
    }
    if _emit(data, fmt):
        return
    if not front:
        click.echo(f"sweep {name} has no trial that reported every objective ({', '.join(m for m, _ in objectives)})"
                   " yet")
        return
    goals = ", ".join(f"{m} ({d})" for m, d in objectives)
    click.echo(f"Pareto set of {name}: {len(front)} trials ({goals}; last results)")
    values = [objective_values(trial, objectives) or () for trial in front]
    columns = [TableColumn("trial", [t.trial_id for t in front], keep=True)]
    columns += [TableColumn(metric, [format_number(v[i]) if i < len(v) else "—" for v in values], keep=True,
                            justify="right") for i, (metric, _) in enumerate(objectives)]
    columns.append(TableColumn("config", [" ".join(f"{k}={_plain(v)}" for k, v in flatten_config(t.config).items())
                                          for t in front], keep=True, wrap="fold", min_width=20))
    _print_table(columns)


@click.command("report")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json", "csv"]), default="html",
              show_default=True)
@click.option("-o", "--output", "output", type=click.Path(path_type=str), default=None,
              help="Output file (default <home>/reports/<name>.<ext>).")
@home_option
@store_option
def report_command(name: str, fmt: str, output: str | None, home: str | None, store_url: str | None) -> None:
    """Write a report of a sweep (self-contained HTML, Markdown, JSON or CSV) and print its path."""
    with open_store(home, store_url) as store:
        path = export_report(name, fmt=fmt, path=output, store=store, home=home)
    click.echo(os.fspath(path))


COMMANDS: list[click.Command] = [ls_command, trials_command, best_command, report_command]
