"""dispatch(): a tool backend's calls checked against their schemas, refusals as results."""

from __future__ import annotations

from typing import Any

import pytest

from callgate.agents.policy import ToolSchema
from callgate.agents.tooling import ToolRefused, dispatch

SCHEMAS = [
    ToolSchema(
        "book",
        "Book a slot.",
        {"type": "object", "properties": {"day": {}, "time": {}}, "required": ["day"]},
    )
]


def book(day: str, time: str = "09:00") -> dict[str, Any]:
    if day == "sunday":
        raise ToolRefused("closed on sunday", field="day")
    if day == "never":
        raise ToolRefused("no such day")
    return {"booked": f"{day} {time}"}


@pytest.mark.parametrize(
    ("name", "args", "ok", "error", "result"),
    [
        ("book", {"day": "monday"}, True, None, {"booked": "monday 09:00"}),
        ("book", {"day": "sunday"}, False, "closed on sunday", {"field": "day"}),
        ("book", {"day": "never"}, False, "no such day", {}),
        ("book", {}, False, "missing argument 'day'", {}),
        ("book", {"day": "x", "room": 1}, False, "unexpected argument 'room'", {}),
        ("cancel", {}, False, "unknown tool 'cancel'", {}),
        ("book", ["monday"], False, "arguments must be an object", {}),
    ],
)
def test_dispatch(
    name: str, args: Any, ok: bool, error: str | None, result: dict[str, Any]
) -> None:
    out = dispatch(SCHEMAS, {"book": book}, name, args)
    assert (out.ok, out.error, out.result) == (ok, error, result)
