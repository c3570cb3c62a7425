"""Registers callgate's built-in parts by importing them (engines, agents, policies, executors)."""

from __future__ import annotations

import importlib

_BUILTINS = (
    "callgate.speech.engines",
    "callgate.agents.banking",
    "callgate.agents.pipeline",
    "callgate.execution.executors",
)


def load_builtins() -> None:
    for module in _BUILTINS:
        importlib.import_module(module)
    from callgate.speech.engines import load_engines

    load_engines()
