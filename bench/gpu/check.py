"""``bench/gpu_check.sh``: every GPU check in one prepared run of at most 8 minutes.

    bash bench/gpu_check.sh [--dry-run] [--out DIR]

On a machine without CUDA it prints one line saying so and exits 0. Otherwise it runs the steps
of `bench.gpu.plan` in order, each in its own time box, writes ``gpu_check.json`` after each,
and ends with the summary table (also in ``summary.txt``). Exit 0 when every step is ok, else 1
(the evidence is written either way). Output folder: ``--out``, else ``$OUT``, else ``./gpu-check``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.gpu.plan import MIN_STEP_S, Step, build_steps, dry_run_text, fmt_s
from bench.gpu.probe import absent_line, driver_absent
from bench.gpu.run import ROOT, StepResult, run_step, skipped, step_env, time_left, write_report
from bench.gpu.summary import summary_text

__all__ = ["main", "output_folder", "shown_python"]


def output_folder(given: str | None, environ: dict[str, str] | os._Environ[str]) -> Path:
    """``--out``, else ``$OUT``, else ``./gpu-check``."""
    return Path(given or environ.get("OUT") or "gpu-check")


def shown_python(executable: str) -> str:
    """The interpreter as the dry run shows it: ``.venv/bin/python`` for the project's venv."""
    venv = ROOT / ".venv" / "bin"
    path = Path(executable)
    return str(path.relative_to(ROOT)) if path.parent == venv else executable


def _cuda_absent_after(env_step: StepResult) -> str | None:
    """Why CUDA is unusable although a driver is here (from the env step), or None."""
    f = env_step.figures
    if f.get("cuda_available"):
        return None
    if "torch" in f:
        return f"torch {f['torch']} sees no CUDA device"
    return f"the env step did not say ({env_step.status}: {env_step.error})"


def run_all(out: Path) -> int:
    """Every step in order within the budget, then the table; returns the exit code."""
    started, started_at = time.monotonic(), datetime.now(tz=UTC)
    (out / "steps").mkdir(parents=True, exist_ok=True)
    env = step_env(out)
    results: list[StepResult] = []

    def run(step: Step) -> StepResult:
        left = time_left(started)
        if left < MIN_STEP_S:
            result = skipped(step, left)
        else:
            cap = min(step.cap_s, left)
            print(f"gpu_check: {step.name} (estimate {fmt_s(step.estimate_s)}, cap {fmt_s(cap)}) ...", flush=True)
            result = run_step(step, out=out, cap_s=cap, env=env)
            print(f"gpu_check: {step.name} {result.status} in {fmt_s(result.seconds)}"
                  + (f": {result.error}" if result.error else ""), flush=True)
        results.append(result)
        write_report(out / "gpu_check.json", results, started_at=started_at, elapsed_s=time.monotonic() - started)
        return result

    first = run(build_steps(python=sys.executable, out=out)[0])  # env: is CUDA usable, how many GPUs
    reason = _cuda_absent_after(first)
    if reason is not None:
        print(absent_line(reason))
        return 0
    gpus = int(first.figures.get("device_count") or 1)  # picks the integration tests
    for step in build_steps(python=sys.executable, out=out, gpus=gpus)[1:]:
        run(step)
    shutil.rmtree(out / "hpo-home" / "ray", ignore_errors=True)  # trial dirs: the store keeps the figures
    report = write_report(out / "gpu_check.json", results, started_at=started_at,
                          elapsed_s=time.monotonic() - started)
    table = summary_text(report)
    (out / "summary.txt").write_text(table + "\n")
    print(table)
    print(f"gpu_check: figures in {out / 'gpu_check.json'}")
    return 0 if all(r.status == "ok" for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/gpu_check.sh", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="List the steps, their estimates and the budget.")
    parser.add_argument("--out", default=None, help="Output folder (default: $OUT, else ./gpu-check).")
    args = parser.parse_args(argv)
    out = output_folder(args.out, os.environ)
    if args.dry_run:
        print(dry_run_text(build_steps(python=shown_python(sys.executable), out=out), out=out))
        return 0
    reason = driver_absent()
    if reason is not None:
        print(absent_line(reason))
        return 0
    return run_all(out.resolve())


if __name__ == "__main__":
    sys.exit(main())
