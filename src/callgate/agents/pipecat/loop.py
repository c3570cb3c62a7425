"""The event loop a Pipecat pipeline runs on during a call: its clock is the call's clock.

Pipecat times its turn-taking with asyncio timers (the wait after the user stops speaking, the STT
safety net, idle timeouts). callgate streams audio faster than real time, so on a wall clock those
timers would fire after too little audio. On this loop, ``time()`` is call time: it stands still
between the frames callgate pushes and moves to each frame's end as it is pushed (plus the
pipeline's own compute time under ``clock: measured``), so a 0.6 s timer fires after 0.6 s of
streamed audio.

The loop also tells when it has nothing left to do right now (no callback ready, no executor job
in flight), which is how a push knows the pipeline has dealt with its frame.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar, TypeVarTuple

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class CallLoop(asyncio.SelectorEventLoop):
    def __init__(self, measured: bool) -> None:
        super().__init__()
        self._measured = measured
        self._at = 0.0  # call time while the clock stands
        self._since: float | None = None  # wall time the clock started running, if it runs
        self._jobs = 0
        # asyncio keeps its ready callbacks here; no public API says whether any are waiting.
        self._ready_callbacks: deque[Any] = vars(self)["_ready"]

    # -- the clock --------------------------------------------------------------------------------

    def time(self) -> float:
        if self._since is None:
            return self._at
        return self._at + (time.perf_counter() - self._since)

    def run_from(self, t: float, *, wall: bool | None = None) -> None:
        """Start (or restart) the clock at call time ``t`` at the latest; it follows wall time
        while it runs if ``wall`` (default: the ``measured`` setting), else it stands at ``t``."""
        self._at = max(self.time(), t)
        follow = self._measured if wall is None else wall
        self._since = time.perf_counter() if follow else None

    def stop_clock(self) -> float:
        self._at, self._since = self.time(), None
        return self._at

    # -- what is left to do -----------------------------------------------------------------------

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[*_Ts], _T], *args: *_Ts
    ) -> asyncio.Future[_T]:
        # Pipecat runs VAD, turn models and blocking services on threads (its own executors as well
        # as the default one); while one runs the pipeline is busy even if no callback is ready.
        future = super().run_in_executor(executor, func, *args)
        self._jobs += 1
        future.add_done_callback(self._job_done)
        return future

    def _job_done(self, _: asyncio.Future[Any]) -> None:
        self._jobs -= 1

    def has_ready(self) -> bool:
        """Callbacks other than the running one are waiting to run."""
        return bool(self._ready_callbacks)

    def jobs(self) -> int:
        return self._jobs
