"""The call-trace format: the evidence every call leaves, simulated or imported from production."""

from callgate.traces.model import (
    SCHEMA_VERSION,
    AgentTurnTrace,
    AudioRef,
    CallerUtteranceTrace,
    CallTrace,
    CostItem,
    Event,
    LineTrace,
    ToolCallTrace,
)

__all__ = [
    "SCHEMA_VERSION",
    "AgentTurnTrace",
    "AudioRef",
    "CallTrace",
    "CallerUtteranceTrace",
    "CostItem",
    "Event",
    "LineTrace",
    "ToolCallTrace",
]
