"""Stands in for a command trial's actor in tests/trainables_tests/test_command_process.py (no Ray).

``python command_actor.py MODE FOLDER GRACE``: starts ``script.py`` from FOLDER (as the trial does: a session
of its own, this process its children's subreaper), waits for the script's ``ready`` file, then
- ``end``: ends the group with the grace and prints ``{"pid", "child", "killed", "left"}`` (``left``: which of
  the two pids /proc still holds: none, once reaped);
- ``die``: starts the guard, prints ``{"pid", "child", "guard"}`` and dies with ``os._exit``, ending nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from hpo.trainables.command._guard import start_guard
from hpo.trainables.command.process import become_subreaper, end_group, launch


def main(mode: str, folder: str, grace: float) -> None:
    become_subreaper(True)
    proc = launch([sys.executable, str(Path(folder, "script.py"))], cwd=folder, env=dict(os.environ))
    ready = Path(folder, "ready")
    while not ready.exists():
        time.sleep(0.02)
    child = int(ready.read_text())
    if mode == "die":
        guard = start_guard(pgid=proc.pid, grace=grace)
        print(json.dumps({"pid": proc.pid, "child": child, "guard": guard}), flush=True)
        os._exit(0)
    killed = end_group(proc.pid, grace, proc=proc)
    left = [pid for pid in (proc.pid, child) if Path(f"/proc/{pid}").exists()]
    print(json.dumps({"pid": proc.pid, "child": child, "killed": killed, "left": left}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
