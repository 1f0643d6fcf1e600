"""Where a sweep's spec was read from, and whether that file has changed since: ``hpo resume`` says so.

A resume runs the spec stored with the sweep (what its trials and Ray's saved state were made from),
never the file again: a fix made to the YAML afterwards would otherwise be silently ignored, or silently
half-applied. So the sweep records the file it was read from (its absolute path and a digest of its
text) when it starts, and a resume compares: a file whose text changed, and whose spec is no longer the
stored one, gets one line naming the file and how to run it instead (a new sweep under a new name).
"""

from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path

from hpo.results import SweepRecord
from hpo.spaces import SweepSpec

__all__ = ["changed_spec_note", "recorded_spec_dir", "spec_file_record"]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def spec_file_record(spec: SweepSpec, *, spec_dir: str | os.PathLike[str] | None = None) -> dict[str, str] | None:
    """``{"path": ABSOLUTE, "sha256": OF ITS TEXT}`` of the file ``spec`` was read from, and for a command
    trainable ``"dir"``: the folder its program and ``cwd`` resolved against (``spec_dir_of(spec,
    given=spec_dir)``), where a resume, an extension or a confirmation must find them again.

    A spec that came from no file (a dict, a built-in spec's name, the store) records only its ``dir``
    (a command's) or nothing (None); a file that cannot be read now gives None.
    """
    source = spec.source
    path = Path(source) if source else None
    found: dict[str, str] = {}
    try:
        if path is not None and path.is_file():
            found = {"path": str(path.resolve()), "sha256": _digest(path.read_text(encoding="utf-8"))}
    except (OSError, UnicodeDecodeError):
        return None
    if spec.command is not None:  # where its program resolved, by the rule the checks and the trials use
        from hpo.trainables.command.checks import spec_dir_of

        found["dir"] = str(spec_dir_of(spec, given=spec_dir))
    return found or None


def recorded_spec_dir(record: SweepRecord) -> str | None:
    """The folder a sweep's spec resolved against when it started (its file's folder; the working folder
    for a spec given as data), or None when the store holds none (a sweep from before it was kept).
    Callers resolve a command's folder with it as ``spec_dir_of(spec, given=...)``, where
    ``$HPO_SPEC_DIR`` (an ``hpo submit`` job's shipped folder) still wins."""
    found = record.spec_file or {}
    if found.get("dir"):
        return str(found["dir"])
    return str(Path(found["path"]).parent) if found.get("path") else None


def _shown(path: Path) -> str:
    """The path as the user would type it here: relative to the working directory when under it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


def changed_spec_note(record: SweepRecord) -> str | None:
    """One line when the file the sweep's spec was read from differs now from the spec stored with it; else None.

    Nothing is said when the file is gone (moved, another machine), when its text is as it was, or when it
    still resolves to the stored spec (a comment or the layout edited, say).
    """
    if not record.spec_file or not record.spec_file.get("path"):
        return None
    path = Path(record.spec_file["path"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if _digest(text) == record.spec_file.get("sha256"):
        return None
    from hpo.spaces import SpecError, load_spec

    try:
        if load_spec(path).spec_hash() == record.spec_hash:
            return None
    except SpecError:  # a file broken since: it differs all the same
        pass
    shown = _shown(path)
    return (f"note: {shown} changed since sweep {record.name} started; resume runs the spec stored with it "
            f"(to run the file, start a new sweep: hpo sweep {shlex.quote(shown)} --name NEW_NAME)")
