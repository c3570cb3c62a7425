"""Expected tool path against the tool calls made.

The alignment comes from ToolSelectionAccuracy's stored details when the call is scored (so the
table says exactly what the score counted); an unscored call shows both lists side by side.
"""

from __future__ import annotations

import json
from typing import Any

from callgate.report.escape import esc
from callgate.store.records import CallScores
from callgate.traces.model import CallTrace


def constraint_text(name: str, c: Any) -> str:
    """An argument constraint (scenario format) in a few words: ``amount ~ 50 +-0.01``."""
    if not isinstance(c, dict):
        return f"{name} = {c!r}"
    if c.get("any"):
        return f"{name}: any"
    if c.get("equals") is not None:
        return f"{name} = {c['equals']!r}"
    if c.get("approx") is not None:
        return f"{name} ~ {c['approx']} +-{c.get('tol', 0.01)}"
    if c.get("one_of"):
        return f"{name} one of {c['one_of']!r}"
    if c.get("contains") is not None:
        return f"{name} contains {c['contains']!r}"
    return f"{name}: {json.dumps(c, sort_keys=True)}"


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def _call_cell(call: dict[str, Any] | None) -> str:
    if call is None:
        return '<span class="muted">not called</span>'
    ok = "" if call.get("ok", True) else ' <span class="badge bad">error</span>'
    return (
        f'<span class="mono">#{esc(call.get("index"))} {esc(call.get("tool"))}'
        f"({esc(_args(call.get('args') or {}))})</span>{ok}"
    )


def _from_path(path: dict[str, Any], unsafe: list[Any]) -> list[str]:
    calls = {c.get("index"): c for c in path.get("calls", []) if isinstance(c, dict)}
    rows = []
    for exp in path.get("expected", []):
        if not isinstance(exp, dict):
            continue
        wanted = "; ".join(
            constraint_text(k, v) for k, v in (exp.get("expected_args") or {}).items()
        )
        call = calls.get(exp.get("call")) if exp.get("call") is not None else None
        if call is None:
            verdict = '<span class="badge bad">missing</span>'
        elif exp.get("args_ok"):
            verdict = '<span class="badge ok">right</span>'
        else:
            bad = "; ".join(
                f"{k}: {r.get('reason', '')}"
                for k, r in (exp.get("arg_results") or {}).items()
                if isinstance(r, dict) and not r.get("ok")
            )
            verdict = f'<span class="badge bad">wrong args</span> {esc(bad)}'
        rows.append(
            f'<tr><td class="mono">{esc(exp.get("tool"))}</td><td>{esc(wanted) or "-"}</td>'
            f"<td>{_call_cell(call)}</td><td>{verdict}</td></tr>"
        )
    extra = [(i, "not expected") for i in path.get("extra_calls", [])]
    extra += [(i, "forbidden") for i in path.get("forbidden_calls", [])]
    extra += [(u.get("call"), "unconfirmed") for u in unsafe if isinstance(u, dict)]
    for i, why in extra:
        rows.append(
            f'<tr><td class="muted">-</td><td></td><td>{_call_cell(calls.get(i))}</td>'
            f'<td><span class="badge bad">{esc(why)}</span></td></tr>'
        )
    if path.get("expected") and not path.get("order_ok", True):
        rows.append(
            '<tr><td colspan="4" class="muted">calls made out of the expected order</td></tr>'
        )
    return rows


def _side_by_side(trace: CallTrace) -> list[str]:
    expected = (trace.expectation or {}).get("tools") or []
    made = trace.tool_calls
    rows = []
    for i in range(max(len(expected), len(made))):
        exp = expected[i] if i < len(expected) and isinstance(expected[i], dict) else None
        wanted = ""
        if exp is not None:
            wanted = "; ".join(constraint_text(k, v) for k, v in (exp.get("args") or {}).items())
        call = made[i].model_dump() if i < len(made) else None
        rows.append(
            f'<td class="mono">{esc(exp.get("tool")) if exp else "-"}</td><td>{esc(wanted)}</td>'
            f'<td>{_call_cell(call)}</td><td class="muted">not scored</td>'
        )
    return [f"<tr>{r}</tr>" for r in rows]


def tools_table(trace: CallTrace, scores: CallScores | None) -> str:
    details = (scores.details.get("ToolSelectionAccuracy") if scores else None) or {}
    path = details.get("path") if isinstance(details, dict) else None
    if isinstance(path, dict):
        rows = _from_path(path, details.get("unsafe_calls") or [])
    else:
        rows = _side_by_side(trace)
    forbidden = (trace.expectation or {}).get("forbidden_tools") or []
    note = (
        f'<p class="muted small">forbidden: {esc(", ".join(map(str, forbidden)))}</p>'
        if forbidden
        else ""
    )
    if not rows:
        return '<p class="muted">No tool expected and none called.</p>' + note
    return (
        '<table class="tools"><thead><tr><th>expected tool</th><th>expected arguments</th>'
        "<th>call made</th><th>verdict</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + note
    )
