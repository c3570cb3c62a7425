"""callgate's own voice agent: VAD -> end of turn -> ASR -> dialogue policy -> tools -> TTS.

Every stage is a real engine chosen by the variant; every stage also advances the virtual clock by a
seeded latency, so timing metrics reflect the variant's settings while the run stays reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from callgate.agents.end_of_turn import EndOfTurn, TurnEnd, listen
from callgate.agents.env import CallEnv
from callgate.agents.faults import FaultPlan, take_fault, with_faults
from callgate.agents.latency import LatencySampler
from callgate.agents.pipeline_config import PipelineConfig
from callgate.agents.pipeline_faults import Stages, fallback_engines
from callgate.agents.policy import (
    POLICIES,
    TOOLSETS,
    PolicyInput,
    PolicyReply,
    PolicySession,
    ReportsUsage,
    SeedsCalls,
    ToolBackend,
    ToolResult,
    ToolSchema,
)
from callgate.agents.voice import (
    AgentCall,
    AgentFailure,
    AgentKind,
    CallSetup,
    LineAudio,
    Reply,
    TextSession,
    silent_line,
)
from callgate.speech.audio import Audio, speech_extent
from callgate.speech.engines import get_asr, get_tts, get_vad
from callgate.speech.protocols import ASREngine, ASRHints
from callgate.speech.respell import respell_for_tts
from callgate.speech.turn_model import smart_turn
from callgate.traces.model import AgentTurnTrace, ASRTrace, CostItem, PolicyTrace, ToolCallTrace
from callgate.traces.recorder import CallRecorder

ASR_PAD_S = 0.15  # audio kept around a detected segment, as streaming ASR front ends do


class PipelineAgent:
    kind = "pipeline"

    def __init__(self, config: PipelineConfig, env: CallEnv) -> None:
        self.config = config
        self.env = env
        self.tts = get_tts(config.tts.engine, **config.tts.params)
        self.vad = get_vad(config.vad.engine, **config.vad.params)
        self.turn_model = smart_turn() if config.turn.detector == "smart-turn" else None
        self._routes: dict[int | None, _Routed] = {}
        own = self.routed({})[1]  # no metadata: the variant's own ASR and policy
        self.asr, self.hints, self.policy = own.asr, own.hints, own.policy

    def routed(self, metadata: dict[str, Any]) -> tuple[int | None, _Routed]:
        """The route a call with this line metadata takes, and its ASR and policy (built once per
        route: a route changes only those)."""
        index, config = self.config.routed(metadata)
        if index not in self._routes:
            self._routes[index] = _Routed(
                config,
                get_asr(config.asr.engine, **config.asr.params),
                ASRHints(tuple(config.asr.hints.vocabulary), config.asr.hints.prompt),
                POLICIES.create(config.policy.name, **policy_params(config, self.env.models_dir)),
            )
        return index, self._routes[index]

    def engines(self) -> dict[str, str]:
        v = self.config
        engines = {
            "asr": f"{self.asr.identity()} hints={self.hints.key()}",
            "tts": f"{self.tts.identity()} voice={v.tts.voice} rate={v.tts.rate}",
            "vad": self.vad.identity(),
            "end_of_turn": self._end_of_turn_identity(),
            "policy": self.policy.identity(),
            "tools": f"{self.config.tools.toolset}/{self.config.tools.schema_version}",
        }
        engines.update(fallback_engines(v))
        for i, route in enumerate(v.routes):
            engines[f"route{i}"] = route.model_dump_json(exclude_defaults=True)
        return engines

    def _end_of_turn_identity(self) -> str:
        turn = self.config.turn
        out = f"{turn.detector} wait={turn.end_of_turn_silence_ms}ms tail={turn.max_tail_s}s"
        if self.turn_model is not None:
            out += f" {self.turn_model.identity()} at {turn.model_wait_ms}ms"
            out += f" p>={turn.model_threshold}"
        return out

    def open_call(self, setup: CallSetup, recorder: CallRecorder) -> AgentCall:
        tools = TOOLSETS.create(
            self.config.tools.toolset,
            initial_state=setup.initial_state,
            **self.config.tools.params,
        )
        tools = with_faults(tools, setup.faults)
        rng = np.random.default_rng([setup.seed, 0xA6E7])
        _, routed = self.routed(setup.context)
        policy = routed.policy
        session = (
            policy.start_seeded(setup.seed) if isinstance(policy, SeedsCalls) else policy.start()
        )
        call = _PipelineCall(
            self, routed, session, tools, recorder, LatencySampler(rng), setup.faults, setup.seed
        )
        call.line = setup.line
        return call


@dataclass(frozen=True)
class _Routed:
    """What a route changes: the configuration calls run with, their ASR and policy."""

    config: PipelineConfig
    asr: ASREngine
    hints: ASRHints
    policy: Any


def policy_params(config: PipelineConfig, models_dir: Path | None) -> dict[str, Any]:
    """The policy's constructor parameters: its own, plus the variant's routing settings."""
    params: dict[str, Any] = {"version": config.policy.version}
    params["max_failures"] = config.routing.transfer_after_failures
    params.update(config.policy.params)
    if models_dir is not None:
        params.setdefault("cache_dir", str(models_dir))
    return params


class _TimedTools:
    """The tools as the policy sees them: each call is recorded and advances the virtual clock."""

    def __init__(self, owner: _PipelineCall, turn: int, start: float) -> None:
        self.owner = owner
        self.turn = turn
        self.cursor = start
        self.indices: list[int] = []

    def schemas(self) -> list[ToolSchema]:
        return self.owner.tools.schemas()

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        c = self.owner
        with c.env.stopwatch.time("tools"):
            result = c.tools.call(name, dict(args))
        start = self.cursor
        self.cursor += c.latency.sample(c.agent.config.tools.latency)
        if (fault := take_fault(c.tools)) is not None:  # the API hung, failed or was slow
            self.cursor = start + fault.took(self.cursor - start)
            fault.record(c.rec, self.cursor, self.turn)
        index = len(c.rec.tool_calls)
        c.rec.add_tool_call(
            ToolCallTrace(
                index=index,
                turn=self.turn,
                tool=name,
                args=dict(args),
                ok=result.ok,
                result=result.result,
                error=result.error,
                start=round(start, 6),
                end=round(self.cursor, 6),
            )
        )
        c.rec.event(start, "tool_start", self.turn, tool=name)
        c.rec.event(self.cursor, "tool_end", self.turn, tool=name, ok=result.ok)
        self.indices.append(index)
        return result


class _PipelineCall:
    def __init__(
        self,
        agent: PipelineAgent,
        routed: _Routed,
        session: PolicySession,
        tools: ToolBackend,
        recorder: CallRecorder,
        latency: LatencySampler,
        faults: FaultPlan | None = None,
        seed: int = 0,
    ) -> None:
        self.agent = agent
        self.routed = routed
        self.config = routed.config
        self.env = agent.env
        self.session = session
        self.tools = tools
        self.rec = recorder
        self.latency = latency
        # ASR, TTS and policy requests, with the call's provider faults and the variant's
        # timeouts, retries and fallbacks (callgate.agents.pipeline_faults)
        asr = (routed.asr, routed.hints)
        self.stages = Stages(self.config, self.env, asr, latency, recorder, faults, seed)
        self.pending: Reply | None = None  # the latest reply, which new speech may drop or cut
        self.replies: list[Reply] = []
        self.handed = 0  # replies the simulator has been given
        self.ended = False
        self.line: LineAudio = silent_line
        self.heard_until = 0.0  # the line the agent has listened to so far

    # -- AgentCall ---------------------------------------------------------------------------

    def start(self, t: float) -> list[Reply]:
        with self._handing_over():
            return self._handed([self._respond(PolicyInput("start"), t, trigger="start")])

    def hear(self, audio: Audio, start: float) -> list[Reply]:
        with self._handing_over():
            return self._handed(self._hear(audio, start))

    def idle(self, since: float, until: float, max_replies: int = 10) -> list[Reply]:
        with self._handing_over():
            return self._handed(self._idle(since, until, max_replies))

    @contextmanager
    def _handing_over(self) -> Iterator[None]:
        """A policy that fails the call (an LLM endpoint gone wrong) ends it, but the replies it
        made first, and the turn it failed in, stay part of the call."""
        try:
            yield
        except AgentFailure as exc:
            exc.replies = [*exc.replies, *self.replies[self.handed :]]
            self.handed = len(self.replies)
            raise

    def _handed(self, replies: list[Reply]) -> list[Reply]:
        self.handed = len(self.replies)
        return replies

    def _hear(self, audio: Audio, start: float) -> list[Reply]:
        if self.ended:
            return []
        with self.env.stopwatch.time("vad"):
            audio, start, turns = self._listen(audio, start)
        replies: list[Reply] = []
        for turn in turns:
            a, b = turn.start, turn.end
            self._caller_speaks(start + a, start + b)
            if self.ended:
                break
            eot = start + turn.eot
            index = self.rec.next_turn_index()
            self.rec.event(eot, "end_of_turn", index)
            clip = audio.slice(max(0.0, a - ASR_PAD_S), b + ASR_PAD_S)
            t_asr = time.perf_counter()
            with self.env.stopwatch.time("asr"):
                got = self.stages.transcribe(clip, eot, index)  # "" when every attempt failed
            result, hit, asr_done = got.result, got.cached, got.done
            asr_measured = {"asr_s": time.perf_counter() - t_asr, "asr_cached": float(hit)}
            if got.ok:
                self.rec.event(asr_done, "asr_final", index, text=result.text)
            asr = ASRTrace(
                text=result.text,
                confidence=round(result.confidence, 6),
                engine=got.engine,
                audio_start=round(start + max(0.0, a - ASR_PAD_S), 6),
                audio_end=round(start + min(audio.duration, b + ASR_PAD_S), 6),
            )
            reply = self._respond(
                PolicyInput("utterance", result.text, result.confidence),
                asr_done,
                trigger="utterance",
                heard=(start + a, start + b),
                eot=eot,
                asr=asr,
                measured=asr_measured,
            )
            replies.append(reply)
        return replies

    def _listen(self, audio: Audio, start: float) -> tuple[Audio, float, list[TurnEnd]]:
        detector = EndOfTurn(self.agent.vad, self.config.turn, self.agent.turn_model)
        heard = listen(detector, self.line, audio, start, self.heard_until)
        self.heard_until = heard.until
        return heard.audio, heard.start, heard.turns

    def _idle(self, since: float, until: float, max_replies: int) -> list[Reply]:
        replies: list[Reply] = []
        timeout = self.config.turn.no_input_timeout_s
        t = since
        while not self.ended and len(replies) < max_replies and t + timeout <= until:
            fire = t + timeout
            self.rec.event(fire, "no_input_timeout", self.rec.next_turn_index())
            reply = self._respond(PolicyInput("silence"), fire, trigger="silence")
            replies.append(reply)
            t = reply.turn.playback_end or fire
        return replies

    def finish(self) -> dict[str, Any]:
        self.ended = True
        return self.tools.state()

    def costs(self, duration_s: float) -> list[CostItem]:
        """ASR minutes heard, TTS characters synthesised, policy turns and line minutes, priced
        from the variant's price table."""
        prices = self.config.prices
        asr_s = sum(
            r.turn.asr.audio_end - r.turn.asr.audio_start
            for r in self.replies
            if r.turn.asr is not None
        )
        tts_chars = sum(len(r.turn.tts_text or "") for r in self.replies)
        lines = [
            ("asr", asr_s / 60.0, "minute", prices.asr_per_minute),
            ("tts", tts_chars, "character", prices.tts_per_1k_chars / 1000.0),
            ("policy", len(self.replies), "call", prices.policy_per_call),
            ("telephony", duration_s / 60.0, "minute", prices.telephony_per_minute),
        ]
        items = [
            CostItem(
                kind=kind,
                quantity=round(qty, 6),
                unit=unit,
                unit_price=price,
                amount=round(qty * price, 8),
                currency=prices.currency,
            )
            for kind, qty, unit, price in lines
        ]
        if isinstance(self.session, ReportsUsage):
            items += self.session.costs()  # tokens of an LLM policy, priced by the policy
        return items

    # -- internals -----------------------------------------------------------------------------

    def _caller_speaks(self, onset: float, offset: float) -> None:
        """New caller speech reaches the agent: drop a reply not yet spoken, or barge in."""
        reply, turn = self.pending, self.config.turn
        if reply is None or reply.turn.first_byte is None or reply.turn.playback_end is None:
            return
        t = reply.turn
        first_byte, playback_end = reply.turn.first_byte, reply.turn.playback_end
        if onset < first_byte:
            t.discarded = True
            t.playback_end = None
            self.rec.event(onset, "reply_discarded", t.index)
            return
        if onset >= playback_end or not turn.barge_in:
            return
        if offset - onset < turn.barge_in_min_speech_ms / 1000.0:
            return  # too short to count as an interruption (a cough, "mm-hm")
        detected = onset + turn.barge_in_min_speech_ms / 1000.0
        cut = detected + turn.barge_in_stop_ms / 1000.0
        if cut >= playback_end:
            return
        t.interrupted = True
        t.playback_end = round(cut, 6)
        self.rec.event(detected, "barge_in", t.index)
        self.rec.event(cut, "agent_cut", t.index)

    def _respond(
        self,
        inp: PolicyInput,
        t0: float,
        *,
        trigger: Literal["start", "utterance", "silence"],
        heard: tuple[float, float] | None = None,
        eot: float | None = None,
        asr: ASRTrace | None = None,
        measured: dict[str, float] | None = None,
    ) -> Reply:
        v = self.config
        index = self.rec.next_turn_index()
        self.rec.event(t0, "policy_start", index)
        think = self.latency.sample(v.policy.latency, chars=len(inp.text))
        tools = _TimedTools(self, index, t0 + think)
        measured = dict(measured or {})
        t_policy = time.perf_counter()
        failure: AgentFailure | None = None
        try:
            self.stages.before_policy(tools, t0, think, index, chars=len(inp.text))
            with self.env.stopwatch.time("policy"):
                out: PolicyReply = self.session.respond(inp, tools)
        except AgentFailure as exc:
            # The turn the policy failed in is kept (silent), so its tool calls have a turn.
            out, failure = PolicyReply("", action="error"), exc
        measured["policy_s"] = time.perf_counter() - t_policy
        policy_end = tools.cursor
        self.rec.event(policy_end, "policy_end", index, action=out.action)
        tts_text = respell_for_tts(out.text, self.config.tts.lexicon)
        audio = None
        ref = None
        first_byte = first_audible = playback_end = None
        voiced = None
        if tts_text.strip():  # no audio when every TTS attempt failed: the reply stays silent
            voiced = self.stages.synthesize(self.agent.tts, tts_text, policy_end, index, measured)
        if voiced is not None and voiced.audio is not None:
            audio, ref, first_byte = voiced.audio, voiced.ref, voiced.first_byte
            lead, _ = speech_extent(audio)
            first_audible = first_byte + lead
            playback_end = first_byte + audio.duration
            self.rec.event(first_byte, "agent_first_byte", index)
            self.rec.event(first_audible, "agent_audible", index)
            self.rec.event(playback_end, "agent_speech_end", index)
        turn = AgentTurnTrace(
            index=index,
            trigger=trigger,
            heard_start=_r(heard[0]) if heard else None,
            heard_end=_r(heard[1]) if heard else None,
            end_of_turn=_r(eot),
            asr=asr,
            policy=PolicyTrace(
                action=out.action,
                intent=out.intent,
                intent_confidence=_r(out.intent_confidence),
                slots=dict(out.slots),
            ),
            tool_calls=tools.indices,
            reply_text=out.text,
            tts_text=tts_text,
            reply_audio=ref,
            policy_start=_r(t0),
            policy_end=_r(policy_end),
            first_byte=_r(first_byte),
            first_audible=_r(first_audible),
            playback_end=_r(playback_end),
            end_call=out.end_call,
            transferred=out.transferred,
            measured={k: round(x, 6) for k, x in measured.items()},
        )
        self.rec.add_turn(turn)
        if out.transferred:
            self.rec.event(playback_end or policy_end, "transfer", index)
        if out.end_call:
            self.ended = True
        reply = Reply(turn, audio)
        self.replies.append(reply)
        self.pending = reply
        if failure is not None:
            raise failure
        return reply


