"""A tiny trainable for the tracker tests: fails or stops a tracker's server when told to."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from typing import Any

from ray import tune


def _refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def reporting(config: dict[str, Any]) -> None:
    """Reports ``loss = (x - 0.3)^2 + 1/t`` for ``max_iter`` iterations.

    ``fail_at``: raise at that iteration. ``stop_server``: ``[pgid, port, t]``: before reporting
    iteration t, stop that process group (a tracker's server) and wait until its port refuses.
    """
    for t in range(1, int(config.get("max_iter", 3)) + 1):
        if config.get("fail_at") == t:
            raise RuntimeError(f"planned failure at iteration {t}")
        stop = config.get("stop_server")
        if stop and t == stop[2]:
            pgid, port = int(stop[0]), int(stop[1])
            if not _refuses(port):
                with contextlib.suppress(ProcessLookupError):  # the other trial stopped it already
                    os.killpg(pgid, signal.SIGTERM)
                deadline = time.time() + 30
                while not _refuses(port):
                    if time.time() > deadline:
                        raise TimeoutError(f"the server on port {port} still answers 30 s after SIGTERM")
                    time.sleep(0.1)
        tune.report({"loss": (float(config["x"]) - 0.3) ** 2 + 1.0 / t, "t_squared": t * t})
