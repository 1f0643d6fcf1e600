"""Ray's cluster internals: the address ``ray start`` records, the token banner, whether a GCS wants Ray's
token and turning token mode on, a trial actor's node, and the object store's object count.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

__all__ = [
    "QuietAuthBanner",
    "enable_token_mode",
    "gcs_token_answer",
    "object_store_objects",
    "ray_address_file",
    "trial_node_id",
]


def ray_address_file() -> Path:
    """Where ``ray start`` records the cluster it started (Ray's ``ray_current_cluster`` file).

    Touches ``ray._common.utils.get_ray_address_file``: ``cluster.address: auto`` joins the cluster
    recorded there, as ``ray.init(address="auto")`` would. Where a Ray release moved the function, Ray's
    rule stands in: ``$RAY_TMPDIR``, else ``$TMPDIR`` on Linux, else ``/tmp``; then ``ray/``.
    Checked on Ray 2.60.0.
    """
    try:
        from ray._common.utils import get_ray_address_file

        return Path(get_ray_address_file(None))
    except (ImportError, AttributeError):
        base = os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp"
        return Path(base) / "ray" / "ray_current_cluster"


class QuietAuthBanner:
    """Hold back Ray's "Token authentication is enabled..." notice while ``ray.init`` runs.

    Touches the logger of ``ray._private.authentication.authentication_token_setup``, which prints the
    notice on every local start: not the sweep's news unless ``--verbose``. Only the message is held
    back: token authentication stays as Ray configures it. Checked on Ray 2.60.0.
    """

    LOGGER = "ray._private.authentication.authentication_token_setup"

    def __init__(self, *, verbose: bool) -> None:
        self.verbose = verbose
        self.level = logging.NOTSET

    def __enter__(self) -> None:
        if not self.verbose:
            log = logging.getLogger(self.LOGGER)
            self.level = log.level
            log.setLevel(logging.ERROR)

    def __exit__(self, *_exc: object) -> None:
        if not self.verbose:
            logging.getLogger(self.LOGGER).setLevel(self.level)


def gcs_token_answer(address: str, token: str | None, *, timeout_s: float = 5.0) -> str:
    """How the GCS at ``host:port`` answers a call bearing ``token`` (or none): ``ok``, ``refused`` (Ray's
    token authentication turned it away: none, or the wrong one) or ``unknown`` (no answer, not a GCS, a Ray
    without the call).

    Touches ``ray.core.generated.gcs_service_pb2_grpc.NodeInfoGcsServiceStub.GetClusterId``, the GCS call
    every driver makes first, and Ray's header for the token (``authorization: Bearer TOKEN``, as its HTTP
    API documents it): asked before ``ray.init``, a refused token becomes one hpo line instead of Ray's C++
    warnings and a connection error that blames the address. Uses no Ray state (a plain gRPC channel),
    so it is safe before Ray's token settings are final. Checked on Ray 2.60.0.
    """
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    channel = grpc.insecure_channel(address)
    try:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=timeout_s, metadata=metadata)
        return "ok"
    except grpc.RpcError as exc:
        code = exc.code() if callable(getattr(exc, "code", None)) else None
        return "refused" if code == grpc.StatusCode.UNAUTHENTICATED else "unknown"
    finally:
        channel.close()


def enable_token_mode() -> None:
    """Turn Ray's token authentication on for this process and those it starts, as ``RAY_AUTH_MODE=token``
    would have before it started.

    Touches ``ray._private.authentication.authentication_token_setup._enable_token_auth`` (sets the
    variable and re-reads Ray's cached config, which ``ray.init`` and the job client consult) and
    ``ray._raylet.AuthenticationTokenLoader`` (its cached token dropped, so the token found now is the one
    sent). Ray itself does this only for ``address="auto"`` and a local start; hpo does it for any cluster
    that turned a call without a token away (:func:`gcs_token_answer`). Checked on Ray 2.60.0.
    """
    from ray._private.authentication.authentication_token_setup import _enable_token_auth
    from ray._raylet import AuthenticationTokenLoader

    _enable_token_auth()
    AuthenticationTokenLoader.instance().reset_cache()


_NODE_CACHE_SIZE = 4096
_NODE_OF_ACTOR: dict[str, str] = {}  # actor id -> its node id, oldest first


def trial_node_id(trial: Any) -> str | None:
    """The id of the Ray node ``trial``'s actor runs on, or None when the GCS does not say.

    Touches ``ActorHandle._actor_id`` (the trial's actor) and ``ray._private.state.actors`` (the GCS's
    actor table): two Ray nodes on one machine share an IP, so the store records the node id beside the
    IP of a trial's results (``StoreCallback(node_of=trial_node_id)``), and no public API maps an actor to
    its node without the dashboard, which a local hpo Ray does not start. About a millisecond, once per
    actor (an actor never moves: Tune's reused actors ask once, not once per trial). Checked on Ray 2.60.0.

    Raises:
        Exception: whatever a Ray that moved these raises, or AttributeError when the trial has no
            actor; the store's callback keeps the IP alone then.
    """
    import ray

    actor_id = trial.temporary_state.ray_actor._actor_id.hex()
    node_id = _NODE_OF_ACTOR.get(actor_id)
    if node_id is None:
        info = ray._private.state.actors(actor_id=actor_id)
        node_id = (info.get("Address") or {}).get("NodeID")
        if node_id:
            if len(_NODE_OF_ACTOR) >= _NODE_CACHE_SIZE:
                _NODE_OF_ACTOR.pop(next(iter(_NODE_OF_ACTOR)))
            _NODE_OF_ACTOR[actor_id] = node_id
    return node_id or None


def object_store_objects() -> int:
    """Objects in the connected Ray's object store (what ``ray memory --stats-only`` prints).

    Touches ``ray._private.internal_api.memory_summary``, the function behind ``ray memory``: no public
    API counts the object store's objects without the dashboard. hpo's tests use it to see that a shared
    data set is one copy and is freed with its scope. Checked on Ray 2.60.0.
    """
    import ray
    from ray._private.internal_api import memory_summary

    summary = memory_summary(address=ray.get_runtime_context().gcs_address, stats_only=True)
    line = next(s for s in summary.splitlines() if "Plasma memory usage" in s)
    return int(line.split(" MiB, ")[1].split(" objects")[0])
