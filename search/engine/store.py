"""The engine's side of the results store: opening it, the name rules, and what a recorded sweep gives back.

A sweep's name is its key in the store and its experiment folder in Ray's storage, so the rules
that keep names apart (a name is refused while the store or the storage holds it; a derived
sweep takes the first free ``base``, ``base2``, ...) live here, beside the two things read back
from a recorded sweep to continue it: its spec and its storage. Run, resume, extend, confirm,
refine and ``hpo submit`` all go through these; none of it needs Ray.
"""

from __future__ import annotations

from pathlib import Path

from hpo.results import Store, SweepRecord, mask_url
from hpo.search.cluster import storage
from hpo.search.errors import SweepExistsError
from hpo.spaces import SweepSpec

__all__ = ["check_name_free", "extension_uris", "free_name", "open_store", "spec_of", "storage_of"]


def open_store(store: Store | str | None, home: Path) -> Store:
    """``store`` itself when it is a ``Store``; else the store at that URL (default: the home's SQLite file)."""
    if store is None or isinstance(store, str):
        return Store.open(store, home=home)
    return store


def extension_uris(where: str | Path, name: str) -> list[str]:
    """The experiment folders of sweep ``name``'s extensions in storage ``where`` that exist: ``<name>-ext1``,
    ``<name>-ext2``... up to the first missing one (``hpo extend`` adds the next; ``hpo rm --files`` takes them)."""
    found: list[str] = []
    while storage.exists(uri := storage.experiment_uri(where, f"{name}-ext{len(found) + 1}")):
        found.append(uri)
    return found


def free_name(store: Store, base: str) -> str:
    """``base``, or ``base2``, ``base3``... : the first name the store does not hold (a derived sweep's default)."""
    name, k = base, 1
    while store.find_sweep(name) is not None:
        k += 1
        name = f"{base}{k}"
    return name


def check_name_free(store: Store, name: str, experiment_path: str | None) -> None:
    """Refuse a name the store or Ray's storage already holds (one line saying what to do).

    ``experiment_path`` None: the store alone (a spec too broken to say where its storage is).
    """
    existing = store.find_sweep(name)
    if existing is not None and existing.status != "finished":
        raise SweepExistsError(
            f"sweep {name!r} exists unfinished in the store (status {existing.status}); "
            f"continue it with `hpo resume {name}` or start a new one with --name NEW_NAME", name=name)
    if existing is not None:
        raise SweepExistsError(
            f"sweep {name!r} already finished in the store; choose another name with --name NEW_NAME", name=name)
    if experiment_path is not None and storage.exists(experiment_path):
        raise SweepExistsError(
            f"sweep {name!r}: experiment directory {mask_url(experiment_path)} already exists; "
            f"choose another name with --name NEW_NAME", name=name)


def spec_of(record: SweepRecord) -> SweepSpec:
    """The spec a sweep was recorded with, parsed again (for a resume, an extension, a derived sweep)."""
    import yaml

    from hpo import spaces

    return spaces.parse_spec(yaml.safe_load(record.spec_yaml or "{}"), source=f"store:{record.name}")


def storage_of(record: SweepRecord, home: Path) -> str:
    """Ray's storage the sweep ran with: the one recorded, else the home's ``ray/`` (a store from before storages)."""
    return record.storage_path or str(home / "ray")
