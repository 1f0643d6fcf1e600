"""``hpo confirm``: re-run a finished sweep's top configs with fresh seeds, against the winner's curse.

The parent's best trial is the maximum of many noisy scores, so its own score flatters it. The
confirmation is a child sweep in the same store (``parent`` set on its row, ``confirm:`` in its
spec): the top K distinct completed configs, each with the same S fresh seeds, FIFO to the full
budget. Its trials come from ``search.points_to_evaluate`` in that order (Optuna enqueues them,
conditional params included), so the child is an ordinary sweep: resumable with ``hpo resume``,
submittable with ``hpo submit``, reported like any other. ``results.confirmation`` pairs each
child trial with its parent trial and summarises (mean, 95% interval, verdict).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.results import Confirmation, Store, StoreError, SweepRecord, TrialRecord, confirmation
from hpo.results.analysis.confirm import SEED_KEY, ranked_configs
from hpo.search.cluster import local as cluster
from hpo.search.engine.driver import driver_alive
from hpo.search.engine.spec_source import recorded_spec_dir
from hpo.search.engine.store import free_name, open_store, spec_of
from hpo.search.engine.sweep import SweepOutcome, run_sweep
from hpo.search.errors import SweepInputError
from hpo.spaces import SweepSpec, parse_spec
from hpo.spaces.params import GridParam, node_to_data
from hpo.spaces.points import point_from_config

__all__ = ["ConfirmOutcome", "confirm_spec", "confirm_sweep", "confirmed", "submit_confirmation"]


@dataclass(frozen=True)
class ConfirmOutcome:
    """What ``confirm_sweep`` ended with: the child sweep's outcome and the confirmation read from the store."""

    outcome: SweepOutcome
    confirmation: Confirmation | None

    @property
    def exit_code(self) -> int:
        """The child sweep's exit code (0 finished, 1 failed, 130 interrupted)."""
        return self.outcome.exit_code


def _check_parent(record: SweepRecord, spec: SweepSpec, *, top: int, seeds: int) -> None:
    name = record.name
    if seeds < 2:
        raise SweepInputError(f"--seeds must be >= 2 (a 95% interval needs two seeds), got {seeds}")
    if top < 1:
        raise SweepInputError(f"--top must be >= 1, got {top}")
    if record.status == "running" and driver_alive(record):
        raise SweepInputError(f"sweep {name!r} is still running; confirm it once it has finished")
    if record.status in ("running", "interrupted"):
        raise SweepInputError(f"sweep {name!r} did not finish (status {record.shown_status}); finish it with "
                              f"`hpo resume {name}`, then confirm it")
    if spec.confirm is not None:
        raise SweepInputError(f"sweep {name!r} is itself a confirmation of {spec.confirm.sweep!r}; confirm "
                              f"{spec.confirm.sweep!r} again (more --seeds, or a larger --top)")
    if len(spec.objectives) > 1:
        goals = ", ".join(m for m, _ in spec.objectives)
        raise SweepInputError(f"sweep {name!r} has several objectives ({goals}); confirm ranks configs by one "
                              "metric: pick from its Pareto set (`hpo best` lists it) and sweep those configs")
    if spec.scheduler.exploits:
        raise SweepInputError(f"sweep {name!r} ran {spec.scheduler.type}: its trials' configs changed as they "
                              "trained, so no single config reproduces a score; confirm needs a sweep of fixed configs")


def _check_seed_key(spec: SweepSpec, trainable: Any) -> None:
    """The trainable must take a ``seed``: declared in its contract, or set by the parent spec. A command
    takes it as its other params (``--seed=3``), except with ``args: none``, where only a ``{seed}``
    placeholder passes it."""
    from hpo import trainables
    from hpo.search.engine.checks import import_paths

    if trainable is None and spec.command is not None:
        if spec.command.args == "none" and SEED_KEY not in _placeholders(spec):
            raise SweepInputError(f"trainable.command: confirm re-runs each config with fresh seeds, and args: none "
                                  f"passes only placeholders: add {{{SEED_KEY}}} to the command, or use args: flags")
        return

    with import_paths(spec):
        contract = trainables.contract_of(trainable if trainable is not None else spec.trainable)
    shown = spec.trainable if trainable is None else getattr(trainable, "__name__", repr(trainable))
    if contract.config is not None:
        if SEED_KEY not in contract.config:
            raise SweepInputError(f"trainable {shown} takes no {SEED_KEY!r} config key; confirm re-runs each config "
                                  f"with fresh seeds, so the trainable must accept {SEED_KEY!r}")
        return
    if SEED_KEY not in spec.fixed and SEED_KEY not in spec.params:
        raise SweepInputError(f"trainable {shown} declares no config keys and sweep {spec.name!r} set no "
                              f"{SEED_KEY!r}; confirm re-runs each config with fresh seeds, so the trainable must take "
                              f"{SEED_KEY!r} (declare it, or set fixed.{SEED_KEY} in the sweep)")


