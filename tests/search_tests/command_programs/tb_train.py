"""A script that logs only through torch's SummaryWriter (the PyTorch TensorBoard tutorial's calls), unchanged
for hpo: its metrics reach hpo from the event files under logs/, nothing from its output."""

import argparse

from torch.utils.tensorboard import SummaryWriter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    writer = SummaryWriter("logs")  # relative: each trial runs in its own folder
    for epoch in range(args.epochs):
        loss = (args.lr - 0.05) ** 2 + 1.0 / (epoch + 1)
        writer.add_scalar("Loss/train", loss * 1.1, epoch)
        writer.add_scalar("Loss/test", loss, epoch)
        writer.add_scalar("Accuracy/test", 1.0 - loss / 2, epoch)
        print(f"epoch {epoch} done")  # no metric in the output: the events carry them
    writer.close()


if __name__ == "__main__":
    main()
