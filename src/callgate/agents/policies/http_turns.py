"""A team's own dialogue service as the pipeline agent's policy, over callgate's turn protocol
(``callgate-turns/1``): callgate provides the line, VAD, ASR and TTS; the service gets text and
answers with reply text and tool calls.

``policy: {name: http, params: {url: http://127.0.0.1:9000/turn}}``. Every caller turn is one
POST of a JSON object; when the answer asks for tools, callgate runs them on the call's tool
backend and POSTs their results, until an answer asks for none. The protocol is documented in
``docs/agents.md``:

    request:  {"protocol": "callgate-turns/1", "session": str, "event": "start" | "utterance" |
               "silence" | "tool_results", "text": str, "confidence": float,
               "tools": [{"name", "description", "parameters"}]        (on "start" only),
               "tool_results": [{"id", "name", "ok", "result", "error"}] (on "tool_results")}
    answer:   {"reply": str, "tool_calls": [{"id": str, "name": str, "args": {...}}],
               "end_call": bool, "transfer": bool, "action": str, "intent": str}

An answer that breaks the protocol, an HTTP error or no answer in time fails the call with the
reason in its trace; nothing listening at the address leaves the call for a re-run.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callgate.agents.policies.http_json import post_json
from callgate.agents.policy import JSON, PolicyInput, PolicyReply, Tools
from callgate.agents.voice import AgentFailure
from callgate.errors import UsageError
from callgate.scenarios._yaml import validation_message

PROTOCOL = "callgate-turns/1"


class HTTPTurnParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    timeout_s: float = Field(30.0, gt=0.0, le=600.0)
    max_tool_rounds: int = Field(4, ge=1, le=20)
    headers: dict[str, str] = Field(default_factory=dict)
    agent_version: str = Field("", description="changes the identity when the service changes")
    # Set by the pipeline agent for every policy.
    version: str = "1.0"
    max_failures: int = 2
    cache_dir: str | None = None


class ToolCallRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = ""
    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)


class TurnAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reply: str = ""
    tool_calls: list[ToolCallRequest] = Field(default_factory=list)
    end_call: bool = False
    transfer: bool = False
    action: str = "reply"
    intent: str | None = None


class HTTPTurnPolicy:
    name = "http"

    def __init__(self, **params: Any) -> None:
        try:
            self.params = HTTPTurnParams.model_validate(params)
        except ValidationError as exc:
            raise UsageError(validation_message(exc)) from None

    def identity(self) -> str:
        p = self.params
        digest = hashlib.sha256(f"{p.url}|{p.agent_version}".encode()).hexdigest()[:12]
        return f"http/{PROTOCOL} v{p.version} {digest}"

    def start(self) -> HTTPTurnSession:
        return HTTPTurnSession(self.params)


class HTTPTurnSession:
    def __init__(self, params: HTTPTurnParams) -> None:
        self.params = params
        self.session = uuid4().hex  # only names the conversation to the service; not traced

    def respond(self, turn: PolicyInput, tools: Tools) -> PolicyReply:
        body: JSON = {"event": turn.event, "text": turn.text, "confidence": turn.confidence}
        if turn.event == "start":
            body["tools"] = [
                {"name": s.name, "description": s.description, "parameters": s.parameters}
                for s in tools.schemas()
            ]
        used_tools = False
        for round_ in range(self.params.max_tool_rounds + 1):
            answer = self._post(body)
            if not answer.tool_calls:
                break
            if round_ == self.params.max_tool_rounds:  # before running one tool too many
                raise AgentFailure(
                    f"{self.params.url} asked for tools more than "
                    f"{self.params.max_tool_rounds} times in one turn"
                )
            used_tools = True
            results = []
            for i, call in enumerate(answer.tool_calls):
                out = tools.call(call.name, dict(call.args))
                results.append(
                    {
                        "id": call.id or f"call_{i}",
                        "name": call.name,
                        "ok": out.ok,
                        "result": out.result,
                        "error": out.error,
                    }
                )
            body = {"event": "tool_results", "tool_results": results}
        action = answer.action if answer.action != "reply" or not used_tools else "execute"
        return PolicyReply(
            answer.reply,
            action="transfer" if answer.transfer else action,
            intent=answer.intent,
            end_call=answer.end_call or answer.transfer,
            transferred=answer.transfer,
        )

    def _post(self, body: JSON) -> TurnAnswer:
        p = self.params
        sent = {"protocol": PROTOCOL, "session": self.session, **body}
        raw = post_json(p.url, sent, timeout_s=p.timeout_s, headers=p.headers)
        try:
            return TurnAnswer.model_validate(raw)
        except ValidationError as exc:
            raise AgentFailure(f"{p.url} broke {PROTOCOL}: {validation_message(exc)}") from None
