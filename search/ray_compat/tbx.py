"""Ray Tune's TensorBoard callback with another writer class.

Checked on Ray 2.60.0.
"""

from __future__ import annotations

from typing import Any

__all__ = ["tbx_callback", "tbx_writer_class"]


def tbx_callback(writer_cls: type) -> Any:
    """Ray Tune's own ``TBXLoggerCallback`` (so Tune adds no second one) writing through ``writer_cls``.

    Touches ``TBXLoggerCallback._summary_writer_cls``, the class it makes each trial's writer from
    (tensorboardX's ``SummaryWriter``): hpo's writes the same events without a thread and an fsync per
    trial and result (``hpo.search.engine.tbx``). Checked on Ray 2.60.0.
    """
    from ray.tune.logger import TBXLoggerCallback

    callback = TBXLoggerCallback()
    callback._summary_writer_cls = writer_cls
    return callback


def tbx_writer_class(callback: Any) -> type:
    """The writer class a ``TBXLoggerCallback`` makes each trial's writer from.

    Touches ``TBXLoggerCallback._summary_writer_cls``; the compat layer's tests read it. Checked on Ray 2.60.0.
    """
    return callback._summary_writer_cls
