"""A command sweep's spec folder shipped as its Ray Job's ``working_dir``.

A command trainable runs a script that lives beside its spec (``python train.py``, data read from
``{spec_dir}``), so ``hpo submit`` ships the spec's folder itself, as Ray packs any ``working_dir``: the
defaults ``.git,.venv,venv,__pycache__``, ``.gitignore`` and ``.rayignore`` leave files out. The resolved
spec cannot go into that folder (it is the user's), so it travels in the job's environment
(:data:`SPEC_YAML_ENV`), and the entrypoint writes it to a temporary file. The driver finds the folder
(extracted by Ray on the head) in ``HPO_SPEC_DIR``; each trial, on whichever node, in its own original
working directory, which :data:`SHIPPED_ENV` tells the runtime to use.

A folder that packs above the job server's upload limit (100 MiB) is refused here in one line, before
anything is sent: the server would answer an HTTP 413 only after the whole upload.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from hpo.results import SweepRecord
from hpo.search.errors import SweepInputError

__all__ = [
    "MAX_SPEC_BYTES",
    "SHIPPED_ENV",
    "SPEC_DIR_ENV",
    "SPEC_YAML_ENV",
    "UPLOAD_LIMIT",
    "check_folder_size",
    "command_entrypoint",
    "recorded_folder",
    "remember_folder",
]

SPEC_YAML_ENV = "HPO_JOB_SPEC_YAML"  # the resolved spec, as YAML, in a command job's environment
SPEC_DIR_ENV = "HPO_SPEC_DIR"  # the spec's folder as the driver sees it (the job's extracted working_dir)
SHIPPED_ENV = "HPO_SPEC_DIR_SHIPPED"  # "1": each trial's spec folder is its actor's original working directory
# An environment variable's value is at most 128 KiB on Linux (MAX_ARG_STRLEN); leave room for the rest.
MAX_SPEC_BYTES = 100_000
# The largest working_dir the job server takes, in bytes; None: Ray's own (DASHBOARD_CLIENT_MAX_SIZE, 100 MiB).
# A test sets a small one.
UPLOAD_LIMIT: int | None = None
_MIB = 1024 * 1024
_FOLDER_FILE = "spec_dir"  # in <home>/jobs/<job id>/: the folder a command job shipped, for `submit --resume`


def check_folder_size(folder: Path) -> int:
    """The size ``folder`` packs to as a job's working_dir, in bytes.

    Raises:
        SweepInputError: it packs above the job server's upload limit (one line saying how to shrink it).
    """
    from hpo.search.ray_compat.packaging import job_upload_limit, zipped_size

    limit = UPLOAD_LIMIT if UPLOAD_LIMIT is not None else job_upload_limit()
    size = zipped_size(folder)
    if size > limit:
        raise SweepInputError(
            f"trainable: the spec's folder {folder} packs to {size / _MIB:.1f} MiB for the job's working_dir, above "
            f"the {limit / _MIB:g} MiB a Ray job server accepts; list large files in .rayignore there, or read data "
            "by absolute path")
    return size


def command_entrypoint(driver: str, *, spec_yaml: str | None, name: str) -> tuple[str, dict[str, str]]:
    """The job's shell entrypoint and its extra environment, for a sweep (``spec_yaml``) or a resume (None).

    The driver leaves the working_dir (Ray re-extracts it, same path, once the driver's own tasks set up the
    job's runtime env) but keeps its path in ``HPO_SPEC_DIR``.

    Raises:
        SweepInputError: the spec is too large to travel in the job's environment.
    """
    env = {SHIPPED_ENV: "1"}
    prefix = f'export {SPEC_DIR_ENV}="$PWD"; '
    if spec_yaml is None:
        return f'{prefix}cd "$(mktemp -d)" && {driver} resume {shlex.quote(name)} -q', env
    size = len(spec_yaml.encode("utf-8"))
    if size > MAX_SPEC_BYTES:
        raise SweepInputError(
            f"trainable: the spec is {size:,} bytes as YAML, above the {MAX_SPEC_BYTES:,} a job's environment "
            "carries; move long lists (points_to_evaluate) into a file the script reads")
    env[SPEC_YAML_ENV] = spec_yaml
    return (f'{prefix}cd "$(mktemp -d)" && printf "%s" "${SPEC_YAML_ENV}" > spec.yaml && '
            f'{driver} sweep "$PWD/spec.yaml" -q'), env


def remember_folder(record_dir: Path, folder: Path) -> None:
    """Note, beside the job's record of its spec, the folder it shipped: ``hpo submit --resume`` ships it again."""
    (record_dir / _FOLDER_FILE).write_text(f"{folder}\n", encoding="utf-8")


def recorded_folder(record: SweepRecord, home: Path) -> Path:
    """The folder to ship to resume a command sweep: the one its last job shipped, else its spec file's.

    Raises:
        SweepInputError: neither is known here, or that folder is gone.
    """
    noted = home / "jobs" / str(record.job_id) / _FOLDER_FILE if record.job_id else None
    if noted is not None and noted.is_file():
        folder = Path(noted.read_text(encoding="utf-8").strip())
    elif record.spec_file and record.spec_file.get("path") and not record.job_id:
        folder = Path(record.spec_file["path"]).parent
    else:
        raise SweepInputError(
            f"trainable: the folder sweep {record.name!r} ran its command from is not known on this machine "
            f"(no {home / 'jobs'} record of its job {record.job_id}); submit the resume from the home that "
            "submitted it (--home)")
    if not folder.is_dir():
        raise SweepInputError(f"trainable: the folder sweep {record.name!r} ran its command from, {folder}, "
                              "is gone; put it back to resume the sweep on the cluster")
    return folder

