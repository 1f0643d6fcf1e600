"""How big a folder is once Ray packs it as a job's ``working_dir``, measured with Ray's own packing code.

``hpo submit`` ships a command trainable's spec folder as the job's ``working_dir``. The job server
reads an upload with aiohttp's ``client_max_size = DASHBOARD_CLIENT_MAX_SIZE`` (100 MiB;
``ray/dashboard/http_server_head.py``, whose comment says "working_dir uploads for job submission can be up
to 100MiB"), so a bigger folder fails there with an HTTP 413 after the whole upload. Packing it here first,
as Ray's job SDK does (``JobSubmissionClient._upload_package``: ``create_package`` with the default excludes
``.git,.venv,venv,__pycache__`` plus ``.gitignore`` and ``.rayignore``), gives the size the server would see
before anything is sent.

Touches ``ray._private.runtime_env.packaging.create_package`` and
``ray._private.ray_constants.DASHBOARD_CLIENT_MAX_SIZE``, ``get_runtime_env_default_excludes`` and
``RAY_RUNTIME_ENV_IGNORE_GITIGNORE``. Checked on Ray 2.60.0.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

__all__ = ["job_upload_limit", "zipped_size"]


def job_upload_limit() -> int:
    """The largest upload (bytes) a Ray job server accepts: ``DASHBOARD_CLIENT_MAX_SIZE``, 100 MiB.

    Touches ``ray._private.ray_constants.DASHBOARD_CLIENT_MAX_SIZE``. Checked on Ray 2.60.0.
    """
    from ray._private import ray_constants

    return int(ray_constants.DASHBOARD_CLIENT_MAX_SIZE)


def zipped_size(folder: str | os.PathLike[str]) -> int:
    """The size in bytes of the zip Ray's job SDK would upload for ``folder`` as a ``working_dir``.

    Honours what Ray honours: the default excludes (or ``RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES``),
    ``.gitignore`` files (unless ``RAY_RUNTIME_ENV_IGNORE_GITIGNORE=1``) and ``.rayignore`` files. The zip is
    written to a temporary folder and removed.

    Touches ``ray._private.runtime_env.packaging.create_package`` (what the job SDK packs with) and
    ``ray._private.ray_constants``' default excludes and gitignore switch. Checked on Ray 2.60.0.
    """
    from ray._private import ray_constants
    from ray._private.runtime_env.packaging import create_package

    include_gitignore = os.environ.get(ray_constants.RAY_RUNTIME_ENV_IGNORE_GITIGNORE, "0") != "1"
    quiet = logging.getLogger("hpo.search.ray_compat.packaging.ray")
    quiet.setLevel(logging.ERROR)  # Ray logs each package it creates and warns of large files: our line says it
    with tempfile.TemporaryDirectory(prefix="hpo-pack-") as tmp:
        target = Path(tmp) / "working_dir.zip"
        create_package(str(Path(folder).resolve()), target, include_gitignore=include_gitignore,
                       excludes=list(ray_constants.get_runtime_env_default_excludes()), logger=quiet)
        return target.stat().st_size