def _placeholders(spec: SweepSpec) -> list[str]:
    """The ``{names}`` a command trainable's command uses (none for a stray brace: check_spec says why)."""
    from hpo.spaces.command import command_tokens
    from hpo.trainables.command.argv import split_placeholders

    names: list[str] = []
    for token in command_tokens(spec.command.command) if spec.command is not None else []:
        try:
            names += [part[0] for part in split_placeholders(token) if isinstance(part, tuple)]
        except ValueError:
            continue
    return names


def _candidates(trials: list[TrialRecord], mode: str, top: int, name: str) -> list[TrialRecord]:
    """The best ``top`` completed trials, one per distinct config (its seed aside)."""
    distinct = [trial for _, trial in ranked_configs(trials, mode)]
    if top > len(distinct):
        done = sum(1 for t in trials if t.status == "completed" and t.last_metric is not None)
        what = f"{done} completed trials" + (f" ({len(distinct)} distinct configs)" if len(distinct) < done else "")
        raise SweepInputError(f"--top {top} is more than sweep {name!r} has: {what}; "
                              f"ask for --top {len(distinct)} or fewer" if distinct else
                              f"sweep {name!r} has no completed trial to confirm")
    return distinct[:top]


def _fresh_seeds(count: int, used: set[int]) -> list[int]:
    seeds, candidate = [], 0
    while len(seeds) < count:
        if candidate not in used:
            seeds.append(candidate)
        candidate += 1
    return seeds


def _sampled(node: Any) -> Any:
    """A param as data, grid params (anywhere in a group) as choices: the child's trials are enqueued points."""
    if isinstance(node, GridParam):
        return {"type": "choice", "values": [node_to_data(v) for v in node.values]}
    if isinstance(node, dict):
        return {key: _sampled(value) for key, value in node.items()}
    return node_to_data(node)


def confirm_spec(
    name: str, *, store: Store, top: int, seeds: int, child: str | None = None, trainable: Any = None
) -> SweepSpec:
    """The confirmation sweep's spec for the finished sweep ``name`` (checked; nothing runs).

    Args:
        name: The parent sweep.
        store: The store holding it.
        top: How many of its best distinct completed configs to re-run.
        seeds: How many fresh seeds each config runs with (>= 2), the same seeds for every config.
        child: The confirmation's name; default ``<name>-confirm`` (``-confirm2``... when taken).
        trainable: The trainable object, when the parent ran with ``trainable=``.

    Raises:
        results.SweepNotFoundError: no sweep ``name``.
        SweepInputError: ``seeds`` < 2; ``top`` < 1 or more than the completed trials; the sweep is running
            or unfinished, has several objectives, ran PBT, or its trainable takes no ``seed``.
    """
    record = store.get_sweep(name)
    parent = spec_of(record)
    _check_parent(record, parent, top=top, seeds=seeds)
    _check_seed_key(parent, trainable)
    chosen = _candidates(store.trials(name), parent.mode, top, name)
    default_seed = parent.fixed.get(SEED_KEY, parent.search.seed or 0)
    used = {int(t.config[SEED_KEY]) if isinstance(t.config.get(SEED_KEY), int) else int(default_seed or 0)
            for t in chosen}
    fresh = _fresh_seeds(seeds, used)
    data = parent.to_dict()
    params = {key: _sampled(node) for key, node in parent.params.items() if key != SEED_KEY}
    params[SEED_KEY] = {"type": "int", "low": min(fresh), "high": max(fresh)}
    points = []
    for trial in chosen:
        point = point_from_config({k: v for k, v in parent.params.items() if k != SEED_KEY}, trial.config)
        points += [{**point, SEED_KEY: seed} for seed in fresh]
    data.update(
        name=child or free_name(store, f"{name}-confirm"),
        params=params,
        fixed={k: v for k, v in parent.fixed.items() if k != SEED_KEY},
        search={"algorithm": "optuna", "sampler": "random", "num_samples": len(points),
                "max_concurrent": parent.search.max_concurrent, "seed": parent.search.seed,
                "points_to_evaluate": points},
        scheduler={"type": "fifo", "max_t": parent.scheduler.max_t, "time_attr": parent.scheduler.time_attr},
        confirm={"sweep": name, "top": top, "seeds": fresh},
    )
    return parse_spec(data, source=f"confirm:{name}")


