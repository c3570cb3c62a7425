"""Checking a call against its scenario's expectation: argument constraints, state predicates and
the alignment of the expected tool path with the tools the agent really called.

Comparison rules (shared by arguments and state predicates, see ``docs/scenarios.md``):

- strings compare case-insensitively after trimming whitespace;
- numbers compare numerically (``50 == 50.0``), and a numeric string matches a number (``"50"`` is
  50) because LLM agents often send amounts as strings; two strings stay strings, so a card's
  ``"0042"`` does not equal ``"42"``;
- bools compare as bools (``"true"``/``"false"`` strings are accepted, 1/0 are not);
- lists and dicts compare item by item with the same rules.

Every check returns ``(ok, reason)`` so a report can say *why* a call or outcome failed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from callgate.scenarios.model import ArgConstraint, ExpectedToolCall, StatePredicate
from callgate.traces.model import ToolCallTrace

_EPS = 1e-9  # float slack so that |50.01 - 50.0| <= 0.01 holds despite binary rounding


# --------------------------------------------------------------------------- value comparison


def _as_number(value: Any) -> float | None:
    """The numeric value of a number or numeric string; ``None`` for anything else (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def values_equal(expected: Any, actual: Any) -> bool:
    """Equality under the comparison rules of this module (see the module docstring)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return _as_bool(expected) is not None and _as_bool(expected) == _as_bool(actual)
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip().casefold() == actual.strip().casefold()
    if isinstance(expected, int | float) or isinstance(actual, int | float):
        a, b = _as_number(expected), _as_number(actual)
        return a is not None and b is not None and math.isclose(a, b, rel_tol=_EPS, abs_tol=_EPS)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(values_equal, expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            values_equal(v, actual[k]) for k, v in expected.items()
        )
    return bool(expected == actual)


def _approx(target: float, tol: float, actual: Any) -> tuple[bool, str]:
    number = _as_number(actual)
    if number is None:
        return False, f"expected a number near {target:g}, got {actual!r}"
    if abs(number - target) <= tol + _EPS:
        return True, f"{number:g} is within {tol:g} of {target:g}"
    return False, f"expected {target:g} ± {tol:g}, got {number:g}"


# --------------------------------------------------------------------------- arguments and state


def check_arg(constraint: ArgConstraint, value: Any, present: bool) -> tuple[bool, str]:
    """Check one tool argument. A constraint on an argument the call lacks always fails."""
    if not present:
        return False, "missing"
    if constraint.any:
        return True, f"present ({value!r})"
    if constraint.approx is not None:
        return _approx(constraint.approx, constraint.tol, value)
    if constraint.one_of is not None:
        if any(values_equal(option, value) for option in constraint.one_of):
            return True, f"{value!r} is one of {constraint.one_of!r}"
        return False, f"expected one of {constraint.one_of!r}, got {value!r}"
    if constraint.contains is not None:
        if not isinstance(value, str):
            return False, f"expected text containing {constraint.contains!r}, got {value!r}"
        if constraint.contains.strip().casefold() in value.casefold():
            return True, f"{value!r} contains {constraint.contains!r}"
        return False, f"expected text containing {constraint.contains!r}, got {value!r}"
    if values_equal(constraint.equals, value):
        return True, f"{value!r} equals {constraint.equals!r}"
    return False, f"expected {constraint.equals!r}, got {value!r}"


def resolve(state: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path into the state; integer segments index lists (``disputes.0.amount``).

    Returns ``(found, value)``; a present key whose value is ``None`` is found with value ``None``.
    """
    current = state
    for segment in path.split("."):
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list):
            try:
                index = int(segment)
            except ValueError:
                return False, None
            if not -len(current) <= index < len(current):
                return False, None
            current = current[index]
        else:
            return False, None
    return True, current


