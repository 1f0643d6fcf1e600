"""One tiny script, three behaviours (``--mode``): its loss as plain text only (a regex reads it); exit 0 having
printed no loss; the text of a CUDA out-of-memory, then exit 1."""

import argparse
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--mode", choices=("regex", "silent", "oom"), required=True)
mode = parser.parse_args().mode
if mode == "regex":
    for epoch in (1, 2):
        print(f"epoch {epoch}: Average loss: {1 / epoch:.4f}", flush=True)
elif mode == "silent":
    print("starting")
    print('hpo-report: {"accuracy": 0.5}')
    print("done")
else:
    print("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", file=sys.stderr)
    sys.exit(1)
