"""Which trials a big sweep's plots draw (and its importance reads): every trial up to ``SAMPLE_ABOVE``,
else the best ``SAMPLE_TOP`` plus a fixed sample of ``SAMPLE_SIZE``.

The sample is the trials whose ids hash lowest (CRC-32, the same in every process): the same trials on
every render, and a live sweep's sample changes only where a new trial hashes below one already drawn.
Tables, the best trial, and the JSON and CSV reports are never sampled: only what is drawn or estimated.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Collection
from dataclasses import dataclass

from hpo.results.store.records import TrialRecord

__all__ = ["SAMPLE_ABOVE", "SAMPLE_SIZE", "SAMPLE_TOP", "Sample", "sample_trials"]

SAMPLE_ABOVE = 1_000  # sweeps up to this many trials are drawn whole
SAMPLE_SIZE = 1_000  # past it, this many trials chosen by their ids' hash (importance's input) ...
SAMPLE_TOP = 20  # ... plus the best ones (the report's top-trials table), always drawn


@dataclass(frozen=True)
class Sample:
    """The trials a sweep's plots draw.

    Attributes:
        drawn: The trials the plots draw, best first (all trials when not sampled).
        picked: The hashed sample alone, best first: importance's input (an even sample, no lean to the top).
        total: Trials in the sweep.
        top: The best trials drawn whatever their hash (0 when not sampled).
        kept: Further trials drawn whatever their hash: a sweep's Pareto set (0 when not sampled).
    """

    drawn: list[TrialRecord]
    picked: list[TrialRecord]
    total: int
    top: int = 0
    kept: int = 0

    @property
    def sampled(self) -> bool:
        """Whether the plots leave trials out."""
        return len(self.drawn) < self.total

    def note(self) -> str:
        """One sentence for a sampled sweep's report and page ("" when every trial is drawn)."""
        if not self.sampled:
            return ""
        pareto = f", the Pareto set ({self.kept})" if self.kept else ""
        return (f"{self.total:,} trials: the plots draw {len(self.drawn):,} of them, a fixed sample of "
                f"{len(self.picked):,} and the best {self.top}{pareto} (the same trials in every plot); importance "
                "is estimated on that sample. The tables list every trial.")


def _key(trial: TrialRecord) -> tuple[int, str]:
    return zlib.crc32(trial.trial_id.encode()), trial.trial_id


def sample_trials(trials: list[TrialRecord], *, above: int = SAMPLE_ABOVE, size: int = SAMPLE_SIZE,
                  top: int = SAMPLE_TOP, keep: Collection[str] = ()) -> Sample:
    """The trials to draw from ``trials`` (best first): all of them up to ``above``, else the first ``top``,
    those named in ``keep`` (the Pareto set) and the ``size`` whose ids hash lowest, in ``trials``' order."""
    if len(trials) <= above:
        return Sample(drawn=list(trials), picked=list(trials), total=len(trials))
    chosen = {t.trial_id for t in heapq.nsmallest(size, trials, key=_key)}
    always = {t.trial_id for t in trials[:top]} | set(keep)
    return Sample(drawn=[t for t in trials if t.trial_id in chosen or t.trial_id in always],
                  picked=[t for t in trials if t.trial_id in chosen], total=len(trials), top=min(top, len(trials)),
                  kept=len(keep))
