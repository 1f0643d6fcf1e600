"""The report's sections as plain (unescaped) text rows, shared by the HTML and Markdown renderers."""

from __future__ import annotations

import shlex
from typing import Any

from hpo.results.formatting import error_summary, format_duration, format_hours
from hpo.results.report.data import TOP_TRIALS, ReportData, yaml_text
from hpo.results.secrets import mask_url
from hpo.results.store.records import TrialRecord, iso

__all__ = [
    "IMPORTANCE_NOTE",
    "LINEAGE_NOTE",
    "MAX_ERROR_IDS",
    "NO_ERRORS",
    "all_trials_table",
    "best_metrics",
    "best_rows",
    "confirmation_note",
    "confirmation_table",
    "cost_text",
    "counts_text",
    "error_table",
    "errors_note",
    "fmt",
    "ids_text",
    "importance_note",
    "importance_table",
    "lineage_table",
    "no_best_text",
    "plot_notes",
    "replaced_rows",
    "summary_rows",
    "top_table",
    "trainable_text",
]

LINEAGE_NOTE = ("PBT's exploits: a trial in the bottom quantile copied the checkpoint of one in the top "
                "quantile and went on with mutated hyperparameters.")

IMPORTANCE_NOTE = ("Share of the metric's variation each hyperparameter explains (Optuna's PED-ANOVA), at "
                   "each rung over every trial that reached it, so trials stopped early still count.")
STATUS_LABELS = {"running": "running", "completed": "completed", "stopped_early": "stopped early",
                 "error": "error"}
NO_ERRORS = "No trial errored."
MAX_ERROR_IDS = 20  # trial ids listed beside an error; the rest are counted


def fmt(value: Any) -> str:
    """A value as report text: floats to 6 significant digits, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return yaml_text(value).replace("\n", " ") if value else str(value)
    return str(value)


def trainable_text(trainable: Any) -> Any:
    """A spec's trainable in one line: a name as written, a command trainable as ``command: python train.py ...``."""
    if isinstance(trainable, dict) and "command" in trainable:
        command = trainable["command"]
        return "command: " + (shlex.join(str(t) for t in command) if isinstance(command, list) else str(command))
    return trainable


def _kv(mapping: dict[str, Any], keys: list[str]) -> str:
    parts = [f"{k}={fmt(mapping[k])}" for k in keys if k in mapping and mapping[k] is not None]
    return ", ".join(parts) if parts else "—"


def counts_text(counts: dict[str, int]) -> str:
    """``12 trials: 6 completed, 4 stopped early, 1 error, 1 running``."""
    total = sum(counts.values())
    parts = [f"{n} {STATUS_LABELS.get(s, s)}" for s, n in counts.items() if n]
    return f"{total} trials" + (f": {', '.join(parts)}" if parts else "")


def summary_rows(data: ReportData) -> list[tuple[str, str]]:
    """The sweep: status, spec summary, searcher, scheduler, resources, times, versions, hash."""
    sweep = data.sweep
    search, scheduler = data.section("search"), data.section("scheduler")
    resources = data.section("resources")
    versions = ", ".join(f"{k} {v}" for k, v in sweep.versions.items() if v) or "—"
    return [
        ("Sweep", sweep.name),
        ("Status", sweep.shown_status),  # "lost": its driver died unannounced
        ("Trials", counts_text(data.counts) + _replaced_suffix(data)),
        ("Metric", f"{sweep.metric} ({sweep.mode})"),
        ("Trainable", fmt(trainable_text(data.spec.get("trainable")))),
        ("Searcher", _kv(search, ["algorithm", "num_samples", "max_concurrent", "seed"])),
        ("Scheduler", _kv(scheduler, ["type", "max_t", "grace_period", "reduction_factor", "time_attr"])
         + (f"; ranks by {fmt(scheduler['metric'])} ({fmt(scheduler.get('mode'))})" if scheduler.get("metric")
            else "")),
        ("Resources per trial", _kv(resources, ["cpu", "gpu"])),
        ("Stop", _kv(data.section("stop"), list(data.section("stop")))),
        ("Started", fmt(iso(sweep.started))),
        ("Finished", fmt(iso(sweep.finished))),
        ("Duration", format_duration(sweep.duration_s)),
        ("Cost", cost_text(data.cost.cpu_hours, data.cost.gpu_hours, gpu_kind=data.cost.gpu_kind)),
        ("Versions", versions),
        ("Git commit", fmt(sweep.git_commit)),
        ("Spec hash", fmt(sweep.spec_hash)),
        ("Ray experiment", fmt(mask_url(sweep.experiment_path) if sweep.experiment_path else None)),
        ("Store", data.store_url),
    ]


