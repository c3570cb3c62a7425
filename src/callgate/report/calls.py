"""One call in detail, shared by the HTML report and the web UI so the two never drift.

The caller links audio and other calls through two callbacks: the report uses ``data:`` URIs or
relative files and in-page anchors, the web UI its own ``/blob`` and ``/run/.../call`` URLs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from callgate.evaluators.base import Metric
from callgate.report.diff import diff_html
from callgate.report.escape import anchor, esc, num
from callgate.report.metrics import off_threshold, value
from callgate.report.timeline import timeline_svg
from callgate.report.tools import tools_table
from callgate.results.table import declared_metrics
from callgate.store.records import FAIL_METRICS, CallRow, CallScores
from callgate.traces.model import AudioRef, CallTrace

AudioSrc = Callable[[AudioRef], str | None]
CallLink = Callable[[str], str | None]
Declared = Mapping[str, Metric]  # the evaluators' metrics (results.table.declared_metrics)


def status_badges(row: CallRow | None) -> str:
    if row is None or row.failed is None:
        return '<span class="badge">not scored</span>'
    out = [
        '<span class="badge bad">failed</span>'
        if row.failed
        else '<span class="badge ok">passed</span>'
    ]
    if row.regressed:
        out.append('<span class="badge bad">regressed</span>')
    if row.failure_cause:
        cause = esc(row.failure_cause)
        out.append(f'<span class="badge cause-{cause}">{cause}</span>')
    return " ".join(out)


def _player(label: str, channel: str, ref: AudioRef | None, audio_src: AudioSrc) -> str:
    src = audio_src(ref) if ref is not None else None
    if src is None:
        return f'<div class="player"><b>{esc(label)}</b> <span class="muted">no audio</span></div>'
    return (
        f'<div class="player"><b>{esc(label)}</b> <audio controls preload="none" '
        f'data-channel="{channel}" src="{esc(src)}"></audio></div>'
    )


def _ttfa_by_turn(scores: CallScores | None) -> dict[int, float]:
    return {
        int(t["turn"]): float(t["ttfa_s"])
        for t in (scores.turns if scores else [])
        if t.get("ttfa_s") is not None and t.get("turn") is not None
    }


def _say_do_by_turn(scores: CallScores | None) -> dict[int, list[str]]:
    """SayDo's findings per turn (a claim with no action behind it, an action without consent)."""
    out: dict[int, list[str]] = {}
    for t in scores.turns if scores else []:
        for f in t.get("say_do") or []:
            if isinstance(f, dict) and t.get("turn") is not None:
                out.setdefault(int(t["turn"]), []).append(str(f.get("summary", "")))
    return out


