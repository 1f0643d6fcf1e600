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
from hpo.search.cli._shared import home_option, open_store, print_confirmation, store_option

__all__ = ["COMMANDS", "best_command", "ls_command", "report_command", "trials_command"]

_STATUS_STYLE = {"running": "blue", "finished": "green", "failed": "red", "interrupted": "yellow", "lost": "magenta",
                 "completed": "green", "stopped_early": "dim", "error": "red"}
_STATUS_SHORT = {"running": "run", "completed": "done", "stopped_early": "early", "error": "err"}
_CONFIG_COLUMNS = 4


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False, highlight=False)


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")


def _status(status: str) -> str:
    style = _STATUS_STYLE.get(status)
    return f"[{style}]{status}[/{style}]" if style else status


@click.command("ls")
@home_option
@store_option
def ls_command(home: str | None, store_url: str | None) -> None:
    """List the sweeps in the store: status, trials by status, best metric, start, duration."""
    from rich.table import Table

    with open_store(home, store_url) as store:
        sweeps = store.sweeps()
        if not sweeps:
            click.echo(f"no sweeps in {store.url_masked}")
            return
        # The heading as a line of its own: as a table title it folded into the table's width, which a
        # long store URL passes.
        click.echo(f"sweeps in {store.url_masked}")
        table = Table()
        longest = max(len(s.name) for s in sweeps)
        table.add_column("name", overflow="fold", min_width=min(longest, 30))
        for header in ("status", "trials", "best", "started", "duration", "CPU-h", "GPU-h"):
            table.add_column(header, no_wrap=header in ("status", "duration"))
        for sweep in sweeps:
            best = store.best(sweep.name)
            parts = [f"{n} {_STATUS_SHORT[s]}" for s, n in sweep.counts.items() if n]
            trials = f"{sweep.num_trials}" + (f": {', '.join(parts)}" if parts else "")
            best_text = "—" if best is None else f"{sweep.metric} {format_number(best.last_metric)} ({sweep.mode})"
            cost = sweep_cost(sweep, store.trials(sweep.name), yaml.safe_load(sweep.spec_yaml or "") or {})
            table.add_row(sweep.name, _status(sweep.shown_status), trials, best_text, _when(sweep.started),
                          format_duration(sweep.duration_s), format_hours(cost.cpu_hours), format_hours(cost.gpu_hours))
        _console().print(table)


def _trials_table(title: str, metric: str, trials: list[TrialRecord], width: int) -> Any:
    """Fixed columns always whole; varying config columns added while they fit the terminal."""
    from rich.table import Table

    configs = [flatten_config(t.config) for t in trials]
    rows = [[str(rank), _cell(t.trial_id), _status(t.status), format_number(t.last_metric),
             f"{format_number(t.best_metric)}@{t.best_iteration}" if t.best_metric is not None else "—",
             str(t.iterations)]
            for rank, t in enumerate(trials, start=1)]
    headers = ["#", "trial", "status", metric, "best@iter", "iters"]
    if any(t.node for t in trials):
        headers.append("node")
        for row, t in zip(rows, trials, strict=True):
            row.append(_cell(_node_short(t)))
    plain = [[str(t.status) if i == 2 else cell for i, cell in enumerate(row)] for row, t in zip(rows, trials,
                                                                                              strict=True)]
    used = sum(max(len(h), *(len(r[i]) for r in plain)) + 3 for i, h in enumerate(headers)) + 1
    for key in dict.fromkeys(k for c in configs for k in c):
        cells = [_cell(c.get(key)) for c in configs]
        if len(set(cells)) < 2:
            continue
        need = max(len(key), *(len(c) for c in cells)) + 3
        if used + need > width:
            continue
        used += need
        headers.append(key)
        for row, cell in zip(rows, cells, strict=True):
            row.append(cell)
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        table.add_column(_cell(header), no_wrap=True, justify="right" if i in (0, 5) else "left")
    for row in rows:
        table.add_row(*row)
    return table


def _node_short(trial: TrialRecord) -> str | None:
    """``IP/abcd1234``: the IP and enough of Ray's node id to tell two nodes on one machine apart."""
    info = trial.node_info
    if info is None:
        return None
    return f"{info['ip']}/{info['id'][:8]}" if info["id"] else info["ip"]


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    from rich.markup import escape

    return escape(text)


@click.command("trials")
@click.argument("name")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the best K trials.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--scope", type=click.Choice(["last", "all"]), default="last", show_default=True,
              help="Order by the last reported value or the best over all iterations.")
@home_option
@store_option
def trials_command(name: str, top: int | None, fmt: str, scope: str, home: str | None,
                   store_url: str | None) -> None:
    """List a sweep's trials, best first by its metric."""
    with open_store(home, store_url) as store:
        sweep = store.get_sweep(name)
        trials = store.trials(name, top=top, scope=scope)  # type: ignore[arg-type]
    if fmt == "json":
        click.echo(trials_to_json(trials))
    elif fmt == "csv":
        click.echo(trials_to_csv(trials), nl=False)
    else:
        title = f"{sweep.name}: {len(trials)} trials by {sweep.metric} ({sweep.mode}, scope {scope})"
        console = _console()
        console.print(_trials_table(title, sweep.metric, trials, console.width))


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
    from rich.table import Table

    table = Table(title=f"best trial of {sweep.name} ({sweep.metric}, {sweep.mode}, scope {scope})",
                  title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    rows = [("trial", best.trial_id), ("status", _status(best.status)),
            (f"{sweep.metric} (last)", format_number(best.last_metric)),
            (f"{sweep.metric} (best)", f"{format_number(best.best_metric)} at iteration {best.best_iteration}"),
            ("iterations", str(best.iterations)),
            ("checkpoint", _cell(mask_url(best.checkpoint_path) if best.checkpoint_path else None))]
    if test is not None:
        rows.append(("test (held out)", f"acc {format_number(test['acc'])}, loss {format_number(test['loss'])}, "
                     f"n {test['n']}, epoch {test['epoch']}"))
    rows += [(f"config.{k}", _cell(v)) for k, v in flatten_config(best.config).items()]
    rows += [(f"result.{k}", _cell(v)) for k, v in best.last_result.items()]
    for key, value in rows:
        table.add_row(_cell(key) if key.startswith(("config.", "result.")) else key, value)
    _console().print(table)


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
        click.echo("  config:  " + ", ".join(f"{k}={_cell(v)}" for k, v in flatten_config(winner.config).items()))
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
    from rich.table import Table

    goals = ", ".join(f"{m} ({d})" for m, d in objectives)
    table = Table(title=f"Pareto set of {name}: {len(front)} trials ({goals}; last results)", title_justify="left")
    table.add_column("trial")
    for metric, _ in objectives:
        table.add_column(_cell(metric), justify="right")
    table.add_column("config", overflow="fold")
    for trial in front:
        values = objective_values(trial, objectives) or ()
        config = " ".join(f"{k}={_cell(v)}" for k, v in flatten_config(trial.config).items())
        table.add_row(trial.trial_id, *(format_number(v) for v in values), config)
    _console().print(table)


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
