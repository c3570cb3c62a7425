"""Helpers for writing a tool backend: check the arguments against the tool's schema, run it, and
turn a refusal into a result the agent can read back to the caller, since a tool backend reports
bad input as a failed result rather than raising into the call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from callgate.agents.policy import JSON, ToolResult, ToolSchema


class ToolRefused(Exception):
    """Raised inside a tool for a value it cannot take ("the store is closed on Sundays");
    :func:`dispatch` turns it into ``ToolResult(ok=False)``, naming ``field`` when given so the
    agent can ask for just that argument again."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def dispatch(
    schemas: Sequence[ToolSchema],
    tools: Mapping[str, Callable[..., JSON]],
    name: str,
    args: Any,
) -> ToolResult:
    """Run tool ``name`` with ``args`` after checking them against its schema's ``required`` and
    ``properties``; unknown tools, wrong argument names and refusals come back as ``ok=False``."""
    tool = tools.get(name)
    schema = next((s for s in schemas if s.name == name), None)
    if tool is None or schema is None:
        return ToolResult(ok=False, error=f"unknown tool {name!r}")
    if not isinstance(args, dict):
        return ToolResult(ok=False, error="arguments must be an object")
    params = schema.parameters
    missing = [a for a in params.get("required", []) if a not in args]
    unexpected = sorted(set(args) - set(params.get("properties", {})))
    if missing or unexpected:
        problems = [f"missing argument {a!r}" for a in missing]
        problems += [f"unexpected argument {a!r}" for a in unexpected]
        return ToolResult(ok=False, error="; ".join(problems))
    try:
        return ToolResult(ok=True, result=tool(**args))
    except ToolRefused as exc:
        return ToolResult(
            ok=False, result={"field": exc.field} if exc.field else {}, error=str(exc)
        )
