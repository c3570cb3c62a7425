"""A LiveKit ``AgentSession`` driven frame by frame on callgate's virtual clock.

The factory contract. A variant's ``agent: {kind: livekit, agent: REF, params: {...}}`` names a
function that callgate calls once per call, before the call connects, as ``REF(call, **params)``
(inside the call's event loop, so LiveKit objects may be built there); ``call`` is a
:class:`~callgate.agents.livekit.services.CallServices`: ``call.tools.call(name, args)`` reaches
callgate's tool backend, ``call.stt(...)`` and ``call.tts(...)`` give offline speech, and
``call.end_call()`` hangs up. It returns (or, if async, resolves to) an ``Agent`` carrying its own
stt/llm/tts/vad, or ``(agent, session_kwargs)`` with keyword arguments for ``AgentSession``.
callgate builds the session, gives it its own audio input and output, starts it when the call
connects, and overrides only the options that are wall-clock waits
(:func:`~callgate.agents.livekit.config.session_options`).

How a frame is handled. The session runs on an event loop private to the call, which runs only
while callgate pushes a frame: time stands still in between, as the caller's audio does. A push
hands the frame to the session and runs the loop until the session is quiet: no callback ready and
no timer due within :data:`HORIZON_S`, so that only more audio could wake it. Thread work (the
VAD's inference) runs inline, so nothing computes unseen. A session left "thinking" with nothing to
run (an LLM over the network) is waited for up to :data:`IO_GRACE_S`, once per spell of thinking
and never while the caller talks. A push that keeps the session busy longer than the variant's
``response_timeout_s`` (wall seconds) fails the call, naming what was running.

Times come from callgate's driver: the adapter reports what it observes as it happens and the
driver stamps it. The agent's audio "plays" in audio time: a reply finishes playing once as much
caller audio as it lasts has been pushed, which is when LiveKit hears ``playback_finished``; a cut
reports how much had played.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from livekit import rtc
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice import io
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    ConversationItemAddedEvent,
    UserInputTranscribedEvent,
)

from callgate.agents.env import CallEnv
from callgate.agents.livekit.config import session_options
from callgate.agents.livekit.services import CallServices, to_audio, to_frame
from callgate.agents.streaming import AgentLink, CallTools
from callgate.agents.voice import AgentFailure
from callgate.speech.audio import SAMPLE_RATE, Audio

HORIZON_S = 0.1  # a timer due this soon is part of the work in progress (LiveKit's short hops)
IO_GRACE_S = 1.0  # how long a "thinking" session with nothing to run is waited for


class LiveKitAdapter:
    """:class:`~callgate.agents.streaming.StreamAdapter` for one call to a LiveKit agent."""

    def __init__(
        self,
        factory: Callable[..., Any],
        params: dict[str, Any],
        env: CallEnv,
        name: str,
        timeout_s: float = 60.0,
    ) -> None:
        self.factory = factory
        self.params = params
        self.env = env
        self.name = name
        self.timeout_s = timeout_s  # wall seconds a push may keep the session busy
        self._fed = 0.0  # caller audio pushed so far
        self.usage: list[Any] = []  # the session's model usage, read when the call closes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._agent: Agent | None = None
        self._session: AgentSession[Any] | None = None
        self._link: AgentLink | None = None  # None once the call is over: nothing more is reported
        self._caller = _CallerAudio()
        self._speaker = _AgentSpeaker(self)
        self._text = _AgentText()
        self._audio_ended = False  # the agent's audio ended; reported once the push settles
        self._ended = False
        self._io_waited = False  # this spell of thinking has had its wait for I/O
        self._failure: str | None = None

    # -- StreamAdapter ---------------------------------------------------------------------------

    def prepare(self, tools: CallTools) -> None:
        """Build the agent and its session before the call connects (a deployed agent's process
        is up before the phone rings): its models load here, off the call's clock. A failure is
        the call's, raised when it connects."""
        self._loop = _new_loop()
        try:
            self._run(self._build(tools), "building the agent")
        except AgentFailure as exc:
            self._failure = exc.reason

    def open(self, link: AgentLink) -> None:
        if self._failure is not None or self._agent is None:
            raise AgentFailure(self._failure or f"{self.name}: the agent was not built")
        self._link = link
        self._run(self._start(self._agent), "starting the session")

    def push(self, frame: Audio) -> None:
        self._run(self._hear(frame), f"a {frame.duration * 1000:.0f} ms frame")

    def close(self) -> None:
        self._link = None
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            loop.run_until_complete(self._stop())
        finally:
            _shut(loop, self.timeout_s)

    # -- what the session reports ----------------------------------------------------------------

    def agent_audio(self, audio: Audio, first: bool) -> None:
        if self._link is None:
            return
        if first:
            self._end_reply()  # a new reply: the last one is over
        self._link.agent_audio(audio)

    def computed(self) -> float:
        """How far the driver's clock is ahead of the audio pushed (the agent's compute, under
        ``clock: measured``): a reply starts playing that much after the frame that led to it."""
        return max(0.0, self._link.now() - self._fed) if self._link is not None else 0.0

    def audio_ended(self) -> None:
        # Reported once the push settles: the reply's text may still be on its way.
        self._audio_ended = True

    def interrupted(self) -> None:
        if self._link is None:
            return
        self._text.cut(self)
        self._end_reply()
        self._link.interrupted()

    def reply_text(self, text: str) -> None:
        if self._link is not None:
            self._link.reply_text(text)

    def hang_up(self, transferred: bool) -> None:
        if self._link is not None and not self._ended:
            self._ended = True
            self._link.end_call(transferred)

    def _end_reply(self) -> None:
        if self._audio_ended and self._link is not None:
            self._audio_ended = False
            self._link.agent_audio_end()

    # -- the session -----------------------------------------------------------------------------

    async def _build(self, tools: CallTools) -> None:
        services = CallServices(tools, self.env, self.hang_up)
        try:
            made = self.factory(services, **self.params)
            if inspect.isawaitable(made):
                made = await made
        except Exception as exc:
            raise AgentFailure(f"{self.name} raised {type(exc).__name__}: {exc}") from exc
        agent, kwargs = _unpack(made, self.name)
        try:
            session: AgentSession[Any] = AgentSession(**session_options(kwargs))
        except Exception as exc:  # the factory's session options: the agent's failure
            raise AgentFailure(_failed("build the AgentSession", exc)) from exc
        session.input.audio = self._caller
        session.output.audio = self._speaker
        session.output.transcription = self._text
        session.on("user_input_transcribed", self._on_transcribed)
        session.on("conversation_item_added", self._on_item)
        session.on("close", self._on_close)
        session.on("agent_state_changed", self._on_agent_state)
        self._agent, self._session = agent, session

    async def _start(self, agent: Agent) -> None:
        assert self._session is not None
        try:
            await self._session.start(agent)
        except Exception as exc:
            raise AgentFailure(_failed("start the session", exc)) from exc
        await self._settle("starting the session")

    async def _hear(self, frame: Audio) -> None:
        # The frame's duration of the agent's audio plays while the frame is heard.
        self._speaker.advance(frame.duration)
        self._fed += frame.duration
        self._caller.feed(to_frame(frame.resample(SAMPLE_RATE)))
        await self._settle(f"a {frame.duration * 1000:.0f} ms frame")

    async def _stop(self) -> None:
        session = self._session
        self._speaker.finish_all()  # nothing more is heard: what is left has played
        self._caller.end()
        if session is None:
            return
        try:
            await asyncio.wait_for(session.aclose(), self.timeout_s)
        except TimeoutError:
            reason = f"closing the LiveKit session took over {self.timeout_s:g} s"
            raise AgentFailure(reason) from None
        finally:
            self.usage = list(session.usage.model_usage)

    def _on_transcribed(self, ev: UserInputTranscribedEvent) -> None:
        if ev.is_final and self._link is not None:
            self._link.transcript(ev.transcript)

    def _on_item(self, ev: ConversationItemAddedEvent) -> None:
        item = ev.item
        if isinstance(item, llm.ChatMessage) and item.role == "user" and self._link is not None:
            self._link.user_turn_end()  # LiveKit committed the caller's turn

    def _on_close(self, ev: CloseEvent) -> None:
        if self._link is None:
            return  # callgate closed it
        if ev.error is not None:
            self._failure = f"the session closed on an error: {ev.error.label}: {ev.error.error}"
        else:
            self.hang_up(False)

    # -- the private event loop ------------------------------------------------------------------

    def _run(self, step: Coroutine[Any, Any, None], what: str) -> None:
        if self._loop is None:
            step.close()
            raise AgentFailure(f"{self.name}: the session is not running ({what})")
        self._loop.run_until_complete(step)
        if self._failure is not None:
            raise AgentFailure(self._failure)

    async def _settle(self, what: str) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        idle_since: float | None = None
        may_wait = False
        while self._failure is None:
            await asyncio.sleep(0)  # every callback now ready runs before this returns
            now = time.perf_counter()
            if now - started > self.timeout_s:
                raise AgentFailure(self._hung(what))
            wake = _next_wake(loop)
            if wake <= HORIZON_S:
                idle_since = None
                if wake > 0:
                    await asyncio.sleep(wake)
                continue
            if idle_since is None:
                idle_since, may_wait = now, self._may_await_io()
            if not may_wait or now - idle_since >= IO_GRACE_S:
                break
            await asyncio.sleep(0.01)  # a step waiting on outside input (I/O): let it arrive
        if self._link is not None:
            self._text.report(self)
        self._end_reply()

    def _may_await_io(self) -> bool:
        """Whether an idle loop may still be waiting for a reply (an LLM over the network): the
        agent is thinking and the caller is not talking (a reply may wait for the caller to stop,
        which only more audio brings). Waited for once per spell of thinking."""
        s = self._session
        if s is None or s.agent_state != "thinking" or s.user_state == "speaking":
            return False
        if self._io_waited:
            return False
        self._io_waited = True
        return True

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self._io_waited = False

    def _hung(self, what: str) -> str:
        s = self._session
        states = f"agent {s.agent_state}, user {s.user_state}" if s is not None else "no session"
        names = sorted(
            {t.get_name() for t in asyncio.all_tasks() if not t.get_name().startswith("Task-")}
        )
        running = ", ".join(names[:8]) or "unnamed tasks"
        return (
            f"the LiveKit session was still busy {self.timeout_s:g} s (wall) after {what} "
            f"({states}; running: {running})"
        )


