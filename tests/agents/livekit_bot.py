"""A user's LiveKit agent, as callgate's tests call it: built from LiveKit's own classes only.

An ``Agent`` whose ``@function_tool`` methods reach the bank's tools through callgate's tool
handle, in an ``AgentSession`` with callgate's offline STT and TTS, Silero VAD, and a rule-based
``llm.LLM``: the reference banking dialogue policy behind LiveKit's LLM interface. The policy asks
for a tool by streaming a real ``FunctionToolCall``, so LiveKit runs the tool method itself and
calls the LLM again with the result (a ``str(dict)``), from which the policy goes on.
"""

from __future__ import annotations

import ast
import functools
import json
import queue
import threading
from dataclasses import asdict
from typing import Any

from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    Agent,
    APIConnectOptions,
    NotGivenOr,
    StopResponse,
    function_tool,
    llm,
    utils,
)
from livekit.plugins import silero

from callgate.agents.livekit.services import CallServices
from callgate.agents.policy import (
    POLICIES,
    DialoguePolicy,
    PolicyInput,
    PolicyReply,
    PolicySession,
    ToolResult,
    ToolSchema,
)

POLICY = {"version": "1.0", "training": ["intents"], "min_intent_confidence": 0.45}


def build(
    call: CallServices,
    *,
    voice: str = "joe",
    asr_model: str = "tiny.en",
    silence_s: float = 0.55,
    lexicon: dict[str, str] | None = None,
) -> tuple[Agent, dict[str, Any]]:
    """callgate's factory: the agent and its session's parts (``params`` tune them)."""
    cache = str(call.env.models_dir) if call.env.models_dir is not None else None
    return BankAgent(call), {
        "stt": call.stt("whisper", model=asr_model, beam_size=1, cpu_threads=1),
        "tts": call.tts("piper", voice=voice, lexicon=lexicon),
        "llm": PolicyLLM(_policy(cache).start(), call.tools.schemas()),
        "vad": silero.VAD.load(min_silence_duration=silence_s),
    }


@functools.cache
def _policy(cache_dir: str | None) -> DialoguePolicy:
    return POLICIES.create("banking", **POLICY, cache_dir=cache_dir)


class BankAgent(Agent):
    def __init__(self, call: CallServices) -> None:
        super().__init__(instructions="Help the caller with their bank accounts and cards.")
        self._call = call

    async def on_enter(self) -> None:
        self.session.generate_reply()

    def _use(self, tool: str, **args: Any) -> dict[str, Any]:
        given = {k: v for k, v in args.items() if v is not None}
        return asdict(self._call.tools.call(tool, given))

    @function_tool
    async def get_balance(self, account: str) -> dict[str, Any]:
        """Read the balance of one account (checking or savings)."""
        return self._use("get_balance", account=account)

    @function_tool
    async def freeze_card(self, card: str) -> dict[str, Any]:
        """Freeze a lost or stolen card (debit or credit)."""
        return self._use("freeze_card", card=card)

    @function_tool
    async def transfer_funds(
        self, amount: float, from_account: str, to_account: str
    ) -> dict[str, Any]:
        """Move money between the caller's own accounts."""
        return self._use(
            "transfer_funds", amount=amount, from_account=from_account, to_account=to_account
        )

    @function_tool
    async def dispute_charge(self, merchant: str, amount: float | None = None) -> dict[str, Any]:
        """Open a dispute on a charge, found by merchant (and amount when given)."""
        return self._use("dispute_charge", merchant=merchant, amount=amount)

    @function_tool
    async def reset_pin(self, card: str) -> dict[str, Any]:
        """Reset the PIN of a card; a new one is mailed."""
        return self._use("reset_pin", card=card)

    @function_tool
    async def transfer_to_human(self, reason: str) -> dict[str, Any]:
        """Hand the call to a human agent."""
        return self._use("transfer_to_human", reason=reason)

    @function_tool
    async def end_call(self, transferred: bool = False) -> None:
        """Hang up once the goodbye has been said."""
        self._call.end_call(transferred)
        raise StopResponse()