def group_turns(segments: list[tuple[float, float]], eot_s: float) -> list[tuple[float, float]]:
    """Merge VAD segments into user turns: a gap shorter than the end-of-turn wait joins them."""
    turns: list[tuple[float, float]] = []
    for a, b in segments:
        if turns and a - turns[-1][1] < eot_s:
            turns[-1] = (turns[-1][0], b)
        else:
            turns.append((a, b))
    return turns


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def text_session(
    config: PipelineConfig, initial_state: dict[str, Any], models_dir: Path | None, seed: int = 0
) -> TextSession:
    """The same policy and tools without the audio path, for the oracle replay."""
    policy = POLICIES.create(config.policy.name, **policy_params(config, models_dir))
    tools = TOOLSETS.create(
        config.tools.toolset, initial_state=initial_state, **config.tools.params
    )
    session = policy.start_seeded(seed) if isinstance(policy, SeedsCalls) else policy.start()
    return TextSession(session, tools)


def _check(config: PipelineConfig, models_dir: Path | None) -> None:
    from callgate.agents.pipeline_check import check_pipeline

    check_pipeline(config, models_dir)


PIPELINE = AgentKind(
    config_model=PipelineConfig,
    create=PipelineAgent,
    text_session=text_session,
    check=_check,
    description="callgate's own VAD -> ASR -> dialogue policy -> tools -> TTS loop",
    fault_stages=("asr", "tts", "policy", "tool"),
)
