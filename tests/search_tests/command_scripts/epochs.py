"""A script tuned as a command: one hpo-report line per epoch; on SIGTERM it writes a marker and exits.

It starts a child process (a stand-in for a data-loader worker) and records both pids in its trial's
folder, so a test can check that a stop leaves neither running. Its checkpoint is its last epoch.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, required=True)
parser.add_argument("--epochs", type=int, default=4)
parser.add_argument("--pause", type=float, default=0.3)
args = parser.parse_args()

trial = Path(os.environ["HPO_TRIAL_DIR"])
state = Path(os.environ["HPO_CHECKPOINT_DIR"], "state.json")


def on_term(signum, frame):
    (trial / "sigterm").write_text(str(os.getpid()))
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
(trial / "pids.json").write_text(json.dumps({"pid": os.getpid(), "child": child.pid}))
start = json.loads(state.read_text())["epoch"] if state.exists() else 0
for epoch in range(start + 1, args.epochs + 1):
    time.sleep(args.pause)
    state.write_text(json.dumps({"epoch": epoch}))
    print("hpo-report: " + json.dumps({"loss": (args.x - 0.3) ** 2 + 1 / epoch, "epoch": epoch}), flush=True)
child.kill()
