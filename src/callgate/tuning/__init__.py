"""The tuning loop: make candidates from what failed on dev calls, one change at a time.

A tuning job (:mod:`callgate.tuning.jobs`) reads the dev-split calls of a stored run, and only
those (:mod:`callgate.tuning.reading`), then proposes one change to the agent block of the variant
that made them. ``callgate tune`` writes each proposal as a candidate variant file beside the
record of exactly which calls the job read (:mod:`callgate.tuning.model`), and stores those reads,
so the gate can warn when it is later asked to judge the candidate on them. See docs/tuning.md.
"""

from callgate.tuning.jobs import TUNING_JOBS, Proposal, TuneContext, TuningJob
from callgate.tuning.model import TuningRecord

__all__ = ["TUNING_JOBS", "Proposal", "TuneContext", "TuningJob", "TuningRecord"]
