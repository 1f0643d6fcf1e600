"""A store written by an attacker: every text column and every metric (names and values) holds markup.

``fill_hostile`` writes a sweep through the real ``StoreCallback`` (so the rows are shaped as the engine
writes them), then overwrites every other text column with SQL. Each payload names itself (``pwn-<where>``)
in an element id, so a page that lets one through shows which column leaked. ``leaks`` parses a page the
way a browser does and returns every element a payload made.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy import update

from hpo.results import Store, StoreCallback
from hpo.results.store.schema import sweeps_table, trials_table

__all__ = ["HOSTILE_SWEEP", "SHORT", "fill_hostile", "leaks", "payload"]


def payload(where: str) -> str:
    """Markup that breaks out of an attribute, redirects the page, makes an element, and carries template
    and shell syntax; ``where`` names the column it was written to."""
    return (f"\"'><meta http-equiv=\"refresh\" content=\"0;url=pwned-{where}\"><b id=\"pwn-{where}\">"
            f"{{{{7*7}}}}${{7*7}}$(id)`id`</b>")


# Columns that PostgreSQL caps at a few characters get a short payload that still makes an element.
SHORT = {"status": "<i id=pwn-st>", "mode": "<u>", "trial_status": "<i id=pwn-ts>"}
HOSTILE_SWEEP = "'\"><b id=pwn-name>{{7*7}}"
METRIC = "<b id=\"pwn-metric\">loss</b>"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        # "<u>" is the mode column's payload: no page of ours has a <u> element.
        if (named.get("id") or "").startswith("pwn") or (tag == "meta" and "http-equiv" in named) or tag == "u":
            self.found.append(self.get_starttag_text() or tag)


def leaks(html: str) -> list[str]:
    """Every element a payload made in ``html`` (as a browser's parser reads it), or [] when none did."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.found


class _Trial:
    """What StoreCallback reads from a Ray trial."""

    def __init__(self, trial_id: str, config: dict[str, Any], error_file: str | None = None) -> None:
        self.trial_id = trial_id
        self.config = config
        self.error_file = error_file
        self.checkpoint: Any = None
        self.last_result: dict[str, Any] = {}

    def get_error(self) -> str | None:
        return None


def _plan(metric: str) -> dict[str, Any]:
    axis = {"name": payload("axis"), "kind": "choice", "log": False, "base2": False,
            "categories": [payload("category"), "b"], "low": None, "high": None}
    return {"name": HOSTILE_SWEEP, "trainable": payload("trainable"), "metric": metric, "mode": "min", "trials": 3,
            "trial_cap": 4, "time_attr": "training_iteration", "scheduler": "asha", "early_stopping": True,
            "rungs": [1, 2], "budget_full": 12, "budget_expected": 8,
            "axes": [axis, {"name": "lr", "kind": "float", "log": True, "base2": False, "categories": None,
                            "low": 1e-4, "high": 0.1}],
            "resources": {payload("resource"): 1.0, "cpu": 1.0}, "concurrency": 2, "stop": {},
            "objectives": [[metric, "min"]], "exploits": False, "perturbation_interval": None, "mutations": []}


def fill_hostile(store: Store, tmp_path: Path) -> str:
    """The hostile sweep (its name is ``HOSTILE_SWEEP``); returns that name."""
    name = HOSTILE_SWEEP
    spec_yaml = (f"name: x\n# {payload('spec')}\ntrainable: x\nmetric: loss\nmode: min\n"
                 f"storage: s3://KEY:SECRET@bucket/{payload('storage')}\n")
    store.start_sweep(name=name, spec_yaml=spec_yaml, spec_hash=payload("hash")[:120], metric=METRIC, mode="min",
                      experiment_path=str(tmp_path / "ray" / payload("exp")), max_t=4, plan=_plan(METRIC))
    callback = StoreCallback(store, sweep=name, metric=METRIC, mode="min", max_t=4)
    callback.setup()
    error_file = tmp_path / "error.txt"
    error_file.write_text(f"Failure # 1\nTraceback (most recent call last):\nValueError: {payload('error')}\n")
    trials = [_Trial(payload("trial")[:200] + str(i),
                     {payload("axis"): payload("category") if i else "b", "lr": 10.0 ** -(i + 1),
                      payload("group"): {payload("nested"): payload("nested-value")}})
              for i in range(3)]
    trials[2].error_file = str(error_file)
    for trial in trials:
        callback.on_trial_start(0, trials, trial)
    for step in range(1, 5):
        for i, trial in enumerate(trials):
            if i == 2 and step > 1:
                continue
            callback.on_trial_result(0, trials, trial, {
                "training_iteration": step, "time_total_s": step * 0.5, METRIC: 1.0 / (step + i),
                payload("metric-name"): float(step), "oom_halvings": payload("oom"), "retries": payload("retries"),
                "note": payload("metric-value"), "config": trial.config, "done": False})
    callback.on_trial_complete(0, trials, trials[0])
    callback.on_trial_complete(0, trials, trials[1])
    callback.on_trial_error(0, trials, trials[2])
    callback.on_experiment_end(trials)
    with store.engine.begin() as conn:
        conn.execute(update(sweeps_table).where(sweeps_table.c.name == name).values(
            status=SHORT["status"], mode=SHORT["mode"], versions=json.dumps({payload("vkey"): payload("version")}),
            git_commit=payload("git")[:60], storage_path=f"s3://KEY:SECRET@bucket/{payload('storage-path')}",
            reason=payload("reason"), driver_host=payload("host")[:250], driver_pid=4242,
            job_id=payload("job")[:120], job_address=payload("job-address"), parent=payload("parent")[:250]))
        sweep_id = conn.execute(sweeps_table.select().where(sweeps_table.c.name == name)).one().id
        conn.execute(update(trials_table).where(trials_table.c.sweep_id == sweep_id).values(
            checkpoint_path=payload("checkpoint"), node=f"{payload('node')} {payload('node-id')}"))
        conn.execute(update(trials_table).where(trials_table.c.sweep_id == sweep_id,
                                                trials_table.c.trial_id == trials[1].trial_id)
                     .values(status=SHORT["trial_status"]))
    return name
