"""Provider fault profiles: the ``faults:`` block of a suite and the grid's ``fault`` axis.

A profile names what goes wrong with the agent's providers during a call (a share of ASR requests
time out, the TTS answers slowly, a tool API errors). Each profile is a cohort like a noise or a
channel: every call carries a ``fault`` tag, ``none`` when nothing is injected, so the gate shows
what a variant's timeouts, retries and fallbacks cost or save in each profile. Which request fails
is drawn from the call seed (``callgate.agents.faults``), so baseline and candidate meet the same
faults on the same call.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NO_FAULT = "none"  # the implicit profile of every grid block that names none
FAULT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # the name goes into cohort ids: no '|' or '='

Stage = Literal["asr", "tts", "policy", "tool"]
FaultKind = Literal["timeout", "error", "slow"]
STAGES: tuple[Stage, ...] = ("asr", "tts", "policy", "tool")

# How long a failing request takes when ``after_s`` is not given: a hung provider is typically cut
# by a gateway after seconds, an error comes back at once.
DEFAULT_AFTER_S: dict[str, float] = {"timeout": 5.0, "error": 0.0}


class FaultSpec(BaseModel):
    """One kind of fault on one stage, for a share of that stage's requests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: Stage
    kind: FaultKind
    share: float = Field(gt=0.0, le=1.0, description="share of the stage's requests hit")
    after_s: float | None = Field(
        None,
        ge=0.0,
        le=120.0,
        description="timeout/error: virtual seconds until the failure shows (5 / 0 by default)",
    )
    extra_s: float | None = Field(
        None, gt=0.0, le=120.0, description="slow: seconds added to the stage's latency"
    )
    provider: str | None = Field(
        None,
        min_length=1,
        description="hit only this provider (engine, policy or tool name); default: the "
        "stage's primary provider, so a fallback to another one is spared",
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> FaultSpec:
        if self.kind == "slow":
            if self.extra_s is None:
                raise ValueError("a slow fault needs extra_s (seconds added to the latency)")
            if self.after_s is not None:
                raise ValueError("after_s is for timeout and error faults; slow takes extra_s")
        elif self.extra_s is not None:
            raise ValueError(f"extra_s is for slow faults; a {self.kind} fault takes after_s")
        return self

    @property
    def delay_s(self) -> float:
        """Virtual seconds a hit request takes before it fails (timeout, error)."""
        if self.after_s is not None:
            return self.after_s
        return DEFAULT_AFTER_S.get(self.kind, 0.0)


def check_profiles(faults: dict[str, list[FaultSpec]]) -> None:
    """Names are usable in cohort ids, ``none`` stays the empty profile, and the shares of one
    stage and provider leave room for the requests that succeed."""
    for name, specs in faults.items():
        if not re.match(FAULT_NAME, name):
            raise ValueError(
                f"faults.{name}: a profile name is letters, digits, '_', '.' and '-' (it goes "
                "into cohort ids)"
            )
        if name == NO_FAULT:
            raise ValueError(f"faults.{NO_FAULT}: '{NO_FAULT}' is the profile without faults")
        if not specs:
            raise ValueError(f"faults.{name}: a profile needs at least one fault")
        total: dict[tuple[str, str | None], float] = {}
        for spec in specs:
            key = (spec.stage, spec.provider)
            total[key] = total.get(key, 0.0) + spec.share
        for (stage, provider), share in total.items():
            if share > 1.0 + 1e-9:
                whose = f" of provider {provider!r}" if provider else ""
                raise ValueError(
                    f"faults.{name}: shares of {stage} faults{whose} add up to {share:g} "
                    "(at most 1)"
                )
