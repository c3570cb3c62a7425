"""A user's Pipecat bot, as callgate's ``pipecat`` agent kind calls it (a test fixture).

Built only from Pipecat's own classes: a pipeline of the transport's input, callgate's offline STT,
Pipecat's context aggregators with Silero VAD and a speech-timeout end of turn, a rule-based LLM
service, callgate's offline TTS and the transport's output. The LLM service answers with
callgate's ``banking`` dialogue policy and runs the policy's tool calls through Pipecat's
function calling: the LLM emits a function call, the registered function calls callgate's tool
backend, and the result comes back to the LLM in its context, as with a hosted LLM.

Its VAD waits for 0.5 s of silence (Pipecat's default is 0.2 s) before it calls the caller
stopped, and its end of turn 0.3 s more: the same 0.8 s as Pipecat's defaults, but a comma's pause
("No, that's all, thank you") no longer cuts an utterance into segments transcribed one by one.
With segments, the turn ended once the words before the last pause were transcribed and the end-
of-turn wait ran out, so a CPU Whisper slower than that wait (on a busy machine) ended it on "No."
or "Hi."; the rest, transcribed late, made a turn of its own and cut the bot's reply to the first.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import queue
import threading
from functools import cache
from typing import Any

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    FunctionCallFromLLM,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMRunFrame,
    LLMTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams, LLMService
from pipecat.services.settings import LLMSettings
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
    SpeechTimeoutUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from callgate.agents.pipecat.services import EngineSTTService, EngineTTSService
from callgate.agents.policy import POLICIES, DialoguePolicy, PolicyInput, PolicySession, ToolResult
from callgate.speech.engines import get_asr, get_tts


@cache
def _policy(name: str, params_json: str) -> DialoguePolicy:
    return POLICIES.create(name, **json.loads(params_json))  # trained once per process


class _PolicyTurn:
    """One policy reply, computed on a thread: the policy calls its tools synchronously, and each
    call waits there while Pipecat runs the function and hands the result back."""

    def __init__(self, session: PolicySession, turn: PolicyInput) -> None:
        self._events: queue.SimpleQueue[tuple[str, Any, Any]] = queue.SimpleQueue()
        self._results: queue.SimpleQueue[ToolResult] = queue.SimpleQueue()
        threading.Thread(target=self._run, args=(session, turn), daemon=True).start()

    def _run(self, session: PolicySession, turn: PolicyInput) -> None:
        try:
            self._events.put(("reply", session.respond(turn, self), None))
        except Exception as exc:
            self._events.put(("error", exc, None))

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:  # the policy's Tools
        self._events.put(("tool", name, args))
        return self._results.get()

    async def next(self) -> tuple[str, Any, Any]:
        return await asyncio.to_thread(self._events.get)

    def answer(self, result: ToolResult) -> None:
        self._results.put(result)


class PolicyLLM(LLMService):
    """A rule-based "LLM": the dialogue policy decides, Pipecat runs the tools."""

    def __init__(self, session: PolicySession) -> None:
        settings = LLMSettings(
            model="banking-policy",
            system_instruction=None,
            temperature=None,
            max_tokens=None,
            top_p=None,
            top_k=None,
            frequency_penalty=None,
            presence_penalty=None,
            seed=None,
            filter_incomplete_user_turns=None,
            user_turn_completion_config=None,
            use_provider_thinking_default=False,
        )
        super().__init__(settings=settings)
        self._session = session
        self._turn: _PolicyTurn | None = None
        self._waiting_for: str | None = None  # the tool call id the policy waits on
        self._ids = itertools.count(1)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self.push_frame(LLMFullResponseStartFrame())
            try:
                await self._respond(frame.context)
            finally:
                await self.push_frame(LLMFullResponseEndFrame())
        else:
            await self.push_frame(frame, direction)

    async def _respond(self, context: LLMContext) -> None:
        messages = [m for m in context.get_messages() if isinstance(m, dict)]
        last = messages[-1] if messages else {}
        if self._turn is not None and self._waiting_for is not None:
            if last.get("role") == "tool" and last.get("tool_call_id") == self._waiting_for:
                self._turn.answer(_tool_result(last.get("content")))
            else:  # the caller moved on: let the abandoned reply finish, and drop it
                self._turn.answer(ToolResult(ok=False, error="interrupted"))
                while (await self._turn.next())[0] == "tool":
                    self._turn.answer(ToolResult(ok=False, error="interrupted"))
                self._turn = None
            self._waiting_for = None
        if self._turn is None:
            self._turn = _PolicyTurn(self._session, _policy_input(last))
        kind, value, args = await self._turn.next()
        if kind == "tool":
            self._waiting_for = f"call_{next(self._ids)}"
            call = FunctionCallFromLLM(
                function_name=value, tool_call_id=self._waiting_for, arguments=args, context=context
            )
            await self.run_function_calls([call])
            return
        self._turn = None
        if kind == "error":
            await self.push_error(f"the dialogue policy failed: {value}", exception=value)
            return
        if value.text:
            await self.push_frame(LLMTextFrame(value.text))
        if value.end_call:
            await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)


def _policy_input(message: dict[str, Any]) -> PolicyInput:
    if message.get("role") != "user":
        return PolicyInput("start")
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return PolicyInput("utterance", str(content or ""))


def _tool_result(content: Any) -> ToolResult:
    data = json.loads(content) if isinstance(content, str) else content
    if not isinstance(data, dict):
        return ToolResult(ok=False, error=f"unreadable tool result {content!r}")
    return ToolResult(
        ok=bool(data.get("ok")), result=data.get("result") or {}, error=data.get("error")
    )


def create_bot(
    transport: Any,
    tools: Any,
    *,
    policy: str = "banking",
    policy_params: dict[str, Any] | None = None,
    asr: str = "whisper",
    asr_params: dict[str, Any] | None = None,
    tts: str = "piper",
    voice: str = "joe",
    vad_stop_secs: float = 0.5,
    user_speech_timeout: float | None = 0.3,
) -> PipelineWorker:
    """The factory callgate calls: ``pipeline: tests/agents/pipecat_bot.py:create_bot``."""
    stt = EngineSTTService(get_asr(asr, **(asr_params or {})))
    speech = EngineTTSService(get_tts(tts), voice=voice)
    session = _policy(policy, json.dumps(policy_params or {}, sort_keys=True)).start()
    llm = PolicyLLM(session)

    async def run_tool(params: FunctionCallParams) -> None:
        result = tools.call(params.function_name, dict(params.arguments))
        await params.result_callback(
            {"ok": result.ok, "result": result.result, "error": result.error}
        )

    schemas = []
    for schema in tools.schemas():
        llm.register_function(schema.name, run_tool)
        props = schema.parameters.get("properties", {})
        required = list(schema.parameters.get("required", []))
        schemas.append(FunctionSchema(schema.name, schema.description, props, required))
    context = LLMContext(tools=ToolsSchema(standard_tools=schemas))
    # None: Pipecat's default end of turn (the smart-turn model, with its silence fallback).
    stop = None
    if user_speech_timeout is not None:
        stop = [SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=user_speech_timeout)]
    turns = UserTurnStrategies(stop=stop)
    user, assistant = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=vad_stop_secs)),
            user_turn_strategies=turns,
        ),
    )
    pipeline = Pipeline([transport.input(), stt, user, llm, speech, transport.output(), assistant])
    worker = PipelineWorker(pipeline, params=PipelineParams(), enable_rtvi=False)

    @transport.event_handler("on_client_connected")
    async def greet(transport: Any, client: Any) -> None:
        await worker.queue_frames([LLMRunFrame()])

    return worker
