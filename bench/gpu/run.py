"""Run the GPU check's steps, each in its own process group and time box, and keep every result.

A step that fails or runs out of time is recorded as such and the next one starts: the run
always reaches the summary. ``gpu_check.json`` is rewritten after every step, so even a run
killed from outside leaves what it measured so far.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.gpu.plan import BUDGET_S, MIN_STEP_S, SUMMARY_S, Step, fmt_s

__all__ = ["ROOT", "StepResult", "junit_counts", "last_line", "run_group", "run_step", "step_env", "write_report"]

ROOT = Path(__file__).resolve().parents[2]
KILL_GRACE_S = 10  # after SIGTERM (a sweep's driver shuts its Ray down), before SIGKILL


@dataclass
class StepResult:
    """What one step left: its status (ok, failed, timeout, skipped), time, figures and error."""

    name: str
    status: str
    seconds: float = 0.0
    estimate_s: int = 0
    cap_s: float = 0.0
    command: list[str] = field(default_factory=list)
    log: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "seconds": round(self.seconds, 1),
                "estimate_s": self.estimate_s, "cap_s": round(self.cap_s), "command": self.command,
                "log": self.log, "figures": self.figures, "error": self.error}


def step_env(out: Path) -> dict[str, str]:
    """The environment of every step: a run home under the output folder, no downloads, local Ray only."""
    env = dict(os.environ)
    for key in ("HPO_STORE", "RAY_ADDRESS", "HPO_STORAGE"):  # never an outside store, cluster or bucket
        env.pop(key, None)
    env["HPO_HOME"] = str(out / "hpo-home")
    env["HPO_OFFLINE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def last_line(path: Path) -> str | None:
    """The last non-blank line of a log (what a failed step said last)."""
    if not path.is_file():
        return None
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else None


def junit_counts(path: Path) -> dict[str, Any]:
    """Totals of a pytest junit XML file, and the ids of the tests that failed or errored."""
    if not path.is_file():
        return {}
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failed_tests": [], "skips": []}
    for suite in suites:
        for case in suite.iter("testcase"):
            counts["tests"] += 1
            test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
            if case.find("failure") is not None:
                counts["failed"] += 1
                counts["failed_tests"].append(test_id)
            elif case.find("error") is not None:
                counts["errors"] += 1
                counts["failed_tests"].append(test_id)
            elif (skip := case.find("skipped")) is not None:
                counts["skipped"] += 1
                counts["skips"].append(f"{test_id}: {skip.get('message', '')}")
            else:
                counts["passed"] += 1
    return counts


def _stop(proc: subprocess.Popen[bytes], first: signal.Signals, *, group: bool) -> None:
    """Signal ``proc`` (its whole process group when ``group``) with ``first``, then SIGKILL what is
    left after the grace period."""
    for sig, wait in ((first, KILL_GRACE_S), (signal.SIGKILL, 5)):
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_group(argv: list[str] | tuple[str, ...], *, timeout_s: float, env: dict[str, str], stdout: Any = None,
              first: signal.Signals = signal.SIGTERM, own_session: bool = True) -> int | None:
    """Run ``argv`` from the repository root; its exit code, or None when it ran past ``timeout_s``
    and was stopped.

    Args:
        argv: The command.
        timeout_s: Its time box.
        env: Its environment.
        stdout: Where its output goes (stderr too); None: this process's own.
        first: The signal that asks it to stop; SIGKILL follows after `KILL_GRACE_S`.
        own_session: Start it in a session of its own and stop its whole process group. False
            keeps it in this process's group, so that whoever stops this process stops it too
            (a sweep inside a step); Ray's processes die with their driver either way (Ray
            sets them to be killed when their parent dies).
    """
    # A shell's background job starts with SIGINT ignored, and a signal ignored at start cannot be
    # trapped (sh) or turned into KeyboardInterrupt (Python): give the child SIGINT's default back.
    reset = (lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if first == signal.SIGINT else None
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.STDOUT if stdout else None,
                            start_new_session=own_session, preexec_fn=reset)
    try:
        rc = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _stop(proc, first, group=own_session)
        return None
    if own_session:
        with contextlib.suppress(ProcessLookupError):  # whatever it left behind in its group goes with it
            os.killpg(proc.pid, signal.SIGTERM)
    return rc


def run_step(step: Step, *, out: Path, cap_s: float, env: dict[str, str]) -> StepResult:
    """Run one step in its own session (so the whole process tree can be stopped) within ``cap_s``."""
    result = StepResult(step.name, "failed", estimate_s=step.estimate_s, cap_s=cap_s, command=list(step.argv),
                        log=step.log)
    log = out / step.log
    log.parent.mkdir(parents=True, exist_ok=True)
    json_path = out / "steps" / f"{step.name}.json"
    json_path.unlink(missing_ok=True)
    start = time.monotonic()
    with log.open("wb") as fh:
        rc = run_group(step.argv, timeout_s=cap_s, env=env, stdout=fh)
    result.seconds = time.monotonic() - start
    if step.kind == "pytest":
        result.figures = junit_counts(out / f"{step.name}.xml")
    elif json_path.is_file():
        saved = json.loads(json_path.read_text())
        result.figures = saved.get("figures", {})
        result.error = saved.get("error")
        if rc == 0:
            result.status = saved.get("status", "failed")
    if rc is None:
        result.status = "timeout"
        result.error = f"stopped at its cap of {fmt_s(cap_s)}; last line: {last_line(log)}"
    elif step.kind == "pytest":
        result.status = "ok" if rc == 0 and result.figures.get("tests") else "failed"
        if result.status == "failed":
            result.error = f"pytest exit {rc}: {last_line(log)}"
    elif rc != 0:
        result.status = "failed"
        result.error = result.error or f"exit {rc}: {last_line(log)}"
    elif not json_path.is_file():
        result.error = f"wrote no figures ({json_path.name}); last line: {last_line(log)}"
    return result


def time_left(started: float) -> float:
    """Seconds a step may still take before the budget (less the summary's share) is spent."""
    return BUDGET_S - SUMMARY_S - (time.monotonic() - started)


def skipped(step: Step, left: float) -> StepResult:
    """The record of a step the budget left no time for."""
    return StepResult(step.name, "skipped", estimate_s=step.estimate_s, command=list(step.argv), log=step.log,
                      error=f"not started: {fmt_s(max(left, 0))} of the {fmt_s(BUDGET_S)} budget left "
                            f"(a step needs {fmt_s(MIN_STEP_S)})")


def write_report(path: Path, results: list[StepResult], *, started_at: datetime, elapsed_s: float) -> dict[str, Any]:
    """Write ``gpu_check.json``: the machine (the env step's figures), then every step."""
    env = next((r.figures for r in results if r.name == "env"), {})
    report = {
        "check": "bench/gpu_check.sh",
        "started": started_at.isoformat(timespec="seconds"),
        "written": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "budget_s": BUDGET_S,
        "elapsed_s": round(elapsed_s, 1),
        "machine": env,
        "steps": [r.to_dict() for r in results],
    }
    path.write_text(json.dumps(report, indent=1) + "\n")
    return report
