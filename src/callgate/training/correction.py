"""A failed call's first wrong step, and the tool calls that should have come instead.

The expected path (``trace.expectation``) is aligned with the calls the agent made by the same
rule the ToolSelectionAccuracy evaluator uses (:func:`callgate.evaluators.expectations.
match_tool_path`). The **first wrong step** is the earliest of:

* a call aligned with an expected call but with a wrong argument;
* a call of a forbidden tool;
* a call of an expected tool beyond the number of times the path expects it;
* a call of a hand-off tool (the suite's ``handoff_tools``) the path does not ask for, when the
  expectation does not say ``transferred``: the agent gave the call up;
* for an expected call the agent never made: the call it made in its place (the next aligned
  call of the path), or, when none follows, the **end of the call** (the agent finished without
  it).

Calls of tools the path neither expects nor forbids (a look-up on the way) are never wrong. The
**correction** is every expected call not already made right up to and including the wrong step,
in the path's order, with the arguments the expectation gives (``equals``, ``approx``, the first
of ``one_of``, the text of ``contains``); then the hand-off tool when the expectation says
``transferred`` and neither the call nor the correction hands off. An expected argument left open
(``any``) cannot be filled, so such a call is not correctable; neither is a call whose tool path
was right (it failed on something a tool call cannot fix) or a wrong step with nothing expected
after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from callgate.evaluators.expectations import match_tool_path
from callgate.scenarios.model import ArgConstraint, Expectation, ExpectedToolCall
from callgate.traces.model import CallTrace, ToolCallTrace


@dataclass(frozen=True)
class Correction:
    """``wrong_call``: the trace index of the wrong tool call, or None for the end of the call."""

    wrong_call: int | None
    calls: list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class NotCorrectable:
    reason: str


def ordered_calls(trace: CallTrace) -> list[ToolCallTrace]:
    """The call's tool calls in the order they were made."""
    return sorted(trace.tool_calls, key=lambda c: (c.start, c.index))


def fill_args(expected: ExpectedToolCall) -> dict[str, Any] | None:
    """The arguments an expected call fixes; None when one is left open (``any``)."""
    args: dict[str, Any] = {}
    for name, c in expected.args.items():
        value = _value(c)
        if value is None:
            return None
        args[name] = value
    return args


def _value(c: ArgConstraint) -> Any:
    if c.approx is not None:
        return c.approx
    if c.one_of:
        return c.one_of[0]
    if c.contains is not None:
        return c.contains
    return c.equals  # None for ``any``


def _wrong_position(
    expectation: Expectation, calls: list[ToolCallTrace], handoff_tools: Sequence[str]
) -> tuple[int, Any]:
    """(position in ``calls`` of the first wrong step, or len(calls) for the end of the call,
    or -1 when nothing is wrong; and the alignment)."""
    match = match_tool_path(expectation.tools, calls, expectation.forbidden_tools)
    wrong: list[int] = [m.call for m in match.expected if m.call is not None and not m.args_ok]
    wrong += match.forbidden_calls
    allowed = Counter(e.tool for e in expectation.tools)
    if not expectation.transferred:  # a hand-off the path does not ask for gives the call up
        wrong += [
            p for p, c in enumerate(calls) if c.tool in handoff_tools and c.tool not in allowed
        ]
    made: Counter[str] = Counter()
    for pos, call in enumerate(calls):
        made[call.tool] += 1
        if call.tool in allowed and made[call.tool] > allowed[call.tool]:
            wrong.append(pos)
    for i, m in enumerate(match.expected):
        if m.call is None:
            later = [n.call for n in match.expected[i + 1 :] if n.call is not None]
            wrong.append(later[0] if later else len(calls))
    return (min(wrong) if wrong else -1), match


def correct(trace: CallTrace, handoff_tools: Sequence[str]) -> Correction | NotCorrectable:
    """The first wrong step of a failed call and its correction (module doc)."""
    if trace.expectation is None:
        return NotCorrectable("no expectation in the trace")
    try:
        expectation = Expectation.model_validate(trace.expectation)
    except ValidationError:
        return NotCorrectable("its expectation does not validate")
    calls = ordered_calls(trace)
    pos, match = _wrong_position(expectation, calls, handoff_tools)
    if pos < 0:
        pos = len(calls)  # the path is right: at most a missing hand-off is left to fix
    fix: list[tuple[str, dict[str, Any]]] = []
    for exp, m in zip(expectation.tools, match.expected, strict=True):
        if m.call is not None and m.args_ok and m.call <= pos:
            continue
        args = fill_args(exp)
        if args is None:
            return NotCorrectable(f"the expected {exp.tool} leaves an argument open (any)")
        fix.append((exp.tool, args))
    whole_call = pos == len(calls)
    handed_off = (trace.transferred and whole_call) or any(
        c.tool in handoff_tools for c in calls[: pos + 1]
    )
    hands_off = any(tool in handoff_tools for tool, _ in fix)
    if expectation.transferred and not handed_off and handoff_tools and not hands_off:
        fix.append((handoff_tools[0], {}))
    if not fix:
        if whole_call:
            return NotCorrectable("the tool path was right: no tool call fixes this failure")
        return NotCorrectable("nothing expected is left to call after the wrong step")
    wrong_call = None if whole_call else calls[pos].index
    return Correction(wrong_call, fix)
