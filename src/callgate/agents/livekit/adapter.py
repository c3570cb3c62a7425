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
while callgate pushes a frame: a push hands the frame to the session's audio input and runs the
loop until the session is quiet (:mod:`~callgate.agents.livekit.loop` says when that is, and when
a busy session fails the call). The session hears the caller and speaks through
:mod:`~callgate.agents.livekit.line`.

Times come from callgate's driver: the adapter reports what it observes as it happens and the
driver stamps it. The agent's audio "plays" in audio time: a reply finishes playing once as much
caller audio as it lasts has been pushed, which is when LiveKit hears ``playback_finished``; a cut
reports how much had played.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice.events import (
    AgentStateChangedEvent,
    CloseEvent,
    ConversationItemAddedEvent,
    UserInputTranscribedEvent,
)

from callgate.agents.env import CallEnv
from callgate.agents.livekit.config import session_options
from callgate.agents.livekit.line import AgentSpeaker, AgentText, CallerAudio
from callgate.agents.livekit.loop import Settler, new_loop, shut
from callgate.agents.livekit.services import CallServices, to_frame
from callgate.agents.streaming import AgentLink, CallTools
from callgate.agents.voice import AgentFailure
from callgate.speech.audio import SAMPLE_RATE, Audio


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
        self._caller = CallerAudio()
        self._speaker = AgentSpeaker(self)
        self._text = AgentText()
        self._settler = Settler(timeout_s)
        self._audio_ended = False  # the agent's audio ended; reported once the push settles
        self._ended = False
        self._failure: str | None = None

    # -- StreamAdapter ---------------------------------------------------------------------------

    def prepare(self, tools: CallTools) -> None:
        """Build the agent and its session before the call connects (a deployed agent's process
        is up before the phone rings): its models load here, off the call's clock. A failure is
        the call's, raised when it connects."""
        self._loop = new_loop()
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
            shut(loop, self.timeout_s)

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
        await self._settler.settle(self._session, what, lambda: self._failure is not None)
        if self._link is not None:
            self._text.report(self)
        self._end_reply()

    def _on_agent_state(self, ev: AgentStateChangedEvent) -> None:
        self._settler.agent_state_changed()


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
