"""Collects a call's events, agent turns and tool calls while the call runs."""

from __future__ import annotations

from typing import Any

from callgate.traces.model import AgentTurnTrace, Event, EventKind, ToolCallTrace


class CallRecorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.agent_turns: list[AgentTurnTrace] = []
        self.tool_calls: list[ToolCallTrace] = []

    def event(self, t: float, kind: EventKind, turn: int | None = None, **data: Any) -> None:
        self.events.append(Event(t=round(t, 6), kind=kind, turn=turn, data=data))

    def next_turn_index(self) -> int:
        return len(self.agent_turns)

    def add_turn(self, turn: AgentTurnTrace) -> AgentTurnTrace:
        self.agent_turns.append(turn)
        return turn

    def add_tool_call(self, call: ToolCallTrace) -> ToolCallTrace:
        self.tool_calls.append(call)
        return call

    def sorted_events(self) -> list[Event]:
        # Stable sort: events at the same instant keep the order they happened in.
        return sorted(self.events, key=lambda e: e.t)
