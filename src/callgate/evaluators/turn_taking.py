"""Turn-taking: how the agent shares the line with the caller, read off the call's timeline.

Everything here comes from when each side was audible: the caller's real speech (the pieces of
each utterance, what the caller really said and when) and the agent's audible replies (first
audible sample to the end of playback, cuts included), plus the agent's own turns to know which
caller speech it took as a turn. No judge and no audio: the same trace always gives the same
numbers, and an imported call with those fields is scored the same way.

A caller utterance's *speech span* runs from its first piece's start to its last piece's end, so
a pause inside an utterance is still the caller's turn. Definitions, one event each:

* **response**: a caller turn (not a backchannel) the agent answered: its first audible reply
  starting after the caller's speech ended and before the caller spoke again. The latency is that
  gap. A turn that ends while the agent is already audible has none (the agent was talking; the
  talk-over and interruption metrics judge that). Unlike Timing's time to first audio, which runs
  from the speech inside the span the agent *took* as its turn, this runs from the end of what the
  caller meant as one turn, so an agent that answers half a sentence is not rewarded for it.
* **talk-over**: an agent reply the caller started to talk over (onset while the reply is
  audible) with at least ``talk_over_min_s`` of speech, not marked as a backchannel. The yield
  latency runs from that onset to the end of the reply's audio; the reply *yielded* when that is
  within ``yield_within_s`` (whether the agent cut itself or its reply ran out: the caller gets the
  floor either way).
* **agent reply**: every audible reply; it *interrupts* when it starts inside a caller
  utterance's speech span (a premature end of turn lands in the caller's pause).
* **dead air**: silence while the caller waits for the agent. A wait starts when the caller's
  speech ends with no agent audio playing, when the agent cuts its own reply while nobody speaks,
  or at the call's start when the agent speaks first; it lasts until either side speaks or the
  call ends. Only the part of a wait beyond ``dead_air_after_s`` counts: the first seconds are an
  ordinary response time (measured above), and counting only the excess keeps the metric
  continuous. Silence after the agent finishes a reply is the caller's think time (set by the
  scenario's persona, not by the agent) and never counts.
* **backchannel**: a caller utterance marked ``backchannel`` (mm-hm, okay) whose onset falls
  while the agent is audible. It is *handled* when the agent kept talking (its reply was not cut
  before any other caller speech) and did not take it as a turn (no agent turn heard it).

Per call a rate is empty when its events did not happen (a call with no talk-over has no yield
rate), and each rate has a count metric of its events (``Metric.events``) so a cohort can pool
them and hide a rate backed by too few.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np

from callgate.evaluators.base import EvalContext, EvalResult, Metric, result
from callgate.traces.model import AgentTurnTrace, CallTrace

# Turn-row keys of the per-event latencies: cohort percentiles pool these over events.
RESPONSE_KEY = "response_latency_s"
YIELD_KEY = "yield_latency_s"

ANSWERED = Metric("answered_turns", "higher", "count", "caller turns the agent answered")
RESPONSE_P50 = Metric(
    "response_latency_p50_s",
    "lower",
    "s",
    "median time from the end of a caller turn to the agent's audible answer",
    1.5,
    events=ANSWERED.name,
)
RESPONSE_P90 = Metric(
    "response_latency_p90_s",
    "lower",
    "s",
    "90th percentile time from the end of a caller turn to the agent's audible answer",
    2.5,
    events=ANSWERED.name,
)
TALK_OVERS = Metric("talk_overs", "lower", "count", "agent replies the caller talked over")
YIELD_LATENCY = Metric(
    "yield_latency_s",
    "lower",
    "s",
    "median time from the caller talking over the agent to the agent's audio stopping",
    0.5,
    events=TALK_OVERS.name,
)
YIELD_RATE = Metric(
    "yield_rate",
    "higher",
    "fraction",
    "share of talked-over replies whose audio stopped within the yield bound",
    0.9,
    "rate",
    events=TALK_OVERS.name,
)
REPLIES = Metric("agent_replies", "higher", "count", "audible agent replies")
INTERRUPTIONS = Metric(
    "agent_interruption_rate",
    "lower",
    "fraction",
    "share of agent replies that started while the caller was speaking",
    0.05,
    "rate",
    events=REPLIES.name,
)
DEAD_AIR = Metric(
    "dead_air_s",
    "lower",
    "s",
    "seconds of silence beyond the dead-air bound while the caller waited for the agent",
    1.0,
)
DEAD_AIR_LONGEST = Metric(
    "dead_air_longest_s", "lower", "s", "longest wait beyond the dead-air bound", 1.0
)
BACKCHANNELS = Metric("backchannels", "lower", "count", "backchannels said over agent audio")
BACKCHANNEL_HANDLED = Metric(
    "backchannel_handled_rate",
    "higher",
    "fraction",
    "share of backchannels the agent talked on through without taking them as a turn",
    0.9,
    "rate",
    events=BACKCHANNELS.name,
)

TOLERANCE_S = 0.05  # heard spans and speech pieces are matched this loosely (as Timing does)


@dataclass(frozen=True)
class Said:
    """A caller utterance's speech span."""

    index: int
    start: float
    end: float
    backchannel: bool

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class Audible:
    """An agent reply while it was audible."""

    turn: AgentTurnTrace
    start: float
    end: float

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end


