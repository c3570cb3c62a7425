"""The report's turn-taking section: per cohort, pooled over events, hidden below min_events."""

from __future__ import annotations

import re

import pytest

from callgate.evaluators.base import EvalContext
from callgate.evaluators.turn_taking import YIELD_RATE, TurnTaking
from callgate.report.data import RunView
from callgate.report.turn_taking import pooled_rate, turn_taking_section
from callgate.store.reader import RunRow
from callgate.store.records import CallRow, CallScores
from callgate.store.run_spec import RunSpec
from callgate.traces.model import CallTrace
from factories import agent, call, caller


def barge_in(cid: str, cohort: str, variant: str, cut_after: float | None) -> CallTrace:
    """One answer the caller talks over at 6.0 s; the agent stops ``cut_after`` later (None: it
    talks on to 9.0 s)."""
    end = 9.0 if cut_after is None else 6.0 + cut_after
    return call(
        call_id=cid,
        variant=variant,
        cohort_id=cohort,
        caller_turns=[caller(0, "balance", 2.5, 4.0), caller(1, "stop", 6.0, 7.0)],
        agent_turns=[
            agent(0, "Hi.", first_audible=0.5, playback_end=2.0),
            agent(1, "Long.", heard=(2.5, 4.0), first_audible=5.0, playback_end=end),
        ],
        duration_s=10.0,
    )


def row(trace: CallTrace) -> CallRow:
    res = TurnTaking().score_call(trace, EvalContext())
    return CallRow.of(trace, CallScores(metrics=res.metrics, reasons={}, turns=res.turns))


def view(rows: list[CallRow]) -> RunView:
    run = RunRow("r1", 0.0, RunSpec(), len(rows), None, 0.0, len(rows))
    variants = list(dict.fromkeys(r.variant for r in rows))
    return RunView(run, rows, variants, variants[0], variants[-1])


def cell(html: str, cohort: str, variant: str, column: int) -> str:
    """The text of a cell of the cohort's row (columns after cohort, variant and calls)."""
    match = re.search(
        rf"<tr><td[^>]*>(?:<b>)?{re.escape(cohort)}(?:</b>)?</td><td>{variant}</td>(.*?)</tr>", html
    )
    assert match, (cohort, variant)
    cells = re.findall(r"<td>(.*?)</td>", match.group(1))
    return re.sub(r"<[^>]+>", "", cells[column + 1])


def test_rates_pool_events_and_hide_below_min_events() -> None:
    # Cohort x: 4 talk-overs yielded, 2 not (6 events); cohort y: 2 yielded (too few).
    calls = [barge_in(f"x{i}", "x", "v", 0.35 if i < 4 else None) for i in range(6)]
    calls += [barge_in(f"y{i}", "y", "v", 0.35) for i in range(2)]
    rows = [row(t) for t in calls]
    assert pooled_rate(rows[:6], YIELD_RATE, 5) == (pytest.approx(4 / 6), 6)
    assert pooled_rate(rows[6:], YIELD_RATE, 5) == (None, 2)
    html = turn_taking_section(view(rows))
    assert cell(html, "x", "v", 2) == "66.7% (6)"  # yielded
    assert cell(html, "y", "v", 2) == "too few events (2)"
    assert cell(html, "all cohorts", "v", 2) == "75.0% (8)"
    assert cell(html, "y", "v", 1) == "too few events (2)"  # yield latency
    assert cell(html, "x", "v", 1) == "0.35 (6)"  # p50 over the six talk-overs
    assert cell(html, "y", "v", 3) == "too few events (4)"  # 4 replies, none over the caller
    assert cell(html, "x", "v", 3) == "0.0% (12)"
    assert "too few events" not in turn_taking_section(view(rows[6:]), min_events=2)
    assert cell(html, "x", "v", 6) == "-"  # no backchannel at all: nothing to show


def test_latency_percentiles_pool_turns_not_per_call_medians() -> None:
    def answered(cid: str, gaps: list[float]) -> CallTrace:
        turns, replies, t = [], [agent(0, "Hi.", first_audible=0.5, playback_end=1.0)], 2.0
        for i, gap in enumerate(gaps, 1):
            turns.append(caller(i - 1, "q", t, t + 1.0))
            end = t + 1.0
            replies.append(
                agent(i, "a", heard=(t, end), first_audible=end + gap, playback_end=end + 1 + gap)
            )
            t += 4.0 + gap
        return call(call_id=cid, caller_turns=turns, agent_turns=replies, duration_s=t)

    rows = [row(answered("a", [1.0, 1.0, 1.0, 1.0])), row(answered("b", [3.0]))]
    assert [r.metrics["response_latency_p50_s"] for r in rows] == [1.0, 3.0]
    html = turn_taking_section(view(rows))
    # Over five turns the median is 1.0 s (a mean of the calls' medians would say 2.0 s).
    assert cell(html, "all cohorts", "v", 0) == "1 / 2.2 (5)"


def test_a_run_without_turn_taking_scores_says_so() -> None:
    rows = [CallRow.of(barge_in("c", "x", "v", 0.35), None)]
    assert "Not scored" in turn_taking_section(view(rows))
