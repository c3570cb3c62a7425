"""TurnTaking on hand-built timelines: one test per kind of event, each with its exact numbers."""

from __future__ import annotations

from typing import Any

import pytest

from callgate.evaluators.base import EvalContext, EvalResult, metric_index
from callgate.evaluators.turn_taking import TurnTaking, analyse
from callgate.traces.model import AgentTurnTrace, CallerUtteranceTrace, CallTrace, SpeechPiece
from factories import agent, call, caller


def said(
    index: int, *spans: tuple[float, float], backchannel: bool = False
) -> CallerUtteranceTrace:
    """A caller utterance made of speech pieces (a pause between pieces is still its turn)."""
    pieces = [SpeechPiece(text=f"w{i}", start=a, end=b) for i, (a, b) in enumerate(spans)]
    return CallerUtteranceTrace(
        index=index,
        text="words",
        pieces=pieces,
        start=spans[0][0],
        end=spans[-1][1],
        why="script",
        backchannel=backchannel,
    )


def greeting(end: float = 2.0, start: float = 0.5) -> AgentTurnTrace:
    return agent(0, "Hello, how can I help?", first_audible=start, playback_end=end)


def score(trace: CallTrace, **params: float) -> EvalResult:
    return TurnTaking(**params).score_call(trace, EvalContext())


def test_response_latency_runs_from_the_end_of_each_caller_turn() -> None:
    trace = call(
        caller_turns=[caller(0, "balance", 2.5, 4.0), caller(1, "thanks", 7.5, 8.5)],
        agent_turns=[
            greeting(),
            agent(1, "It is 5 dollars.", heard=(2.5, 4.0), first_audible=5.2, playback_end=7.0),
            agent(2, "Bye.", heard=(7.5, 8.5), first_audible=9.5, playback_end=10.0),
        ],
        duration_s=10.0,
    )
    res = score(trace)
    assert res.metrics["answered_turns"] == 2
    assert res.metrics["response_latency_p50_s"] == pytest.approx(1.1)
    assert res.metrics["response_latency_p90_s"] == pytest.approx(1.0 + 0.9 * 0.2)
    assert res.score == pytest.approx(1.1) and res.passed is True
    assert [r["response_latency_s"] for r in res.turns] == pytest.approx([1.2, 1.0])
    assert [r["turn"] for r in res.turns] == [1, 2]
    # No talk-over, no backchannel: those rates are empty, not 0 or 1.
    assert res.metrics["talk_overs"] == 0 and res.metrics["yield_rate"] is None
    assert res.metrics["yield_latency_s"] is None
    assert res.metrics["backchannels"] == 0 and res.metrics["backchannel_handled_rate"] is None
    assert res.metrics["agent_interruption_rate"] == 0.0 and res.metrics["agent_replies"] == 3
    assert res.metrics["dead_air_s"] == 0.0


def test_a_turn_answered_only_after_the_caller_spoke_again_has_no_latency() -> None:
    trace = call(
        caller_turns=[caller(0, "hello", 2.5, 3.0), caller(1, "hello?", 9.0, 9.5)],
        agent_turns=[
            greeting(),
            agent(1, "Yes?", heard=(9.0, 9.5), first_audible=10.5, playback_end=11.0),
        ],
        duration_s=11.0,
    )
    ev = analyse(trace)
    assert [(r.caller_turn, r.latency_s) for r in ev.responses] == [(1, pytest.approx(1.0))]


def test_yielding_to_a_barge_in() -> None:
    # The caller talks over the answer 1 s into it; the agent stops 0.35 s after the onset.
    trace = call(
        caller_turns=[caller(0, "balance", 2.5, 4.0), caller(1, "wait, freeze my card", 6.0, 7.5)],
        agent_turns=[
            greeting(),
            agent(
                1,
                "Your balance is 5 dollars and your last payment...",
                heard=(2.5, 4.0),
                first_audible=5.0,
                playback_end=6.35,
                interrupted=True,
            ),
            agent(2, "Which card?", heard=(6.0, 7.5), first_audible=8.7, playback_end=9.5),
        ],
        duration_s=9.5,
    )
    res = score(trace)
    assert res.metrics["talk_overs"] == 1
    assert res.metrics["yield_latency_s"] == pytest.approx(0.35)
    assert res.metrics["yield_rate"] == 1.0
    assert {"turn": 1, "yield_latency_s": pytest.approx(0.35)} in [
        {k: v for k, v in r.items() if k != "response_latency_s"} for r in res.turns
    ]
    # The barge-in is answered too, from the end of the caller's speech.
    assert res.details["responses"][-1] == {
        "agent_turn": 2,
        "caller_turn": 1,
        "latency_s": pytest.approx(1.2),
    }


