"""LiveKit session reports, as LiveKit itself writes them, ingested as production calls.

The reports come from real ``AgentSession`` runs (a voice session with audio in and out, no room,
no server): a streaming STT that "hears" scripted lines with a confidence, a silent TTS, a
rule-based LLM that streams a real ``FunctionToolCall``, and an ``@function_tool`` LiveKit runs
itself. The report is LiveKit's own ``SessionReport.to_dict()``, saved as users save it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("livekit.agents")

from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    Agent,
    AgentSession,
    APIConnectOptions,
    NotGivenOr,
    function_tool,
    llm,
    stt,
    tts,
    utils,
)
from livekit.agents.voice import io
from livekit.agents.voice.events import ConversationItemAddedEvent
from livekit.agents.voice.report import SessionReport

from callgate.production.ingest.batch import ingest
from callgate.production.ingest.formats import reader_for
from callgate.production.ingest.livekit_report import LiveKitReport
from callgate.store.db import Store

RATE = 16000
BALANCE = "what's my checking balance"
BYE = "thanks that's all"


# -- a user's LiveKit agent, built from LiveKit's own classes ------------------------------------


class HeardSTT(stt.STT):
    """A streaming STT that hears the lines the test says, each after ``speech_s`` of speech."""

    def __init__(self) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self.lines: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        raise NotImplementedError

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        return _Hearing(stt=self, conn_options=conn_options)


class _Hearing(stt.RecognizeStream):
    async def _run(self) -> None:
        assert isinstance(self._stt, HeardSTT)
        drain = asyncio.create_task(self._drain())  # the line's audio is not listened to
        try:
            while True:
                text, confidence = await self._stt.lines.get()
                self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.START_OF_SPEECH))
                await asyncio.sleep(0.4)  # the caller speaking
                heard = stt.SpeechData(language="en", text=text, confidence=confidence)
                final = stt.SpeechEvent(stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives=[heard])
                self._event_ch.send_nowait(final)
                self._event_ch.send_nowait(stt.SpeechEvent(stt.SpeechEventType.END_OF_SPEECH))
        finally:
            drain.cancel()

    async def _drain(self) -> None:
        async for _ in self._input_ch:
            pass


class SilentTTS(tts.TTS):
    def __init__(self) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False), sample_rate=RATE, num_channels=1
        )

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _Silence(tts=self, input_text=text, conn_options=conn_options)


class _Silence(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid("tts_"),
            sample_rate=RATE,
            num_channels=1,
            mime_type="audio/pcm",
        )
        output_emitter.push(bytes(2 * int(RATE * 0.04 * len(self.input_text.split()))))
        output_emitter.flush()


class RuleLLM(llm.LLM):
    """Greets; asked for a balance, says it will check and calls ``get_balance``; answers from
    the tool's output; otherwise says goodbye."""

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
        return _Rules(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)


class _Rules(llm.LLMStream):
    async def _run(self) -> None:
        said = [i for i in self._chat_ctx.items if i.type in ("message", "function_call_output")]
        last = said[-1] if said else None
        text, calls = "Hello, how can I help?", []
        if isinstance(last, llm.FunctionCallOutput):
            text = "Your checking balance is 120 dollars."
        elif isinstance(last, llm.ChatMessage) and last.role == "user":
            if "balance" in (last.text_content or ""):
                args = json.dumps({"account": "checking"})
                calls = [llm.FunctionToolCall(name="get_balance", arguments=args, call_id="c1")]
                text = "Let me check that."
            else:
                text = "Glad to help. Goodbye."
        delta = llm.ChoiceDelta(role="assistant", content=text, tool_calls=calls)
        self._event_ch.send_nowait(llm.ChatChunk(id=utils.shortuuid("r_"), delta=delta))


class Bank(Agent):
    def __init__(self) -> None:
        super().__init__(instructions="Help the caller with their accounts.")

    async def on_enter(self) -> None:
        self.session.generate_reply()

    @function_tool
    async def get_balance(self, account: str) -> dict[str, Any]:
        """Read the balance of one account."""
        return {"account": account, "balance": 120.0}


