"""The ``tools`` of a chat example: the agent's tool schemas, or the least that describes its calls.

A run stores each variant's configuration, and a variant names its tool set (``tools: {toolset,
params}`` in the agent block), so the schemas are recovered by building that tool set again and
asking it (``schemas()``, the :class:`~callgate.agents.policy.ToolBackend` protocol). When that is
impossible (an imported call, a tool set whose plugin is not installed here, an agent kind without
a tool set), the schemas are derived from the calls seen: each argument typed from its values,
required when every call passed it. ``chat-meta.jsonl`` and ``export.json`` say which it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from callgate.agents.policy import TOOLSETS
from callgate.training.records import FunctionDef, ToolDef
from callgate.variants.model import Variant

ToolsFrom = Literal["toolset", "derived"]


def toolset_tools(
    variant_spec: dict[str, Any] | None, initial_state: dict[str, Any]
) -> list[ToolDef] | None:
    """The schemas of the variant's tool set, built as the call built it; None if impossible."""
    if not variant_spec:
        return None
    try:
        block = Variant.model_validate(variant_spec).agent.config().get("tools")
        if not isinstance(block, dict) or not isinstance(block.get("toolset"), str):
            return None
        params = dict(block.get("params") or {})
        backend = TOOLSETS.create(block["toolset"], initial_state=initial_state, **params)
        schemas = backend.schemas()
    except Exception:  # a plugin missing here, or its own error: fall back to derived schemas
        return None
    return [
        ToolDef(
            function=FunctionDef(
                name=s.name, description=s.description, parameters=dict(s.parameters)
            )
        )
        for s in schemas
    ]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


@dataclass
class _Seen:
    calls: int = 0
    types: dict[str, set[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class DerivedTools:
    """Schemas built up from the calls a variant made (and the calls its corrections make)."""

    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}

    def add(self, name: str, args: dict[str, Any]) -> None:
        seen = self._seen.setdefault(name, _Seen())
        seen.calls += 1
        for key, value in args.items():
            seen.types.setdefault(key, set()).add(_json_type(value))
            seen.counts[key] = seen.counts.get(key, 0) + 1

    def add_all(self, calls: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for name, args in calls:
            self.add(name, args)

    def tools(self, names: Iterable[str] | None = None) -> list[ToolDef]:
        wanted = sorted(self._seen) if names is None else sorted(set(names) & set(self._seen))
        return [self._tool(name, self._seen[name]) for name in wanted]

    @staticmethod
    def _tool(name: str, seen: _Seen) -> ToolDef:
        properties: dict[str, Any] = {}
        for key, types in sorted(seen.types.items()):
            if {"integer", "number"} <= types:
                types = types - {"integer"}
            kinds = sorted(types)
            properties[key] = {"type": kinds[0] if len(kinds) == 1 else kinds}
        required = sorted(k for k, n in seen.counts.items() if n == seen.calls)
        parameters = {"type": "object", "properties": properties, "required": required}
        return ToolDef(function=FunctionDef(name=name, parameters=parameters))


def args_problem(tool: ToolDef, args: dict[str, Any]) -> str | None:
    """Why ``args`` cannot be a call of ``tool`` under its schema (unknown or missing arguments,
    a value outside an enum); None when they fit."""
    params = tool.function.parameters
    properties = params.get("properties") or {}
    missing = [k for k in params.get("required") or [] if k not in args]
    if missing:
        return f"{tool.function.name} needs {', '.join(missing)}"
    if params.get("additionalProperties") is False:
        unknown = sorted(set(args) - set(properties))
        if unknown:
            return f"{tool.function.name} takes no {', '.join(unknown)}"
    for key, value in args.items():
        allowed = (properties.get(key) or {}).get("enum")
        if allowed is not None and value not in allowed:
            return f"{tool.function.name}.{key} must be one of {allowed}"
    return None
