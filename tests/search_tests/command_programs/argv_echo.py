"""An argparse script as people write them (store_true booleans, a dotted group flag, free text), unchanged
for hpo: it writes what reached it (its argv, cwd and hpo's variables) to argv.json where it runs, then
prints one report line per epoch, the two-line way that imports nothing of hpo."""

import argparse
import json
import os
import sys

SEEN_ENV = ("HPO_TRIAL_ID", "HPO_TRIAL_DIR", "HPO_SPEC_DIR", "HPO_CONFIG_JSON", "HPO_CHECKPOINT_DIR", "HPO_SWEEP",
            "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONUNBUFFERED")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--use_amp", action="store_true")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--note", default="")
    parser.add_argument("--optimizer.name", dest="optimizer_name", default="adam")
    parser.add_argument("--optimizer.momentum", dest="optimizer_momentum", type=float, default=0.0)
    args = parser.parse_args()
    seen = {"argv": sys.argv, "cwd": os.getcwd(), "env": {k: os.environ.get(k) for k in SEEN_ENV},
            "parsed": vars(args)}
    with open("argv.json", "w") as out:
        json.dump(seen, out)
    for epoch in range(1, args.epochs + 1):
        loss = (args.lr - 0.05) ** 2 + (1.0 - args.optimizer_momentum) / epoch + (0.5 if args.use_amp else 0.0)
        print("hpo-report: " + json.dumps({"loss": loss, "epoch": epoch}), flush=True)


if __name__ == "__main__":
    main()