def check_predicate(pred: StatePredicate, state: dict[str, Any]) -> tuple[bool, str]:
    """Check one outcome predicate on the final tool state."""
    found, value = resolve(state, pred.path)
    if pred.exists is not None:
        # A null counts as absent: tools clear things by setting them to null (``handoff: null``).
        there = found and value is not None
        if there == pred.exists:
            return True, "present" if there else "absent"
        return False, f"expected {'present' if pred.exists else 'absent'}, got {value!r}"
    if not found:
        return False, "missing"
    if pred.approx is not None:
        return _approx(pred.approx, pred.tol, value)
    if pred.length is not None:
        if not isinstance(value, list | str | dict):
            return False, f"expected something with length {pred.length}, got {value!r}"
        if len(value) == pred.length:
            return True, f"length {len(value)}"
        return False, f"expected length {pred.length}, got {len(value)}"
    if values_equal(pred.equals, value):
        return True, f"{value!r} equals {pred.equals!r}"
    return False, f"expected {pred.equals!r}, got {value!r}"


# --------------------------------------------------------------------------- the tool path


@dataclass
class ExpectedMatch:
    """One expected call and the actual call aligned with it (``call`` is ``None`` if none)."""

    tool: str
    expected_args: dict[str, Any]
    call: int | None = None
    args_ok: bool = False
    arg_results: dict[str, dict[str, Any]] = field(default_factory=dict)  # arg -> {ok, reason}

    @property
    def correct(self) -> bool:
        return self.call is not None and self.args_ok


@dataclass
class ToolPathMatch:
    """The expected tool path aligned with the actual calls (indices into the call list)."""

    expected: list[ExpectedMatch]
    calls: list[dict[str, Any]]  # every actual call: index, tool, args, ok
    extra_calls: list[int]  # actual calls no expected call was aligned with
    forbidden_calls: list[int]
    duplicate_calls: list[dict[str, Any]]  # {tool, expected, actual} where actual > expected
    order_ok: bool
    recalled: int  # expected calls whose tool was called at all, in any order, with any args

    @property
    def matched(self) -> int:
        return sum(m.call is not None for m in self.expected)

    @property
    def correct(self) -> int:
        return sum(m.correct for m in self.expected)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def match_tool_path(
    expected: list[ExpectedToolCall], calls: list[ToolCallTrace], forbidden: list[str]
) -> ToolPathMatch:
    """Align the expected path with the actual calls, preserving order.

    Each expected call takes the first actual call of the same tool after the previous aligned
    call. Taking the first one (not the first one with the right arguments) is deliberate: a
    sensitive tool run on the wrong card or amount already did harm, and a later corrected call does
    not undo it. Failed calls (``ok`` false) count as called: the agent decided to act.
    """
    matches: list[ExpectedMatch] = []
    cursor = 0
    for exp in expected:
        match = ExpectedMatch(
            exp.tool, {k: c.model_dump(exclude_defaults=True) for k, c in exp.args.items()}
        )
        for pos in range(cursor, len(calls)):
            if calls[pos].tool == exp.tool:
                match.call, cursor = pos, pos + 1
                match.args_ok = True
                for arg, constraint in exp.args.items():
                    present = arg in calls[pos].args
                    ok, why = check_arg(constraint, calls[pos].args.get(arg), present)
                    match.arg_results[arg] = {"ok": ok, "reason": why}
                    match.args_ok = match.args_ok and ok
                break
        matches.append(match)

    aligned = {m.call for m in matches if m.call is not None}
    # Recall ignores order: count each expected call against a distinct actual call of its tool.
    available = [c.tool for c in calls]
    recalled = 0
    for exp in expected:
        if exp.tool in available:
            available.remove(exp.tool)
            recalled += 1

    want: dict[str, int] = {}
    for exp in expected:
        want[exp.tool] = want.get(exp.tool, 0) + 1
    got: dict[str, int] = {}
    for call in calls:
        got[call.tool] = got.get(call.tool, 0) + 1
    duplicates = [
        {"tool": tool, "expected": n, "actual": got[tool]}
        for tool, n in want.items()
        if got.get(tool, 0) > n
    ]
    return ToolPathMatch(
        expected=matches,
        calls=[
            {"index": pos, "tool": c.tool, "args": c.args, "ok": c.ok}
            for pos, c in enumerate(calls)
        ],
        extra_calls=[pos for pos in range(len(calls)) if pos not in aligned],
        forbidden_calls=[pos for pos, c in enumerate(calls) if c.tool in set(forbidden)],
        duplicate_calls=duplicates,
        # The greedy alignment only moves forward, so aligned indices always increase; the path is
        # in order exactly when every expected call found its place.
        order_ok=all(m.call is not None for m in matches),
        recalled=recalled,
    )