def _replaced_suffix(data: ReportData) -> str:
    n = len(data.replaced)
    return f"; {n} errored trial{'s' if n != 1 else ''} replaced by a later run, not counted" if n else ""


def cost_text(cpu_hours: float | None, gpu_hours: float | None, *, gpu_kind: str | None = None) -> str:
    """``1.25 CPU-hours, 0.5 GPU-hours`` (resources per trial × trial wall time); ``—`` when unknown. Logical
    GPUs (``gpu_kind``, see ``Cost``) are said: their hours are Ray's bookkeeping."""
    if cpu_hours is None or gpu_hours is None:
        return "—"
    logical = " (logical: cluster.num_gpus declared GPUs CUDA did not see; no trial ran on a GPU)"
    return (f"{format_hours(cpu_hours)} CPU-hours, {format_hours(gpu_hours)} GPU-hours"
            + (logical if gpu_kind == "logical" else ""))


def importance_table(data: ReportData) -> tuple[list[str], list[list[str]]]:
    """Header (param, then one column per rung) and rows (importance in %), most important first."""
    found = data.importance
    if not found:
        return [], []
    keys = list(dict.fromkeys(k for imp in reversed(found) for k in imp.values))
    headers = ["param", *[f"rung {imp.rung} ({imp.trials} trials)" if imp.sampled_from is None else
                          f"rung {imp.rung} ({imp.trials:,} of {imp.sampled_from:,} trials, sampled)" for imp in found]]
    rows = [[key, *[f"{100 * imp.values[key]:.1f}%" if key in imp.values else "—" for imp in found]]
            for key in keys]
    return headers, rows


def best_rows(data: ReportData, best: TrialRecord) -> list[tuple[str, str]]:
    """The best trial: id, metric (last and best over all), iteration, status, checkpoint."""
    metric = data.sweep.metric
    return [
        ("Trial", best.trial_id),
        (f"{metric} (last)", fmt(best.last_metric)),
        (f"{metric} (best over all iterations)", f"{fmt(best.best_metric)} at iteration {fmt(best.best_iteration)}"),
        ("Iterations", fmt(best.iterations)),
        ("Status", STATUS_LABELS.get(best.status, best.status)),
        ("Duration", format_duration(best.duration_s)),
        ("Checkpoint", fmt(mask_url(best.checkpoint_path) if best.checkpoint_path else None)),
    ]


def best_metrics(best: TrialRecord) -> list[tuple[str, str]]:
    """Every scalar of the best trial's last result."""
    return [(k, fmt(v)) for k, v in best.last_result.items()]


def _trial_cells(data: ReportData, rank: int, trial: TrialRecord, columns: list[str]) -> list[str]:
    config = data.flat_configs[trial.trial_id]
    return [str(rank), trial.trial_id, STATUS_LABELS.get(trial.status, trial.status), fmt(trial.last_metric),
            fmt(trial.best_metric), fmt(trial.iterations), *[fmt(config.get(c)) for c in columns]]


def _headers(data: ReportData, columns: list[str]) -> list[str]:
    metric = data.sweep.metric
    return ["#", "trial", "status", f"{metric} (last)", f"{metric} (best)", "iterations", *columns]


