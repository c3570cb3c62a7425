"""An instant stand-in for the simulation of one call: a trace made from the job alone, for tests
of how a run is executed, resumed and stored, not of what a call does. As a ``--plugin``
(:mod:`support.fake_calls_plugin`) every worker process, local or a Ray actor, runs it too."""

from __future__ import annotations

import time
from typing import Any

from callgate.traces.model import CallTrace

GOAL = "stand-in"


def fake_run_one(job: Any) -> tuple[str, str, None]:
    time.sleep(0.05)  # long enough for an interrupt to find calls in flight
    trace = CallTrace(
        call_id=job.call_id,
        run_id=job.run_id,
        suite=job.suite,
        scenario_id=job.cell.scenario.id,
        variant=job.variant.name,
        repeat=job.repeat,
        seed=job.seed,
        cohort_id=job.cell.cohort_id,
        cohort=job.cell.tags,
        goal=GOAL,
    )
    return job.call_id, trace.model_dump_json(), None
