#!/usr/bin/env bash
# Every GPU check in one prepared run (<= 8 minutes on one GPU): bench/gpu/check.py says what it does.
#   bash bench/gpu_check.sh [--dry-run] [--out DIR]      # outputs: --out, else $OUT, else ./gpu-check/
# Without CUDA it says so in one line and exits 0. It installs nothing but the project's own
# install step (`make install`), and only when .venv is missing on a machine with an NVIDIA driver.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python=.venv/bin/python
if [[ ! -x $python ]]; then
    if [[ " $* " == *" --dry-run "* ]] || ! { command -v nvidia-smi >/dev/null 2>&1 || compgen -G "/dev/nvidia[0-9]*" >/dev/null; }; then
        python=python3  # the dry run and the no-CUDA line need only the standard library
    else
        make install
    fi
fi
exec "$python" -m bench.gpu.check "$@"
