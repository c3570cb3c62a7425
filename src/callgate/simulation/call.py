"""One simulated call: the caller and the agent on a virtual clock, with real audio between them.

The loop: the agent greets; the caller decides what to say from the agent's words; its words are
synthesised, degraded by the channel and delivered to the agent at a time set by the caller's
persona (or early, to interrupt); the agent detects the end of turn, recognises, decides, calls
tools and speaks. Silence, barge-in and dropped replies all fall out of the timing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from callgate.agents.env import CallEnv
from callgate.agents.voice import (
    AGENTS,
    AgentCall,
    AgentFailure,
    CallSetup,
    KeepsClock,
    Reply,
    ReportsCost,
    VoiceAgent,
)
from callgate.scenarios.cohorts import Cell
from callgate.scenarios.model import Reaction
from callgate.simulation.caller import ScriptedCaller
from callgate.simulation.faults import plan_for
from callgate.simulation.line import Line
from callgate.simulation.speaker import speak
from callgate.simulation.track import Track
from callgate.traces.model import (
    CallerUtteranceTrace,
    CallTrace,
    EndReason,
    LineTrace,
    SpeechPiece,
)
from callgate.traces.recorder import CallRecorder
from callgate.variants.model import Variant

MAX_IDLE_S = 60.0  # how long a silent caller is kept on the line before the simulator gives up
MAX_AGENT_TURNS = 60


@dataclass(frozen=True)
class CallJob:
    """Everything needed to simulate one call; picklable, so it can cross process boundaries."""

    run_id: str
    call_id: str
    suite: str
    cell: Cell
    variant: Variant
    repeat: int
    seed: int
    initial_state: dict[str, Any]
    suite_reactions: list[Reaction] = field(default_factory=list)
    lexicon: dict[str, str] = field(default_factory=dict)  # the suite's, for the caller's voice


def call_seed(run_seed: int, scenario_id: str, cohort_id: str, repeat: int) -> int:
    """The variant is left out on purpose: baseline and candidate share the caller's randomness."""
    key = f"{run_seed}|{scenario_id}|{cohort_id}|{repeat}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") >> 1


def call_id(run_id: str, scenario_id: str, cohort_id: str, variant: str, repeat: int) -> str:
    key = f"{run_id}|{scenario_id}|{cohort_id}|{variant}|{repeat}".encode()
    return hashlib.sha256(key).hexdigest()[:20]


_agents: dict[str, VoiceAgent] = {}


def agent_for(variant: Variant, env: CallEnv) -> VoiceAgent:
    """One agent per variant per process: models load once, calls reuse them."""
    key = variant.model_dump_json()
    if key not in _agents:
        kind = AGENTS.get(variant.agent.kind)
        _agents[key] = kind.create(kind.configure(variant.agent.config()), env)
    return _agents[key]


def simulate(job: CallJob, env: CallEnv) -> CallTrace:
    before = dict(env.stopwatch.totals)
    agent = agent_for(job.variant, env)
    rec = CallRecorder()
    # What the line tells an agent before the call starts (a route may depend on it); the
    # caller's accent, the noise and the scenario's expectations stay the simulator's secret.
    metadata = {"locale": job.cell.voice.locale, "channel": job.cell.channel_name}
    cell = job.cell
    line = Line(cell.noise, cell.channel, cell.voice, job.seed, env)
    setup = CallSetup(
        job.call_id,
        job.seed,
        job.initial_state,
        {"scenario": cell.scenario.id, **metadata},
        line=line.background,
        faults=plan_for(cell, job.seed),
    )
    call = agent.open_call(setup, rec)
    sim = _CallLoop(job, env, call, rec, line)
    sim.run()
    trace = sim.trace(agent.engines(), call)
    trace.measured = {
        k: round(v - before.get(k, 0.0), 6) for k, v in sorted(env.stopwatch.totals.items())
    }
    return trace


