"""The report's turn-taking section: TurnTaking's metrics per cohort and variant.

Rates pool their events over a cohort's calls (yielded talk-overs over all talk-overs, not a mean
of per-call rates), latency percentiles pool the per-event values of the turn rows, and dead air
is a mean per call. A rate or latency that pools fewer than ``min_events`` events is shown as
"too few events (n)": a share of 2 out of 3 says nothing about a cohort ("-": no event at all).
"""

from __future__ import annotations

from collections import defaultdict

from callgate.evaluators.base import MIN_EVENTS, Metric
from callgate.evaluators.turn_taking import (
    BACKCHANNEL_HANDLED,
    DEAD_AIR,
    DEAD_AIR_LONGEST,
    INTERRUPTIONS,
    RESPONSE_KEY,
    YIELD_KEY,
    YIELD_RATE,
    TurnTaking,
)
from callgate.report.data import RunView, mean, metric_values, quantile
from callgate.report.escape import esc, num, pct
from callgate.store.records import CallRow

HEAD = (
    "response p50 / p90 s",
    "yield latency p50 s",
    "yielded",
    "agent talked over caller",
    "dead air s per call",
    "longest dead air s per call",
    "backchannels handled",
)


def _few(n: int) -> str:
    return f'<span class="muted">too few events ({n})</span>' if n else "-"


def pooled_rate(rows: list[CallRow], m: Metric, min_events: int) -> tuple[float | None, int]:
    """(events with the outcome / events, events) over the calls; None below ``min_events``."""
    assert m.events is not None
    hits = total = 0.0
    for r in rows:
        rate, n = r.metrics.get(m.name), r.metrics.get(m.events)
        if rate is not None and n:
            hits += rate * n
            total += n
    events = round(total)
    return (hits / total if events >= min_events else None), events


def _rate_cell(rows: list[CallRow], m: Metric, min_events: int) -> str:
    value, n = pooled_rate(rows, m, min_events)
    return _few(n) if value is None else f'{pct(value)} <span class="muted">({n})</span>'


def _latency_cell(
    rows: list[CallRow], key: str, quantiles: tuple[float, ...], min_events: int
) -> str:
    values = [v for r in rows for v in r.turn_values.get(key, [])]
    if len(values) < min_events:
        return _few(len(values))
    shown = " / ".join(num(quantile(values, q)) for q in quantiles)
    return f'{shown} <span class="muted">({len(values)})</span>'


def _cells(rows: list[CallRow], min_events: int) -> list[str]:
    """One cell per column of :data:`HEAD`."""
    return [
        _latency_cell(rows, RESPONSE_KEY, (0.5, 0.9), min_events),
        _latency_cell(rows, YIELD_KEY, (0.5,), min_events),
        _rate_cell(rows, YIELD_RATE, min_events),
        _rate_cell(rows, INTERRUPTIONS, min_events),
        num(mean(metric_values(rows, DEAD_AIR.name))),
        num(mean(metric_values(rows, DEAD_AIR_LONGEST.name))),
        _rate_cell(rows, BACKCHANNEL_HANDLED, min_events),
    ]


def turn_taking_section(view: RunView, min_events: int = MIN_EVENTS) -> str:
    names = {m.name for m in TurnTaking.metrics}
    if not any(r.metrics.get(n) is not None for r in view.rows for n in names):
        return '<p class="muted">Not scored: the run\'s evaluators do not include TurnTaking.</p>'
    groups: dict[tuple[str, str], list[CallRow]] = defaultdict(list)
    for r in view.rows:
        groups[(r.cohort_id, r.variant)].append(r)
        groups[("all cohorts", r.variant)].append(r)
    order = {v: i for i, v in enumerate(view.variants)}
    keys = sorted(groups, key=lambda k: (k[0] == "all cohorts", k[0], order.get(k[1], 0)))
    body = []
    for cohort, variant in keys:
        rows = groups[(cohort, variant)]
        label = f"<b>{esc(cohort)}</b>" if cohort == "all cohorts" else esc(cohort)
        cells = "".join(f"<td>{c}</td>" for c in _cells(rows, min_events))
        body.append(
            f'<tr><td class="mono small">{label}</td><td>{esc(variant)}</td>'
            f"<td>{len(rows)}</td>{cells}</tr>"
        )
    head = "".join(f"<th>{esc(h)}</th>" for h in HEAD)
    return (
        '<p class="muted">How the agent takes turns, from the call timelines (docs/results.md, '
        "TurnTaking): response latency from the end of a caller turn to the agent's audible "
        "answer; yield latency from the caller talking over a reply to its audio stopping, and the "
        "share stopped within the yield bound; replies the agent started while the caller was "
        "speaking; dead air beyond its bound while the caller waited; backchannels the agent "
        "talked on through. Rates pool their events over the cohort's calls, latencies their "
        f"turns; (n) is the number of events, and fewer than {min_events} are not shown.</p>"
        '<table id="turn-taking"><thead><tr><th>cohort</th><th>variant</th><th>calls</th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
