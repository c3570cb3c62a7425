"""A reference agent speaking callgate-stream/1, run as its own process by the tests.

It is what a team's WebSocket agent looks like from callgate's side: it listens on 127.0.0.1,
takes one call per connection, finds the end of the caller's turn itself (frame energy, 600 ms of
silence), transcribes with Whisper, decides with the banking dialogue policy, asks callgate to run
its tools over the protocol, and speaks with espeak. ``--drop-after N`` closes the connection
after N caller frames, to show what a disconnect mid-call does to a run.

    python ws_reference_agent.py --port-file PATH [--drop-after N]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from callgate.agents.policy import POLICIES, PolicyInput, ToolResult, ToolSchema
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import get_asr, get_tts
from callgate.speech.protocols import ASRHints

FRAME_LOUD = 0.01  # RMS above which a frame is speech
END_OF_TURN_S = 0.6


class ProtocolTools:
    """The policy's tools: each call is a round trip to callgate, which runs the backend."""

    def __init__(self, ws: Any, schemas: list[dict[str, Any]]) -> None:
        self.ws = ws
        self._schemas = [ToolSchema(s["name"], s["description"], s["parameters"]) for s in schemas]
        self.n = 0
        # callgate sends each frame's mark right behind the frame, so the mark that frame will be
        # answered under arrives before the tool's result: keep it for the main loop.
        self.held: list[Any] = []

    def schemas(self) -> list[ToolSchema]:
        return self._schemas

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        self.n += 1
        self.ws.send(
            json.dumps({"type": "tool_call", "id": f"t{self.n}", "name": name, "args": args})
        )
        while True:
            message = self.ws.recv()
            answer = json.loads(message) if isinstance(message, str) else {}
            if answer.get("type") == "tool_result":
                break
            self.held.append(message)
        assert answer["id"] == f"t{self.n}", answer
        return ToolResult(answer["ok"], answer.get("result") or {}, answer.get("error"))


class Call:
    def __init__(self, ws: Any, start: dict[str, Any], drop_after: int | None) -> None:
        self.ws = ws
        self.drop_after = drop_after
        self.frames = 0
        self.tools = ProtocolTools(ws, start["tools"])
        self.session = POLICIES.create("banking", version="1.0").start()
        self.speech: list[np.ndarray] = []
        self.silence = 0.0
        self.ended = False

    def say(self, text: str, end_call: bool = False, transfer: bool = False) -> None:
        self.ws.send(json.dumps({"type": "reply_text", "text": text}))
        audio = TTS.synthesize(text, "en-us").resample(SAMPLE_RATE)
        self.ws.send(audio.pcm16().astype("<i2").tobytes())
        self.ws.send(json.dumps({"type": "audio_end"}))
        if end_call:
            self.ws.send(json.dumps({"type": "end_call", "transfer": transfer}))
            self.ended = True

    def respond(self, turn: PolicyInput) -> None:
        reply = self.session.respond(turn, self.tools)
        self.say(reply.text, reply.end_call, reply.transferred)

    def frame(self, data: bytes) -> bool:
        """Handle one caller frame; False: drop the connection now."""
        self.frames += 1
        if self.drop_after is not None and self.frames > self.drop_after:
            return False
        pcm = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        loud = float(np.sqrt(np.mean(pcm**2))) > FRAME_LOUD if len(pcm) else False
        if loud:
            self.speech.append(pcm)
            self.silence = 0.0
        elif self.speech:
            self.speech.append(pcm)
            self.silence += len(pcm) / SAMPLE_RATE
            if self.silence >= END_OF_TURN_S and not self.ended:
                self.ws.send(json.dumps({"type": "turn_end"}))
                heard = ASR.transcribe(Audio(np.concatenate(self.speech)), ASRHints())
                self.speech, self.silence = [], 0.0
                self.ws.send(json.dumps({"type": "transcript", "text": heard.text}))
                self.respond(PolicyInput("utterance", heard.text, heard.confidence))
        return True


def handle(ws: Any) -> None:
    start = json.loads(ws.recv())
    assert start["type"] == "start", start
    call = Call(ws, start, ARGS.drop_after)
    for message in messages(ws, call.tools.held):
        if isinstance(message, bytes):
            if not call.frame(message):
                ws.close(code=1011, reason="reference agent dropped the call")
                return
            continue
        msg = json.loads(message)
        if msg["type"] == "mark":
            if msg["seq"] == 1:  # the mark after "start": greet before the first frame
                call.respond(PolicyInput("start"))
            ws.send(json.dumps({"type": "mark", "seq": msg["seq"]}))
        elif msg["type"] == "end":
            return


def messages(ws: Any, held: list[Any]) -> Any:
    """The connection's messages, those held back during a tool call first."""
    while True:
        while held:
            yield held.pop(0)
        try:
            yield ws.recv()
        except Exception:  # closed by callgate: the call is over
            return


def main() -> None:
    from websockets.sync.server import serve

    with serve(handle, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = server.socket.getsockname()[1]
        tmp = Path(ARGS.port_file + ".tmp")
        tmp.write_text(str(port))
        os.replace(tmp, ARGS.port_file)  # the test reads the port only once it is whole
        server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--drop-after", type=int, default=None)
    ARGS = parser.parse_args()
    ASR = get_asr("whisper", model="tiny.en", beam_size=1, cpu_threads=1)
    TTS = get_tts("espeak")
    main()
