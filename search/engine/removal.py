"""``hpo rm``: a sweep (or some of its trials) out of the store, and on request Ray's files with it.

Two steps, so the CLI can ask before anything goes: :func:`plan_removal` checks everything (the sweep
exists, its driver is not alive, every trial id is the sweep's) and says what would go; :func:`remove`
does it. A running sweep is refused: its driver would write the rows back. A ``lost`` one (its driver
died unannounced) may go. Ray's experiment folders (``<storage>/<name>``, and ``<name>-ext1``... of its
extensions) stay unless asked for: they hold the checkpoints, and a resume needs them; while they stay,
the sweep's name stays taken in that storage (``hpo sweep`` refuses a name whose folder exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hpo.results import Store, SweepRecord, TrialNotFoundError
from hpo.results.store.removal import Removed
from hpo.search.cluster import storage
from hpo.search.engine.driver import driver_alive, driver_where
from hpo.search.engine.store import extension_uris, storage_of
from hpo.search.errors import SweepInputError

__all__ = ["RemovalPlan", "plan_removal", "remove"]


@dataclass(frozen=True)
class RemovalPlan:
    """What :func:`remove` will take away.

    Attributes:
        sweep: The sweep, as the store holds it.
        trial_ids: The trials to remove; empty: the whole sweep.
        folders: Ray's experiment folders of the sweep that exist (URIs or paths, secrets whole).
        files: Whether ``folders`` go too (``--files``); else they stay.
    """

    sweep: SweepRecord
    trial_ids: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    files: bool = False

    @property
    def whole(self) -> bool:
        """The sweep itself goes (no trial ids were named)."""
        return not self.trial_ids


def _folders(record: SweepRecord, home: Path) -> tuple[str, ...]:
    """The sweep's experiment folders that exist: ``<storage>/<name>``, then ``<name>-ext1``, ``-ext2``..."""
    where = storage_of(record, home)
    first = storage.experiment_uri(where, record.name)
    return (*([first] if storage.exists(first) else []), *extension_uris(where, record.name))


def plan_removal(store: Store, name: str, *, home: Path, trial_ids: tuple[str, ...] = (),
                 files: bool = False) -> RemovalPlan:
    """Check that sweep ``name`` (or its trials ``trial_ids``) may be removed, and say what would go.

    Raises:
        results.SweepNotFoundError: no such sweep (the message lists close names).
        SweepInputError: the sweep's driver is alive (stop it first); or ``files`` with ``trial_ids``
            (Ray's folders are a whole sweep's).
        results.TrialNotFoundError: a trial id the sweep does not have.
    """
    record = store.get_sweep(name)
    if driver_alive(record):
        raise SweepInputError(f"sweep {name!r} is still running ({driver_where(record)}); stop it with "
                              f"`hpo stop {name}`, then remove it")
    if trial_ids and files:
        raise SweepInputError("--files removes a whole sweep's Ray files; with --trials only the trials' rows "
                              "are removed (leave out --files)")
    if trial_ids:
        held = {t.trial_id for t in store.trials(name, replaced=True)}
        unknown = [t for t in dict.fromkeys(trial_ids) if t not in held]
        if unknown:
            listed = ", ".join(repr(t) for t in unknown)
            raise TrialNotFoundError(f"sweep {name!r} has no trial {listed} (`hpo trials {name}` lists its trials)")
    return RemovalPlan(sweep=record, trial_ids=tuple(dict.fromkeys(trial_ids)),
                       folders=_folders(record, home) if not trial_ids else (), files=files)


def remove(store: Store, plan: RemovalPlan) -> Removed:
    """Remove what ``plan`` names: the store's rows first (one transaction), then, with ``files``, Ray's folders.

    Raises:
        SweepInputError: a folder could not be deleted (the rows are gone by then; the line names it).
    """
    name = plan.sweep.name
    removed = store.remove_trials(name, list(plan.trial_ids)) if plan.trial_ids else store.remove_sweep(name)
    if plan.files:
        for folder in plan.folders:
            storage.remove_tree(folder)
    return removed