def test_a_talk_over_the_agent_does_not_yield_to() -> None:
    trace = call(
        caller_turns=[caller(0, "balance", 2.5, 4.0), caller(1, "stop, stop", 5.5, 6.5)],
        agent_turns=[
            greeting(),
            agent(1, "A long answer.", heard=(2.5, 4.0), first_audible=5.0, playback_end=9.0),
        ],
        duration_s=9.0,
    )
    res = score(trace)
    assert res.metrics["talk_overs"] == 1
    assert res.metrics["yield_latency_s"] == pytest.approx(3.5)  # until the reply ran out
    assert res.metrics["yield_rate"] == 0.0 and res.passed is not None
    # A longer bound counts the same talk-over as yielded.
    assert score(trace, yield_within_s=4.0).metrics["yield_rate"] == 1.0
    assert "yielded to 0/1 talk-overs" in res.reason


def test_speech_shorter_than_a_talk_over_is_not_one() -> None:
    trace = call(
        caller_turns=[caller(0, "balance", 2.5, 4.0), caller(1, "oh", 5.5, 5.8)],
        agent_turns=[
            greeting(),
            agent(1, "A long answer.", heard=(2.5, 4.0), first_audible=5.0, playback_end=9.0),
        ],
        duration_s=9.0,
    )
    assert score(trace).metrics["talk_overs"] == 0
    assert score(trace, talk_over_min_s=0.2).metrics["talk_overs"] == 1


def test_an_agent_that_starts_while_the_caller_speaks() -> None:
    # The caller pauses 0.9 s mid-sentence; the agent takes the pause for the end of the turn.
    trace = call(
        caller_turns=[said(0, (2.5, 3.5), (4.4, 5.5))],
        agent_turns=[
            greeting(),
            agent(1, "Sorry?", heard=(2.5, 3.5), first_audible=4.45, playback_end=6.0),
        ],
        duration_s=6.0,
    )
    res = score(trace)
    assert res.metrics["agent_replies"] == 2
    assert res.metrics["agent_interruption_rate"] == 0.5
    assert res.details["interrupting_replies"] == [1]
    # The caller's turn ended while the agent was talking: no response latency for it.
    assert res.metrics["answered_turns"] == 0 and res.metrics["response_latency_p50_s"] is None
    assert res.score is None and res.passed is None


def test_dead_air_counts_waits_for_the_agent_not_the_callers_think_time() -> None:
    trace = call(
        caller_turns=[caller(0, "balance", 4.0, 5.0), caller(1, "thanks", 15.0, 16.0)],
        agent_turns=[
            # The caller waits 3 s for the greeting, then 4 s for the answer ...
            greeting(start=3.0, end=3.8),
            agent(1, "5 dollars.", heard=(4.0, 5.0), first_audible=9.0, playback_end=10.0),
            # ... thinks 5 s after it (not dead air), and waits 2.5 s at the end, when the call
            # ends without an answer.
        ],
        duration_s=18.5,
    )
    res = score(trace)
    assert analyse(trace).waits == [(0.0, 3.0), (5.0, 9.0), (16.0, 18.5)]
    assert res.metrics["dead_air_s"] == pytest.approx(1.0 + 2.0 + 0.5)
    assert res.metrics["dead_air_longest_s"] == pytest.approx(2.0)
    assert score(trace, dead_air_after_s=3.5).metrics["dead_air_s"] == pytest.approx(0.5)


def _over_reply(**reply: Any) -> list[AgentTurnTrace]:
    return [
        greeting(),
        agent(
            1,
            "Let me read your last five payments to you.",
            heard=(2.5, 4.0),
            first_audible=5.0,
            **reply,
        ),
    ]


def test_backchannel_handled_right_the_agent_talks_on() -> None:
    trace = call(
        caller_turns=[caller(0, "payments", 2.5, 4.0), said(1, (6.0, 6.7), backchannel=True)],
        agent_turns=_over_reply(playback_end=12.0),
        duration_s=12.0,
    )
    res = score(trace)
    assert res.metrics["backchannels"] == 1 and res.metrics["backchannel_handled_rate"] == 1.0
    # Long as it is, a backchannel is not a talk-over, and its end starts no wait.
    assert res.metrics["talk_overs"] == 0 and analyse(trace).waits == [(0.0, 0.5), (4.0, 5.0)]


