"""A script that tells how it was started: each start appends one JSON line to ``starts.jsonl`` in its trial's
folder (its pid, its argv, the config in ``HPO_CONFIG_JSON``, and what ``HPO_CHECKPOINT_DIR`` held), so a test
can check what a searcher proposed, what PBT handed over and which seed ``hpo confirm`` passed. On SIGTERM it
writes ``sigterm-<pid>`` and exits.

Each epoch writes its checkpoint (the epoch, the trial that wrote it), then reports ``loss``; with ``--two`` it
reports two objectives on separate lines instead, ``a`` then ``b``, and a last lone ``a`` (no result: ``b`` never
follows it).
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, required=True)
parser.add_argument("--seed", type=int)
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--pause", type=float, default=0.2)
parser.add_argument("--two", action="store_true")
args = parser.parse_args()

trial = Path(os.environ["HPO_TRIAL_DIR"])
state = Path(os.environ["HPO_CHECKPOINT_DIR"], "state.json")
found = json.loads(state.read_text()) if state.exists() else None


def on_term(signum, frame):
    (trial / f"sigterm-{os.getpid()}").touch()
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
with open(trial / "starts.jsonl", "a") as starts:
    starts.write(json.dumps({"pid": os.getpid(), "argv": sys.argv[1:], "found": found,
                             "config": json.loads(Path(os.environ["HPO_CONFIG_JSON"]).read_text())}) + "\n")


def report(**metrics):
    print("hpo-report: " + json.dumps(metrics), flush=True)


for epoch in range((found or {}).get("epoch", 0) + 1, args.epochs + 1):
    time.sleep(args.pause)
    tmp = state.with_suffix(".tmp")
    tmp.write_text(json.dumps({"epoch": epoch, "trial": os.environ["HPO_TRIAL_ID"]}))
    tmp.rename(state)  # write, then rename: a checkpoint copied meanwhile is never half a file
    loss = (args.x - 0.3) ** 2 + 1 / epoch + (args.seed or 0) / 1000
    if args.two:
        report(a=loss, note=epoch)
        report(b=args.x * epoch)
    else:
        report(loss=loss, epoch=epoch)
if args.two:
    report(a=0.0)
