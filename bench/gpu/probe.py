"""Is there a GPU here, and which: the NVIDIA driver, ``nvidia-smi``, torch's view of CUDA.

`driver_absent` needs only the standard library (the CPU answer comes before any import of
torch). Run as a step (``python -m bench.gpu.probe --out DIR --json PATH``) it saves
``nvidia-smi`` output to ``DIR/nvidia-smi.txt`` and writes the machine's description as JSON.
"""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
from importlib import metadata
from typing import Any

from bench.gpu.step_cli import step_parser

__all__ = ["absent_line", "driver_absent", "gpu_query", "parse_gpu_query", "torch_view"]

QUERY = "name,memory.total,driver_version,compute_cap"


def driver_absent() -> str | None:
    """Why CUDA cannot be here (no NVIDIA driver), or None when a driver is present."""
    if shutil.which("nvidia-smi") or glob.glob("/dev/nvidia[0-9]*"):
        return None
    return "no NVIDIA driver: no nvidia-smi, no /dev/nvidia*"


def absent_line(reason: str) -> str:
    """The one line the check prints on a machine without CUDA (then it exits 0)."""
    return f"gpu_check: CUDA is absent ({reason}); nothing to check on this machine"


def parse_gpu_query(text: str) -> list[dict[str, Any]]:
    """Rows of ``nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader``."""
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4:
            continue
        name, memory, driver, cap = parts
        mib = memory.split()[0]
        gpus.append({"name": name, "memory_mib": int(mib) if mib.isdigit() else None, "driver": driver,
                     "compute_cap": cap})
    return gpus


def gpu_query() -> list[dict[str, Any]]:
    """The GPUs ``nvidia-smi`` lists ([] when it is missing or fails)."""
    try:
        done = subprocess.run(["nvidia-smi", f"--query-gpu={QUERY}", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return parse_gpu_query(done.stdout) if done.returncode == 0 else []


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def torch_view() -> dict[str, Any]:
    """torch's and Ray's versions and what torch sees of CUDA (creates a CUDA context: a step's job)."""
    import torch

    view: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                            "cuda_available": torch.cuda.is_available(), "device_count": 0,
                            "ray": _version("ray"), "hpo": _version("hpo-service"),
                            "python": sys.version.split()[0]}
    if view["cuda_available"]:
        view["device_count"] = torch.cuda.device_count()
        view["device"] = torch.cuda.get_device_name(0)
        view["bf16"] = torch.cuda.is_bf16_supported()
        view["cudnn"] = torch.backends.cudnn.version()
    return view


def main(argv: list[str] | None = None) -> int:
    """The ``env`` step: ``nvidia-smi`` output saved, the machine described as JSON."""
    parser = step_parser(__doc__)
    args = parser.parse_args(argv)
    try:
        smi = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30)
        (args.out / "nvidia-smi.txt").write_text(smi.stdout + smi.stderr)
    except (OSError, subprocess.TimeoutExpired) as exc:
        (args.out / "nvidia-smi.txt").write_text(f"nvidia-smi did not run: {exc}\n")
    figures = {"gpus": gpu_query(), **torch_view()}
    status = "ok" if figures["cuda_available"] else "failed"
    args.json.write_text(json.dumps({"status": status, "figures": figures}, indent=1) + "\n")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
