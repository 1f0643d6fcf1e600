"""tensorboardX without torch: import it with torch (and boto3) hidden.

``tensorboardX/__init__`` imports its writer, which imports torch when it is installed, only so that
``torch.Tensor`` passes its "numpy-compatible" checks. Neither the driver (which logs Python scalars
through Ray's ``TBXLoggerCallback``, :mod:`hpo.search.engine.tbx`) nor a command trial reading a
script's event files (:mod:`hpo.trainables.command.tensorboard`) needs torch, yet that import alone
costs ~600 MB of RSS and seconds of CPU (``bench/scale.py``). So tensorboardX is imported first with
torch and boto3 hidden; both stay importable for everything after.
"""

from __future__ import annotations

import sys

__all__ = ["import_tensorboardx"]

# Imported by tensorboardX only to accept tensors (torch) and to write events straight to s3:// paths
# (boto3: 7 MB and ~0.1 s; Ray hands the callback local trial folders and syncs them itself).
_HIDDEN = ("torch", "boto3")


def import_tensorboardx() -> None:
    """Import tensorboardX's writer without importing torch or boto3 (no-op once it is imported).

    For the moment of the import, ``import torch`` raises ImportError in every thread of the process:
    call this before starting threads that import torch.
    """
    if "tensorboardX.writer" in sys.modules:
        return
    hidden = [name for name in _HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import NAME` raises ImportError meanwhile
    try:
        import tensorboardX.writer  # noqa: F401
    except ImportError:  # no tensorboardX: the callers say so themselves
        pass
    finally:
        for name in hidden:
            del sys.modules[name]