class Response(NamedTuple):
    agent_turn: int
    caller_turn: int
    latency_s: float


class TalkOver(NamedTuple):
    agent_turn: int
    caller_turn: int
    latency_s: float  # from the caller's onset to the end of the agent's audio
    yielded: bool


class Reply(NamedTuple):
    agent_turn: int
    interrupting: bool  # started while the caller was speaking


class Backchannel(NamedTuple):
    caller_turn: int
    agent_turn: int
    kept_talking: bool
    taken_as_turn: bool

    @property
    def handled(self) -> bool:
        return self.kept_talking and not self.taken_as_turn


@dataclass
class TurnTakingEvents:
    """Every turn-taking event of one call (see the module docstring for the definitions)."""

    responses: list[Response] = field(default_factory=list)
    talk_overs: list[TalkOver] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    waits: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
    backchannels: list[Backchannel] = field(default_factory=list)


def speech_spans(call: CallTrace) -> list[Said]:
    spans = [
        Said(
            u.index,
            min((p.start for p in u.pieces), default=u.start),
            max((p.end for p in u.pieces), default=u.end),
            u.backchannel,
        )
        for u in call.caller_turns
    ]
    return sorted(spans, key=lambda s: s.start)


def audible_replies(call: CallTrace) -> list[Audible]:
    out = [
        Audible(t, t.first_audible, t.playback_end)
        for t in call.agent_turns
        if t.first_audible is not None
        and t.playback_end is not None
        and t.playback_end > t.first_audible
        and not t.discarded
    ]
    return sorted(out, key=lambda a: a.start)


def analyse(
    call: CallTrace,
    *,
    talk_over_min_s: float = 0.5,
    yield_within_s: float = 2.0,
) -> TurnTakingEvents:
    said, agent = speech_spans(call), audible_replies(call)
    ev = TurnTakingEvents()
    for s in said:
        nxt = min((o.start for o in said if o.start > s.end), default=np.inf)
        if not s.backchannel and not any(a.covers(s.end) for a in agent):
            answer = next((a for a in agent if s.end <= a.start < nxt), None)
            if answer is not None:
                ev.responses.append(Response(answer.turn.index, s.index, answer.start - s.end))
    talking_over = [s for s in said if not s.backchannel and s.end - s.start >= talk_over_min_s]
    for a in agent:
        over = next((s for s in talking_over if a.covers(s.start)), None)
        if over is not None:
            latency = a.end - over.start
            yielded = latency <= yield_within_s
            ev.talk_overs.append(TalkOver(a.turn.index, over.index, latency, yielded))
        ev.replies.append(Reply(a.turn.index, any(s.covers(a.start) for s in said)))
    ev.waits = _waits(call, said, agent)
    ev.backchannels = _backchannels(call, said, agent)
    return ev


def _waits(call: CallTrace, said: list[Said], agent: list[Audible]) -> list[tuple[float, float]]:
    onsets = sorted([s.start for s in said] + [a.start for a in agent])
    end = max([call.duration_s, *(s.end for s in said), *(a.end for a in agent)])
    starts = [s.end for s in said if not any(a.covers(s.end) for a in agent)]
    # An agent that cut its own reply while nobody spoke (a cough or a "mm-hm" taken for a
    # barge-in) leaves the caller waiting for the rest of it.
    starts += [
        a.end
        for a in agent
        if a.turn.interrupted
        and not any(s.covers(a.end) for s in said)
        and not any(b.covers(a.end) for b in agent)
    ]
    if agent and (not said or agent[0].start < said[0].start):
        starts.append(0.0)  # the caller waits for the greeting
    return [(t, min((o for o in onsets if o >= t), default=end)) for t in sorted(starts)]


def _backchannels(call: CallTrace, said: list[Said], agent: list[Audible]) -> list[Backchannel]:
    out = []
    for b in (s for s in said if s.backchannel):
        over = next((a for a in agent if a.covers(b.start)), None)
        if over is None:
            continue  # said in silence: nothing to talk on through
        t = over.turn
        others = [s.start for s in said if s is not b and b.start < s.start < over.end]
        cut = t.interrupted and not others  # the backchannel is the only speech before the cut
        taken = any(
            h.trigger == "utterance"
            and h.heard_start is not None
            and h.heard_end is not None
            and h.heard_start < b.end + TOLERANCE_S
            and h.heard_end > b.start - TOLERANCE_S
            for h in call.agent_turns
        )
        out.append(Backchannel(b.index, t.index, not cut, taken))
    return out


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 6) if values else None


