"""A value a sweep's trials share through Ray's object store, freed when the sweep ends.

``tune.with_parameters`` pickles its object refs with the trainable, and Ray pins an object whose
ref was pickled that way for as long as the driver process lives. Every sweep on the built-in
``cifar`` trainable so left its data set in the object store (35 MiB for 1,500 synthetic images,
about 180 MiB for CIFAR-10) until the Python process ended: a notebook running sweeps one after
another filled the store and Ray spilled to disk.

Here the trainable carries only a name. A small actor of the driver's holds the ref; a trial asks
it for the ref (Ray counts that borrow) and reads the one shared copy; :meth:`SharedScope.release`
ends the actor when the sweep ends, and the object goes with the last borrow.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from typing import Any

__all__ = ["SharedData", "SharedScope"]

_SCOPE: contextvars.ContextVar[SharedScope | None] = contextvars.ContextVar("hpo_shared_scope", default=None)


class _Holder:
    """The actor holding the ref; the list keeps Ray from resolving it to the value."""

    def __init__(self, box: list[Any]) -> None:
        self._box = box

    def ref(self) -> list[Any]:
        return self._box


class SharedData:
    """``value`` put once in Ray's object store; pickles as its holder's name only.

    Created in the driver (Ray initialised). Made inside a :class:`SharedScope` (as a sweep's
    prepare hook is), it ends with the scope; made outside one (``build_trainable`` for a Tuner
    of your own), it lasts while the driver holds it, as ``tune.with_parameters`` would.
    :meth:`get` in a trial returns the value (zero-copy for numpy arrays).
    """

    def __init__(self, value: Any) -> None:
        import ray

        self.name = f"hpo-shared-{uuid.uuid4().hex[:12]}"
        holder = ray.remote(_Holder).options(name=self.name, num_cpus=0, max_restarts=0)
        self._handle: Any = holder.remote([ray.put(value)])
        scope = _SCOPE.get()
        if scope is not None:
            scope.add(self)

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.name, self._handle = state["name"], None

    def get(self) -> Any:
        import ray

        holder = self._handle if self._handle is not None else ray.get_actor(self.name)
        (ref,) = ray.get(holder.ref.remote())
        return ray.get(ref)

    def release(self) -> None:
        import ray

        handle, self._handle = self._handle, None
        if handle is not None and ray.is_initialized():
            ray.kill(handle, no_restart=True)


class SharedScope:
    """The shared values one sweep made: :meth:`collect` around the prepare, :meth:`release` at its end."""

    def __init__(self) -> None:
        self._items: list[SharedData] = []

    def add(self, item: SharedData) -> None:
        self._items.append(item)

    @contextlib.contextmanager
    def collect(self) -> Iterator[SharedScope]:
        token = _SCOPE.set(self)
        try:
            yield self
        finally:
            _SCOPE.reset(token)

    def release(self) -> None:
        items, self._items = self._items, []
        for item in items:
            item.release()
