"""Crashes (exit 1) after its second epoch the first time it runs; run again, it resumes from its checkpoint."""

import json
import os
import sys
import time
from pathlib import Path

trial = Path(os.environ["HPO_TRIAL_DIR"])
state = Path(os.environ["HPO_CHECKPOINT_DIR"], "state.json")
start = json.loads(state.read_text())["epoch"] if state.exists() else 0
with open(trial / "starts.txt", "a") as starts:
    starts.write(f"{start}\n")
for epoch in range(start + 1, 5):
    time.sleep(0.2)  # an epoch's work: its checkpoint is written after the last report was read
    state.write_text(json.dumps({"epoch": epoch}))
    print("hpo-report: " + json.dumps({"loss": 1.0 / epoch}), flush=True)
    if epoch == 2 and not (trial / "crashed").exists():
        (trial / "crashed").touch()
        print("Traceback (most recent call last):\nRuntimeError: the disk hiccupped", file=sys.stderr)
        sys.exit(1)
