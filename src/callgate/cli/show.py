"""Plain-text views of runs and call traces for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from callgate.traces.model import CallTrace


def calls_table(traces: list[CallTrace]) -> Table:
    table = Table(show_lines=False)
    for col in ("call", "scenario", "cohort", "variant", "rep", "ended", "tools", "secs"):
        table.add_column(col, overflow="fold")
    for t in traces:
        tools = ",".join(tc.tool + ("" if tc.ok else "!") for tc in t.tool_calls) or "-"
        table.add_row(
            t.call_id[:10],
            t.scenario_id,
            t.cohort_id.replace("|", " "),
            t.variant,
            str(t.repeat),
            t.ended_by,
            tools,
            f"{t.duration_s:.1f}",
        )
    return table


def print_call(console: Console, t: CallTrace) -> None:
    console.print(
        f"[bold]call {t.call_id}[/] run {t.run_id}  {t.scenario_id}  variant={t.variant}"
        f"  repeat={t.repeat}  seed={t.seed}",
        highlight=False,
        markup=True,
    )
    console.print(f"cohort: {t.cohort_id}  split={t.split}", highlight=False, markup=False)
    console.print(f"goal: {t.goal}", highlight=False, markup=False)
    console.print(
        f"ended by {t.ended_by}{f' ({t.error})' if t.error else ''} after {t.duration_s:.2f} s; "
        f"transferred={t.transferred}; "
        f"cost {t.cost_total:.5f}",
        highlight=False,
        markup=False,
    )
    rows: list[tuple[float, str]] = []
    for u in t.caller_turns:
        flag = " (interrupting)" if u.interrupting else " (backchannel)" if u.backchannel else ""
        rows.append((u.start, f"CALLER [{u.why}]{flag}: {u.text}"))
    for a in t.agent_turns:
        if a.asr is not None:
            ref = a.reference_text or ""
            rows.append(
                (
                    a.end_of_turn or 0.0,
                    f"  heard (conf {a.asr.confidence_label}): {a.asr.text!r}   said: {ref!r}",
                )
            )
        if a.policy is not None:
            slots = ", ".join(f"{k}={v}" for k, v in a.policy.slots.items())
            rows.append(
                (
                    a.policy_end or 0.0,
                    f"  policy: {a.policy.action} intent={a.policy.intent} {slots}".rstrip(),
                )
            )
        for i in a.tool_calls:
            tc = t.tool_calls[i]
            status = "ok" if tc.ok else f"error: {tc.error}"
            rows.append((tc.start, f"  tool {tc.tool}({tc.args}) -> {status}"))
        state = " [discarded]" if a.discarded else " [cut]" if a.interrupted else ""
        when = a.first_audible if a.first_audible is not None else (a.policy_end or 0.0)
        rows.append((when, f"AGENT{state}: {a.reply_text}"))
    for when, line in sorted(rows, key=lambda r: r[0]):
        console.print(f"{when:7.2f}s  {line}", highlight=False, markup=False, soft_wrap=True)
    console.print("final state changes:", highlight=False, markup=False)
    for key in sorted(set(t.initial_state) | set(t.final_state)):
        if t.initial_state.get(key) != t.final_state.get(key):
            console.print(f"  {key}: {t.final_state.get(key)}", highlight=False, markup=False)


def print_timeline(console: Console, t: CallTrace) -> None:
    for e in t.events:
        data = " ".join(f"{k}={v}" for k, v in e.data.items())
        turn = "" if e.turn is None else f"#{e.turn}"
        console.print(f"{e.t:8.3f}  {e.kind:<20} {turn:<4} {data}", highlight=False, markup=False)
