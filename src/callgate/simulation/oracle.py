"""The oracle replay: the same call as text only, with perfect hearing.

The scripted caller and the agent's dialogue policy and tools run exactly as in the audio call,
but the policy receives what the caller really said (confidence 1.0) instead of the ASR output,
whole utterances arrive as one turn, and there is no clock. It costs milliseconds, so every failed
call can be replayed. If the replay succeeds, the audio path (ASR, end of turn) caused the failure;
if it fails too, the policy did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callgate.agents.policy import PolicyInput, PolicySession, ToolResult, ToolSchema
from callgate.agents.voice import AGENTS, AgentFailure
from callgate.scenarios.model import Reaction, Scenario
from callgate.simulation.caller import ScriptedCaller
from callgate.variants.model import Variant

MAX_TURNS = 60


@dataclass
class OracleCall:
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {tool, args, ok}
    final_state: dict[str, Any] = field(default_factory=dict)
    transferred: bool = False
    ended_by: str = "agent_hangup"


class _RecordingTools:
    def __init__(self, backend: Any, out: OracleCall) -> None:
        self.backend = backend
        self.out = out

    def schemas(self) -> list[ToolSchema]:
        schemas: list[ToolSchema] = self.backend.schemas()
        return schemas

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        result: ToolResult = self.backend.call(name, dict(args))
        # "line": the transcript line of the agent reply this call belongs to (appended next).
        line = len(self.out.transcript)
        self.out.tool_calls.append(
            {"tool": name, "args": dict(args), "ok": result.ok, "line": line}
        )
        return result


def can_replay(variant: Variant) -> bool:
    """Whether the variant's agent kind declares text replay (else: not attributable)."""
    return AGENTS.get(variant.agent.kind).text_session is not None


def replay(
    scenario: Scenario,
    variant: Variant,
    initial_state: dict[str, Any],
    suite_reactions: list[Reaction],
    models_dir: Any = None,
    seed: int = 0,
) -> OracleCall:
    out = OracleCall()
    kind = AGENTS.get(variant.agent.kind)
    if kind.text_session is None:
        raise ValueError(f"agent kind {variant.agent.kind!r} cannot replay a call as text")
    config = kind.configure(variant.agent.config())
    text = kind.text_session(config, initial_state, models_dir, seed)
    session, backend = text.session, text.tools
    tools = _RecordingTools(backend, out)
    caller = ScriptedCaller(scenario.caller, suite_reactions)
    try:
        _converse(session, tools, caller, out)
    except AgentFailure:
        out.ended_by = "error"  # the replay failed as the call may have: no verdict either way
    out.final_state = backend.state()
    return out


def _converse(
    session: PolicySession, tools: _RecordingTools, caller: ScriptedCaller, out: OracleCall
) -> None:
    reply = session.respond(PolicyInput("start"), tools)
    out.transcript.append(("agent", reply.text))
    silences = 0
    while not reply.end_call and len(out.transcript) < MAX_TURNS:
        decision = caller.decide(reply.text)
        if decision.kind == "hangup":
            out.ended_by = "caller_hangup"
            break
        if decision.kind == "silent":
            silences += 1
            if silences > 5:
                out.ended_by = "no_input"
                break
            reply = session.respond(PolicyInput("silence"), tools)
        else:
            assert decision.utterance is not None
            if decision.utterance.backchannel:
                continue  # perfect turn-taking: an acknowledgement over the reply is not a turn
            text = decision.utterance.say
            out.transcript.append(("caller", text))
            reply = session.respond(PolicyInput("utterance", text, 1.0), tools)
        out.transcript.append(("agent", reply.text))
        out.transferred = out.transferred or reply.transferred
    else:
        if reply.end_call:
            out.ended_by = "transfer" if reply.transferred else "agent_hangup"
        else:
            out.ended_by = "max_turns"
