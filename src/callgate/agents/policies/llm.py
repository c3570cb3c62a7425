"""An LLM as the pipeline agent's dialogue policy, through any OpenAI-compatible chat-completions
endpoint with tool calling (llama.cpp's server, vLLM, Ollama, or a hosted one).

``policy: {name: llm, params: {base_url: ..., model: ..., system_prompt: ...}}``. Each caller turn
is a user message; the model's tool calls run on the call's tool backend (recorded and timed like
any policy's) and their results go back to the model until it answers in words. Two tools of its
own let it end the call or hand the caller to a human.

Reproducible and free to rerun: every request carries a seed (the call's own by default, so
repeats of a scenario sample differently), and every answer is cached under the hash of the whole
request, so a rerun sends nothing and gets the same replies. Token usage is priced into the
call's cost from the ``prices`` given here, cached or not: the trace says what the call costs.

A model that answers with a malformed tool call (arguments that are not a JSON object, a call
without a name) fails that call, with the reason in the trace; the run goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callgate.agents.policies.http_json import post_json
from callgate.agents.policy import JSON, PolicyInput, PolicyReply, Tools, ToolSchema
from callgate.agents.voice import AgentFailure
from callgate.errors import UsageError
from callgate.files import atomic_write
from callgate.scenarios._yaml import validation_message
from callgate.traces.model import CostItem

END_CALL = "end_call"
TRANSFER = "handoff_to_human"
_CALL_CONTROL = [
    ToolSchema(END_CALL, "End the call once the caller has nothing more to ask.", {
        "type": "object", "properties": {}
    }),
    ToolSchema(TRANSFER, "Hand the caller to a human agent.", {
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "why, in a few words"}},
    }),
]  # fmt: skip

DEFAULT_PROMPT = (
    "You are a phone agent. Answer in one or two short spoken sentences. Use the tools to do "
    "what the caller asks; confirm what you did. When the caller has nothing more, call end_call."
)


class Prices(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_million: float = Field(0.0, ge=0.0, description="price of a million prompt tokens")
    output_per_million: float = Field(0.0, ge=0.0)
    currency: str = "USD"


class LLMParams(BaseModel):
    """``policy.params`` of ``policy: {name: llm}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(
        pattern=r"^https?://", description="up to /v1, e.g. http://127.0.0.1:8080/v1"
    )
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(None, description="environment variable holding the key")
    system_prompt: str = DEFAULT_PROMPT
    greeting: str | None = Field(
        "Hello, how can I help you today?", description="said without a request; null: ask"
    )
    silence_text: str = Field("(the caller says nothing)", description="the user turn for silence")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens: int = Field(256, ge=1, le=32_768)
    seed: int | Literal["call"] = Field("call", description="'call': each call's own seed")
    tool_choice: Literal["auto", "required", "none"] = "auto"
    call_control: bool = Field(True, description=f"offer the model {END_CALL} and {TRANSFER}")
    max_tool_rounds: int = Field(4, ge=1, le=20)
    timeout_s: float = Field(60.0, gt=0.0, le=600.0)
    cache: bool = True
    prices: Prices = Prices()
    # Set by the pipeline agent for every policy.
    version: str = "1.0"
    max_failures: int = 2
    cache_dir: str | None = None


class LLMPolicy:
    name = "llm"

    def __init__(self, **params: Any) -> None:
        try:
            self.params = LLMParams.model_validate(params)
        except ValidationError as exc:
            raise UsageError(validation_message(exc)) from None
        p = self.params
        self.url = p.base_url.rstrip("/") + "/chat/completions"
        self.cache_dir = Path(p.cache_dir) / "llm" if p.cache and p.cache_dir else None

    def identity(self) -> str:
        # Everything a reply depends on but the tools (the pipeline names the tool set) and the
        # endpoint's address (the same model moved to another host answers the same).
        p = self.params
        keys = p.model_dump(exclude={"base_url", "api_key_env", "cache", "cache_dir", "prices"})
        digest = hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:12]
        return f"llm/{p.model} v{p.version} {digest}"

    def start(self) -> LLMSession:
        return LLMSession(self, self.params.seed if isinstance(self.params.seed, int) else 0)

    def start_seeded(self, seed: int) -> LLMSession:
        fixed = self.params.seed
        return LLMSession(self, fixed if isinstance(fixed, int) else seed % 2**31)

    def complete(self, body: JSON) -> JSON:
        """The endpoint's answer to ``body``, from the cache when this exact request was sent."""
        # The endpoint and the policy's version are in the key: two servers answering to the same
        # model name, or new weights behind a bumped version, are different answers.
        keyed = {"endpoint": self.url, "version": self.params.version, "request": body}
        key = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()
        path = self.cache_dir / key[:2] / f"{key}.json" if self.cache_dir else None
        if path is not None and path.exists():
            cached: JSON = json.loads(path.read_text(encoding="utf-8"))
            return cached
        headers = {}
        if self.params.api_key_env:
            headers["Authorization"] = f"Bearer {os.environ.get(self.params.api_key_env, '')}"
        answer = post_json(self.url, body, timeout_s=self.params.timeout_s, headers=headers)
        _message(answer, self.url)  # only a well-formed answer is worth keeping
        if path is not None:
            atomic_write(path, json.dumps(answer, sort_keys=True))
        return answer


