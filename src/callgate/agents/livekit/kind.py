"""The ``livekit`` agent kind: callgate's streaming driver over a LiveKit session.

Importing this module does not import LiveKit (so ``callgate`` lists the kind, and its check
explains the missing extra); the session code loads when a call opens.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callgate.agents.env import CallEnv
from callgate.agents.livekit.config import LiveKitConfig
from callgate.agents.policy import ToolBackend
from callgate.agents.streaming import StreamingCall, check_tools, load_factory, open_tools
from callgate.agents.voice import AgentCall, AgentKind, CallSetup, LineAudio
from callgate.errors import UsageError
from callgate.speech.engines import package_version
from callgate.traces.model import CostItem
from callgate.traces.recorder import CallRecorder

if TYPE_CHECKING:
    from callgate.agents.livekit.adapter import LiveKitAdapter


class LiveKitAgent:
    kind = "livekit"

    def __init__(self, config: LiveKitConfig, env: CallEnv) -> None:
        self.config = config
        self.env = env
        self.factory = _factory(config)

    def engines(self) -> dict[str, str]:
        c = self.config
        return {
            "agent": f"livekit {c.agent}",
            "params": json.dumps(c.params, sort_keys=True, default=str),
            "tools": f"{c.tools.toolset}/{c.tools.schema_version}",
            "framework": f"livekit-agents {package_version('livekit-agents')}",
        }

    def open_call(self, setup: CallSetup, recorder: CallRecorder) -> AgentCall:
        from callgate.agents.livekit.adapter import LiveKitAdapter

        c = self.config
        adapter = LiveKitAdapter(
            self.factory, dict(c.params), self.env, c.agent, c.response_timeout_s
        )
        backend = open_tools(c.tools, setup)
        call = _LiveKitCall(adapter, c, backend, recorder, self.env, setup.line)
        adapter.prepare(call.tools)
        return call


class _LiveKitCall(StreamingCall):
    """A streamed call that also prices the LLM tokens LiveKit counted, when the variant has
    prices."""

    def __init__(
        self,
        adapter: LiveKitAdapter,
        config: LiveKitConfig,
        backend: ToolBackend,
        recorder: CallRecorder,
        env: CallEnv,
        line: LineAudio,
    ) -> None:
        super().__init__(adapter, config.stream, backend, recorder, env, "agent's own", line)
        self.config = config
        self.livekit = adapter

    def costs(self, duration_s: float) -> list[CostItem]:
        prices = self.config.prices
        if prices is None:
            return []
        used = [u for u in self.livekit.usage if getattr(u, "type", "") == "llm_usage"]
        lines = [
            ("llm_input", sum(u.input_tokens for u in used), prices.llm_input_per_million),
            ("llm_output", sum(u.output_tokens for u in used), prices.llm_output_per_million),
        ]
        return [
            CostItem(
                kind=kind,
                quantity=tokens,
                unit="token",
                unit_price=per_million / 1e6,
                amount=round(tokens * per_million / 1e6, 8),
                currency=prices.currency,
            )
            for kind, tokens, per_million in lines
        ]


def _factory(config: LiveKitConfig) -> Callable[..., Any]:
    return load_factory(config.agent, "agent")


def check(config: LiveKitConfig, models_dir: Path | None) -> None:
    """LiveKit Agents is installed, the factory resolves, and the tool set builds."""
    if not _has("livekit.agents"):
        raise UsageError(
            "the livekit agent kind needs LiveKit Agents: pip install 'callgate[livekit]'",
            field="kind",
        )
    _factory(config)
    check_tools(config.tools)


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


LIVEKIT = AgentKind(
    config_model=LiveKitConfig,
    create=LiveKitAgent,
    check=check,
    description="a LiveKit Agents AgentSession run offline on the virtual clock",
    fault_stages=("tool",),  # callgate runs the tool backend of every call
)