class PolicyLLM(llm.LLM):
    """The dialogue policy as an LLM. ``respond`` runs in a worker thread that pauses at each
    tool call until LiveKit has run the tool and asked the LLM again with its output."""

    def __init__(self, session: PolicySession, schemas: list[ToolSchema]) -> None:
        super().__init__()
        self._session = session
        self._schemas = schemas
        self._turn: _PolicyTurn | None = None

    @property
    def model(self) -> str:
        return "banking-policy"

    @property
    def provider(self) -> str:
        return "callgate-tests"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return _PolicyStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)

    def step(self, chat_ctx: llm.ChatContext) -> PolicyReply | llm.FunctionToolCall:
        """The policy's next move: a reply, or a tool it needs first."""
        items = [i for i in chat_ctx.items if i.type in ("message", "function_call_output")]
        last = items[-1] if items else None
        turn, self._turn = self._turn, None
        if (
            turn is not None
            and isinstance(last, llm.FunctionCallOutput)
            and last.call_id == turn.call_id
        ):
            move = turn.answer(_tool_result(last))
        else:
            if turn is not None:
                turn.abandon()  # the caller moved on before the tool's result came back
            turn = _PolicyTurn(self._session, _policy_input(items), self._schemas)
            move = turn.next()
        if isinstance(move, PolicyReply):
            return move
        name, args = move
        self._turn, turn.call_id = turn, utils.shortuuid("call_")
        return _tool_call(name, args, turn.call_id)


class _PolicyStream(llm.LLMStream):
    async def _run(self) -> None:
        assert isinstance(self._llm, PolicyLLM)
        move = self._llm.step(self._chat_ctx)
        text, calls = "", []
        if isinstance(move, llm.FunctionToolCall):
            calls.append(move)
        else:
            text = move.text
            if move.end_call:
                hang_up = {"transferred": move.transferred}
                calls.append(_tool_call("end_call", hang_up, utils.shortuuid("call_")))
        rid = utils.shortuuid("policy_")
        delta = llm.ChoiceDelta(role="assistant", content=text or None, tool_calls=calls)
        self._event_ch.send_nowait(llm.ChatChunk(id=rid, delta=delta))
        # Words stand in for tokens, so the session counts usage as it would for a real LLM.
        heard = sum(len((m.text_content or "").split()) for m in self._chat_ctx.messages())
        said = len(text.split()) + len(calls)
        usage = llm.CompletionUsage(
            completion_tokens=said, prompt_tokens=heard, total_tokens=heard + said
        )
        self._event_ch.send_nowait(llm.ChatChunk(id=rid, usage=usage))


class _Abandoned(Exception):
    pass


class _PolicyTurn:
    """One ``respond`` call, stepped from the event loop: each tool call is handed out and waits
    for its result."""

    def __init__(
        self, session: PolicySession, turn: PolicyInput, schemas: list[ToolSchema]
    ) -> None:
        self.call_id = ""
        self._schemas = schemas
        self._out: queue.Queue[Any] = queue.Queue()
        self._in: queue.Queue[ToolResult | None] = queue.Queue()
        threading.Thread(target=self._respond, args=(session, turn), daemon=True).start()

    def _respond(self, session: PolicySession, turn: PolicyInput) -> None:
        try:
            self._out.put(session.respond(turn, self))
        except BaseException as exc:
            self._out.put(exc)

    def schemas(self) -> list[ToolSchema]:
        return self._schemas

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        self._out.put((name, dict(args)))
        result = self._in.get()
        if result is None:
            raise _Abandoned
        return result

    def next(self) -> PolicyReply | tuple[str, dict[str, Any]]:
        move = self._out.get(timeout=60)
        if isinstance(move, BaseException):
            raise move
        return move

    def answer(self, result: ToolResult) -> PolicyReply | tuple[str, dict[str, Any]]:
        self._in.put(result)
        return self.next()

    def abandon(self) -> None:
        self._in.put(None)


def _policy_input(items: list[Any]) -> PolicyInput:
    said = [i for i in items if isinstance(i, llm.ChatMessage) and i.role in ("user", "assistant")]
    if not said:
        return PolicyInput("start")
    last = said[-1]
    if last.role == "assistant":
        return PolicyInput("silence")
    confidence = last.transcript_confidence if last.transcript_confidence is not None else 1.0
    return PolicyInput("utterance", last.text_content or "", confidence)


def _tool_result(output: llm.FunctionCallOutput) -> ToolResult:
    if output.is_error:
        return ToolResult(ok=False, error=output.output)
    return ToolResult(**ast.literal_eval(output.output))  # LiveKit hands back str(dict)


def _tool_call(name: str, args: dict[str, Any], call_id: str) -> llm.FunctionToolCall:
    return llm.FunctionToolCall(name=name, arguments=json.dumps(args), call_id=call_id)