def confirm_sweep(
    name: str,
    *,
    top: int = 3,
    seeds: int = 5,
    child: str | None = None,
    home: str | os.PathLike[str] | None = None,
    store: Store | str | None = None,
    trainable: Any = None,
    progress: Any = None,
    verbose: bool = False,
) -> ConfirmOutcome:
    """Re-run the finished sweep ``name``'s top ``top`` configs with ``seeds`` fresh seeds each, to the full
    budget, as the child sweep ``child``; return its outcome and the confirmation.

    Args:
        name: The parent sweep.
        top: Configs to re-run: the best distinct completed ones.
        seeds: Fresh seeds per config (>= 2); every config gets the same ones.
        child: The child sweep's name (default ``<name>-confirm``).
        home: Run home, as for ``run_sweep``.
        store: A ``results.Store`` or URL, as for ``run_sweep``.
        trainable: The trainable, when the parent ran with a ``trainable=`` object.
        progress: As for ``run_sweep``.
        verbose: As for ``run_sweep``.

    Raises:
        As ``confirm_spec``, and as ``run_sweep`` (a child name already taken...).
    """
    home_path = cluster.prepare_home(home)
    store_obj = open_store(store, home_path)
    spec = confirm_spec(name, store=store_obj, top=top, seeds=seeds, child=child, trainable=trainable)
    # A command's program, cwd and {spec_dir} resolve against the parent's spec folder, not the working folder.
    outcome = run_sweep(spec, trainable=trainable, home=home_path, store=store_obj, progress=progress,
                        verbose=verbose, spec_dir=recorded_spec_dir(store_obj.get_sweep(name)))
    return ConfirmOutcome(outcome=outcome, confirmation=confirmation(store_obj, spec.name))


def submit_confirmation(
    name: str, *, store: Store, home: Path, address: str, top: int = 3, seeds: int = 5, child: str | None = None
) -> tuple[SweepSpec, str]:
    """The confirmation of ``confirm_sweep``, run on a Ray cluster as a Ray Job (as ``hpo submit`` runs a sweep).

    Args:
        name: The parent sweep.
        store: The store holding it, one every node of the cluster reaches.
        home: The run home (prepared), where the job's working folder is kept.
        address: The cluster's job server, ``http://HEAD:8265``.
        top: As for ``confirm_sweep``.
        seeds: As for ``confirm_sweep``.
        child: As for ``confirm_sweep``.

    Returns:
        The child sweep's spec and the Ray Job's id, once its driver has started.

    Raises:
        As ``confirm_spec``, and as ``hpo.search.cluster.jobs.submit_sweep``.
    """
    from hpo.search.cluster.jobs import submit_sweep

    spec = confirm_spec(name, store=store, top=top, seeds=seeds, child=child)
    return spec, submit_sweep(spec, address=address, store=store, home=home,
                              spec_dir=recorded_spec_dir(store.get_sweep(name)))


def confirmed(store: Store, name: str) -> Confirmation:
    """The confirmation of the sweep ``name`` (``hpo best --confirmed``).

    Raises:
        results.StoreError: ``name`` was never confirmed (the message says how to confirm it).
    """
    found = confirmation(store, name)
    if found is None:
        raise StoreError(f"sweep {name!r} has no confirmation; run `hpo confirm {name} --top K --seeds S` first")
    return found