class Line(io.AudioInput):
    """The caller's microphone: silence, in real time."""

    def __init__(self) -> None:
        super().__init__(label="line")

    async def __anext__(self) -> rtc.AudioFrame:
        await asyncio.sleep(0.02)
        return rtc.AudioFrame(bytes(640), RATE, 1, 320)


class Speaker(io.AudioOutput):
    """The caller's earpiece: a reply plays from its first frame for as long as its audio."""

    def __init__(self) -> None:
        super().__init__(
            label="speaker", capabilities=io.AudioOutputCapabilities(pause=False), sample_rate=RATE
        )
        self._playing: float | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._playing is None:
            self._playing = 0.0
            self.on_playback_started(created_at=time.time())
        self._playing += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._playing is not None:
            played, self._playing = self._playing, None
            finish = lambda: self.on_playback_finished(playback_position=played, interrupted=False)  # noqa: E731
            asyncio.get_running_loop().call_later(played, finish)

    def clear_buffer(self) -> None:
        pass


async def _run_session(lines: list[str], *, job_id: str, tags: list[str]) -> dict[str, Any]:
    """One voice session in which the caller says ``lines`` (confidence 0.83 each), as the
    report LiveKit would hand a shutdown callback."""
    heard = HeardSTT()
    session: AgentSession = AgentSession(
        stt=heard,
        llm=RuleLLM(),
        tts=SilentTTS(),
        turn_handling={
            "turn_detection": "stt",
            "endpointing": {"mode": "fixed", "min_delay": 0.0, "max_delay": 0.0},
            "interruption": {"enabled": False, "resume_false_interruption": False},
            "preemptive_generation": {"enabled": False},
        },
        user_away_timeout=None,
        aec_warmup_duration=None,
        session_close_transcript_timeout=0.0,
    )
    replies: asyncio.Queue[str] = asyncio.Queue()

    def added(ev: ConversationItemAddedEvent) -> None:
        if isinstance(ev.item, llm.ChatMessage) and ev.item.role == "assistant":
            replies.put_nowait(ev.item.text_content or "")

    session.on("conversation_item_added", added)
    session.input.audio = Line()
    session.output.audio = Speaker()
    await session.start(Bank())
    await asyncio.wait_for(replies.get(), 10)  # the greeting has played
    for line in lines:
        await heard.lines.put((line, 0.83))
        while not (await asyncio.wait_for(replies.get(), 10)).startswith(("Your", "Glad")):
            pass
    await session.aclose()
    # What JobContext.make_session_report() builds at the end of a job (there is no job here).
    report = SessionReport(
        job_id=job_id,
        room_id="RM_test",
        room="test-room",
        options=session.options,
        events=session._recorded_events,
        chat_history=session.history.copy(),
        started_at=session._started_at,
        model_usage=session.usage.model_usage,
        agent_name="bank",
        tags=sorted(tags),
    )
    report.duration = report.timestamp - (report.started_at or report.timestamp)
    return report.to_dict()


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    """Two calls: a balance enquiry with a tool call, and a short goodbye."""

    async def both() -> list[dict[str, Any]]:
        first = await _run_session(
            [BALANCE, BYE], job_id="job-balance", tags=["channel:phone", "lk.success"]
        )
        second = await _run_session([BYE], job_id="job-bye", tags=["channel:app"])
        return [first, second]

    made = asyncio.run(both())
    for report in made:
        report["callgate"] = {"release": "v7", "tags": {"accent": "scottish"}}
    return made


def _messages(report: dict[str, Any], role: str) -> list[dict[str, Any]]:
    items = report["chat_history"]["items"]
    return [i for i in items if i["type"] == "message" and i["role"] == role]


# -- reading ------------------------------------------------------------------------------------