def top_table(data: ReportData, limit: int = TOP_TRIALS) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the best ``limit`` trials (varying config columns)."""
    columns = data.table_columns()
    rows = [_trial_cells(data, i, t, columns) for i, t in enumerate(data.trials[:limit], start=1)]
    return _headers(data, columns), rows


def all_trials_table(data: ReportData) -> tuple[list[str], list[list[str]]]:
    """Header and rows of every trial, best first."""
    return top_table(data, limit=len(data.trials))


def ids_text(ids: tuple[str, ...] | list[str], limit: int = MAX_ERROR_IDS) -> str:
    """``t0, t1, t2`` (the first ``limit`` ids, then ``… and 12 more``)."""
    shown = ", ".join(ids[:limit])
    return shown + (f" … and {len(ids) - limit} more" if len(ids) > limit else "")


def errors_note(data: ReportData) -> str:
    """One sentence over the Errors section: how many trials errored, with how many distinct errors."""
    groups = data.errors
    if not groups:
        return NO_ERRORS
    errored, total = sum(g.count for g in groups), len(data.trials)
    if errored == total:
        who = "The one trial errored" if total == 1 else f"All {total} trials errored"
    else:
        who = f"{errored} of {total} trials errored"
    distinct = "one error" if len(groups) == 1 else f"{len(groups)} distinct errors, most frequent first"
    return f"{who}: {distinct}."


def error_table(data: ReportData) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the distinct errors, most frequent first: trials hit, the error, their ids."""
    rows = [[str(g.count), g.error, ids_text(g.trials)] for g in data.errors]
    return ["trials", "error", "trial ids"], rows


def replaced_rows(data: ReportData) -> list[tuple[str, str, str]]:
    """(trial id, the trial that replaced it, its one-line error) for each trial a later run replaced."""
    return [(t.trial_id, t.replaced_by or "—", error_summary(t.error) or "—")
            for t in sorted(data.replaced, key=lambda t: t.trial_id)]


def no_best_text(data: ReportData) -> str:
    """Why there is no best trial, in one sentence."""
    if data.trials and len(data.errored) == len(data.trials):
        return f"No trial reported {data.sweep.metric}: every trial errored (see Errors)."
    return "No trial has reported the metric yet."


def plot_notes(data: ReportData) -> list[str]:
    """One sentence for each kind of plot that cannot be drawn, and why ([] when every kind can be)."""
    metric = data.sweep.metric
    if not data.trials:
        return ["No trial has started yet: nothing to plot."]
    if not data.reported:
        if len(data.errored) == len(data.trials):
            return [f"Every trial errored before reporting {metric}: no plot of it can be drawn (see Errors)."]
        return [f"No trial has reported {metric} yet: no plot of it can be drawn."]
    if not data.params:
        if len(data.trials) == 1:
            return ["Only one trial: no hyperparameter varied, so the plots against hyperparameters are left out."]
        return ["No hyperparameter varied between the trials: the plots against hyperparameters are left out."]
    return []


def importance_note(data: ReportData) -> str:
    """Why there is no importance table, in one sentence."""
    if data.reported and not data.params:
        return "No hyperparameter varied: there is no importance to estimate."
    return "Too few trials with the metric to estimate importance."


def lineage_table(data: ReportData) -> tuple[list[str], list[list[str]]]:
    """One row per PBT exploit, oldest first: who took whose checkpoint, and when."""
    headers = ["trial", "took the checkpoint of", "at that trial's step", "giving up its own step",
               "first result from it", "when"]
    rows = [[e.trial_id, e.from_trial, fmt(e.from_step), fmt(e.at_step), str(e.iteration), iso(e.recorded) or "-"]
            for e in data.lineage]
    return headers, rows


def confirmation_note(data: ReportData) -> str:
    """One sentence: what the confirmation re-ran, and how."""
    found = data.confirmation
    if found is None:
        return ""
    seeds = ", ".join(str(s) for s in found.seeds)
    return (f"Sweep {found.sweep} re-ran the top {found.top} configs of {found.parent} with fresh seeds ({seeds}), "
            f"each to the full budget (status {found.status}). Mean of {found.metric} over the seeds, with its "
            "95% interval (Student's t), beside the score each config had in the sweep.")


def confirmation_table(data: ReportData) -> tuple[list[str], list[list[str]]]:
    """One row per re-run config, best confirmed mean first."""
    found = data.confirmation
    if found is None:
        return [], []
    metric = found.metric
    headers = ["#", "trial", "original #", f"{metric} in {found.parent}", f"{metric} mean", "95% interval", "seeds"]
    rows = []
    for rank, item in enumerate(found.configs, start=1):
        interval = item.interval
        rows.append([str(rank) if item.n else "—", item.trial_id, str(item.original_rank), fmt(item.original),
                     fmt(item.mean), f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval else "—",
                     f"{item.n}" + (f" (+{item.unfinished} unfinished)" if item.unfinished else "")])
    return headers, rows