def test_backchannel_handled_wrong_cut_or_taken_as_a_turn() -> None:
    utterances = [caller(0, "payments", 2.5, 4.0), said(1, (6.0, 6.7), backchannel=True)]
    cut = call(
        caller_turns=utterances,
        agent_turns=_over_reply(playback_end=6.35, interrupted=True),
        duration_s=9.0,
    )
    ev = analyse(cut)
    assert [(b.kept_talking, b.taken_as_turn) for b in ev.backchannels] == [(False, False)]
    assert score(cut).metrics["backchannel_handled_rate"] == 0.0
    taken = call(
        caller_turns=utterances,
        agent_turns=[
            *_over_reply(playback_end=12.0),
            agent(2, "Sorry?", heard=(6.0, 6.7), first_audible=12.5, playback_end=13.0),
        ],
        duration_s=13.0,
    )
    ev = analyse(taken)
    assert [(b.kept_talking, b.taken_as_turn) for b in ev.backchannels] == [(True, True)]
    res = score(taken)
    assert res.metrics["backchannel_handled_rate"] == 0.0
    assert "0/1 backchannels handled" in res.reason


def test_a_later_barge_in_is_not_blamed_on_the_backchannel() -> None:
    trace = call(
        caller_turns=[
            caller(0, "payments", 2.5, 4.0),
            said(1, (6.0, 6.5), backchannel=True),
            caller(2, "no, the other account", 8.0, 9.5),
        ],
        agent_turns=_over_reply(playback_end=8.35, interrupted=True),
        duration_s=10.0,
    )
    res = score(trace)
    assert res.metrics["backchannel_handled_rate"] == 1.0
    assert res.metrics["yield_latency_s"] == pytest.approx(0.35)


def test_a_backchannel_said_in_silence_is_no_event() -> None:
    trace = call(
        caller_turns=[caller(0, "payments", 2.5, 4.0), said(1, (12.5, 12.8), backchannel=True)],
        agent_turns=_over_reply(playback_end=12.0),
        duration_s=13.0,
    )
    res = score(trace)
    assert res.metrics["backchannels"] == 0 and res.metrics["backchannel_handled_rate"] is None


def test_discarded_replies_were_never_heard() -> None:
    trace = call(
        caller_turns=[caller(0, "balance", 2.5, 4.0)],
        agent_turns=[
            greeting(),
            agent(1, "Hm?", first_audible=3.0, playback_end=4.0, discarded=True),
        ],
        duration_s=5.0,
    )
    assert score(trace).metrics["agent_replies"] == 1


def test_a_silent_call_is_not_scored() -> None:
    res = score(call(agent_turns=[agent(0, "", trigger="start")]))
    assert res.score is None and res.reason.startswith("not scored")
    assert all(v is None for v in res.metrics.values())


def test_every_event_metric_names_a_declared_count() -> None:
    declared = metric_index()
    events = {m.name: m.events for m in TurnTaking.metrics if m.events}
    assert set(events) == {
        "response_latency_p50_s",
        "response_latency_p90_s",
        "yield_latency_s",
        "yield_rate",
        "agent_interruption_rate",
        "backchannel_handled_rate",
    }
    for count in events.values():
        assert declared[count].unit == "count" and declared[count].events is None


def test_an_agent_that_cuts_itself_in_silence_leaves_the_caller_waiting() -> None:
    # "Uh-huh" (0.25 s) ends at 6.25; the agent, taking it for a barge-in, stops at 6.6 and says
    # nothing until 9.6: the caller waits from the cut, not from the end of its own speech.
    trace = call(
        caller_turns=[caller(0, "payments", 2.5, 4.0), said(1, (6.0, 6.25), backchannel=True)],
        agent_turns=[
            *_over_reply(playback_end=6.6, interrupted=True),
            agent(2, "Sorry?", heard=(6.0, 6.25), first_audible=9.6, playback_end=10.0),
        ],
        duration_s=10.0,
    )
    assert analyse(trace).waits == [(0.0, 0.5), (4.0, 5.0), (6.6, 9.6)]
    assert score(trace).metrics["dead_air_s"] == pytest.approx(1.0)


def test_a_reply_without_audio_times_leaves_the_call_unscored() -> None:
    # E.g. a log that gives a reply's text but not when it played: no wait can be measured.
    trace = call(
        caller_turns=[caller(0, "balance", 2.5, 4.0)],
        agent_turns=[greeting(), agent(1, "It is 5 dollars.", heard=(2.5, 4.0))],
        duration_s=9.0,
        source="imported",
    )
    res = score(trace)
    assert res.reason == "not scored: a reply has no audio times" and res.score is None


def test_a_simulated_reply_never_voiced_is_silence_not_a_gap_in_the_evidence() -> None:
    # A TTS fault: the agent decided on a reply but the caller heard nothing, so the wait runs on.
    trace = call(
        caller_turns=[caller(0, "balance", 2.5, 4.0)],
        agent_turns=[greeting(), agent(1, "It is 5 dollars.", heard=(2.5, 4.0))],
        duration_s=9.0,
    )
    res = score(trace)
    assert res.metrics["dead_air_s"] is not None and res.metrics["dead_air_s"] > 0.0
