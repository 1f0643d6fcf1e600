"""A Hydra app as people write them (conf/config.yaml, `key=value` overrides), unchanged for hpo.

``@hydra.main`` without ``version_base`` keeps Hydra 1.1's behaviour: it changes the working directory to
``outputs/<date>/<time>`` unless the command passes ``hydra.job.chdir=false``, as the test's spec does, so
that relative paths (cfg.json here, a logs/ folder) stay in the trial's folder.
"""

import json
import os

import hydra
from omegaconf import DictConfig, OmegaConf


@hydra.main(config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    with open("cfg.json", "w") as out:
        json.dump({"cfg": OmegaConf.to_container(cfg, resolve=True), "cwd": os.getcwd()}, out)
    for epoch in range(1, cfg.epochs + 1):
        loss = (cfg.lr - 0.05) ** 2 + (1.0 - cfg.optimizer.momentum) / epoch
        print("hpo-report: " + json.dumps({"loss": loss, "epoch": epoch}), flush=True)


if __name__ == "__main__":
    main()