class _CallerAudio(io.AudioInput):
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


class _AgentSpeaker(io.AudioOutput):
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


class _AgentText(io.TextOutput):
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


def _failed(doing: str, exc: Exception) -> str:
    return f"LiveKit could not {doing}: {type(exc).__name__}: {exc}"


def _unpack(made: Any, name: str) -> tuple[Agent, dict[str, Any]]:
    if isinstance(made, Agent):
        return made, {}
    if (
        isinstance(made, tuple)
        and len(made) == 2
        and isinstance(made[0], Agent)
        and isinstance(made[1], dict)
    ):
        return made[0], dict(made[1])
    raise AgentFailure(
        f"{name} returned {type(made).__name__}: expected an Agent or (Agent, AgentSession kwargs)"
    )


class _Inline(concurrent.futures.ThreadPoolExecutor):
    """Runs submitted work at once, on the loop's thread: the session never waits on a thread,
    so when its loop has nothing ready, nothing is computing."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            done.set_exception(exc)
        return done


def _new_loop() -> asyncio.AbstractEventLoop:
    # A plain selector loop, whatever policy the process set: _next_wake reads its queues.
    loop = asyncio.SelectorEventLoop()
    loop.set_default_executor(_Inline(max_workers=1))
    if not (hasattr(loop, "_ready") and hasattr(loop, "_scheduled")):
        loop.close()
        raise AgentFailure("this Python's event loop cannot tell when it is idle")
    return loop


def _next_wake(loop: asyncio.AbstractEventLoop) -> float:
    """Seconds until the loop has work of its own: 0 with callbacks ready, the wait for its
    nearest timer, or infinity when only outside input (audio, I/O) can wake it."""
    # No public API says whether a loop is idle; CPython's loop keeps these two queues.
    if getattr(loop, "_ready", None):
        return 0.0
    timers = [h.when() for h in getattr(loop, "_scheduled", ()) if not h.cancelled()]
    return max(0.0, min(timers) - loop.time()) if timers else math.inf


def _shut(loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
    """Cancel what the session left running and close the loop."""
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=timeout_s))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
