"""A function trainable's stop hook, and a running trial's own folders: what a command trial needs of Tune.

Checked on Ray 2.60.0.

A function trainable runs in a daemon thread of its actor. When Tune stops the trial (a scheduler's
stop or PBT's pause, the sweep's end) it calls the actor's ``stop()`` -> ``cleanup()``, which for a
function trainable only signals the thread and returns without waiting; the actor is then released
and the thread dies with it, mid-whatever. A script the thread started must be ended *before* that:
:func:`with_stop_hook` puts a class first in the bases of the Trainable that Tune's ``wrap_function``
builds from the function (it reads the function's ``__mixins__``), whose ``cleanup()`` runs the hook,
blocking in the actor's main thread, before Tune's own.

:func:`trial_folders` gives a running trial its folder and a folder for the checkpoint its script
writes, through the session's storage context (no public accessor gives Tune's trial folder to a
function trainable: ``tune.get_context().get_trial_dir()`` is a staging folder on the driver's side).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["original_working_dir", "trial_folders", "with_stop_hook"]


class _StopFirst:
    """Runs ``_hpo_on_stop`` before the function trainable's own cleanup, and refuses reuse after it."""

    _hpo_on_stop: Callable[[], None] = staticmethod(lambda: None)

    def cleanup(self) -> None:
        try:
            type(self)._hpo_on_stop()
        finally:
            super().cleanup()  # type: ignore[misc]

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        type(self)._hpo_on_stop()
        return False


def with_stop_hook(fn: Callable[..., Any], on_stop: Callable[[], None]) -> Callable[..., Any]:
    """``fn`` (changed in place, and returned) with ``on_stop()`` run as Tune stops its trial's actor.

    ``on_stop`` runs in the actor's main thread, before Tune signals the function's thread; it must
    block until what the function started has ended. ``reset_config`` (actor reuse) runs it too and
    refuses the reuse, so a cached actor never keeps a stopped trial's work running.

    Touches ``wrap_function``'s ``__mixins__`` (a function attribute Tune reads to add base classes to
    the Trainable it builds; DeveloperAPI, undocumented). Checked on Ray 2.60.0.
    """
    mixin = type("StopFirst", (_StopFirst,), {"_hpo_on_stop": staticmethod(on_stop)})
    fn.__mixins__ = (mixin,)  # type: ignore[attr-defined]
    return fn


def trial_folders() -> tuple[str, str]:
    """``(trial folder, checkpoint folder)`` of the trial running in this actor.

    With local storage (a path: the default) the trial folder is Tune's own (``<storage>/<sweep>/<trial>``,
    beside its ``result.json`` and checkpoints), so what the script writes stays with the trial; with a
    URI storage it is the actor's local working folder for the trial, which Tune uploads when
    ``SyncConfig(sync_artifacts=True)``. The checkpoint folder is never inside an uploaded folder: hpo
    hands its copies to Tune itself.

    Touches ``ray.train._internal.session.get_session`` and its ``storage`` (a ``StorageContext``:
    ``storage_filesystem``, ``trial_fs_path``, ``trial_working_directory``). Checked on Ray 2.60.0.
    """
    import pyarrow.fs
    from ray.train._internal.session import get_session

    session = get_session()
    if session is None:
        raise RuntimeError("trial_folders() runs inside a Tune trial only")
    context = session.storage
    if isinstance(context.storage_filesystem, pyarrow.fs.LocalFileSystem):
        trial = Path(context.trial_fs_path)
        return str(trial), str(trial / "hpo_checkpoint")
    work = Path(context.trial_working_directory)
    return str(work), str(work.parent / f"{work.name}.hpo_checkpoint")


def original_working_dir() -> str:
    """The working folder the actor started in, before Tune moved it to the trial's folder: where a Ray
    job's ``working_dir`` was extracted (``hpo submit`` ships the spec's folder there).

    Reads ``TUNE_ORIG_WORKING_DIR``, which Tune's ``Trainable`` sets before its chdir (documented as a
    workaround, not an API). Checked on Ray 2.60.0.
    """
    return os.environ.get("TUNE_ORIG_WORKING_DIR", os.getcwd())
