"""Ray's console lines hpo holds back where they come from a private module: an abandoned task's
"unhandled" error, and the raylet's notice of each worker that died.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["UNHANDLED_ERROR_LOGGER", "WORKER_DIED", "quiet_worker_deaths"]

# The logger of ``ray._private.worker``, which prints "Unhandled error (suppress with ...)" and the whole
# traceback when a task's error is never fetched: a trial still running as a sweep is ended (it failed
# fast, or stalled) fails once nothing waits for it, and its traceback is the one the ended trials already
# left in the store. hpo's console filter (``hpo.search.engine.progress``) drops that line unless -v.
UNHANDLED_ERROR_LOGGER = "ray._private.worker"

# How the raylet's notice of a dead worker starts. Ray's driver prints it on stdout as "(raylet) ..."
# through ``ray._private.worker.print_to_stdstream`` (not a logger), whether or not worker output is
# forwarded (``log_to_driver``).
WORKER_DIED = "A worker died or was killed while executing a task"


def quiet_worker_deaths(*, verbose: bool) -> None:
    """Drop the raylet's "A worker died ..." notice from the driver's console unless ``verbose``.

    A trial whose worker died is retried or recorded as errored, and hpo says so in one line
    (``hpo.search.engine.progress.retry_line``); Ray's paragraph about it is the same news. Touches
    ``ray._private.worker.print_to_stdstream``, which Ray's error-listener thread looks up on each
    message, so wrapping it takes effect at once; ``verbose`` puts Ray's own back. Checked on Ray 2.60.0.
    """
    from ray._private import worker

    original = getattr(worker.print_to_stdstream, "__wrapped__", worker.print_to_stdstream)
    if verbose:
        worker.print_to_stdstream = original
        return

    @functools.wraps(original)
    def print_to_stdstream(data: dict[str, Any], ignore_prefix: bool) -> Any:
        if data.get("pid") == "raylet":
            lines = [line for line in data.get("lines", ()) if not str(line).startswith(WORKER_DIED)]
            if not lines:
                return None
            data = {**data, "lines": lines}
        return original(data, ignore_prefix)

    worker.print_to_stdstream = print_to_stdstream