class LLMSession:
    def __init__(self, policy: LLMPolicy, seed: int) -> None:
        self.policy = policy
        self.seed = seed
        self.messages: list[JSON] = [{"role": "system", "content": policy.params.system_prompt}]
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def respond(self, turn: PolicyInput, tools: Tools) -> PolicyReply:
        p = self.policy.params
        if turn.event == "start" and p.greeting is not None:
            self.messages.append({"role": "assistant", "content": p.greeting})
            return PolicyReply(p.greeting, action="greet")
        if turn.event == "start":
            self.messages.append({"role": "user", "content": "(the call connects)"})
        elif turn.event == "silence":
            self.messages.append({"role": "user", "content": p.silence_text})
        else:
            self.messages.append({"role": "user", "content": turn.text})
        domain = tools.schemas()
        names = {s.name for s in domain}
        # The domain's own tool of the same name wins: the model sees each name once.
        control = [c for c in _CALL_CONTROL if p.call_control and c.name not in names]
        offered = _openai_tools([*domain, *control])
        end = transferred = used_tools = False
        for round_ in range(p.max_tool_rounds + 1):
            # The last round may not call tools: the model has to say something.
            choice = "none" if round_ == p.max_tool_rounds else p.tool_choice
            message = self._ask(offered, choice)
            calls = message.get("tool_calls") or []
            if not calls:
                break
            parsed = [_parse_call(c, f"call_{len(self.messages)}_{i}") for i, c in enumerate(calls)]
            self.messages.append(_assistant(message, parsed))
            for call_id, name, args in parsed:
                result: JSON
                if name == END_CALL and name not in names:
                    end, result = True, {"ok": True}
                elif name == TRANSFER and name not in names:
                    end = transferred = True
                    result = {"ok": True, "transferred": True}
                else:
                    used_tools = True
                    out = tools.call(name, args)
                    result = {"ok": out.ok, "result": out.result, "error": out.error}
                self.messages.append(
                    {"role": "tool", "tool_call_id": call_id, "content": json.dumps(result)}
                )
            if end and not calls_need_answer(message):
                break
        text = _content(message)
        self.messages.append({"role": "assistant", "content": text})
        action = "execute" if used_tools else "reply"
        action = "transfer" if transferred else "goodbye" if end else action
        return PolicyReply(text, action=action, end_call=end, transferred=transferred)

    def costs(self) -> list[CostItem]:
        prices = self.policy.params.prices
        lines = [
            ("llm_input", self.prompt_tokens, prices.input_per_million / 1e6),
            ("llm_output", self.completion_tokens, prices.output_per_million / 1e6),
        ]
        return [
            CostItem(
                kind=kind,
                quantity=float(n),
                unit="token",
                unit_price=price,
                amount=round(n * price, 8),
                currency=prices.currency,
            )
            for kind, n, price in lines
        ]

    def _ask(self, offered: list[JSON], choice: str) -> JSON:
        p = self.policy.params
        body: JSON = {
            "model": p.model,
            "messages": self.messages,
            "temperature": p.temperature,
            "max_tokens": p.max_tokens,
            "seed": self.seed,
        }
        if p.top_p is not None:
            body["top_p"] = p.top_p
        if offered and choice != "none":
            body["tools"], body["tool_choice"] = offered, choice
        answer = self.policy.complete(body)
        usage = answer.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        self.prompt_tokens += _count(usage.get("prompt_tokens"))
        self.completion_tokens += _count(usage.get("completion_tokens"))
        return _message(answer, self.policy.url)


def calls_need_answer(message: JSON) -> bool:
    """After end_call, a model that already said its goodbye in the same message is done."""
    return not _content(message)


def _openai_tools(schemas: list[ToolSchema]) -> list[JSON]:
    return [
        {
            "type": "function",
            "function": {
                "name": s.name,
                "description": s.description,
                "parameters": {"type": "object", **s.parameters},
            },
        }
        for s in schemas
    ]


def _message(answer: JSON, url: str) -> JSON:
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise AgentFailure(f"{url} answered without choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise AgentFailure(f"{url} answered without a message")
    return message


def _parse_call(call: Any, fallback_id: str) -> tuple[str, str, JSON]:
    function = call.get("function") if isinstance(call, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str) or not name:
        raise AgentFailure(f"the model sent a malformed tool call (no name): {call!r:.120}")
    raw = function.get("arguments", "{}") if isinstance(function, dict) else "{}"
    try:
        args = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise AgentFailure(
            f"the model sent a malformed tool call: {name} arguments are not a JSON object: "
            f"{raw!r:.120}"
        )
    given = call.get("id")
    return (given if isinstance(given, str) and given else fallback_id), name, args


def _assistant(message: JSON, calls: list[tuple[str, str, JSON]]) -> JSON:
    """The model's tool-calling message as it goes back into the history: ids filled in, so each
    tool result names the call it answers."""
    return {
        "role": "assistant",
        # "" rather than null: OpenAI takes both, llama.cpp's server only a string.
        "content": _content(message),
        "tool_calls": [
            {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for i, n, a in calls
        ],
    }


def _content(message: JSON) -> str:
    content = message.get("content")
    return content.strip() if isinstance(content, str) else ""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
