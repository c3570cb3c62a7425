"""Small suite files for `callgate check` tests: a few scenarios written as YAML in a folder.

Two voices (accents us and scottish) on a clean line for every scenario, plus a noisy cohort for
the scenarios tagged ``behaviour: happy`` only (the shape of the banking suite's default grid), so
the noisy slice lacks every unhappy path the happy scenarios do not have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SUITE: dict[str, Any] = {
    "schema_version": 1,
    "name": "mini",
    "voices": {
        "a": {"engine": "espeak", "voice": "en-us"},
        "b": {
            "engine": "espeak",
            "voice": "en-gb-scotland",
            "locale": "en-GB",
            "accent": "scottish",
        },
    },
    "noises": {"clean": {"type": "none"}, "babble": {"type": "babble", "snr_db": 10}},
    "channels": {"phone": {"type": "telephony", "codec": "mulaw", "sample_rate": 8000}},
    "grids": {
        "default": [
            {"voice": ["a", "b"], "noise": ["clean"], "channel": ["phone"]},
            {
                "voice": ["a"],
                "noise": ["babble"],
                "channel": ["phone"],
                "where": {"behaviour": ["happy"]},
            },
        ]
    },
    "reactions": [{"when": ["say that again"], "say": "$repeat", "max_times": 2}],
    "evaluation": {"handoff_tools": ["to_human"]},
}


def scenario(
    sid: str,
    turns: list[Any],
    *,
    split: str = "dev",
    tool: str | None = None,
    args: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    **caller: Any,
) -> dict[str, Any]:
    """A scenario mapping; ``caller`` adds caller fields (persona, reactions, closing)."""
    data: dict[str, Any] = {
        "id": sid,
        "call_type": "task",
        "split": split,
        "tags": tags or {"behaviour": "happy"},
        "caller": {"goal": "get it done", "turns": turns, **caller},
    }
    if tool is not None:
        data["expect"] = {"tools": [{"tool": tool, "args": args or {}}]}
    return data


# Plain requests of a made-up card and account service, one per task, all dev.
PLAIN = [
    scenario("balance", ["What is the balance of my main account?"], tool="balance"),
    scenario(
        "move",
        ["Move forty dollars from my main account to my reserve."],
        tool="move",
        args={"amount": 40},
    ),
    scenario("address", ["I moved house and need to change my address."], tool="address"),
    scenario("statement", ["Could you post me a paper statement for October?"], tool="statement"),
    scenario("limit", ["Raise the daily spending limit on my card."], tool="limit"),
]


def write_suite(folder: Path, scenarios: list[dict[str, Any]], **suite: Any) -> Path:
    """Write ``suite.yaml`` holding these scenarios (and any suite field to override)."""
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump({**SUITE, **suite, "scenarios": scenarios}, sort_keys=False))
    return path
