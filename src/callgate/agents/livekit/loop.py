"""The event loop a LiveKit session runs on during a call, and when the session is quiet.

The session runs on an event loop private to the call, which runs only while callgate pushes a
frame: time stands still in between, as the caller's audio does. A push hands the frame to the
session and runs the loop until the session is quiet: no callback ready and no timer due within
:data:`HORIZON_S`, so that only more audio could wake it. Thread work (the VAD's inference) runs
inline, so nothing computes unseen. A session left "thinking" with nothing to run (an LLM over the
network) is waited for up to :data:`IO_GRACE_S`, once per spell of thinking and never while the
caller talks. A push that keeps the session busy longer than the variant's ``response_timeout_s``
(wall seconds) fails the call, naming what was running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import time
from collections.abc import Callable
from typing import Any

from livekit.agents import AgentSession

from callgate.agents.voice import AgentFailure

HORIZON_S = 0.1  # a timer due this soon is part of the work in progress (LiveKit's short hops)
IO_GRACE_S = 1.0  # how long a "thinking" session with nothing to run is waited for


class Settler:
    """Runs a session's loop until the session is quiet: what each push waits for."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s  # wall seconds a push may keep the session busy
        self._io_waited = False  # this spell of thinking has had its wait for I/O

    def agent_state_changed(self) -> None:
        """A new spell of thinking may have its wait for I/O."""
        self._io_waited = False

    async def settle(
        self, session: AgentSession[Any] | None, what: str, failed: Callable[[], bool]
    ) -> None:
        """Run until ``session`` is quiet or ``failed()``; ``what`` (the push) names a hang."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        idle_since: float | None = None
        may_wait = False
        while not failed():
            await asyncio.sleep(0)  # every callback now ready runs before this returns
            now = time.perf_counter()
            if now - started > self.timeout_s:
                raise AgentFailure(_hung(session, what, self.timeout_s))
            wake = _next_wake(loop)
            if wake <= HORIZON_S:
                idle_since = None
                if wake > 0:
                    await asyncio.sleep(wake)
                continue
            if idle_since is None:
                idle_since, may_wait = now, self._may_await_io(session)
            if not may_wait or now - idle_since >= IO_GRACE_S:
                break
            await asyncio.sleep(0.01)  # a step waiting on outside input (I/O): let it arrive

    def _may_await_io(self, s: AgentSession[Any] | None) -> bool:
        """Whether an idle loop may still be waiting for a reply (an LLM over the network): the
        agent is thinking and the caller is not talking (a reply may wait for the caller to stop,
        which only more audio brings). Waited for once per spell of thinking."""
        if s is None or s.agent_state != "thinking" or s.user_state == "speaking":
            return False
        if self._io_waited:
            return False
        self._io_waited = True
        return True


def _hung(s: AgentSession[Any] | None, what: str, timeout_s: float) -> str:
    states = f"agent {s.agent_state}, user {s.user_state}" if s is not None else "no session"
    names = sorted(
        {t.get_name() for t in asyncio.all_tasks() if not t.get_name().startswith("Task-")}
    )
    running = ", ".join(names[:8]) or "unnamed tasks"
    return (
        f"the LiveKit session was still busy {timeout_s:g} s (wall) after {what} "
        f"({states}; running: {running})"
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


def new_loop() -> asyncio.AbstractEventLoop:
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


def shut(loop: asyncio.AbstractEventLoop, timeout_s: float) -> None:
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
