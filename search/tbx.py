"""tensorboardX without torch in the driver.

Ray Tune's ``TBXLoggerCallback`` (each trial's TensorBoard events) imports tensorboardX in the driver,
and tensorboardX imports torch when it is installed, only so that ``torch.Tensor`` passes its
"numpy-compatible" checks. The driver logs Python scalars, never tensors, yet that import alone cost
the driver ~600 MB of RSS and seconds of CPU (``bench/scale.py``). So the driver imports tensorboardX
first with torch hidden; torch stays importable for everything after.
"""

from __future__ import annotations

import sys

__all__ = ["import_tensorboardx"]


def import_tensorboardx() -> None:
    """Import tensorboardX's writer without importing torch (no-op when either is already imported)."""
    if "torch" in sys.modules or "tensorboardX.writer" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError meanwhile
    try:
        import tensorboardX.writer  # noqa: F401
    except ImportError:  # no tensorboardX: Ray's callback says so itself
        pass
    finally:
        del sys.modules["torch"]
