"""``HPO_CHECKPOINT_DIR``: what a script writes there before a report becomes that result's checkpoint.

The folder is the script's; hpo copies it (:func:`snapshot`) when a result is reported and it changed
since the last copy (:func:`signature`), or with every result under PBT (an exploit copies the last
reported checkpoint of the donor). A retried, resumed or exploiting trial finds it filled again from the
checkpoint Tune hands back (:func:`restore`); a fresh one finds it empty.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["SNAPSHOT_PREFIX", "Signature", "empty", "restore", "signature", "snapshot"]

# (relative path, size, mtime_ns, inode, digest) of every file, sorted: equal when nothing was written since.
Signature = tuple[tuple[str, int, int, int, str], ...]
SNAPSHOT_PREFIX = ".hpo-snapshot-"  # a copy's folder, beside the checkpoint folder until Tune has taken it
# Files this small are also hashed: two writes of the same size within one tick of the file system's clock
# (a few ms) leave the same mtime; a hash tells them apart. Larger ones are told apart by mtime and inode.
_HASHED_BYTES = 1024 * 1024


def _digest(path: Path, size: int) -> str:
    if size > _HASHED_BYTES:
        return ""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return ""


def signature(folder: str | os.PathLike[str]) -> Signature:
    """What the folder holds, cheaply: each file's relative path, size, modification time and inode (a
    write-then-rename changes it), and a hash of files up to 1 MiB."""
    root = Path(folder)
    found: list[tuple[str, int, int, int, str]] = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            try:
                st = path.stat()
            except OSError:  # removed while we walked (the script renames as it writes)
                continue
            found.append((str(path.relative_to(root)), st.st_size, st.st_mtime_ns, st.st_ino,
                          _digest(path, st.st_size)))
    return tuple(sorted(found))


def empty(folder: str | os.PathLike[str]) -> None:
    """Make ``folder`` exist and hold nothing."""
    root = Path(folder)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)


def snapshot(folder: str | os.PathLike[str], *, into: str | os.PathLike[str]) -> Path | None:
    """A copy of ``folder`` in a new folder under ``into`` (None when ``folder`` holds no file).

    Files removed while the copy runs are skipped (a script replacing its checkpoint by rename).
    """
    root = Path(folder)
    if not signature(root):
        return None
    Path(into).mkdir(parents=True, exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix=SNAPSHOT_PREFIX, dir=into))

    def copy(src: str, dst: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.copy2(src, dst)

    shutil.copytree(root, dest, dirs_exist_ok=True, copy_function=copy, symlinks=True)
    return dest


def restore(source: str | os.PathLike[str], folder: str | os.PathLike[str]) -> None:
    """Empty ``folder``, then fill it with what ``source`` (a checkpoint's folder) holds."""
    empty(folder)
    shutil.copytree(source, folder, dirs_exist_ok=True, symlinks=True)
