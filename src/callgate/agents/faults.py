"""Seeded provider faults: which of an agent's requests fail, and how.

The simulator gives every call of a fault cohort a :class:`FaultPlan` (on its
:class:`~callgate.agents.voice.CallSetup`). An agent asks the plan about each request it makes to a
provider: the n-th ASR request, the n-th tool call, and each attempt at it (a retry, a fallback).
The answer is a pure function of the call seed, the stage, the request index and the attempt, so
baseline and candidate meet the same faults on the same call and paired comparison stays paired.
Faults act on the virtual clock only: a timeout costs call time, never wall time.

Tool faults reach every agent kind, because callgate runs the tool backend of every call
(:class:`FaultyTools` wraps it); ASR, TTS and policy faults need an agent that lets callgate call
its engines, which only the pipeline kind does (``AgentKind.fault_stages``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from callgate.agents.policy import JSON, ToolBackend, ToolResult, ToolSchema
from callgate.scenarios.faults import FaultSpec
from callgate.traces.recorder import CallRecorder


@dataclass(frozen=True)
class FaultPlan:
    """The faults of one call: its cohort's profile, drawn with the call's seed."""

    profile: str
    faults: tuple[FaultSpec, ...]
    seed: int

    def stages(self) -> set[str]:
        return {f.stage for f in self.faults}

    def draw(
        self, stage: str, request: int, attempt: int, provider: str, primary: bool
    ) -> FaultSpec | None:
        """The fault that hits this attempt of a request, or None.

        One uniform number per (stage, request, attempt) is compared with the cumulative shares of
        the faults aimed at this provider, in the profile's order: the faults of one target are
        disjoint, and each hits its share of requests. A fault without ``provider`` is aimed at the
        stage's primary provider (a retry of it too); one with ``provider`` at every request to
        that engine, policy or tool, fallback included.
        """
        aimed = [
            f
            for f in self.faults
            if f.stage == stage and (f.provider == provider if f.provider else primary)
        ]
        if not aimed:
            return None
        u = _uniform(self.seed, stage, request, attempt)
        bound = 0.0
        for f in aimed:
            bound += f.share
            if u < bound:
                return f
        return None


def _uniform(seed: int, stage: str, request: int, attempt: int) -> float:
    """A number in [0, 1) fixed by its arguments (not by any generator's state, which differs
    between variants that make different requests)."""
    digest = hashlib.sha256(f"fault|{seed}|{stage}|{request}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True)
class AppliedFault:
    """A fault as an agent met it: what it cost on the call's clock."""

    stage: str
    kind: str  # timeout, error, slow
    provider: str
    request: int
    attempt: int
    cost_s: float  # call time of the attempt: until the failure, or the late answer's delay
    failed: bool  # no answer came (timeout, error, or a slow answer past the client's timeout)
    profile: str = ""
    injected: bool = True  # False: no fault was drawn, the agent's own timeout cut a slow answer

    @classmethod
    def met(
        cls, stage: str, fault: FaultSpec, provider: str, request: int, attempt: int, profile: str
    ) -> AppliedFault:
        """A drawn fault as met: a slow answer costs its extra delay, a failure its wait."""
        failed = fault.kind != "slow"
        cost = fault.delay_s if failed else float(fault.extra_s or 0.0)
        return cls(stage, fault.kind, provider, request, attempt, cost, failed, profile)

    def record(self, rec: CallRecorder, t: float, turn: int | None) -> None:
        """One ``provider_fault`` event at ``t``, where the fault shows: when the agent gives up,
        or when the late answer arrives."""
        rec.event(
            round(t, 6),
            "provider_fault",
            turn,
            stage=self.stage,
            fault=self.kind,
            provider=self.provider,
            request=self.request,
            attempt=self.attempt,
            waited_s=round(self.cost_s, 6),
            failed=self.failed,
            injected=self.injected,
            profile=self.profile,
        )

    def took(self, latency_s: float) -> float:
        """How long the request took, given the latency it would have had: a failure takes its
        own time, a slow answer comes that much later."""
        return self.cost_s if self.failed else latency_s + self.cost_s


@dataclass
class FaultyTools:
    """A call's tool backend with the plan's tool faults: a hit request never reaches the API
    (timeout, error) or reaches it late (slow). The caller of :meth:`call` takes the fault with
    :func:`take_fault` to put its cost on the clock and record it."""

    backend: ToolBackend
    plan: FaultPlan
    requests: int = 0
    last: AppliedFault | None = field(default=None, repr=False)

    def schemas(self) -> list[ToolSchema]:
        return self.backend.schemas()

    def state(self) -> JSON:
        return self.backend.state()

    def call(self, name: str, args: JSON) -> ToolResult:
        request, self.requests = self.requests, self.requests + 1
        fault = self.plan.draw("tool", request, 0, name, primary=True)
        if fault is None:
            self.last = None
            return self.backend.call(name, args)
        self.last = AppliedFault.met("tool", fault, name, request, 0, self.plan.profile)
        if not self.last.failed:
            return self.backend.call(name, args)
        what = "timed out" if fault.kind == "timeout" else "failed"
        return ToolResult(ok=False, error=f"{name}: the service {what} (provider fault)")


def with_faults(backend: ToolBackend, plan: FaultPlan | None) -> ToolBackend:
    """The backend, behind the plan's tool faults when it has any."""
    if plan is None or "tool" not in plan.stages():
        return backend
    return FaultyTools(backend, plan)


def take_fault(backend: Any) -> AppliedFault | None:
    """The fault the latest tool call met (None without one), cleared so it counts once."""
    if not isinstance(backend, FaultyTools):
        return None
    fault, backend.last = backend.last, None
    return fault
