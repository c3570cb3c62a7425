"""The line as a LiveKit ``AgentSession`` sees it: the caller's audio in (the session's
``input.audio``), the agent's audio and words out (``output.audio``, ``output.transcription``).

The agent's audio "plays" in audio time: a reply finishes playing once as much caller audio as it
lasts has been pushed, which is when LiveKit hears ``playback_finished``; a cut reports how much
had played. What comes out is handed to the
:class:`~callgate.agents.livekit.adapter.LiveKitAdapter` that owns the line, which reports it.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING

from livekit import rtc
from livekit.agents.voice import io

from callgate.agents.livekit.services import to_audio
from callgate.speech.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from callgate.agents.livekit.adapter import LiveKitAdapter


class CallerAudio(io.AudioInput):
    """The caller's side of the line: frames as callgate pushes them."""

    def __init__(self) -> None:
        super().__init__(label="callgate-caller")
        self._frames: asyncio.Queue[rtc.AudioFrame | None] = asyncio.Queue()

    def feed(self, frame: rtc.AudioFrame) -> None:
        self._frames.put_nowait(frame)

    def end(self) -> None:
        self._frames.put_nowait(None)

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await self._frames.get()
        if frame is None:
            raise StopAsyncIteration
        return frame


class _Segment:
    def __init__(self, lead: float) -> None:
        self.lead = lead  # line time before it plays: the compute that led to it
        self.duration = 0.0  # captured so far
        self.played = 0.0
        self.flushed = False
        self.started = False


class AgentSpeaker(io.AudioOutput):
    """The agent's side of the line. Audio is passed on as it is captured; it plays in audio time,
    from where the driver's clock puts its first byte: each pushed frame plays that much of it,
    and LiveKit hears ``playback_finished`` when all of it has played, or where it was cut."""

    def __init__(self, owner: LiveKitAdapter) -> None:
        super().__init__(
            label="callgate-agent",
            capabilities=io.AudioOutputCapabilities(pause=False),
            sample_rate=SAMPLE_RATE,
        )
        self._owner = owner
        self._queue: list[_Segment] = []
        self._capturing = False
        self._dropping = False  # the segment being captured was cut: the rest is never played

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        first = not self._capturing
        if first:
            self._capturing, self._dropping = True, False
            # Queued behind another reply, it plays when that one ends, whatever it cost.
            self._queue.append(_Segment(0.0 if self._queue else self._owner.computed()))
        if self._dropping:
            return
        segment = self._queue[-1]
        segment.duration += frame.duration
        self._start(segment)
        self._owner.agent_audio(to_audio(frame), first)

    def flush(self) -> None:
        super().flush()
        if not self._capturing:
            return
        self._capturing = False
        if self._dropping:
            self._dropping = False
            return
        self._queue[-1].flushed = True
        self._owner.audio_ended()
        self.advance(0.0)  # an empty segment has already played

    def clear_buffer(self) -> None:
        if not self._queue:
            return
        head, rest = self._queue[0], self._queue[1:]
        self._queue = []
        self._dropping = self._capturing
        self.on_playback_finished(playback_position=head.played, interrupted=True)
        for _ in rest:
            self.on_playback_finished(playback_position=0.0, interrupted=True)
        self._owner.interrupted()

    def advance(self, seconds: float) -> None:
        """``seconds`` of the line's time pass: play that much of what is queued."""
        while self._queue:
            head = self._queue[0]
            self._start(head)
            wait = min(seconds, head.lead)
            head.lead, seconds = head.lead - wait, seconds - wait
            if head.lead > 0:
                return
            step = min(seconds, head.duration - head.played)
            head.played += step
            seconds -= step
            if not head.flushed or head.played < head.duration - 1e-9:
                return
            self._queue.pop(0)
            self.on_playback_finished(playback_position=head.duration, interrupted=False)

    def finish_all(self) -> None:
        for segment in self._queue:
            segment.flushed = True
        self.advance(math.inf)

    def _start(self, segment: _Segment) -> None:
        if not segment.started and self._queue and segment is self._queue[0]:
            segment.started = True
            self.on_playback_started(created_at=time.time())


class AgentText(io.TextOutput):
    """The agent's words as LiveKit forwards them; a reply's text is reported whole."""

    def __init__(self) -> None:
        super().__init__(label="callgate-text", next_in_chain=None)
        self._parts: list[str] = []
        self._done: list[str] = []
        self._open = False  # a reply's text is arriving
        self._dropping = False

    async def capture_text(self, text: str) -> None:
        self._open = True
        if not self._dropping:
            self._parts.append(text)

    def flush(self) -> None:
        if not self._dropping and self._parts:
            self._done.append("".join(self._parts))
        self._parts, self._open, self._dropping = [], False, False

    def report(self, owner: LiveKitAdapter) -> None:
        done, self._done = self._done, []
        for text in done:
            owner.reply_text(text)

    def cut(self, owner: LiveKitAdapter) -> None:
        """The reply was interrupted: what was generated so far is its text."""
        was_open = self._open
        self.flush()
        self.report(owner)
        self._open = self._dropping = was_open
