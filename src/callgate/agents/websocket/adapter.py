"""callgate's side of a ``callgate-stream/1`` connection: a :class:`StreamAdapter` that sends the
caller's frames, reads the agent's messages until each frame's mark comes back, and turns every
way the connection can go wrong into an :class:`AgentFailure` that names it."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

import numpy as np
from pydantic import ValidationError

from callgate.agents.streaming import AgentLink
from callgate.agents.voice import AgentFailure, AgentUnavailable, CallSetup
from callgate.agents.websocket.config import WebSocketConfig
from callgate.agents.websocket.protocol import (
    AGENT_MESSAGE,
    PROTOCOL,
    AudioEnd,
    AudioFormat,
    EndCall,
    Error,
    Interrupted,
    Mark,
    ReplyText,
    ToolCall,
    Transcript,
    TurnEnd,
)
from callgate.scenarios._yaml import validation_message
from callgate.speech.audio import SAMPLE_RATE, Audio


class WebSocketAdapter:
    def __init__(self, config: WebSocketConfig, setup: CallSetup) -> None:
        self.config = config
        self.setup = setup
        self.seq = 0
        self.rate = SAMPLE_RATE  # of the agent's audio, until it says otherwise
        self.ws: Any = None
        self._stack = ExitStack()

    def open(self, link: AgentLink) -> None:
        from websockets.sync.client import connect

        self.link = link
        try:
            self.ws = self._stack.enter_context(
                connect(
                    self.config.url,
                    additional_headers=self.config.headers or None,
                    open_timeout=self.config.connect_timeout_s,
                    proxy=None,  # an agent under test is reached directly, never through a proxy
                    compression=None,
                    max_size=None,
                )
            )
        except ConnectionRefusedError:
            raise AgentUnavailable(f"nothing listens at {self.config.url}") from None
        except (OSError, TimeoutError) as exc:
            raise AgentFailure(f"could not connect to {self.config.url}: {exc}") from None
        except Exception as exc:  # a refused handshake: websockets' own error classes
            raise AgentFailure(f"{self.config.url} refused the call: {exc}") from None
        tools = [
            {"name": s.name, "description": s.description, "parameters": s.parameters}
            for s in link.tools.schemas()
        ]
        self._send(
            {
                "type": "start",
                "protocol": PROTOCOL,
                "call_id": self.setup.call_id,
                "sample_rate": SAMPLE_RATE,
                "tools": tools,
                "context": self.setup.context,
            }
        )
        self._sync()  # a greeting arrives before the first frame

    def push(self, frame: Audio) -> None:
        self._send(frame.pcm16().astype("<i2").tobytes())
        self._sync()

    def close(self) -> None:
        if self.ws is None:
            return
        try:
            self._send({"type": "end"})
        except AgentFailure:
            pass  # already gone: nothing to tell it
        finally:
            self._stack.close()
            self.ws = None

    # -- internals ------------------------------------------------------------------------------

    def _sync(self) -> None:
        self.seq += 1
        self._send({"type": "mark", "seq": self.seq})
        while True:
            message = self._recv()
            if isinstance(message, bytes):
                self._audio(message)
                continue
            if isinstance(message, Mark):
                if message.seq == self.seq:
                    return
                raise AgentFailure(f"mark {message.seq} came back while waiting for {self.seq}")
            self._event(message)

    def _event(self, message: Any) -> None:
        link = self.link
        if isinstance(message, Transcript):
            link.transcript(message.text, message.confidence)
        elif isinstance(message, TurnEnd):
            link.user_turn_end()
        elif isinstance(message, ReplyText):
            link.reply_text(message.text)
        elif isinstance(message, AudioEnd):
            link.agent_audio_end()
        elif isinstance(message, Interrupted):
            link.interrupted()
        elif isinstance(message, AudioFormat):
            self.rate = message.sample_rate
        elif isinstance(message, ToolCall):
            out = link.tools.call(message.name, dict(message.args))
            self._send(
                {
                    "type": "tool_result",
                    "id": message.id,
                    "name": message.name,
                    "ok": out.ok,
                    "result": out.result,
                    "error": out.error,
                }
            )
        elif isinstance(message, EndCall):
            link.end_call(message.transfer)
        elif isinstance(message, Error):
            raise AgentFailure(f"the agent gave up: {message.message or 'no reason given'}")

    def _audio(self, data: bytes) -> None:
        if len(data) % 2:
            raise AgentFailure("agent audio is not 16-bit PCM (odd number of bytes)")
        pcm = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        self.link.agent_audio(Audio(pcm, self.rate))

    def _send(self, message: dict[str, Any] | bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self.ws.send(message if isinstance(message, bytes) else json.dumps(message))
        except ConnectionClosed as exc:
            raise AgentFailure(_closed(exc)) from None

    def _recv(self) -> Any:
        from websockets.exceptions import ConnectionClosed

        try:
            raw = self.ws.recv(timeout=self.config.response_timeout_s)
        except TimeoutError:
            raise AgentFailure(
                f"no answer to frame {self.seq} within {self.config.response_timeout_s:g} s"
            ) from None
        except ConnectionClosed as exc:
            raise AgentFailure(_closed(exc)) from None
        if isinstance(raw, bytes):
            return raw
        try:
            return AGENT_MESSAGE.validate_json(raw)
        except ValidationError as exc:
            raise AgentFailure(
                f"malformed message from the agent ({validation_message(exc)}): {raw[:120]!r}"
            ) from None


def _closed(exc: Exception) -> str:
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is None:
        return "the agent dropped the connection mid-call"
    reason = f": {rcvd.reason}" if rcvd.reason else ""
    return f"the agent closed the connection mid-call (code {rcvd.code}{reason})"
