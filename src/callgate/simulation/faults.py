"""The fault cohort of a call, as the simulator hands it to the agent, and the check that every
planned call's agent can take its faults."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from callgate.agents.faults import FaultPlan
from callgate.agents.voice import AGENTS
from callgate.errors import UsageError
from callgate.scenarios.cohorts import Cell

if TYPE_CHECKING:  # the call module hands plans out from here
    from callgate.simulation.call import CallJob


def plan_for(cell: Cell, seed: int) -> FaultPlan | None:
    """The call's faults, drawn with its seed (which leaves the variant out, so both sides of a
    paired comparison meet the same ones); None in the ``none`` cohort."""
    return FaultPlan(cell.fault_name, cell.faults, seed) if cell.faults else None


def check_fault_stages(jobs: Iterable[CallJob]) -> None:
    """Refuse, before a run, a fault profile aimed at a stage the variant's agent kind does not let
    callgate reach (the ASR inside a user's Pipecat pipeline): such calls would run without the
    fault and read as if the agent had survived it. Raises a :class:`UsageError` naming the
    suite's field."""
    seen: set[tuple[str, str]] = set()
    for job in jobs:
        cell, variant = job.cell, job.variant
        if not cell.faults or (cell.fault_name, variant.name) in seen:
            continue
        seen.add((cell.fault_name, variant.name))
        kind_name = variant.agent.kind
        kind = AGENTS.get(kind_name)
        for i, fault in enumerate(cell.faults):
            if fault.stage not in kind.fault_stages:
                takes = ", ".join(kind.fault_stages) or "none"
                raise UsageError(
                    f"variant {variant.name!r} is a {kind_name} agent, which cannot take "
                    f"{fault.stage} faults (it takes: {takes})",
                    field=f"faults.{cell.fault_name}[{i}].stage",
                )