def turns_table(trace: CallTrace, scores: CallScores | None) -> str:
    ttfa = _ttfa_by_turn(scores)
    say_do = _say_do_by_turn(scores)
    rows = []
    for turn in trace.agent_turns:
        t = turn.heard_start if turn.heard_start is not None else turn.first_audible
        when = (
            f'<button type="button" class="seek-btn" data-seek="{t:.3f}">{t:.2f}s</button>'
            if t is not None
            else "-"
        )
        if turn.asr is not None and turn.reference_text is not None:
            heard = diff_html(turn.reference_text, turn.asr.text)
            heard += (
                f'<div class="muted">said: {esc(turn.reference_text)}<br>heard: '
                f"{esc(turn.asr.text)} (confidence {turn.asr.confidence_label})</div>"
            )
        elif turn.asr is not None:
            heard = f"{esc(turn.asr.text)} <span class='muted'>(no reference)</span>"
        else:
            heard = f'<span class="muted">{esc(turn.trigger)}</span>'
        policy = "-"
        if turn.policy is not None:
            p = turn.policy
            conf = "" if p.intent_confidence is None else f" {p.intent_confidence:.2f}"
            policy = f"{esc(p.action)}<br><span class='muted'>{esc(p.intent or '')}{conf}</span>"
        flags = [f for f, on in (("cut", turn.interrupted), ("dropped", turn.discarded)) if on]
        flags += ["transfer"] if turn.transferred else []
        tools = ", ".join(
            esc(trace.tool_calls[i].tool) for i in turn.tool_calls if i < len(trace.tool_calls)
        )
        rows.append(
            f"<tr><td>{turn.index}</td><td>{when}</td><td>{heard}</td><td>{policy}</td>"
            f"<td>{tools or '-'}</td><td>{esc(turn.reply_text)}"
            + "".join(f' <span class="badge bad">{f}</span>' for f in flags)
            + "".join(
                f'<div class="small"><span class="badge bad">say/do</span> {esc(s)}</div>'
                for s in say_do.get(turn.index, [])
            )
            + f"</td><td>{num(ttfa.get(turn.index))}</td></tr>"
        )
    return (
        '<table class="turns"><thead><tr><th>#</th><th>at</th><th>caller said / agent heard'
        "</th><th>policy</th><th>tools</th><th>reply</th><th>TTFA s</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _scores_block(scores: CallScores | None) -> str:
    if scores is None or not scores.metrics:
        return '<p class="muted">Not scored (run `callgate evaluate`).</p>'
    cells = "".join(
        f"<tr><td>{esc(k)}</td><td>{num(v)}</td></tr>" for k, v in sorted(scores.metrics.items())
    )
    reasons = "".join(
        f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in sorted(scores.reasons.items())
    )
    return (
        "<details><summary>All scores and reasons</summary>"
        f'<div class="cols"><table class="compact">{cells}</table><ul>{reasons}</ul></div>'
        "</details>"
    )


def call_detail(
    trace: CallTrace,
    scores: CallScores | None,
    row: CallRow | None,
    *,
    audio_src: AudioSrc,
    call_link: CallLink,
    heading: str = "h3",
    declared: Declared | None = None,
) -> str:
    """The detail section of one call: header, players, timeline, turns, tools, scores."""
    tags = " ".join(f'<span class="tag">{esc(k)}={esc(v)}</span>' for k, v in trace.cohort.items())
    key = _thresholds(scores, declared_metrics() if declared is None else declared)
    partner = ""
    if row is not None and row.partner:
        link = call_link(row.partner)
        label = esc(row.partner)
        partner = (
            f'paired call: <a href="{esc(link)}">{label}</a>' if link else f"paired call: {label}"
        )
    cause = ""
    if row is not None and row.failed:
        cause = (
            f'<p class="cause"><b>why:</b> {esc(row.failure_cause)} &mdash; '
            f"{esc(row.cause_reason)}</p>"
        )
    return (
        f'<section class="call-detail" id="{anchor(trace.call_id)}" '
        f'data-call="{esc(trace.call_id)}">'
        f"<{heading}>{esc(trace.scenario_id)} &middot; {esc(trace.variant)} "
        f'<span class="mono muted">{esc(trace.call_id)}</span></{heading}>'
        f"<p>{status_badges(row)} {tags}</p>{cause}"
        f'<p class="muted">goal: {esc(trace.goal) or "-"} &middot; ended by '
        f"{esc(trace.ended_by)}{_failure(trace.error)} after {trace.duration_s:.1f} s &middot; "
        f"{partner}</p>"
        f'<p class="muted">{key}</p>'
        '<div class="players">'
        + _player("caller (as the agent heard it)", "caller", trace.caller_audio, audio_src)
        + _player("agent (as played)", "agent", trace.agent_audio, audio_src)
        + '<span class="pos mono">0.00 s</span></div>'
        + timeline_svg(trace)
        + "<h4>Turns</h4>"
        + turns_table(trace, scores)
        + "<h4>Tools: expected path vs calls made</h4>"
        + tools_table(trace, scores)
        + _scores_block(scores)
        + "</section>"
    )


def _thresholds(scores: CallScores | None, declared: Declared) -> str:
    """The metrics that missed their declared pass threshold, whichever evaluator made them."""
    if scores is None:
        return ""
    missed = off_threshold(scores.metrics, declared)
    if not missed:
        return "every scored metric within its pass threshold"
    return "missed: " + " &middot; ".join(f"{esc(m)} {esc(v)}" for m, v in missed)


def fail_metric_cells(r: CallRow, declared: Declared) -> str:
    """The failure rule's metrics of a call, one cell each (header: :data:`FAIL_METRICS`)."""
    return "".join(f"<td>{esc(value(m, r.metrics.get(m), declared))}</td>" for m in FAIL_METRICS)


def missed_names(r: CallRow, declared: Declared) -> str:
    return ", ".join(m for m, _ in off_threshold(r.metrics, declared))


def failures_table(
    rows: list[CallRow],
    call_link: CallLink,
    *,
    table_id: str = "failures",
    declared: Declared | None = None,
) -> str:
    """Failed calls with their cause; the id links to the detail (when there is one)."""
    declared = declared_metrics() if declared is None else declared
    body = []
    for r in rows:
        link = call_link(r.call_id)
        cid = esc(r.call_id[:12])
        ident = f'<a href="{esc(link)}">{cid}</a>' if link else cid
        body.append(
            f'<tr data-variant="{esc(r.variant)}" data-cause="{esc(r.failure_cause or "")}">'
            f'<td class="mono">{ident}</td><td>{esc(r.variant)}</td><td>{esc(r.scenario_id)}</td>'
            f'<td class="mono small">{esc(r.cohort_id)}</td>'
            f"<td>{'yes' if r.regressed else ''}</td><td>{esc(r.failure_cause or '')}</td>"
            f"<td class='small'>{esc(r.cause_reason)}</td>"
            + fail_metric_cells(r, declared)
            + f"<td class='small'>{esc(missed_names(r, declared))}</td></tr>"
        )
    return (
        f'<table id="{esc(table_id)}" class="calls"><thead><tr><th>call</th><th>variant</th>'
        "<th>scenario</th><th>cohort</th><th>regressed</th><th>cause</th><th>reason</th>"
        + "".join(f"<th>{esc(m)}</th>" for m in FAIL_METRICS)
        + "<th>missed thresholds</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _failure(error: str | None) -> str:
    """Why the agent failed the call, beside ``ended by error``."""
    return f' <span class="badge bad">{esc(error)}</span>' if error else ""
