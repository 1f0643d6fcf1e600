"""Trials as JSON and CSV (for ``hpo trials --format`` and the json/csv reports)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hpo.results.formatting import error_summary
from hpo.results.store.records import TrialRecord

__all__ = ["CSV_COLUMNS", "flatten", "trials_to_csv", "trials_to_json"]

# Fixed leading CSV columns; then config.<dotted key> and result.<metric>, each sorted.
CSV_COLUMNS = (
    "rank", "trial_id", "status", "last_metric", "best_metric", "best_iteration", "iterations",
    "started", "ended", "duration_s", "checkpoint_path", "error", "node",
)


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys: ``{"optimizer": {"name": "sgd"}}`` -> ``{"optimizer.name": "sgd"}``."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return "" if value is None else value


def trial_row(rank: int, trial: TrialRecord) -> dict[str, Any]:
    """One flat CSV row: the fixed columns, ``config.*`` and ``result.*``."""
    data = trial.to_dict()
    row: dict[str, Any] = {"rank": rank, **{k: data[k] for k in CSV_COLUMNS if k in data}}
    row["error"] = error_summary(trial.error)
    row["node"] = trial.node
    row.update({f"config.{k}": v for k, v in flatten(trial.config).items()})
    row.update({f"result.{k}": v for k, v in trial.last_result.items()})
    return row


def trials_to_csv(trials: Sequence[TrialRecord], *, extra: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """CSV text, one row per trial in the given order (rank 1 first); quoting by the csv module.

    ``extra`` adds columns to the trials it names (by trial id), e.g. a confirmation's ``confirmed.*``;
    a column appears only when some trial has it.
    """
    extra = extra or {}
    rows = [trial_row(rank, trial) | dict(extra.get(trial.trial_id, {})) for rank, trial in enumerate(trials, start=1)]
    config_cols = sorted({k for row in rows for k in row if k.startswith("config.")})
    result_cols = sorted({k for row in rows for k in row if k.startswith("result.")})
    extra_cols = list(dict.fromkeys(k for values in extra.values() for k in values
                                    if any(k in row for row in rows)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*CSV_COLUMNS, *config_cols, *result_cols, *extra_cols],
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in writer.fieldnames})
    return out.getvalue()


def trials_to_json(trials: Iterable[TrialRecord], *, indent: int | None = 2) -> str:
    """JSON array of ``TrialRecord.to_dict()`` objects, in the given order."""
    return json.dumps([t.to_dict() for t in trials], indent=indent, default=str)
