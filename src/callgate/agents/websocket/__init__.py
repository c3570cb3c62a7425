"""Agents behind a WebSocket: callgate's streaming protocol (``callgate-stream/1``), audio frames
both ways plus events and tool calls, as hosted voice platforms expose. See ``docs/agents.md``."""