def test_a_saved_report_arrives_with_its_turns_tools_and_time_to_first_audio(
    reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    report = reports[0]
    log = tmp_path / "session_report.json"
    log.write_text(json.dumps(report, indent=2))  # as LiveKit's console recording saves it
    store = Store.open(tmp_path / "store")

    out = ingest(store, [log], fmt="livekit")

    assert out.problems == [] and out.added == 1 and out.run_id is not None
    (call,) = store.calls(out.run_id)
    assert call.variant == "v7" and call.imported is not None
    assert call.imported.format == "livekit" and call.imported.log_call_id == "job-balance"
    assert call.cohort == {"accent": "scottish", "channel": "phone"}
    assert call.imported.resolved is True  # the tagger's lk.success
    assert [u.text for u in call.caller_turns] == [BALANCE, BYE]
    # What it said while the tool ran and the answer from its result are one reply.
    assert [a.reply_text for a in call.agent_turns] == [
        "Hello, how can I help?",
        "Let me check that. Your checking balance is 120 dollars.",
        "Glad to help. Goodbye.",
    ]
    assert [a.trigger for a in call.agent_turns] == ["start", "utterance", "utterance"]
    assert call.agent_turns[1].asr is not None and call.agent_turns[1].asr.confidence == 0.83
    (tool,) = call.tool_calls
    assert (tool.tool, tool.args, tool.ok) == ("get_balance", {"account": "checking"}, True)
    assert tool.result == {"account": "checking", "balance": 120.0}  # from LiveKit's str(dict)
    assert call.agent_turns[1].tool_calls == [tool.index]
    reply = call.agent_turns[1]
    assert reply.heard_end is not None and reply.playback_end is not None
    assert reply.heard_end < tool.start < tool.end < reply.playback_end  # called within the reply
    assert set(call.agent_turns[1].measured) >= {"e2e_s", "llm_ttft_s", "tts_ttfb_s", "stt_s"}

    # Time to first audio is LiveKit's own e2e latency of each answer, on the call's clock.
    said = _messages(report, "assistant")
    answers = [m["metrics"]["e2e_latency"] for m in said if "e2e_latency" in m["metrics"]]
    assert len(answers) == 2
    (row,) = store.call_rows(out.run_id)
    assert sorted(row.ttfa) == pytest.approx(sorted(answers), abs=1e-5)
    assert row.metrics["ttfa_p50_s"] is not None and row.metrics["ttfa_p50_s"] > 0
    user = _messages(report, "user")[0]["metrics"]
    assert call.caller_turns[0].end - call.caller_turns[0].start == pytest.approx(
        user["stopped_speaking_at"] - user["started_speaking_at"], abs=1e-5
    )


def test_json_lines_hold_one_call_per_report_and_ingesting_twice_adds_nothing(
    reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    log = tmp_path / "reports.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in reports))
    store = Store.open(tmp_path / "store")

    first = ingest(store, [log], fmt="livekit")
    again = ingest(store, [log], fmt="livekit")

    assert first.problems == [] and first.added == 2 and first.releases == {"v7": 2}
    assert first.run_id is not None
    lines = sorted((c.imported.log_call_id, c.imported.line) for c in store.calls(first.run_id))
    assert lines == [("job-balance", 1), ("job-bye", 2)]
    assert (again.added, again.known, again.run_id) == (0, 2, None)


def test_a_malformed_item_is_reported_with_its_line_and_names_the_item(
    reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    bad = json.loads(json.dumps(reports[0]))
    (call,) = [i for i in bad["chat_history"]["items"] if i["type"] == "function_call"]
    call["arguments"] = "{account: checking"
    where = bad["chat_history"]["items"].index(call)
    log = tmp_path / "reports.jsonl"
    log.write_text(json.dumps(reports[1]) + "\n\n" + json.dumps(bad) + "\n")
    store = Store.open(tmp_path / "store")

    out = ingest(store, [log], fmt="livekit", on_error="skip")

    (problem,) = out.problems
    assert problem.line == 3
    assert problem.message.startswith(f"chat_history.items[{where}] (function_call ")
    assert "arguments: not JSON" in problem.message
    assert out.added == 1  # the other report still arrives


def test_failed_tools_and_a_hang_up_after_the_last_reply_are_kept(
    reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    failed = json.loads(json.dumps(reports[0]))
    (output,) = [i for i in failed["chat_history"]["items"] if i["type"] == "function_call_output"]
    output.update(is_error=True, output="core banking is down")
    bye = json.loads(json.dumps(reports[1]))
    items = bye["chat_history"]["items"]
    at = items[-1]["created_at"]
    items += [  # the agent hangs up after its goodbye: LiveKit's items for an end_call tool
        {"id": "i1", "type": "function_call", "call_id": "c9", "name": "end_call",
         "arguments": "{}", "created_at": at + 0.1},
        {"id": "i2", "type": "function_call_output", "name": "end_call", "call_id": "c9",
         "output": "", "is_error": False, "created_at": at + 0.2},
    ]  # fmt: skip
    log = tmp_path / "reports.jsonl"
    log.write_text(json.dumps(failed) + "\n" + json.dumps(bye) + "\n")

    first, second = (e.log for e in LiveKitReport().read(log))
    assert first is not None and second is not None
    (tool,) = [c for t in first.turns for c in t.tool_calls]
    assert (tool.ok, tool.error) == (False, "core banking is down")
    assert [t.speaker for t in second.turns] == ["agent", "caller", "agent"]
    assert [c.tool for c in second.turns[-1].tool_calls] == ["end_call"]

    del items[-2]  # an output whose call is missing is a broken report, not a call
    log.write_text(json.dumps(bye) + "\n")
    (entry,) = LiveKitReport().read(log)
    assert entry.problem is not None and entry.line == 1
    assert entry.problem.startswith(
        f"chat_history.items[{len(items) - 1}] (function_call_output i2)"
    )


def test_a_report_without_a_release_says_where_to_set_it(
    reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    bare = {k: v for k, v in reports[1].items() if k != "callgate"}
    log = tmp_path / "report.json"
    log.write_text(json.dumps(bare, indent=2))

    (entry,) = LiveKitReport().read(log)
    assert entry.log is None and entry.line == 1
    assert entry.problem is not None and entry.problem.startswith("release: missing")
    assert '"callgate": {"release"' in entry.problem

    bare["tags"] = ["release:v8", "channel:app"]  # ctx.tagger.add("release:v8") also sets it
    log.write_text(json.dumps(bare, indent=2))
    (entry,) = LiveKitReport().read(log)
    assert entry.log is not None and entry.log.release == "v8"
    assert entry.log.tags == {"channel": "app"}


def test_a_timestamp_no_date_can_hold_is_a_problem(
    reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    log = tmp_path / "report.json"
    log.write_text(json.dumps({**reports[1], "timestamp": 1.7e15}))  # microseconds
    (entry,) = LiveKitReport().read(log)
    assert entry.log is None and entry.problem is not None
    assert entry.problem.startswith("timestamp: not a time in seconds since 1970")


def test_broken_json_is_reported_at_its_line(tmp_path: Path) -> None:
    log = tmp_path / "report.json"
    log.write_text('{\n  "job_id": "j",\n  "room_id": "r",\n  "events": [,]\n}\n')
    (entry,) = LiveKitReport().read(log)
    assert entry.line == 4 and entry.problem is not None and entry.problem.startswith("not JSON")


def test_sniff_claims_session_reports_only(reports: list[dict[str, Any]], tmp_path: Path) -> None:
    pretty = tmp_path / "session_report.json"
    pretty.write_text(json.dumps(reports[0], indent=2))
    assert reader_for(pretty, "auto").name == "livekit"

    sniff = LiveKitReport().sniff
    assert sniff(pretty, json.dumps(reports[0]) + "\n")  # JSON Lines
    assert sniff(pretty, json.dumps(reports[0], sort_keys=True, indent=1)[:65536])
    otlp = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": []}]}
    assert not sniff(pretty, json.dumps(otlp, indent=2))
    assert not sniff(pretty, json.dumps(otlp))
    own = {
        "call_id": "c1",
        "started_at": "2026-12-01T10:00:00Z",
        "release": "v1",
        "turns": [],
        "metadata": {"job_id": "j", "room_id": "r"},
    }
    assert not sniff(pretty, json.dumps(own) + "\n")
    assert not sniff(pretty, json.dumps(own, indent=2))


def test_auto_picks_livekit_for_json_lines_of_reports(
    reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    # A report line holds "release" (callgate.release) and a tool's "call_id" nested: callgate's
    # own JSONL reader must not claim it.
    lines = tmp_path / "reports.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in reports))
    assert reader_for(lines, "auto").name == "livekit"
