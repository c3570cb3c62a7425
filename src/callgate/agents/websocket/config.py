"""The ``agent:`` block of a variant whose kind is ``websocket``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from callgate.agents.streaming import StreamSettings, ToolsRef


class WebSocketConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["websocket"] = "websocket"
    url: str = Field(
        pattern=r"^wss?://", description="where the agent accepts one call per connection"
    )
    headers: dict[str, str] = Field(default_factory=dict, description="sent with the handshake")
    tools: ToolsRef
    stream: StreamSettings = StreamSettings()
    connect_timeout_s: float = Field(10.0, gt=0.0, le=120.0)
    response_timeout_s: float = Field(
        30.0, gt=0.0, le=600.0, description="wall seconds the agent has to answer a frame's mark"
    )
    agent_version: str = Field("", description="changes the variant's identity when the agent does")
