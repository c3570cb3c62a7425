"""The tuning job seam: a job reads dev calls and proposes one change to an agent block.

Jobs are registered by name in :data:`TUNING_JOBS` (entry point group ``callgate.tuning_jobs``,
or ``module:attr``), like every other part: callgate's own jobs (ASR hints, end of turn) and a
domain plugin's (the reference domain's intent retraining) plug in the same way. A job's
constructor takes its parameters (``callgate tune --param asr-hints.max_terms=8``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from callgate.agents.env import CallEnv
from callgate.errors import UsageError
from callgate.registry import Registry
from callgate.scenarios.evaluation import EvaluationRules
from callgate.scenarios.model import Reaction, Scenario
from callgate.store.records import CallScores
from callgate.traces.model import CallTrace


@dataclass(frozen=True)
class TuneCall:
    """One dev call a job may read, with its scores (None when the run is not scored)."""

    trace: CallTrace
    scores: CallScores | None


Progress = Callable[[str, int, int], None]  # (what, done, total)


def _no_progress(_what: str, _done: int, _total: int) -> None:
    return None


@dataclass
class TuneContext:
    """What a job gets: the dev calls of one variant, that variant's agent block, the suite's
    rules, the speech caches, and a folder of its own for the data files it writes."""

    suite: str
    rules: EvaluationRules
    variant: str
    agent: dict[str, Any]
    calls: list[TuneCall]
    env: CallEnv
    out_dir: Path
    seed: int = 0
    progress: Progress = _no_progress
    # The dev calls' scenarios and the suite's default reactions: what a job that replays calls
    # as text needs (holdout scenarios are not here).
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    reactions: list[Reaction] = field(default_factory=list)

    def failed(self) -> list[TuneCall]:
        """Failed calls by the failure rule of the report (unscored calls are left out)."""
        return [c for c in self.calls if c.scores is not None and c.scores.failed is True]


@dataclass
class Proposal:
    """A job's answer: a patch deep-merged into the agent block (empty: no candidate), why, what
    it measured, and the data files the patched block refers to."""

    patch: dict[str, Any] = field(default_factory=dict)
    rationale: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


class TuningJob(Protocol):
    """``check`` refuses an agent the job cannot tune (a UsageError, one line); ``propose`` reads
    the context's calls and nothing else."""

    def check(self, agent: dict[str, Any]) -> None: ...

    def propose(self, ctx: TuneContext) -> Proposal: ...


def require_agent(agent: dict[str, Any], does: str, policy: str | None = None) -> None:
    """Refuse, in one line naming the job's flag, an agent that is not a pipeline agent (with
    ``policy`` when given): ``does`` says what the job changes."""
    kind, name = agent.get("kind"), (agent.get("policy") or {}).get("name")
    if kind != "pipeline" or (policy is not None and name != policy):
        has = f"kind {kind!r}" + (f" and policy {name!r}" if policy is not None else "")
        raise UsageError(f"{does}; this agent has {has}", field="--job")


TUNING_JOBS: Registry[TuningJob] = Registry("tuning job", "callgate.tuning_jobs")
