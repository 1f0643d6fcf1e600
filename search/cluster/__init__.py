"""Where a sweep runs: the Ray instance (started locally or joined), its token, the orphans a killed driver
leaves, the storage every node writes to, and sweeps as Ray Jobs on a cluster.

- ``local``: start or join Ray, size it, check that a plan fits, reap orphans;
- ``ray_token``: Ray's authentication token: made for local instances, found and sent to a cluster that wants it;
- ``watch``: the driver's watch on its cluster: a lost cluster ends the sweep interrupted, in one line;
- ``orphans``: the processes a SIGKILLed driver's local Ray leaves, recorded and ended by pid;
- ``storage``: Ray's storage for a sweep (a path or a URI) and whether every node can use it;
- ``jobs``: ``hpo submit``/``status``/``logs``/``stop`` through Ray's job server.

Importing this package imports none of them (nor Ray); the engine imports the module it needs.
"""

from __future__ import annotations

__all__ = ["jobs", "local", "orphans", "ray_token", "storage", "watch"]
