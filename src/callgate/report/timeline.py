"""A call's event timeline as inline SVG: caller speech, agent playback, cuts, tool calls.

Every item carries ``data-seek`` (seconds on the virtual clock, which is also the position in both
audio tracks: they start at 0 and are padded to the call's length), so a click seeks the players
(see ``assets.JS``). Details go into ``<title>`` tooltips, escaped like every other text.
"""

from __future__ import annotations

from callgate.report.escape import esc
from callgate.report.svg import nice_ticks
from callgate.traces.model import CallTrace

_W, _LEFT, _RIGHT = 900, 70, 12
_LANES = ("caller", "agent", "tools", "events")
_LANE_H, _TOP = 26, 8
_MARKED = {
    "barge_in": "barge-in",
    "agent_cut": "cut",
    "reply_discarded": "reply dropped",
    "end_of_turn": "end of turn",
    "no_input_timeout": "no input",
    "transfer": "transfer",
    "caller_hangup": "caller hung up",
    "agent_error": "agent failed",
    "provider_fault": "provider fault",
}


def _f(x: float) -> str:
    return f"{x:.1f}"


def _seek(t: float) -> str:
    return f'data-seek="{t:.3f}" tabindex="0"'


def timeline_svg(trace: CallTrace) -> str:
    end = max(
        [trace.duration_s, 0.1]
        + [e.t for e in trace.events]
        + [p.end for u in trace.caller_turns for p in u.pieces]
    )
    plot_w = _W - _LEFT - _RIGHT
    height = _TOP + _LANE_H * len(_LANES) + 22

    def x(t: float) -> float:
        return _LEFT + max(0.0, min(t, end)) / end * plot_w

    def lane_y(name: str) -> float:
        return _TOP + _LANE_H * _LANES.index(name)

    out = [
        f'<svg class="timeline" viewBox="0 0 {_W} {height}" width="100%" '
        f'data-duration="{end:.3f}" data-left="{_LEFT}" data-plot="{plot_w}" role="img" '
        'xmlns="http://www.w3.org/2000/svg"><title>Event timeline (click to seek)</title>'
    ]
    for name in _LANES:
        y = lane_y(name)
        out.append(
            f'<text x="4" y="{_f(y + 17)}" class="lane">{name}</text>'
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_f(y + _LANE_H - 2)}" '
            f'y2="{_f(y + _LANE_H - 2)}" class="grid"/>'
        )
    axis_y = _TOP + _LANE_H * len(_LANES)
    for t in nice_ticks(0.0, end, 10):
        out.append(
            f'<g class="seek" {_seek(t)}><line x1="{_f(x(t))}" x2="{_f(x(t))}" y1="{_TOP}" '
            f'y2="{_f(axis_y)}" class="grid"/><text x="{_f(x(t))}" y="{_f(axis_y + 14)}" '
            f'text-anchor="middle" class="tick">{t:g}s</text></g>'
        )
    y = lane_y("caller")
    for u in trace.caller_turns:
        for p in u.pieces:
            tip = f"{p.start:.2f}-{p.end:.2f} s caller ({u.why}): {p.text}"
            out.append(
                f'<g class="seek item caller" {_seek(p.start)}><rect x="{_f(x(p.start))}" '
                f'y="{_f(y + 4)}" width="{_f(max(2.0, x(p.end) - x(p.start)))}" height="16" '
                f'rx="3"/><title>{esc(tip)}</title></g>'
            )
    y = lane_y("agent")
    for turn in trace.agent_turns:
        if turn.discarded or turn.first_audible is None:
            if turn.discarded and turn.policy_end is not None:
                tip = f"{turn.policy_end:.2f} s reply dropped (never spoken): {turn.reply_text}"
                out.append(
                    f'<g class="seek item dropped" {_seek(turn.policy_end)}>'
                    f'<rect x="{_f(x(turn.policy_end))}" y="{_f(y + 4)}" width="8" height="16" '
                    f'rx="2"/><title>{esc(tip)}</title></g>'
                )
            continue
        stop = turn.playback_end if turn.playback_end is not None else turn.first_audible
        kind = "agent cut" if turn.interrupted else "agent"
        state = " (cut by the caller)" if turn.interrupted else ""
        tip = f"{turn.first_audible:.2f}-{stop:.2f} s agent{state}: {turn.reply_text}"
        out.append(
            f'<g class="seek item {kind}" {_seek(turn.first_audible)}>'
            f'<rect x="{_f(x(turn.first_audible))}" y="{_f(y + 4)}" '
            f'width="{_f(max(2.0, x(stop) - x(turn.first_audible)))}" height="16" rx="3"/>'
            f"<title>{esc(tip)}</title></g>"
        )
        if turn.interrupted:
            out.append(
                f'<line x1="{_f(x(stop))}" x2="{_f(x(stop))}" y1="{_f(y)}" y2="{_f(y + 24)}" '
                'class="cut-mark"/>'
            )
    y = lane_y("tools")
    for call in trace.tool_calls:
        args = ", ".join(f"{k}={v!r}" for k, v in call.args.items())
        state = "ok" if call.ok else f"failed: {call.error or ''}"
        tip = f"{call.start:.2f} s {call.tool}({args}) {state}"
        cx, cy = x(call.start), y + 12
        out.append(
            f'<g class="seek item tool{"" if call.ok else " bad"}" {_seek(call.start)}>'
            f'<path d="M{_f(cx)} {_f(cy - 7)} L{_f(cx + 7)} {_f(cy)} L{_f(cx)} {_f(cy + 7)} '
            f'L{_f(cx - 7)} {_f(cy)} Z"/><text x="{_f(cx + 9)}" y="{_f(cy + 4)}" class="tick">'
            f"{esc(call.tool)}</text><title>{esc(tip)}</title></g>"
        )
    y = lane_y("events")
    for e in trace.events:
        label = _MARKED.get(e.kind)
        if label is None:
            continue
        out.append(
            f'<g class="seek item ev-{esc(e.kind)}" {_seek(e.t)}><line x1="{_f(x(e.t))}" '
            f'x2="{_f(x(e.t))}" y1="{_f(y + 3)}" y2="{_f(y + 21)}"/>'
            f"<title>{e.t:.2f} s {esc(label)}</title></g>"
        )
    out.append(
        f'<line class="cursor" x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{_f(axis_y)}" '
        'visibility="hidden"/></svg>'
    )
    return "".join(out)