class _CallLoop:
    def __init__(
        self, job: CallJob, env: CallEnv, agent: AgentCall, rec: CallRecorder, line: Line
    ) -> None:
        self.job = job
        self.line = line
        self.env = env
        self.agent = agent
        self.rec = rec
        sc = job.cell.scenario
        self.caller = ScriptedCaller(sc.caller, job.suite_reactions)
        self.timing_rng = np.random.default_rng([job.seed, 1])
        self.caller_track = Track()
        self.agent_track = Track()
        self.replies: list[Reply] = []
        self.utterances: list[CallerUtteranceTrace] = []
        self.spans: list[tuple[float, float]] = []  # where the caller's words are on the line
        self.said_count: dict[str, int] = {}
        self.ended_by: EndReason | None = None
        self.error: str | None = None
        self.final_state: dict[str, Any] = {}

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._converse()
        except AgentFailure as exc:
            # A failed call is a result, not a crash: it is stored, scored and counted.
            self._take(exc.replies)
            self.ended_by, self.error = "error", exc.reason
            self.rec.event(self._now(), "agent_error", reason=exc.reason)
        except BaseException:
            self._finish(quietly=True)  # close the agent's connection or session all the same
            raise
        self._finish()

    def _finish(self, quietly: bool = False) -> None:
        try:
            self.final_state = self.agent.finish()
        except AgentFailure as exc:
            self.ended_by, self.error = "error", self.error or exc.reason
        except Exception:
            if not quietly:
                raise

    def _now(self) -> float:
        """The latest instant anything happened on the call so far."""
        times = [e.t for e in self.rec.events] + [self.caller_track.duration]
        return max(times)

    def _converse(self) -> None:
        self.rec.event(0.0, "call_start")
        self._take(self.agent.start(0.0))
        caller_free = 0.0
        while self.ended_by is None:
            if len(self.replies) >= MAX_AGENT_TURNS:
                self.ended_by = "max_turns"
                break
            last = self._last_spoken()
            heard_until = self._audio_end(last)
            decision = self.caller.decide(last.turn.reply_text if last else "")
            if decision.kind == "hangup":
                self.ended_by = "max_turns" if decision.why == "max_turns" else "caller_hangup"
                self.rec.event(heard_until + self._delay(), "caller_hangup")
                break
            if decision.kind == "silent":
                got = self._take(self.agent.idle(heard_until, heard_until + MAX_IDLE_S))
                if not got and self.ended_by is None:
                    self.ended_by = "no_input"
                continue
            utt = decision.utterance
            assert utt is not None
            if (
                utt.interrupt_after_ms is not None
                and last is not None
                and last.turn.first_byte is not None
            ):
                start = last.turn.first_byte + utt.interrupt_after_ms / 1000.0
            else:
                start = heard_until + self._delay() + utt.silence_before_s
            start = max(start, caller_free)
            if isinstance(self.agent, KeepsClock):
                start = max(start, self.agent.ready_at())
            if start > heard_until:
                # The caller is quiet until ``start``; the agent may reprompt in the meantime.
                reprompts = self._take(self.agent.idle(heard_until, start))
                if self.ended_by is not None:
                    break
                if reprompts:
                    start = max(start, self._audio_end(reprompts[-1]) + self._delay())
            heard = self._say(decision, start)
            caller_free = start + heard.duration
            got = self._take(self.agent.hear(heard, start))
            if not got and utt.backchannel:
                continue  # taken as the acknowledgement it is: the caller hears the reply out
            if not got and self.ended_by is None:
                # The agent heard nothing it took for speech: from its side the line is silent.
                got = self._take(self.agent.idle(caller_free, caller_free + MAX_IDLE_S, 1))
                if not got and self.ended_by is None:
                    self.ended_by = "no_input"

    def _take(self, replies: list[Reply]) -> list[Reply]:
        self.replies.extend(replies)
        for r in replies:
            if r.turn.end_call:
                self.ended_by = "transfer" if r.turn.transferred else "agent_hangup"
        return replies

    def _last_spoken(self) -> Reply | None:
        spoken = [r for r in self.replies if r.spoken]
        return spoken[-1] if spoken else None

    @staticmethod
    def _audio_end(reply: Reply | None) -> float:
        if reply is None:
            return 0.0
        t = reply.turn
        return t.playback_end or t.policy_end or 0.0

    def _delay(self) -> float:
        p = self.job.cell.scenario.caller.persona
        jitter = float(self.timing_rng.uniform(-1.0, 1.0)) * p.response_jitter_ms
        return max(0.0, (p.response_delay_ms + jitter) / 1000.0)

    def _say(self, decision: Any, start: float) -> Any:
        cell, utt = self.job.cell, decision.utterance
        spoken = speak(
            self.env,
            cell.voice,
            utt,
            decision.rate,
            utt.gain_db + decision.gain_db,
            self.job.lexicon,
        )
        # Same words in the same call get the same noise whichever variant hears them, so paired
        # calls stay paired; a repeat of the words gets fresh noise.
        n = self.said_count.get(utt.say, 0)
        self.said_count[utt.say] = n + 1
        with self.env.stopwatch.time("channel"):
            out = self.line.utterance(spoken.audio, start, utt.say, n)
        index = len(self.utterances)
        rate = 1.0 if spoken.recorded else round(cell.voice.rate * utt.rate * decision.rate, 4)
        pieces = [
            SpeechPiece(text=t, start=_r(start + a), end=_r(start + b)) for t, a, b in spoken.pieces
        ]
        for p in pieces:
            self.rec.event(p.start, "caller_speech_start", index)
            self.rec.event(p.end, "caller_speech_end", index)
        self.utterances.append(
            CallerUtteranceTrace(
                index=index,
                text=utt.say,
                pieces=pieces,
                start=_r(start),
                end=_r(start + out.audio.duration),
                why=decision.why,
                interrupting=utt.interrupt_after_ms is not None and not utt.backchannel,
                backchannel=utt.backchannel,
                voice="recorded" if spoken.recorded else cell.voice_name,
                rate=rate,
                gain_db=utt.gain_db + decision.gain_db,
                entities=list(utt.entities),
                clean_audio=spoken.ref,
                packets_lost=out.packets_lost,
            )
        )
        self.caller_track.place(out.audio, start)
        self.spans.append((start, start + out.audio.duration))
        return out.audio

    def _fill_line(self, end: float) -> None:
        """The caller track between the caller's words: the line as the agent heard it."""
        t = 0.0
        for a, b in [*self.spans, (end, end)]:
            if a - t > 1e-6:
                self.caller_track.place(self.line.background(t, a), t)
            t = max(t, b)
        self.caller_track.pad_to(end)

    # -- the trace -----------------------------------------------------------------------------

    def trace(self, engines: dict[str, str], call: AgentCall) -> CallTrace:
        agent_turns = []
        for r in self.replies:
            t = r.turn
            if r.audio is not None and r.spoken and t.first_byte is not None:
                self.agent_track.place(r.audio, t.first_byte, until=t.playback_end)
            if t.heard_start is not None and t.heard_end is not None:
                # The agent's record is its own: the simulator adds what only it knows on a copy.
                said = _reference(self.utterances, t.heard_start, t.heard_end)
                t = t.model_copy(update={"reference_text": said})
            agent_turns.append(t)
        events = self.rec.sorted_events()
        end = max([self.caller_track.duration, self.agent_track.duration] + [e.t for e in events])
        self.rec.event(end, "call_end", reason=self.ended_by)
        with self.env.stopwatch.time("channel"):
            self._fill_line(end)
        self.agent_track.pad_to(end)
        with self.env.stopwatch.time("storage"):
            caller_ref = self.env.blobs.put(self.caller_track.audio())
            agent_ref = self.env.blobs.put(self.agent_track.audio())
        job, cell = self.job, self.job.cell
        cost = call.costs(end) if isinstance(call, ReportsCost) else []
        return CallTrace(
            call_id=job.call_id,
            run_id=job.run_id,
            suite=job.suite,
            scenario_id=cell.scenario.id,
            variant=job.variant.name,
            repeat=job.repeat,
            seed=job.seed,
            split=cell.scenario.split,
            cohort_id=cell.cohort_id,
            cohort=dict(cell.tags),
            goal=cell.scenario.caller.goal,
            expectation=cell.scenario.expect.model_dump(mode="json"),
            critical_entities=list(cell.scenario.critical_entities),
            caller_turns=self.utterances,
            agent_turns=agent_turns,
            tool_calls=self.rec.tool_calls,
            events=self.rec.sorted_events(),
            initial_state=job.initial_state,
            final_state=self.final_state,
            ended_by=self.ended_by or "agent_hangup",
            error=self.error,
            transferred=any(r.turn.transferred for r in self.replies),
            duration_s=_r(end),
            caller_audio=caller_ref,
            agent_audio=agent_ref,
            cost=cost,
            cost_total=round(sum(c.amount for c in cost), 8),
            engines=engines,
            line=LineTrace(
                noise=cell.noise.model_dump(mode="json"),
                channel=cell.channel.model_dump(mode="json"),
            ),
        )


def _reference(utterances: list[CallerUtteranceTrace], start: float, end: float) -> str:
    """The words the caller really said inside a span the agent took as one turn."""
    words = [
        p.text
        for u in utterances
        for p in u.pieces
        if p.start < end + 0.05 and p.end > start - 0.05
    ]
    return " ".join(words)


def _r(x: float) -> float:
    return round(x, 6)
