"""Tune's saved experiment state and its search generators' counts, as hpo's resume reads and sets them.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SavedTrial", "experiment_state_files", "live_variants", "read_saved_trials", "reset_suggested",
           "saved_suggestion_count", "set_live_variants", "suggested_count"]


@dataclass(frozen=True)
class SavedTrial:
    """One trial as an experiment-state file holds it (:func:`read_saved_trials`). Checked on Ray 2.60.0."""

    trial_id: str
    status: str  # Tune's: PENDING, RUNNING, PAUSED, TERMINATED, ERROR
    last_result: dict[str, Any]


def experiment_state_files(dirpath: str | Path) -> list[Path]:
    """The experiment-state files in ``dirpath``, oldest first: the last is the one ``Tuner.restore`` reads.

    Touches ``TuneController.CKPT_FILE_TMPL`` (``experiment_state-{}.json``), the files' name pattern;
    the newest is the greatest name, the rule ``TuneController.resume`` follows. Checked on Ray 2.60.0.
    """
    from ray.tune.execution.tune_controller import TuneController

    return sorted(Path(dirpath).glob(TuneController.CKPT_FILE_TMPL.format("*")))


def read_saved_trials(path: Path) -> list[SavedTrial]:
    """The trials an experiment-state file holds, in its order.

    Touches the file's layout, Tune's internals: ``"trial_data"``, a list of ``[trial JSON, run
    metadata JSON]`` pairs, read here as plain JSON (no Tune object is built). hpo's resume needs it to
    tell its searchers which trials Tune will restore (``hpo.search.searchers.restored_state``).
    Checked on Ray 2.60.0.

    Raises:
        OSError, ValueError, KeyError, TypeError: the file is missing or was caught mid-write.
    """
    state = json.loads(path.read_text())
    trials = []
    for trial_json, meta_json in state["trial_data"]:
        trial = json.loads(trial_json)
        last = json.loads(meta_json).get("last_result") or {}
        trials.append(SavedTrial(str(trial["trial_id"]), str(trial.get("status")), last if isinstance(last, dict)
                                 else {}))
    return trials


def suggested_count(generator: Any) -> int:
    """How many trials a ``SearchGenerator`` has suggested.

    Touches ``SearchGenerator._counter``: the count a resume compares with Tune's restored trials.
    Checked on Ray 2.60.0.
    """
    return int(generator._counter)


def reset_suggested(generator: Any, count: int) -> None:
    """Make a ``SearchGenerator`` count ``count`` suggested trials and not be finished.

    Touches ``SearchGenerator._counter`` and ``_finished``: a searcher whose saved state is older or
    newer than Tune's goes on from Tune's count (hpo issue 20), and one that stopped short goes on.
    Checked on Ray 2.60.0.
    """
    generator._counter = count
    generator._finished = False


def live_variants(generator: Any) -> frozenset[str]:
    """The trial ids a ``BasicVariantGenerator`` counts as live (its ``max_concurrent`` slots).

    Touches ``BasicVariantGenerator._live_trials``. Checked on Ray 2.60.0.
    """
    return frozenset(generator._live_trials)


def set_live_variants(generator: Any, trial_ids: set[str] | frozenset[str]) -> None:
    """Make a ``BasicVariantGenerator`` count exactly ``trial_ids`` as live.

    Touches ``BasicVariantGenerator._live_trials``: on resume, trials Tune never recorded or already
    ended must not hold a slot. Checked on Ray 2.60.0.
    """
    generator._live_trials = set(trial_ids)


def saved_suggestion_count(dirpath: str | Path) -> int | None:
    """The trials the search generator's saved state in ``dirpath`` says it suggested; None without one.

    Touches the saved states' layout: a ``SearchGenerator``'s ``search_gen_state-*.json`` holds
    ``"counter"``, a ``BasicVariantGenerator``'s ``basic-variant-state-*.json`` its ``_iterators`` (each
    with a ``counter``); both are cloudpickles. hpo's resume tests use it to see where a kill left the
    searcher. Checked on Ray 2.60.0.
    """
    import cloudpickle
    from ray.tune.search import BasicVariantGenerator, SearchGenerator

    for template in (SearchGenerator.CKPT_FILE_TMPL, BasicVariantGenerator.CKPT_FILE_TMPL):
        for path in Path(dirpath).glob(template.format("*")):
            state = cloudpickle.loads(path.read_bytes())
            if "counter" in state:
                return int(state["counter"])
            return sum(int(it.counter) for it in state["_iterators"])
    return None
