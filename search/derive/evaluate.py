"""A finished trial's checkpoint scored on the held-out test split (``hpo best --evaluate``).

The sweep ranks trials by their validation metric; the test split is kept out of it and used
here only, on the checkpoint a trial left, so the number reported for the winner is not one the
search was tuned on. The checkpoint may be in remote storage (``s3://...``): it is copied here first.
"""

from __future__ import annotations

from typing import Any

from hpo.results import StoreError, TrialRecord

__all__ = ["evaluate_trial"]


def evaluate_trial(trial: TrialRecord, *, split: str = "test") -> dict[str, Any]:
    """Score ``trial``'s latest checkpoint on ``split`` (the CIFAR trainable's checkpoints).

    Returns:
        What ``trainables.evaluate_checkpoint`` returns: ``acc``, ``loss``, ``n`` and the checkpoint's ``epoch``.

    Raises:
        results.StoreError: the trial saved no checkpoint.
    """
    if not trial.checkpoint_path:
        raise StoreError(f"trial {trial.trial_id} of sweep {trial.sweep} has no checkpoint to evaluate")
    from hpo.results import local_checkpoint
    from hpo.trainables import evaluate_checkpoint

    with local_checkpoint(trial.checkpoint_path) as path:
        return evaluate_checkpoint(path, split=split)
