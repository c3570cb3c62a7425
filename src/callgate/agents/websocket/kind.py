"""The ``websocket`` agent kind: any agent that speaks ``callgate-stream/1``, called unchanged,
timed on the call's clock by :class:`~callgate.agents.streaming.StreamingCall`. Such an agent
cannot replay a call as text, so its failures are "not attributable" beyond what its trace says."""

from __future__ import annotations

from pathlib import Path

from callgate.agents.env import CallEnv
from callgate.agents.streaming import StreamingCall, check_tools, open_tools
from callgate.agents.voice import AgentCall, AgentKind, CallSetup
from callgate.agents.websocket.adapter import WebSocketAdapter
from callgate.agents.websocket.config import WebSocketConfig
from callgate.agents.websocket.protocol import PROTOCOL
from callgate.errors import UsageError
from callgate.traces.recorder import CallRecorder


class WebSocketAgent:
    kind = "websocket"

    def __init__(self, config: WebSocketConfig, env: CallEnv) -> None:
        self.config = config
        self.env = env

    def engines(self) -> dict[str, str]:
        c = self.config
        return {
            "agent": f"{PROTOCOL} {c.url} {c.agent_version}".strip(),
            "tools": f"{c.tools.toolset}/{c.tools.schema_version}",
        }

    def open_call(self, setup: CallSetup, recorder: CallRecorder) -> AgentCall:
        adapter = WebSocketAdapter(self.config, setup)
        tools = open_tools(self.config.tools, setup)
        return StreamingCall(
            adapter, self.config.stream, tools, recorder, self.env, "agent's own", setup.line
        )


def _check(config: WebSocketConfig, models_dir: Path | None) -> None:
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise UsageError(
            "the websocket agent kind needs the websockets package: "
            "pip install 'callgate[websocket]'",
            field="kind",
        ) from None
    check_tools(config.tools)


WEBSOCKET = AgentKind(
    config_model=WebSocketConfig,
    create=WebSocketAgent,
    check=_check,
    description=f"an agent behind a WebSocket speaking {PROTOCOL} (audio frames both ways)",
    fault_stages=("tool",),  # callgate runs the tool backend of every call
)
