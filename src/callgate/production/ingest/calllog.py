"""callgate's call-log format (schema version 1): one JSON object per line, one line per call.

Every log reader (JSONL, OpenTelemetry, LiveKit session reports, a plugin's) produces
:class:`CallLog` records, and one converter turns them into call traces
(:mod:`callgate.production.ingest.to_trace`), so what a log may say is defined once, here,
and documented in docs/production.md.

Times inside a call are seconds from its start. A caller turn is a stretch of caller speech with
what the agent's ASR heard (and, when someone transcribed the call, what was really said); an agent
turn is one reply from its first audible sample, with the tool calls made before it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from callgate.scenarios.model import Expectation
from callgate.traces.model import EndReason

CALL_LOG_SCHEMA_VERSION: Literal[1] = 1


class _Model(BaseModel):
    # Python's json reads NaN and Infinity; a time or cost that is not finite would be stored as
    # null and break every later read of the call.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LoggedToolCall(_Model):
    tool: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    start: float | None = Field(None, ge=0, description="seconds from the call's start")
    end: float | None = Field(None, ge=0)

    @field_validator("result", mode="before")
    @classmethod
    def _wrap_scalar(cls, value: Any) -> Any:
        # Tools return strings or numbers as often as objects: keep them, under one key.
        return value if isinstance(value, dict) or value is None else {"value": value}


class LoggedTurn(_Model):
    speaker: Literal["caller", "agent"]
    start: float = Field(ge=0, description="caller: speech start; agent: first audible audio")
    end: float = Field(ge=0, description="caller: speech end; agent: end of its audio")
    text: str = Field("", description="caller: what the ASR heard; agent: what it said")
    # caller turns only
    confidence: float | None = Field(None, ge=0, le=1, description="the ASR's confidence, 0-1")
    reference: str | None = Field(None, description="what the caller really said (transcribed)")
    audio: str | None = Field(None, description="a recording of this turn, relative to the log")
    correction: bool | None = Field(
        None, description="the caller repeats or corrects itself; None: callgate decides"
    )
    # agent turns only
    end_of_turn: float | None = Field(None, ge=0, description="when the agent took the turn")
    first_byte: float | None = Field(None, ge=0, description="first byte of reply audio")
    interrupted: bool = False
    transfer: bool = Field(False, description="this reply handed the caller to a human")
    tool_calls: list[LoggedToolCall] = Field(default_factory=list, description="made before it")
    latency: dict[str, float] = Field(
        default_factory=dict, description="stage latencies in seconds (stt, llm_ttft, tts_ttfb)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> LoggedTurn:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.speaker == "agent" and (
            self.confidence is not None or self.reference is not None or self.correction
        ):
            raise ValueError("confidence, reference and correction belong to caller turns")
        if self.speaker == "caller" and (self.tool_calls or self.transfer or self.interrupted):
            raise ValueError("tool_calls, transfer and interrupted belong to agent turns")
        return self


class LoggedCost(_Model):
    kind: str = Field(min_length=1, description="asr, tts, llm, telephony, ...")
    amount: float = Field(ge=0)
    quantity: float | None = None
    unit: str | None = None
    unit_price: float | None = None
    currency: str = "USD"


class CallLog(_Model):
    """One production call."""

    schema_version: Literal[1] = CALL_LOG_SCHEMA_VERSION
    call_id: str = Field(min_length=1, description="the call's id in the log; unique per call")
    started_at: datetime = Field(description="ISO 8601; without a zone it is taken as UTC")
    release: str = Field(min_length=1, description="the agent release that answered")
    model_version: str | None = None
    suite: str = Field("production", min_length=1, description="which agent or line")
    scenario: str | None = Field(
        None, description="a label that groups calls (flow, intent): the cohort tag `scenario`"
    )
    tags: dict[str, str] = Field(default_factory=dict, description="cohort tags: accent, ...")
    duration_s: float | None = Field(None, ge=0)
    ended_by: EndReason | None = None
    transferred: bool | None = Field(None, description="None: any agent turn's transfer")
    resolved: bool | None = Field(None, description="the call's disposition, if logged")
    turns: list[LoggedTurn] = Field(default_factory=list, description="in speaking order")
    caller_audio: str | None = Field(None, description="the caller track, relative to the log")
    agent_audio: str | None = None
    costs: list[LoggedCost] = Field(default_factory=list)
    # Checked here, as a scenario's is: the evaluators read it and trust its shape.
    expect: Expectation | None = Field(
        None, description="the expected tools and outcome, in the scenario format (labelled calls)"
    )
    initial_state: dict[str, Any] = Field(default_factory=dict)
    final_state: dict[str, Any] = Field(default_factory=dict)
    engines: dict[str, str] = Field(default_factory=dict, description="asr, tts, llm, ...")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("costs")
    @classmethod
    def _one_currency(cls, costs: list[LoggedCost]) -> list[LoggedCost]:
        # The trace's cost_total adds the amounts: they must be in one currency.
        found = sorted({c.currency for c in costs})
        if len(found) > 1:
            raise ValueError(f"costs in several currencies ({', '.join(found)}): give one")
        return costs

    @field_validator("started_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_as_text(cls, value: Any) -> Any:
        # Logs write numbers and booleans as tags too ("snr_db": 10); a cohort tag is text.
        if isinstance(value, dict):
            # Only numbers and booleans: a null, list or object is no cohort and is reported.
            return {str(k): _text(v) if isinstance(v, int | float) else v for k, v in value.items()}
        return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