class TurnTaking:
    """Response and yield latency, yield and interruption rates, dead air and backchannels."""

    name: ClassVar[str] = "TurnTaking"
    metrics: ClassVar[list[Metric]] = [
        RESPONSE_P50,
        RESPONSE_P90,
        ANSWERED,
        YIELD_LATENCY,
        YIELD_RATE,
        TALK_OVERS,
        INTERRUPTIONS,
        REPLIES,
        DEAD_AIR,
        DEAD_AIR_LONGEST,
        BACKCHANNEL_HANDLED,
        BACKCHANNELS,
    ]

    def __init__(
        self,
        talk_over_min_s: float = 0.5,
        yield_within_s: float = 2.0,
        dead_air_after_s: float = 2.0,
    ) -> None:
        # 0.5 s: longer than a "yeah" or a cough, shorter than any request to stop; 2 s: the
        # window tau2-bench gives an agent to yield; 2 s of waiting is a slow but normal answer.
        self.talk_over_min_s = talk_over_min_s
        self.yield_within_s = yield_within_s
        self.dead_air_after_s = dead_air_after_s

    def params(self) -> dict[str, Any]:
        return {
            "talk_over_min_s": self.talk_over_min_s,
            "yield_within_s": self.yield_within_s,
            "dead_air_after_s": self.dead_air_after_s,
        }

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        if not call.caller_turns and not audible_replies(call):
            return EvalResult.not_scored(self.name, "nobody spoke", self.metrics)
        if any(
            t.reply_text.strip()
            and not t.discarded
            # In a simulated call a reply never voiced (a TTS fault) is just silence; a log
            # that gives a reply's text without its times leaves the waits unknown.
            and (t.first_byte is not None or call.source == "imported")
            and t.playback_end is None
            for t in call.agent_turns
        ):
            # Without when a reply was heard, every wait and talk-over around it would be wrong.
            return EvalResult.not_scored(self.name, "a reply has no audio times", self.metrics)
        ev = analyse(call, talk_over_min_s=self.talk_over_min_s, yield_within_s=self.yield_within_s)
        response = [r.latency_s for r in ev.responses]
        yields = [t.latency_s for t in ev.talk_overs]
        dead = [max(0.0, b - a - self.dead_air_after_s) for a, b in ev.waits]
        handled = [b.handled for b in ev.backchannels]
        metrics: dict[str, float | None] = {
            RESPONSE_P50.name: _pct(response, 50),
            RESPONSE_P90.name: _pct(response, 90),
            ANSWERED.name: float(len(response)),
            YIELD_LATENCY.name: _pct(yields, 50),
            YIELD_RATE.name: _share([t.yielded for t in ev.talk_overs]),
            TALK_OVERS.name: float(len(yields)),
            INTERRUPTIONS.name: _share([r.interrupting for r in ev.replies]),
            REPLIES.name: float(len(ev.replies)),
            DEAD_AIR.name: round(sum(dead), 6),
            DEAD_AIR_LONGEST.name: round(max(dead, default=0.0), 6),
            BACKCHANNEL_HANDLED.name: _share(handled),
            BACKCHANNELS.name: float(len(handled)),
        }
        rows = [{"turn": r.agent_turn, RESPONSE_KEY: round(r.latency_s, 6)} for r in ev.responses]
        rows += [{"turn": t.agent_turn, YIELD_KEY: round(t.latency_s, 6)} for t in ev.talk_overs]
        return result(
            self.name,
            RESPONSE_P50,
            metrics,
            _reason(ev, response, handled, sum(dead)),
            details=_details(ev),
            turns=rows,
        )


def _reason(ev: TurnTakingEvents, response: list[float], handled: list[bool], dead: float) -> str:
    parts = [
        f"{len(response)} answered turns"
        + (f" (median {np.median(response):.2f}s)" if response else ""),
        f"yielded to {sum(t.yielded for t in ev.talk_overs)}/{len(ev.talk_overs)} talk-overs",
        f"{sum(r.interrupting for r in ev.replies)}/{len(ev.replies)} replies over the caller",
        f"dead air {dead:.2f}s",
    ]
    if handled:
        parts.append(f"{sum(handled)}/{len(handled)} backchannels handled")
    return ", ".join(parts)


def _details(ev: TurnTakingEvents) -> dict[str, Any]:
    """The events behind the numbers, so a reviewer can find each one on the timeline."""

    def rows(items: list[Any]) -> list[dict[str, Any]]:
        return [
            {k: round(v, 6) if isinstance(v, float) else v for k, v in x._asdict().items()}
            for x in items
        ]

    return {
        "responses": rows(ev.responses),
        "talk_overs": rows(ev.talk_overs),
        "interrupting_replies": [r.agent_turn for r in ev.replies if r.interrupting],
        "waits": [[round(a, 6), round(b, 6)] for a, b in ev.waits],
        "backchannels": rows(ev.backchannels),
    }
