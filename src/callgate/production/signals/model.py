"""What ``callgate signals`` computes, as written to disk with ``--json`` (schema version 1).

One :class:`SignalsReport` holds the settings it was computed with, the releases in order of
their first call, and one :class:`SignalGroup` per release (or time bucket) and cohort slice, each
with every signal's value, interval and the number of calls behind it. The definitions are in
:mod:`callgate.production.signals.compute` and docs/production.md; :data:`SIGNALS` names them
once for the terminal, the report and the web UI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SIGNALS_SCHEMA_VERSION: Literal[1] = 1
ALL = "all"
Unit = Literal["share", "seconds", "currency"]
Status = Literal["ok", "few", "not scored"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignalInfo(_Model):
    name: str
    title: str
    unit: Unit
    counted: Literal["calls", "turns"] = Field(description="what the value is computed over")
    definition: str

    def show(self, value: float | None) -> str:
        """The value as people read it: a percentage, seconds, or money to three digits."""
        if value is None:
            return "-"
        if self.unit == "share":
            return f"{100 * value:.1f}%"
        if self.unit == "seconds":
            return f"{value:.2f} s"
        return f"{value:.3g}"

    def show_interval(self, v: SignalValue) -> str:
        if v.low is None and v.high is None:
            return "-"
        # An open side (a tail percentile on too few turns to bound it) shows as "?".
        low = "?" if v.low is None else self.show(v.low)
        high = "?" if v.high is None else self.show(v.high)
        return f"{low} to {high}"


SIGNALS: tuple[SignalInfo, ...] = (
    SignalInfo(
        name="eval_fail_rate",
        title="eval-fail rate",
        unit="share",
        counted="calls",
        definition="scored calls failing the failure rule / scored calls (Wilson)",
    ),
    *(
        SignalInfo(
            name=f"ttfa_p{q}_s",
            title=f"TTFA p{q}",
            unit="seconds",
            counted="turns",
            definition=f"nearest-rank p{q} of time to first audio over answered turns "
            "(order-statistic interval, clustered by call)",
        )
        for q in (50, 95, 99)
    ),
    SignalInfo(
        name="transfer_rate",
        title="transfer rate",
        unit="share",
        counted="calls",
        definition="calls handed to a human / calls (Wilson)",
    ),
    SignalInfo(
        name="correction_rate",
        title="repeated-correction rate",
        unit="share",
        counted="calls",
        definition="calls with at least one caller repeat or correction / calls (Wilson)",
    ),
    SignalInfo(
        name="low_confidence_rate",
        title="low-confidence-turn rate",
        unit="share",
        counted="turns",
        definition="recognised turns with ASR confidence below the threshold / recognised turns "
        "with a confidence (Wilson on the calls' effective number of turns)",
    ),
    SignalInfo(
        name="cost_per_completed",
        title="cost per completed call",
        unit="currency",
        counted="calls",
        definition="total cost / calls with task_completion = 1, over calls with a cost and a "
        "completion score (cluster bootstrap over calls)",
    ),
)
SIGNAL_NAMES = tuple(s.name for s in SIGNALS)


class SignalsSettings(_Model):
    """What was asked: resolved (run ids in full, the groupings actually used)."""

    runs: list[str] = Field(default_factory=list, description="imported runs; empty: all of them")
    by: list[str] | None = Field(
        None, description="groupings: tag, or tag+tag for combinations; None: every tag"
    )
    since: datetime | None = Field(None, description="calls started at or after (UTC)")
    until: datetime | None = Field(None, description="calls started before (UTC)")
    bucket: Literal["day", "week"] | None = None
    low_confidence: float = Field(0.6, gt=0, le=1)
    min_calls: int = Field(10, ge=1)
    confidence: float = Field(0.95, gt=0, lt=1)
    resamples: int = Field(1000, ge=100)
    seed: int = 0

    @field_validator("since", "until")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Call start times are UTC: a time without a zone is taken as UTC, as the logs are.
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SignalValue(_Model):
    value: float | None = Field(description="None: not scored (never 0 for unknown)")
    low: float | None = None
    high: float | None = None
    n: int = Field(description="calls behind the value")
    turns: int | None = Field(None, description="turns behind it, for signals over turns")
    status: Status
    note: str = ""


class SignalGroup(_Model):
    release: str | None = Field(description="None: a time bucket across releases")
    bucket: str | None = Field(None, description="the bucket's first day (UTC), when bucketed")
    cohort: str = Field(description="'all', 'tag=value' or 'tag=value&tag=value'")
    calls: int
    first_started_at: datetime
    last_started_at: datetime
    signals: dict[str, SignalValue]


class ReleaseSpan(_Model):
    release: str
    calls: int
    first_started_at: datetime
    last_started_at: datetime
    runs: list[str]


class SignalsReport(_Model):
    """``callgate signals --json``: every group's signals, releases in order of first call."""

    schema_version: Literal[1] = SIGNALS_SCHEMA_VERSION
    settings: SignalsSettings
    signals: list[SignalInfo] = Field(default_factory=lambda: list(SIGNALS))
    calls: int
    releases: list[ReleaseSpan]
    cohorts: list[str] = Field(description="cohort labels in display order, 'all' first")
    groups: list[SignalGroup] = Field(description="release x cohort, releases in order")
    buckets: list[SignalGroup] = Field(default_factory=list, description="bucket x cohort")

    def group(self, release: str, cohort: str = ALL) -> SignalGroup | None:
        return next((g for g in self.groups if g.release == release and g.cohort == cohort), None)
